"""Recipe flags refuse nonsense with a usage error instead of training on it (issue 13, item 12)."""

import subprocess
import sys

import pytest

from recipes import common


@pytest.mark.parametrize("flag, value", [("--epochs", "0"), ("--epochs", "-1"), ("--lr", "-1"), ("--lr", "nan"),
                                         ("--lr", "inf"), ("--lr", "0"), ("--seed", "-1"), ("--train-limit", "0"),
                                         ("--train-limit", "-5"), ("--test-limit", "0"), ("--val-split", "1"),
                                         ("--val-split", "-0.1"), ("--test-fraction", "0")])
def test_classification_flags_refuse_nonsense(flag, value, capsys):
    from recipes import classification

    with pytest.raises(SystemExit) as e:
        classification.build_parser().parse_args([flag, value])
    assert e.value.code == 2
    assert flag in capsys.readouterr().err


def test_good_values_pass():
    from recipes import classification

    args = classification.build_parser().parse_args(["--epochs", "3", "--lr", "0.01", "--train-limit", "10",
                                                     "--val-split", "0.1"])
    assert (args.epochs, args.lr, args.train_limit, args.val_split) == (3, 0.01, 10, 0.1)


def test_argparse_types():
    assert common.positive_int("4") == 4
    assert common.positive_float("1e-3") == 1e-3
    for fn, bad in ((common.positive_int, "2.5"), (common.positive_float, "x"), (common.fraction, "1.5")):
        with pytest.raises(Exception, match="expected"):
            fn(bad)


def test_compare_heads_only_typo_fails(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "recipes.compare_heads", "--only", "arcfce", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "unknown head(s) ['arcfce']" in proc.stderr
