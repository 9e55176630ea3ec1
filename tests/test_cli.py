"""``qmoe train --json`` prints exactly one JSON object with the documented keys (run in-process:
``qmoe_cli`` in conftest.py)."""

import json

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


def test_train_json_output(qmoe_cli):
    code, out, err = qmoe_cli(
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
    )
    assert code == 0, err
    out = json.loads(out)
    assert set(out) == KEYS
    assert (out["router"], out["dataset"], out["seed"], out["epochs"]) == ("quantum", "moons", 2, 2)
    assert (out["router_params"], out["expert_params"], out["total_params"]) == (24, 12, 36)
    assert 0 <= out["test_accuracy"] <= 1 and 0 <= out["train_accuracy"] <= 1
    assert out["train_seconds"] > 0


def test_train_human_output_mentions_every_figure(qmoe_cli):
    code, out, err = qmoe_cli(
        "train",
        "--router",
        "mlp",
        "--hidden",
        "4",
        "--epochs",
        "1",
        "--n-samples",
        "100",
    )
    assert code == 0, err
    for word in ("test accuracy", "train accuracy", "router 22, experts 12, total 34", "train time"):
        assert word in out
    assert "epoch    1/1" in err
