"""``qmoe train``: every bad typed value exits 2 with one line naming the flag as typed; a diverging
run stops with a clear error instead of an accuracy; ``--help`` shows the defaults."""

import os
import subprocess
import sys

import pytest

from qmoe_tfq import cli

CASES = [
    (["--seed", "-1"], "--seed must be an integer in [0, 4294967295], got -1"),
    (["--data-seed", "-5"], "--data-seed must be an integer in [0, 4294967295], got -5"),
    (["--seed", "99999999999"], "--seed must be an integer in [0, 4294967295], got 99999999999"),
    (["--seed", "1.5"], "--seed must be an integer in [0, 4294967295], got 1.5"),
    (["--noise", "nan"], "--noise must be in [0, 10], got nan"),
    (["--noise", "inf"], "--noise must be in [0, 10], got inf"),
    (["--noise=-0.1"], "--noise must be in [0, 10], got -0.1"),
    (["--lr", "inf"], "--lr must be a finite number > 0, got inf"),
    (["--lr", "nan"], "--lr must be a finite number > 0, got nan"),
    (["--lr", "0"], "--lr must be a finite number > 0, got 0"),
    (["--lr=-1e-3"], "--lr must be a finite number > 0, got -1e-3"),
    (["--depolarizing", "2"], "--depolarizing must be in [0, 1], got 2"),
    (["--depolarizing", "nan"], "--depolarizing must be in [0, 1], got nan"),
    (["--depolarizing", "-0.01"], "--depolarizing must be in [0, 1], got -0.01"),
    (["--test-size", "1"], "--test-size must be in [0, 1), got 1"),
    (["--epochs", "0"], "--epochs must be an integer in [1, 100000], got 0"),
    (["--batch-size", "x"], "--batch-size must be an integer in [1, 1048576], got x"),
    (["--layers", "-2"], "--layers must be an integer in [1, 100], got -2"),
    (["--n-samples", "0"], "--n-samples must be an integer in [1, 1000000], got 0"),
    (["--repetitions", "0"], "--repetitions must be an integer in [1, 1000000], got 0"),
    (["--qubits", "0"], "--qubits must be an integer in [1, 12], got 0"),
    (["--engine", "gpu"], "--engine must be one of exact, tfq_sampled, got gpu"),
    (["--noise-placement", "x"], "--noise-placement must be one of authors, every_gate, got x"),
]


@pytest.mark.parametrize("argv, message", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_values_exit_2_with_one_line_naming_the_flag(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["train", "--router", "quantum", *argv])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err == f"qmoe train: error: {message}\n"


def test_argparse_errors_are_one_line_too(capsys):
    for argv in (["train"], ["train", "--router", "quantum", "--lr"], ["nonsense"]):
        with pytest.raises(SystemExit) as exit_:
            cli.main(argv)
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "error:" in err, err


def test_good_values_are_converted():
    args = cli.parse_args(
        [
            "train",
            "--router",
            "mlp",
            "--seed",
            "4294967295",
            "--lr",
            "1e-3",
            "--depolarizing",
            "1",
            "--test-size",
            "0",
            "--noise",
            "0",
        ]
    )
    assert (args.seed, args.lr, args.depolarizing, args.test_size, args.noise) == (4294967295, 1e-3, 1.0, 0.0, 0.0)
    assert cli.parse_args(["train", "--router", "quantum"]).seed == 0


def test_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for text in (
        "--epochs N training epochs, 1 to 100000 (default: 50)",
        "(default: 0.1)",
        "(default: 0.3)",
        "--seed SEED model (and default data) seed in [0, 4294967295] (default: 0)",
        "(default: 0.0)",
        "(default: 32)",
        "(default: exact)",
        "(default: moons)",
    ):
        assert text in out, text
    assert "(default: None)" not in out and "(default: False)" not in out


def run_cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "qmoe_tfq.cli", "train", *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )


def test_a_bad_value_fails_before_tensorflow_loads():
    proc = run_cli("--router", "quantum", "--depolarizing", "2")
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == "qmoe train: error: --depolarizing must be in [0, 1], got 2\n"


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_diverging_training_stops_with_a_clear_error(json_flag, qmoe_cli):
    code, out, err = qmoe_cli(
        "train", "--router", "mlp", "--lr", "1e30", "--epochs", "3", "--n-samples", "100", *json_flag
    )
    assert code == 1, err
    assert out == ""
    last = err.strip().splitlines()[-1]
    assert last.startswith("qmoe: error: training diverged: the loss of epoch 1 is nan"), err
    assert "try a smaller learning rate" in last and "accuracy" not in out
