"""``make paper QUICK=1`` produces every expected file, each parses and says QUICK, the run is
stamped (manifest, index.html), the terminal stays free of TensorFlow noise, and a warm rerun
rewrites byte-identical files (only the manifest's times change)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qmoe_tfq.reporting.report import QUICK_NOTE, read_table

ROOT = Path(__file__).resolve().parents[1]
TABLES = [
    "two_moons_tuned",
    "two_moons_authors_budget",
    "two_moons_authors",
    "two_moons_convergence",
    "param_efficiency_tuned",
    "param_efficiency_authors_budget",
    "scaling",
    "scaling_cost",
    "noise",
    "noise_threshold",
    "noise_advantage",
    "noise_engines",
    "noise_timing",
    "noise_n3",
    "mechanism",
    "mechanism_trainability",
    "mechanism_routing",
    "mechanism_kernel_alignment",
    "mechanism_function_class",
    "phase1",
    "phase1_timing",
    # issue #20: did the epoch budget suffice? one per tuned study
    "two_moons_tuning_convergence",
    "param_efficiency_tuning_convergence",
    "scaling_tuning_convergence",
    "mechanism_tuning_convergence",
    "phase1_tuning_convergence",
    # issue #22: the device study (open question 1)
    "device_accuracy",
    "device_shots",
    "device_shots_needed",
    "device_depolarizing_shots",
    "device_cost",
    "device_checks",
    "device_tfq_check",
    "device_fine_tune",
]
FIGURES = [
    "two_moons_decision_regions",
    "two_moons_loss_curves",
    "two_moons_validation_curves",
    "two_moons_accuracy",
    "param_efficiency",
    "scaling_accuracy",
    "scaling_cost",
    "noise_sweep",
    "noise_advantage",
    "gate_maps",
    "kernel_alignment",
    "mechanism_trainability",
    "phase1_accuracy",
    "two_moons_km",
    "specification_curves",
    "device_shots",
]
NOTEBOOKS = [
    "01_two_moons",
    "02_param_efficiency",
    "03_scaling",
    "04_noise",
    "05_mechanism",
    "06_phase1",
    "07_device_noise",
    "08_high_dim",
    "99_claims_ledger",
]
# Open questions 2 and 4 (issue #23)
TABLES += ["high_dim", "high_dim_fully_quantum", "high_dim_tuning_convergence"]
FIGURES += ["high_dim_accuracy"]
NOISE = (
    "cuInit",
    "Unable to register",
    "absl::InitializeLog",
    "without encryption",
    "retracing",
    "IProgress",
    "Parent appears",
    "oneDNN",
)


def run_paper(out: Path, cache: Path) -> subprocess.CompletedProcess:
    # One runner process: at QUICK size two workers save ~4 s of wall on 2 quiet cores but cost ~24 s of CPU
    # (each imports TensorFlow and traces its own graphs), taken from the suite's other xdist worker. The
    # parallel runner has its own tests (test_runner.py, test_dask.py).
    env = {**os.environ, "QMOE_QUICK": "1", "QMOE_PAPER_DIR": str(out), "QMOE_CACHE_DIR": str(cache), "QMOE_JOBS": "1"}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the package's default, as `make paper` runs it
    return subprocess.run(
        [sys.executable, "-m", "qmoe_tfq.publish.paper"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )


def file_bytes(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_quick_paper_pipeline(tmp_path):
    out, cache = tmp_path / "paper", tmp_path / "cache"
    proc = run_paper(out, cache)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for noise in NOISE:
        assert noise not in proc.stderr, f"{noise!r} on the terminal:\n{proc.stderr[-3000:]}"
    for name in TABLES:
        assert len(read_table(out / "tables" / f"{name}.csv")) > 0
        assert (out / "tables" / f"{name}.csv").read_text().startswith(f"# {QUICK_NOTE}")
        md = (out / "tables" / f"{name}.md").read_text()
        assert md.startswith(QUICK_NOTE) and md.count("|") > 10
        assert "\\begin{tabular}" in (out / "tables" / f"{name}.tex").read_text()
    for name in FIGURES:
        png = (out / "figures" / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and QUICK_NOTE.encode() in png
        assert (out / "figures" / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"
    for name in NOTEBOOKS:
        html = (out / "notebooks" / f"{name}.html").read_text()
        assert "<html" in html and "Traceback" not in html and "<script src=" not in html
    claims = json.loads((out / "claims.json").read_text())
    assert {c["id"] for c in claims["claims"]} >= {f"C{i}" for i in range(1, 9)} | {"Q1", "Q2", "Q4"}
    assert "QUICK run" in claims["header"] and "QUICK run" in (out / "claims.md").read_text()

    stamp = json.loads((out / "manifest.json").read_text())
    assert (stamp["size"], stamp["quick"], stamp["notebooks"]) == ("QUICK", True, NOTEBOOKS)
    expected = {f"tables/{t}" for t in TABLES} | {f"figures/{f}" for f in FIGURES} | {"claims"}
    assert expected <= set(stamp["outputs"])
    planned = {name: set(s["keys"]) for name, s in stamp["studies"].items()}
    planned["ledger"] = set().union(*planned.values())
    for out_id, output in stamp["outputs"].items():
        assert output["study"] in planned and output["keys"], out_id
        assert set(output["keys"]) <= planned[output["study"]], out_id
    index = (out / "index.html").read_text()
    assert "QUICK run" in index and all(f'src="figures/{f}.png"' in index for f in FIGURES)
    assert all(f'href="notebooks/{n}.html"' in index for n in NOTEBOOKS)
    assert not list(out.rglob(".*")), "temporary or sidecar files left in the output"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".paper.lock", "cache", "paper"], "staging folder left"

    before = file_bytes(out)
    proc = run_paper(out, cache)
    assert proc.returncode == 0, proc.stderr[-3000:]
    after = file_bytes(out)
    assert set(after) == set(before)
    changed = sorted(p for p in before if after[p] != before[p])
    assert changed == ["manifest.json"], f"warm rerun changed {changed}"
