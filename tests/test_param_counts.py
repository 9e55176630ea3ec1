"""Parameter counts of the paper's models, exactly, both analytic and from the built variables."""

import pytest

from qmoe_tfq.config import ModelSpec, param_counts
from qmoe_tfq.model import build_model


@pytest.mark.parametrize(
    "spec,router,experts",
    [
        (ModelSpec(router="quantum", layers=3), 24, 12),  # authors' Model B: 18 circuit + 6 adapter
        (ModelSpec(router="linear"), 6, 12),  # Model A
        (ModelSpec(router="constant"), 0, 12),  # uniform gates
        (ModelSpec(router="quantum", layers=3, readout="probabilities"), 18, 24),  # 4 experts
        (ModelSpec(router="quantum", layers=3, ansatz="ry_cz"), 12, 12),
    ],
)
def test_named_models(spec, router, experts):
    counts = param_counts(spec, 2, 2)
    assert (counts.router, counts.experts, counts.total) == (router, experts, router + experts)
    assert build_model(spec, 2, 2, seed=0).param_counts() == counts


def test_quantum_model_b_totals_36():
    assert build_model(ModelSpec(), 2, 2, seed=0).param_counts().total == 36


@pytest.mark.parametrize("hidden", [1, 2, 4, 8, 16, 32, 64])
def test_mlp_router_is_5h_plus_2(hidden):
    spec = ModelSpec(router="mlp", hidden=hidden)
    assert param_counts(spec, 2, 2).router == 5 * hidden + 2
    assert build_model(spec, 2, 2, seed=0).param_counts().router == 5 * hidden + 2


def test_quantum_router_scales_with_qubits_and_layers():
    spec = ModelSpec(router="quantum", layers=2)
    # 4 qubits: 2 * 4 * 3 circuit angles + Dense(4 -> 2) adapter
    assert param_counts(spec, 4, 3).router == 24 + 4 * 2 + 2
    assert build_model(spec, 4, 3, seed=0).param_counts() == param_counts(spec, 4, 3)
