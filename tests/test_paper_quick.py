"""``make paper QUICK=1`` produces every expected file, each parses, and a warm rerun rewrites
byte-identical tables."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
TABLES = ["two_moons_tuned", "two_moons_authors_budget", "two_moons_authors", "two_moons_convergence",
          "param_efficiency_tuned", "param_efficiency_authors_budget", "scaling",
          "scaling_cost", "noise", "noise_threshold", "noise_engines", "noise_timing", "noise_n3",
          "mechanism", "mechanism_trainability", "mechanism_routing", "mechanism_kernel_alignment",
          "mechanism_function_class"]
FIGURES = ["two_moons_decision_regions", "two_moons_loss_curves", "two_moons_accuracy", "param_efficiency",
           "scaling_accuracy", "scaling_cost", "noise_sweep",
           "gate_maps", "kernel_alignment", "mechanism_trainability"]
NOTEBOOKS = ["01_two_moons", "02_param_efficiency", "03_scaling", "04_noise", "05_mechanism", "99_claims_ledger"]


def run_paper(out: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "QMOE_QUICK": "1", "QMOE_PAPER_DIR": str(out), "QMOE_CACHE_DIR": str(cache),
           "QMOE_JOBS": "2", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "qmoe_tfq.paper"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)


@pytest.mark.slow
def test_quick_paper_pipeline(tmp_path):
    out, cache = tmp_path / "paper", tmp_path / "cache"
    proc = run_paper(out, cache)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for name in TABLES:
        assert len(pd.read_csv(out / "tables" / f"{name}.csv")) > 0
        assert (out / "tables" / f"{name}.md").read_text().count("|") > 10
        assert "\\begin{tabular}" in (out / "tables" / f"{name}.tex").read_text()
    for name in FIGURES:
        assert (out / "figures" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (out / "figures" / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"
    for name in NOTEBOOKS:
        html = (out / "notebooks" / f"{name}.html").read_text()
        assert "<html" in html and "Traceback" not in html
    claims = json.loads((out / "claims.json").read_text())["claims"]
    assert {c["id"] for c in claims} >= {f"C{i}" for i in range(1, 9)}
    assert "QUICK run" in (out / "claims.md").read_text()
    assert not list(out.rglob(".*.tmp"))

    before = {p: p.read_bytes() for p in (out / "tables").glob("*") if p.is_file()}
    before[out / "claims.json"] = (out / "claims.json").read_bytes()
    proc = run_paper(out, cache)
    assert proc.returncode == 0, proc.stderr[-3000:]
    changed = [p.name for p, data in before.items() if p.read_bytes() != data]
    assert not changed, f"warm rerun changed {changed}"
