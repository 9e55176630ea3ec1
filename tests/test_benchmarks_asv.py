"""CI for the asv suite: ``asv check`` and one quick pass (``asv run --quick`` in the existing
environment, reduced grids), so a broken benchmark fails the build; and the rules that keep QUICK
results out of the saved history.

The pass runs against a copy of the repository's asv.conf.json whose results, HTML and machine file
go to a temporary folder, under a machine named ``ci-quick``. Benchmarks that cannot run here
(missing optional dependency) must be skipped, which asv records as NaN, never as a number.
"""

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ASV = Path(sys.executable).with_name("asv")

pytestmark = pytest.mark.skipif(not ASV.exists(), reason="asv is not installed next to this Python")

# Benchmarks allowed to be skipped, and when.
OPTIONAL = {
    "bench_training.AuthorsStackEpoch": "authors_stack",
    "bench_noise.NoisyEvaluation": "noise",
}


def optional_available(kind: str) -> bool:
    sys.path.insert(0, str(ROOT))
    try:
        if kind == "authors_stack":
            from benchmarks import authors_stack

            return authors_stack.missing_dependency() is None
        from benchmarks import bench_noise

        try:
            bench_noise._noise_api()
        except NotImplementedError:
            return False
        return True
    finally:
        sys.path.remove(str(ROOT))


def run(args, tmp_path, timeout=600):
    env = dict(os.environ, HOME=str(tmp_path), QMOE_BENCH_QUICK="1", TF_CPP_MIN_LOG_LEVEL="3")
    env["PATH"] = f"{ASV.parent}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run([str(ASV), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"asv {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    )
    return proc.stdout


def test_environments_asv_builds_always_run_the_full_grids():
    """asv run / continuous build virtualenvs whose results are saved: QMOE_BENCH_QUICK is pinned to 0
    there (overriding the shell) and named in the environment, so QUICK numbers cannot enter."""
    from asv import environment
    from asv.config import Config

    conf = Config.load(str(ROOT / "asv.conf.json"))
    envs = list(environment.get_environments(conf, []))
    assert envs
    for env in envs:
        assert env.env_vars == {"QMOE_BENCH_QUICK": "0"}
        assert "QMOE_BENCH_QUICK0" in env.name
    assert conf.launch_method == "forkserver"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads through /proc")
def test_the_quick_forkserver_preload_leaves_one_thread_to_fork_from():
    """On quick passes asv's forkserver imports TensorFlow and cirq before forking every benchmark
    (``benchmarks/bench_accuracy.py``): safe only while those imports start no thread, which TensorFlow
    Quantum's import would (so it must stay out of the preload)."""
    code = (
        "import os, sys\n"
        "import benchmarks.bench_accuracy\n"
        "print(len(os.listdir('/proc/self/task')), 'tensorflow' in sys.modules, 'cirq' in sys.modules,"
        " 'tensorflow_quantum' in sys.modules)\n"
    )
    env = dict(os.environ, QMOE_BENCH_QUICK="1", QMOE_BENCH_THREADS="1", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["1", "True", "True", "False"], proc.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_bench_saves_nothing_and_names_its_machine_quick():
    proc = subprocess.run(["make", "-n", "bench"], cwd=ROOT, capture_output=True, text=True, check=True)
    lines = proc.stdout.replace("\\\n", " ").splitlines()
    (line,) = [ln for ln in lines if " run " in ln and "asv" in ln]
    assert "QMOE_BENCH_QUICK=1" in line and "--quick" in line
    assert "--set-commit-hash" not in line and "--machine " in line
    assert line.split("--machine ")[1].split()[0].endswith("-quick")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="asv needs git")
def test_asv_check_and_one_quick_pass(tmp_path):
    from asv import util

    conf = util.load_json(str(ROOT / "asv.conf.json"), js_comments=True)
    for key in ("env_dir", "results_dir", "html_dir"):
        assert conf[key].startswith(".asv/"), f"{key} must live under the ignored .asv/ folder"
    conf.update(
        repo=str(ROOT),
        benchmark_dir=str(ROOT / "benchmarks"),
        env_dir=str(tmp_path / "env"),
        results_dir=str(tmp_path / "results"),
        html_dir=str(tmp_path / "html"),
    )
    config = tmp_path / "asv.conf.json"
    config.write_text(json.dumps(conf))
    existing = f"existing:{sys.executable}"
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()

    run(["machine", "--yes", "--machine", "ci-quick", "--config", str(config)], tmp_path)
    assert "No problems found" in run(["check", "--config", str(config), "-E", existing], tmp_path)
    run(
        [
            "run",
            "--config",
            str(config),
            "--quick",
            "--show-stderr",
            "--machine",
            "ci-quick",
            "-E",
            existing,
            "--set-commit-hash",
            head,
        ],
        tmp_path,
    )

    discovered = json.loads((tmp_path / "results" / "benchmarks.json").read_text())
    (result_file,) = [p for p in (tmp_path / "results" / "ci-quick").glob("*.json") if p.name != "machine.json"]
    saved = json.loads(result_file.read_text())
    columns = saved["result_columns"]
    results = {name: dict(zip(columns, row)) for name, row in saved["results"].items()}
    names = [n for n in discovered if n != "version"]
    assert any(n.startswith("bench_training.TrainingEpoch.") for n in names)
    for name in names:
        values = results[name]["result"]
        values = values if isinstance(values, list) else [values]
        group = name.rsplit(".", 1)[0]
        may_skip = group in OPTIONAL and not optional_available(OPTIONAL[group])
        for v in values:
            if may_skip:
                assert v is None or math.isnan(v), f"{name} should be skipped here, got {v}"
            elif name.startswith("bench_accuracy."):
                assert v is not None and 0.0 <= v < 0.5, f"{name}: error rate {v}"
            else:
                assert v is not None and v > 0, f"{name} did not produce a measurement: {v}"
