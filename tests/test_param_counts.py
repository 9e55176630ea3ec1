"""Parameter counts of the paper's models, exactly, both analytic (each router family owns its
count, ``qmoe_tfq.specs.routers``) and from the built variables."""

import pytest

from qmoe_tfq.core.errors import ConfigError
from qmoe_tfq.models.mixture import build_model
from qmoe_tfq.specs.config import ROUTERS, ModelSpec, param_counts
from qmoe_tfq.specs.routers import ROUTER_FAMILIES, RouterFamily, router_family


@pytest.mark.parametrize(
    "spec,router,experts",
    [
        (ModelSpec(router="quantum", layers=3), 24, 12),  # authors' Model B: 18 circuit + 6 adapter
        (ModelSpec(router="linear"), 6, 12),  # Model A
        (ModelSpec(router="constant"), 0, 12),  # uniform gates
        (ModelSpec(router="quantum", layers=3, readout="probabilities"), 18, 24),  # 4 experts
        (ModelSpec(router="quantum", layers=3, ansatz="ry_cz"), 12, 12),
        (ModelSpec(router="quantum", layers=3, ansatz="strongly_entangling_no_cnot"), 24, 12),  # same as Model B
        (ModelSpec(router="quantum", layers=3, frozen_circuit=True), 6, 12),  # adapter only
        (ModelSpec(router="fourier"), 20, 12),  # Dense(2) on the 9 features: (3^2 + 1) * 2
        (ModelSpec(router="fourier_rank"), 24, 12),  # Dense(9 -> 2, no bias) then Dense(2 -> 2)
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


def test_every_router_family_is_registered_once_and_counts_its_built_model():
    assert ROUTERS == tuple(ROUTER_FAMILIES)
    assert ROUTERS[:4] == ("quantum", "linear", "mlp", "constant")
    for name, family in ROUTER_FAMILIES.items():
        assert isinstance(family, RouterFamily) and family.name == name and family.description
        for n_features, n_classes in ((2, 2), (3, 4)):
            spec = ModelSpec(router=name, layers=2, hidden=3)
            assert build_model(spec, n_features, n_classes, seed=1).param_counts() == param_counts(
                spec, n_features, n_classes
            ), (name, n_features)


@pytest.mark.parametrize("d,experts", [(2, 2), (3, 2), (2, 4), (4, 3)])
def test_fourier_routers_count_3_to_the_d_features(d, experts):
    width = 3**d
    assert param_counts(ModelSpec(router="fourier", n_experts=experts), d, 2).router == (width + 1) * experts
    rank = param_counts(ModelSpec(router="fourier_rank", n_experts=experts), d, 2).router
    assert rank == width * d + d * experts + experts


def test_labels_come_from_the_family():
    assert ModelSpec().label() == "quantum(L=3, expectation)"
    assert ModelSpec(frozen_circuit=True).label() == "quantum(L=3, expectation, frozen circuit)"
    assert ModelSpec(ansatz="strongly_entangling_no_cnot").label() == (
        "quantum(L=3, expectation, strongly_entangling_no_cnot)"
    )
    assert ModelSpec(router="mlp", hidden=4).label() == "mlp(h=4)"
    assert ModelSpec(router="fourier").label() == "fourier"
    assert router_family("fourier_rank").label(ModelSpec(router="fourier_rank", n_qubits=3)) == "fourier_rank(r=3)"


@pytest.mark.parametrize(
    "make,fragments",
    [
        (
            lambda: ModelSpec(router="linear", frozen_circuit=True),
            ["frozen_circuit", "quantum router only", "'linear'"],
        ),
        (lambda: ModelSpec(frozen_circuit="yes"), ["frozen_circuit", "'yes'"]),
        (lambda: param_counts(ModelSpec(router="fourier"), 9, 2), ["d = 9", "d <= 8"]),
        (lambda: router_family("kernel"), ["'kernel'", "fourier, fourier_rank"]),
    ],
)
def test_bad_router_options_name_the_value(make, fragments):
    with pytest.raises(ConfigError) as err:
        make()
    for fragment in fragments:
        assert fragment in str(err.value)
