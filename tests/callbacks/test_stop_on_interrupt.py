"""`zoo.callbacks.StopOnInterrupt` and the task models: Ctrl-C stops `fit` within seconds on every backend (on
JAX a plain Ctrl-C during fit was lost: issue 13, item 6), the callbacks finish, and the script still stops."""

import os
import subprocess
import sys
import textwrap

import keras

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_SCRIPT = textwrap.dedent('''
    import os, signal, threading, time
    import numpy as np, keras, zoo

    x = (np.random.default_rng(0).random((4096, 8, 8)) * 255).astype("uint8")
    y = np.arange(4096) % 3
    backbone = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(8)])
    model = zoo.models.ImageClassifier(backbone, num_classes=3, embedding_dim=8, normalize=None)

    class Fire(keras.callbacks.Callback):   # Ctrl-C once training runs; records what happened after it
        sent = None
        ended = False
        def on_train_batch_end(self, batch, logs=None):
            if batch == 3 and Fire.sent is None:
                Fire.sent = time.time()
                os.kill(os.getpid(), signal.SIGINT)
        def on_train_end(self, logs=None):
            Fire.ended = True

    try:
        model.fit(x, y, epochs=200, batch_size=8, verbose=0, callbacks=[Fire()])
        print("RESULT no-interrupt")
    except KeyboardInterrupt as e:
        print("RESULT interrupted", round(time.time() - Fire.sent, 2), Fire.ended, len(model.history.epoch), e)
''')


def test_ctrl_c_stops_fit_and_lets_callbacks_finish():
    env = dict(os.environ, KERAS_BACKEND=keras.backend.backend(), PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")]
    assert line, proc.stdout[-2000:] + proc.stderr[-3000:]
    words = line[0].split()
    assert words[1] == "interrupted", line[0]
    assert float(words[2]) < 5.0, line[0]          # stopped within seconds of the signal
    assert words[3] == "True", line[0]             # every callback's on_train_end ran
    assert "stopped by Ctrl-C" in line[0]


def test_handler_is_restored_after_fit():
    import signal

    import numpy as np

    import zoo

    before = signal.getsignal(signal.SIGINT)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    stop = zoo.callbacks.StopOnInterrupt()
    model.fit(np.zeros((4, 2)), np.zeros((4, 1)), verbose=0, callbacks=[stop])
    assert signal.getsignal(signal.SIGINT) is before
    assert not stop.interrupted
    assert zoo.callbacks.StopOnInterrupt(**stop.get_config()).verbose == 1
