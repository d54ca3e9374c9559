"""`zoo.data.write_idx` writes atomically."""


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    """Issue 13, item 2: write_idx goes through a temporary file; a crash mid-write keeps the old file."""
    import numpy as np
    import pytest

    from zoo.data import idx

    path = tmp_path / "labels-idx1-ubyte.gz"
    idx.write_idx(path, np.arange(5, dtype=np.uint8))
    before = path.read_bytes()

    class Boom:
        def __init__(self, *a, **k):
            self.f = open(a[0], "wb")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[:2])
            raise KeyboardInterrupt("killed mid-write")

    monkeypatch.setattr(idx, "_open", Boom)
    with pytest.raises(KeyboardInterrupt):
        idx.write_idx(path, np.arange(7, dtype=np.uint8))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
