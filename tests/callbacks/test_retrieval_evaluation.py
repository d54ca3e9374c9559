"""RetrievalEvaluation: its log entries equal zoo.metrics.retrieval on the model's embedding output (two-output
model), schedule, bad input."""

import keras
import numpy as np
import pytest

import zoo.data
from zoo.callbacks import RetrievalEvaluation
from zoo.metrics import nearest_centroid_accuracy, retrieval_metrics


def two_output_model():
    inp = keras.Input((8, 8, 1))
    emb = keras.layers.Dense(6, name="embedding")(keras.layers.Flatten()(inp))
    logits = keras.layers.Dense(10, name="logits")(emb)
    return keras.Model(inp, {"embedding": emb, "logits": logits})


def test_logs_equal_the_metrics_on_the_embedding_output():
    (xtr, ytr), (xte, yte) = zoo.data.digits()
    xtr, ytr, xte, yte = (xtr[:200, ..., None] / 255.0).astype("float32"), ytr[:200], \
        (xte[:100, ..., None] / 255.0).astype("float32"), yte[:100]
    model = two_output_model()
    model.compile(optimizer="adam", loss={"embedding": None, "logits": keras.losses.SparseCategoricalCrossentropy(
        from_logits=True)})
    cb = RetrievalEvaluation((xte, yte), gallery=(xtr, ytr), ks=(1, 5), output="embedding", every_n_epochs=2)
    hist = model.fit(xtr, {"logits": ytr}, epochs=2, batch_size=50, verbose=0, callbacks=[cb])
    assert "val_recall_at_1" not in hist.history or len(hist.history["val_recall_at_1"]) == 1
    assert [e for e, _ in cb.history] == [1]
    emb = keras.ops.convert_to_numpy(model.predict(xte, verbose=0)["embedding"])
    gemb = keras.ops.convert_to_numpy(model.predict(xtr, verbose=0)["embedding"])
    ref = retrieval_metrics(emb, yte, gemb, ytr, ks=(1, 5))
    got = cb.history[-1][1]
    assert got["val_recall_at_1"] == pytest.approx(ref["recall@1"])
    assert got["val_precision_at_5"] == pytest.approx(ref["precision@5"])
    assert got["val_map_at_r"] == pytest.approx(ref["map@r"])
    assert got["val_centroid_acc"] == pytest.approx(nearest_centroid_accuracy(emb, yte, gemb, ytr))
    assert got["val_centroid_acc_transductive"] == pytest.approx(nearest_centroid_accuracy(emb, yte))


def test_bad_input():
    x = np.zeros((4, 8, 8, 1), np.float32)
    with pytest.raises(ValueError, match="labels"):
        RetrievalEvaluation((x, np.zeros((4, 2), int)))
    with pytest.raises(ValueError, match="ks"):
        RetrievalEvaluation((x, np.zeros(4, int)), ks=(0,))
    with pytest.raises(ValueError, match="every_n_epochs"):
        RetrievalEvaluation((x, np.zeros(4, int)), every_n_epochs=0)
