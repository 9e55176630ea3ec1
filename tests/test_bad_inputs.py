"""Every bad input ends with exit status 2 and one line on stderr, no traceback, before any work
starts (the table is data: ``tests/bad_inputs.py``); Ctrl-C on ``qmoe train`` exits 130 with one line."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from bad_inputs import CASES, DATA_FILES, PAPER_TARGETS
from test_data import write_keras_npz

from qmoe_tfq import cli
from qmoe_tfq.data.npz import NPZ_KEYS
from qmoe_tfq.publish import paper

ROOT = Path(__file__).resolve().parents[1]


def test_the_table_is_big_enough():
    assert len(CASES) >= 104
    assert len({c[0] for c in CASES}) == len(CASES), "case ids must be unique"


def make_data_dir(tmp_path: Path, name: str) -> Path:
    """A data folder whose ``mnist.npz`` is broken in the way ``name`` says."""
    folder = tmp_path / name
    folder.mkdir()
    path = folder / "mnist.npz"
    if name == "missing":
        pass
    elif name == "directory":
        path.mkdir()
    elif name == "truncated":
        write_keras_npz(folder)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif name == "missing_key":
        np.savez(path, x_train=np.zeros((4, 28, 28), np.uint8))
    elif name == "huge_header":  # the header of x_train promises (2e12, 28, 28) uint8 (1.4 PiB); the data is tiny
        from numpy.lib import format as npy

        with zipfile.ZipFile(path, "w") as archive:
            for key in NPZ_KEYS:
                shape = (2 * 10**12, 28, 28) if key == "x_train" else (10,) if key.startswith("y") else (10, 28, 28)
                buf = io.BytesIO()
                npy.write_array_header_1_0(buf, {"descr": "|u1", "fortran_order": False, "shape": shape})
                buf.write(b"\0" * 64)
                archive.writestr(f"{key}.npy", buf.getvalue())
    elif name == "single_npy":
        with open(path, "wb") as fh:
            np.save(fh, np.zeros((3, 28, 28), np.uint8))
    elif name == "text":
        path.write_text("x_train,y_train\n")
    elif name == "wrong_shape":
        np.savez(
            path,
            x_train=np.zeros((4, 8, 8), np.uint8),
            y_train=np.zeros(4, np.uint8),
            x_test=np.zeros((2, 8, 8), np.uint8),
            y_test=np.zeros(2, np.uint8),
        )
    elif name == "bad_labels":
        np.savez(
            path,
            x_train=np.zeros((4, 28, 28), np.uint8),
            y_train=np.full(4, 12, np.uint8),
            x_test=np.zeros((2, 28, 28), np.uint8),
            y_test=np.zeros(2, np.uint8),
        )
    elif name == "data_dir_is_a_file":
        folder.rmdir()
        folder.write_text("not a folder")
    else:
        raise AssertionError(name)
    return folder


def make_paper_target(tmp_path: Path, name: str, monkeypatch) -> Path:
    """A folder (or file) ``make paper`` must refuse to replace, as ``name`` says."""
    target = tmp_path / name
    if name == "non_empty":
        target.mkdir()
        (target / "thesis.tex").write_text("a user's file")
    elif name == "foreign_manifest":
        target.mkdir()
        (target / "manifest.json").write_text(json.dumps({"name": "some other tool"}))
    elif name == "broken_manifest":
        target.mkdir()
        (target / "manifest.json").write_text("{not json")
    elif name == "file":
        target.write_text("a file")
    elif name in ("home", "holds_home"):
        home = tmp_path / "holds_home" / "home"
        home.mkdir(parents=True)
        monkeypatch.setenv("HOME", str(home))
        target = home if name == "home" else home.parent
    elif name in ("foreign_staging", "foreign_previous"):
        sibling = tmp_path / f".{name}.{name.split('_')[1]}"
        sibling.mkdir()
        (sibling / "keep.txt").write_text("not the driver's")
    else:
        raise AssertionError(name)
    return target


def fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_line(case, tmp_path, monkeypatch, capsys):
    case_id, kind, argv, env, setup, expect = case
    values = {"tmp": str(tmp_path), "root": str(ROOT)}
    if setup in DATA_FILES:
        values["dir"] = str(make_data_dir(tmp_path, setup))
    elif setup in PAPER_TARGETS:
        values["dir"] = str(make_paper_target(tmp_path, setup, monkeypatch))
    argv = [fill(a, values) for a in argv]
    for name in ("QMOE_PAPER_DIR", "QMOE_QUICK", "QMOE_JOBS", "QMOE_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, fill(value, values))
    if kind == "paper":
        monkeypatch.setattr(paper, "build", lambda *a, **k: pytest.fail("the driver started a run"))
    monkeypatch.setattr(
        "qmoe_tfq.training.train.train_model", lambda *a, **k: pytest.fail("training started"), raising=False
    )
    before = sorted(p.name for p in tmp_path.iterdir())

    full = ["train", "--router", "quantum", *argv] if kind == "train" else argv
    try:
        code = paper.main(argv) if kind == "paper" else cli.main(full)
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert expect in err, err
    if kind == "paper":  # nothing was created next to the refused target
        assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_foreign_siblings_are_refused_by_the_real_build(tmp_path, capsys):
    """Past ``check_target`` (a new target), a foreign ``.<name>.staging`` stops the run, untouched."""
    staging = tmp_path / ".out.staging"
    staging.mkdir()
    (staging / "keep.txt").write_text("mine")
    with pytest.raises(paper.TargetRefused, match="was not made by this tool"):
        paper.build([], tmp_path / "out", quick=True, warm=False, studies=[], log=lambda m: None)
    assert (staging / "keep.txt").read_text() == "mine" and not (tmp_path / "out").exists()


def test_check_target_allows_new_empty_and_own_folders(tmp_path):
    assert paper.check_target(tmp_path / "new") == (tmp_path / "new").resolve()
    (tmp_path / "empty").mkdir()
    assert paper.check_target(tmp_path / "empty") == (tmp_path / "empty").resolve()
    own = tmp_path / "own"
    own.mkdir()
    (own / "claims.md").write_text("x")
    (own / "manifest.json").write_text(json.dumps({"manifest_version": 1, "generator": "qmoe_tfq.publish.paper"}))
    assert paper.check_target(own) == own.resolve()
    (own / "manifest.json").write_text(json.dumps({"manifest_version": 1}))  # old manifest, not a default folder
    with pytest.raises(paper.TargetRefused):
        paper.check_target(own)
    assert paper.check_target(paper.PAPER_DIR) == paper.PAPER_DIR  # the committed paper/ (old manifest)
    for refused in ("/", ROOT, ROOT.parent, Path.home()):
        with pytest.raises(paper.TargetRefused):
            paper.check_target(refused)


def run(args: list[str], env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})},
        **kwargs,
    )


def test_in_a_fresh_process_too():
    proc = run(
        ["-m", "qmoe_tfq.cli", "train", "--router", "quantum", "--engine", "tfq_sampled", "--repetitions", "2147483648"]
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.startswith("qmoe train: error: ") and proc.stderr.count("\n") == 1, proc.stderr


def test_a_huge_header_in_a_fresh_process(tmp_path):
    folder = make_data_dir(tmp_path, "huge_header")
    proc = run(
        [
            "-m",
            "qmoe_tfq.cli",
            "train",
            "--router",
            "linear",
            "--dataset",
            "mnist-0v1",
            "--pca",
            "2",
            "--data-dir",
            str(folder),
        ]
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.startswith("qmoe: error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "more than the" in proc.stderr


def test_paper_refuses_the_repository_in_a_fresh_process():
    proc = run(["-m", "qmoe_tfq.publish.paper"], env={"QMOE_PAPER_DIR": "."})
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == f"paper: refusing to write to {ROOT}: it is the repository itself\n"


def test_version(capsys):
    from qmoe_tfq import __version__

    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code in (0, None)
    assert capsys.readouterr() == (f"qmoe {__version__}\n", "")


def test_ctrl_c_during_training_exits_130_with_one_line():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "qmoe_tfq.cli",
            "train",
            "--router",
            "linear",
            "--epochs",
            "100000",
            "--n-samples",
            "2000",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait until training runs
            line = proc.stderr.readline()
            lines.append(line)
            if line.startswith("epoch") or not line:
                break
        assert lines[-1].startswith("epoch"), "".join(lines)
        proc.send_signal(signal.SIGINT)
        out, rest = proc.communicate(timeout=60)
    finally:
        proc.kill()
    after = [line for line in rest.splitlines() if not line.startswith("epoch")]
    assert proc.returncode == 130, rest
    assert after == ["qmoe: interrupted"], rest
    assert "Traceback" not in "".join(lines) + rest and out == ""
