"""``examples/bring_your_own_router.py`` runs at its smallest size, in its own process (its router
registers itself in that process only), and its stack support draws the Keras layer's weights."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "bring_your_own_router.py"

CHECK = """
import runpy, numpy as np
ns = runpy.run_path({path!r})
ns["register"]()
from qmoe_tfq.models.mixture import build_model
from qmoe_tfq.specs.config import ModelSpec
from qmoe_tfq.training.stack import initial_weights, supports
spec = ModelSpec(router="cosine")
assert supports(spec)
for seed in (0, 7):
    ours = initial_weights(spec, 2, 2, seed)
    keras_model = build_model(spec, 2, 2, seed).get_weights()
    assert len(ours) == len(keras_model) and all(np.array_equal(a, b) for a, b in zip(ours, keras_model))
table, results = ns["main"](seeds=1, epochs=2, n_samples=60, progress=False)
assert set(table.index) == {{"cosine", "quantum", "linear", "logreg"}}, table
assert table["mean"].between(0, 1).all(), table
print(table)
"""


def test_bring_your_own_router_runs_at_its_smallest_size():
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, "-c", CHECK.format(path=str(EXAMPLE))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "cosine" in result.stdout
