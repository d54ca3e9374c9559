"""--distribute / --devices on every recipe (issue 17, item 4): the flags are listed, passed through by the grids,
refused when they cannot work (torch, a global batch that does not split over the devices, --devices alone), and a
real data-parallel run on 2 virtual JAX CPU devices records its distribution in metrics.json."""

import argparse
import contextlib
import importlib
import json
import os
import subprocess
import sys
import textwrap
import types

import keras
import pytest

from recipes import common

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAINING = ("classification", "metric_learning", "fewshot", "hyperbolic_ood", "reid")
GRIDS = ("compare_heads", "prototype_experiments")
BACKEND = keras.backend.backend()


@pytest.mark.parametrize("name", TRAINING + GRIDS)
def test_help_lists_both_flags(name):
    text = importlib.import_module(f"recipes.{name}").build_parser().format_help()
    for flag in ("--distribute", "--devices", "data_parallel"):
        assert flag in text, (name, flag)
    args = importlib.import_module(f"recipes.{name}").build_parser().parse_args([])
    assert (args.distribute, args.devices) == ("none", None)


def test_flag_values_refused_by_the_parser(capsys):
    from recipes import classification

    for argv in (["--distribute", "ddp"], ["--devices", "0"], ["--devices", "two"]):
        with pytest.raises(SystemExit) as e:
            classification.build_parser().parse_args(argv)
        assert e.value.code == 2
        assert argv[0] in capsys.readouterr().err


def test_devices_without_data_parallel_is_refused(tmp_path):
    from recipes import classification

    with pytest.raises(SystemExit, match="--devices 2 needs --distribute data_parallel"):
        classification.main(["--devices", "2", "--dataset", "digits", "--out", str(tmp_path)])
    assert not os.listdir(tmp_path)  # refused before any work
    with pytest.raises(SystemExit, match="--devices 2 needs --distribute data_parallel"):
        common.distribute_argv(argparse.Namespace(distribute="none", devices=2))


def test_multi_process_environment_is_refused(tmp_path, monkeypatch):
    from recipes import classification

    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    with pytest.raises(SystemExit, match="do not join a multi-process job"):
        classification.main(["--distribute", "data_parallel", "--dataset", "digits", "--out", str(tmp_path / "r")])
    assert not (tmp_path / "r").exists()


def test_grids_pass_the_flags_to_every_run(tmp_path, monkeypatch):
    from recipes import compare_heads, prototype_experiments

    flags = ["--distribute", "data_parallel", "--devices", "2"]
    args = prototype_experiments.build_parser().parse_args(flags)
    cmd = prototype_experiments._command(args, 2, None, ["--head", "softmax"], str(tmp_path))
    assert cmd[-4:] == flags
    assert common.distribute_argv(prototype_experiments.build_parser().parse_args([])) == []

    seen = []

    def fake_run(name, argv, out, backend=None):
        seen.append((name, argv))
        return {"test_accuracy": 0.5, "final_train_loss": 1.0, "median_epoch_seconds": 1.0, "model_path": None,
                "distribute": {"strategy": "data_parallel", "devices": 2}}

    monkeypatch.setattr(common, "run_recipe", fake_run)
    args = compare_heads.build_parser().parse_args(flags + ["--dims", "2", "--out", str(tmp_path)])
    done = {}
    compare_heads.run_grid(args, compare_heads.MAIN_ROWS[:1], str(tmp_path / "results.jsonl"), done)
    (name, argv), = seen
    assert name == "classification" and argv[-4:] == flags
    assert next(iter(done.values()))["distribute"]["devices"] == 2


@contextlib.contextmanager
def _three_devices(devices=None):
    yield types.SimpleNamespace(num_replicas=3, num_processes=1, process_index=0, backend=BACKEND)


@pytest.fixture
def three_devices(monkeypatch):
    """`zoo.distribute.data_parallel` replaced by a context of 3 devices (no devices needed): the checks run."""
    import zoo

    fake = types.ModuleType("zoo.distribute")
    fake.data_parallel = _three_devices
    monkeypatch.setitem(sys.modules, "zoo.distribute", fake)
    monkeypatch.setattr(zoo, "distribute", fake, raising=False)


@pytest.mark.parametrize("name, argv, numbers", [
    ("classification", ["--batch-size", "128"], ("128", "3")),
    ("metric_learning", ["--p", "10", "--k", "4"], ("40", "3")),
    ("fewshot", ["--way", "5", "--shot", "1", "--query", "15"], ("80", "3")),
    ("hyperbolic_ood", ["--batch-size", "100"], ("100", "3")),
    ("reid", ["--p", "16", "--k", "4"], ("64", "3")),
])
def test_global_batch_not_divisible_by_the_devices_is_refused(name, argv, numbers, three_devices, tmp_path):
    module = importlib.import_module(f"recipes.{name}")
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as e:
        module.main(argv + ["--distribute", "data_parallel", "--out", str(out), "--epochs", "1"])
    message = str(e.value.code)
    assert message.startswith(f"recipes.{name}: "), message
    if name == "fewshot" and BACKEND == "tensorflow":  # replicas would split an episode: refused on TF
        assert "--backend jax" in message
    else:
        assert f"{numbers[0]} is not divisible by the {numbers[1]} devices" in message, message
    assert not out.exists()  # refused before any data is loaded or written


