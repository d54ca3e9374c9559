"""The quick network probe shared by the loaders of `zoo.data` that may download (`fashion_mnist`, `load_tfds`).

A loader that is allowed to download first asks `network_available()`: on an offline machine it answers False
within about half a second, so the loader fails fast with a clear message instead of letting keras or
tensorflow_datasets retry for minutes. Pure standard library.
"""

import socket
import threading

__all__ = ["PROBE_ADDRESS", "PROBE_TIMEOUT_S", "network_available"]

# Host probed: keras' download origin for its datasets, and the Google Cloud Storage bucket tensorflow_datasets
# contacts first (prepared copies, checksums) before it downloads a dataset from its own URLs.
PROBE_ADDRESS = ("storage.googleapis.com", 443)
PROBE_TIMEOUT_S = 0.5


def network_available(address=PROBE_ADDRESS, timeout=PROBE_TIMEOUT_S):
    """True if a TCP connection to `address` opens within `timeout` seconds (DNS included).

    Runs in a daemon thread joined with a deadline, because name resolution ignores socket timeouts
    and can block for many seconds on an offline machine.
    """
    result = []

    def probe():
        try:
            with socket.create_connection(address, timeout=timeout):
                result.append(True)
        except Exception:  # noqa: BLE001 - any failure means "no network"
            result.append(False)

    t = threading.Thread(target=probe, daemon=True, name="zoo-network-probe")
    t.start()
    t.join(timeout + 0.1)
    return bool(result and result[0])
