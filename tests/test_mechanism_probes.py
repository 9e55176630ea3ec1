"""The gate-map probe: the router's gates over the input plane, for the routing figures."""

import numpy as np
import pytest

from qmoe_tfq.core.errors import ConfigError
from qmoe_tfq.data import Dataset
from qmoe_tfq.experiments.experiment import Experiment, config_key
from qmoe_tfq.experiments.probes import GateMap, decode_gate_map, grid_points
from qmoe_tfq.experiments.registry import EstimatorSpec, qmoe


@pytest.fixture(scope="module")
def data():
    from sklearn.datasets import make_moons

    x, y = make_moons(100, noise=0.1, random_state=0)
    x = ((x - x.min(0)) / (x.max(0) - x.min(0)) * np.pi).astype(np.float32)
    return Dataset(x[:70], y[:70], x[70:], y[70:], 2)


@pytest.mark.parametrize("router,experts", [("linear", 2), ("fourier", 2), ("quantum_prob", 4)])
def test_gate_map_holds_the_gates_on_the_lattice(data, router, experts):
    spec = qmoe(router="quantum", readout="probabilities") if router == "quantum_prob" else qmoe(router=router)
    est = spec.replace(max_epochs=2, lr=0.05).build(0).fit(data.x_train, data.y_train)
    out = GateMap(size=9)(est, data)
    assert out["gate_map_experts"] == experts and len(out["gate_map"]) == 81 * experts
    g = decode_gate_map(out["gate_map"], experts)
    assert g.shape == (9, 9, experts)
    np.testing.assert_allclose(g.sum(axis=-1), 1.0, atol=1e-4)
    direct = est.gates(grid_points(9)).reshape(9, 9, experts)
    np.testing.assert_allclose(g, direct, atol=1e-5)


def test_gate_map_of_a_model_without_router_is_empty(data):
    est = EstimatorSpec("logreg").build(0).fit(data.x_train, data.y_train)
    assert GateMap(8)(est, data) == {}


def test_gate_map_needs_two_features_and_a_good_size(data):
    est = qmoe(router="linear", max_epochs=1).build(0).fit(np.c_[data.x_train, data.x_train[:, :1]], data.y_train)
    three = Dataset(np.c_[data.x_train, data.x_train[:, :1]], data.y_train, data.x_test, data.y_test, 2)
    with pytest.raises(ConfigError, match="two-feature"):
        GateMap(8)(est, three)
    with pytest.raises(ConfigError, match="gate map size"):
        GateMap(0)
    with pytest.raises(ValueError, match="not size"):
        decode_gate_map([0.5] * 10, 2)


def test_gate_map_size_enters_the_cache_key():
    a = Experiment("a", qmoe(router="linear"), probes=(GateMap(8),))
    b = Experiment("b", qmoe(router="linear"), probes=(GateMap(16),))
    assert config_key(a, 0) != config_key(b, 0)
