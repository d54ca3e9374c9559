"""Test configuration: the backend comes from KERAS_BACKEND (one suite run per backend).

Nothing in the suite touches the network: tfds is always called with download=False and
keras' dataset downloads are blocked by `no_network` below.
"""

import os
import socket
import warnings

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# JAX compiles every initializer and op per shape; a persistent cache (in the repo, git-ignored) lets the
# subprocesses of cross-backend and notebook tests and later runs reuse those compilations.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(_ROOT, ".cache", "jax"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
os.environ.setdefault("MPLBACKEND", "Agg")
# Tests are dominated by XLA compilation (JAX eagerly compiles every op per shape; Keras compiles fit steps with
# XLA on TF and JAX). LLVM optimisation level 0 compiled a JAX test sample 20% faster (97.7 s -> 76.8 s); the
# HLO graphs are the same and no fast-math is enabled, so results stay IEEE float32/float64 (every tolerance in
# the suite holds). Inherited by the subprocesses of cross-backend and notebook tests.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()
# XLA:CPU's new fusion emitters compile each (tiny, per-shape) program ~2.5x slower than the classic elemental
# emitters: on a JAX sample of eager geometry ops and a conv4 fit (218 compilations) compile CPU time fell from
# 8.0-9.6 s to 3.4-3.6 s and the sample's CPU time by 45%. Same HLO, no fast-math (IEEE float32/float64); TF's
# XLA accepts the flag too (an unknown XLA flag aborts the process, so check before adding one here).
if "xla_cpu_use_fusion_emitters" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_use_fusion_emitters=false").strip()

warnings.filterwarnings("ignore", category=DeprecationWarning)

import keras  # noqa: E402

# Under pytest-xdist each worker gets its share of the cores: torch's intra-op pool defaults to every core, so two
# workers would oversubscribe the machine.
if keras.backend.backend() == "torch" and os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend {keras.backend.backend()}"


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)
    np.random.seed(0)
    yield


class _NoNetwork(socket.socket):
    def connect(self, address):  # pragma: no cover - only hit by a faulty test
        host = address[0] if isinstance(address, tuple) else address
        if str(host) not in ("127.0.0.1", "localhost", "::1"):
            raise OSError(f"tests must not touch the network (tried to connect to {address!r})")
        return super().connect(address)


@pytest.fixture(autouse=True, scope="session")
def no_network():
    """Every test runs with outbound connections refused (loopback stays open)."""
    original = socket.socket
    socket.socket = _NoNetwork
    yield
    socket.socket = original


@pytest.fixture(scope="session")
def backend():
    return keras.backend.backend()