def test_identity_batches_need_whole_identities_per_replica_on_tensorflow():
    dist = common.RunDistribution("data_parallel", "recipes.reid", types.SimpleNamespace(num_replicas=2),
                                  backend="tensorflow")
    with pytest.raises(SystemExit, match="--p 3 identities per batch are not divisible by the 2 devices"):
        dist.check_pk(3, 4)  # 12 images split evenly, but a replica would hold half an identity
    assert common.RunDistribution("data_parallel", "x", types.SimpleNamespace(num_replicas=2),
                                  backend="jax").check_pk(3, 4) == 12
    assert dist.eval_batch(511) == 512 and dist.summary() == {"strategy": "data_parallel", "devices": 2,
                                                              "backend": "tensorflow", "processes": 1}


@pytest.mark.skipif(BACKEND != "torch", reason="the torch refusal")
def test_torch_data_parallel_exits_with_the_keras_version(tmp_path):
    from recipes import classification

    with pytest.raises(SystemExit) as e:
        classification.main(["--distribute", "data_parallel", "--dataset", "digits", "--out", str(tmp_path / "r")])
    message = str(e.value.code)
    assert message.startswith("recipes.classification: --distribute data_parallel: "), message
    assert "torch" in message and keras.__version__.rsplit(".", 1)[0] in message, message
    assert not (tmp_path / "r").exists()


@pytest.mark.skipif(BACKEND != "jax", reason="one subprocess, run once: on the JAX backend")
def test_jax_classification_on_two_virtual_devices(tmp_path):
    """recipes.classification with --distribute data_parallel --devices 2 on 2 virtual CPU devices (one subprocess:
    the device count is fixed when JAX starts): a refused odd batch, then 1 epoch on 256 digits images, an odd
    test set (101: a padded last evaluation batch), metrics.json records the distribution."""
    out = tmp_path / "run"
    script = textwrap.dedent(f"""
        import json, sys
        from recipes import classification
        common = ["--dataset", "digits", "--backbone", "lenet", "--embedding-dim", "16", "--epochs", "1",
                  "--train-limit", "256", "--test-limit", "101", "--distribute", "data_parallel", "--devices", "2",
                  "--verbose", "0", "--out", {str(out)!r}]
        try:
            classification.main(common + ["--batch-size", "63"])
        except SystemExit as e:
            print("REFUSED:", e.code)
        else:
            raise AssertionError("an odd --batch-size was not refused")
        classification.main(common + ["--batch-size", "64"])
    """)
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "JAX_NUM_CPU_DEVICES": "2",
           "PYTHONPATH": ROOT}
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "REFUSED: recipes.classification: the global batch --batch-size 63 is not divisible by the 2 devices" \
        in proc.stdout, proc.stdout
    with open(out / "metrics.json") as f:
        summary = json.load(f)
    assert summary["distribute"] == {"strategy": "data_parallel", "devices": 2, "backend": "jax", "processes": 1}
    assert summary["status"] == "complete" and summary["test_images"] == 101
    assert len(summary["history"]["loss"]) == 1 and 0.0 <= summary["test_accuracy"] <= 1.0


@pytest.mark.skipif(BACKEND != "tensorflow", reason="one subprocess, run once: on the TensorFlow backend")
def test_tensorflow_classification_on_two_logical_cpus(tmp_path):
    """recipes.classification under MirroredStrategy over 2 logical CPU devices (split before TF starts, in a
    subprocess): fit and test evaluation inside the strategy, metrics.json records the distribution."""
    out = tmp_path / "run"
    script = textwrap.dedent(f"""
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from recipes import classification
        classification.main(["--dataset", "digits", "--backbone", "lenet", "--embedding-dim", "16", "--epochs", "1",
                             "--train-limit", "128", "--test-limit", "100", "--batch-size", "64", "--verbose", "0",
                             "--distribute", "data_parallel", "--devices", "2", "--out", {str(out)!r}])
    """)
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "PYTHONPATH": ROOT}
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "data parallel over 2 tensorflow device(s)" in proc.stdout
    with open(out / "metrics.json") as f:
        summary = json.load(f)
    assert summary["distribute"] == {"strategy": "data_parallel", "devices": 2, "backend": "tensorflow",
                                     "processes": 1}
    assert summary["status"] == "complete" and summary["test_images"] == 100 and summary["train_images"] == 128
    assert len(summary["history"]["loss"]) == 1 and 0.0 <= summary["test_accuracy"] <= 1.0
