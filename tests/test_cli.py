"""``qmoe train --json`` prints exactly one JSON object with the documented keys."""

import json
import os
import subprocess
import sys

KEYS = {
    "router",
    "dataset",
    "seed",
    "epochs",
    "test_accuracy",
    "train_accuracy",
    "router_params",
    "expert_params",
    "total_params",
    "train_seconds",
}


def test_train_json_output():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "qmoe_tfq.cli",
            "train",
            "--router",
            "quantum",
            "--dataset",
            "moons",
            "--seed",
            "2",
            "--epochs",
            "2",
            "--lr",
            "0.1",
            "--n-samples",
            "120",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == KEYS
    assert (out["router"], out["dataset"], out["seed"], out["epochs"]) == ("quantum", "moons", 2, 2)
    assert (out["router_params"], out["expert_params"], out["total_params"]) == (24, 12, 36)
    assert 0 <= out["test_accuracy"] <= 1 and 0 <= out["train_accuracy"] <= 1
    assert out["train_seconds"] > 0


def test_train_human_output_mentions_every_figure():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "qmoe_tfq.cli",
            "train",
            "--router",
            "mlp",
            "--hidden",
            "4",
            "--epochs",
            "1",
            "--n-samples",
            "100",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr
    for word in ("test accuracy", "train accuracy", "router 22, experts 12, total 34", "train time"):
        assert word in proc.stdout
    assert "epoch    1/1" in proc.stderr
