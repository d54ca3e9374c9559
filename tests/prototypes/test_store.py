"""`zoo.prototypes` files: digests given or read from the sidecar."""


def test_sha256_with_whitespace_is_accepted_and_bad_digests_are_named(tmp_path):
    """Issue 13, item 21: a digest with surrounding whitespace is the same digest; an empty sidecar or a
    malformed `sha256` is reported as such, not as "the file is corrupt"."""
    import numpy as np
    import pytest

    import zoo

    path = str(tmp_path / "p.npy")
    protos = np.eye(3, 4, dtype="float32")
    digest = zoo.prototypes.save(path, protos)
    np.testing.assert_array_equal(zoo.prototypes.load(path, sha256=f"  {digest.upper()}\n"), protos)
    with pytest.raises(zoo.prototypes.PrototypeFileError, match=r"`sha256` is not a sha256 digest"):
        zoo.prototypes.load(path, sha256="abc")
    with open(path + ".sha256", "w") as f:
        f.write("")
    with pytest.raises(zoo.prototypes.PrototypeFileError, match=r"sidecar file .* is not a sha256 digest .*empty"):
        zoo.prototypes.load(path)
