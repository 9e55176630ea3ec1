"""``qmoe train`` on the image datasets: --pca / --resize / --data-dir; a missing or damaged file exits 2."""

import json
import os
import subprocess
import sys

import numpy as np
from test_data import write_keras_npz

from qmoe_tfq.cli import main


def test_train_digits_with_pca(capsys):
    code = main(
        [
            "train",
            "--router",
            "quantum",
            "--dataset",
            "digits-0v1",
            "--pca",
            "2",
            "--seed",
            "1",
            "--epochs",
            "1",
            "--n-samples",
            "80",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (out["dataset"], out["router_params"], out["expert_params"]) == ("digits-0v1", 24, 12)
    assert 0 <= out["test_accuracy"] <= 1


def test_train_mnist_from_data_dir_resized(tmp_path, capsys):
    write_keras_npz(tmp_path)
    code = main(
        [
            "train",
            "--router",
            "linear",
            "--dataset",
            "mnist-0v1",
            "--resize",
            "4",
            "--data-dir",
            str(tmp_path),
            "--epochs",
            "1",
            "--n-samples",
            "40",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["router_params"] == 16 * 2 + 2 and out["expert_params"] == 2 * (16 * 2 + 2)


def test_bad_pca_exits_2(capsys):
    assert main(["train", "--router", "linear", "--dataset", "digits-3v8", "--pca", "65"]) == 2
    assert "pca=65 exceeds the 64 features" in capsys.readouterr().err


def cli_error_line(*args: str) -> str:
    """Run ``python -m qmoe_tfq.cli`` in a fresh process; assert exit 2 with one line and no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "qmoe_tfq.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 2
    assert proc.stdout == "" and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("qmoe: error: ") and len(proc.stderr.strip().splitlines()) == 1
    return proc.stderr


def test_missing_mnist_exits_2_with_where_to_put_it(tmp_path):
    err = cli_error_line(
        "train", "--router", "quantum", "--dataset", "mnist", "--pca", "4", "--data-dir", str(tmp_path)
    )
    assert str(tmp_path / "mnist.npz") in err and "put it there" in err


def test_corrupted_mnist_exits_2_in_one_line(tmp_path):
    path = write_keras_npz(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # truncated, as by an interrupted copy
    err = cli_error_line(
        "train", "--router", "quantum", "--dataset", "mnist-0v1", "--pca", "2", "--data-dir", str(tmp_path)
    )
    assert str(path) in err and "not a readable .npz" in err


def test_wrong_shape_file_exits_2(tmp_path, capsys):
    np.savez(
        tmp_path / "fashion_mnist.npz",
        x_train=np.zeros((5, 28, 28), np.uint8),
        y_train=np.zeros(4, np.uint8),
        x_test=np.zeros((2, 28, 28), np.uint8),
        y_test=np.zeros(2, np.uint8),
    )
    code = main(["train", "--router", "linear", "--dataset", "fashion_mnist-3v8", "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("qmoe: error: ") and len(err.strip().splitlines()) == 1
    assert "fashion_mnist.npz: x_train holds 5 images but y_train 4 labels" in err


def test_train_on_the_shipped_mnist_subset(capsys):
    code = main(
        [
            "train",
            "--router",
            "linear",
            "--dataset",
            "mnist5k-3v8",
            "--pca",
            "4",
            "--epochs",
            "1",
            "--n-samples",
            "60",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["dataset"] == "mnist5k-3v8" and out["router_params"] == 4 * 2 + 2
