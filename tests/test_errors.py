"""Bad input fails early with a message naming the value and what is allowed."""

import pytest

from qmoe_tfq import ConfigError
from qmoe_tfq.circuits.router import router_circuit
from qmoe_tfq.data import DataSpec
from qmoe_tfq.specs.config import ROUTERS, ModelSpec, TrainSpec


@pytest.mark.parametrize(
    "make,fragments",
    [
        (lambda: ModelSpec(router="transformer"), ["'transformer'", "quantum, linear, mlp, constant"]),
        (lambda: ModelSpec(readout="shots"), ["'shots'", "expectation, probabilities"]),
        (lambda: ModelSpec(ansatz="qaoa"), ["'qaoa'", "strongly_entangling"]),
        (lambda: ModelSpec(layers=0), ["layers", "0", ">= 1"]),
        (lambda: ModelSpec(hidden=-3), ["hidden", "-3"]),
        (lambda: TrainSpec(epochs=0), ["epochs", "0", ">= 1"]),
        (lambda: TrainSpec(lr=0.0), ["lr", "0.0"]),
        (lambda: DataSpec(name="cifar"), ["'cifar'", "moons"]),
        (lambda: DataSpec(test_size=1.0), ["test_size", "1.0"]),
        (lambda: ModelSpec(n_qubits=1).qubits_for(2), ["n_qubits=1", "feature count 2", ">= 2"]),
        (lambda: router_circuit(3, 2, 1), ["n_qubits=2", "feature count 3"]),
        (
            lambda: ModelSpec(readout="probabilities", n_experts=3).experts_for(2),
            ["n_experts=3", "4 = 2^n_qubits"],
        ),
    ],
)
def test_config_errors_name_the_value(make, fragments):
    with pytest.raises(ConfigError) as err:
        make()
    for fragment in fragments:
        assert fragment in str(err.value)


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["--router", "foo"], f"--router must be one of {', '.join(ROUTERS)}, got foo"),
        (["--router", "quantum", "--readout", "bits"], "--readout must be one of expectation, probabilities, got bits"),
        (["--router", "quantum", "--dataset", "imagenet"], "unknown dataset 'imagenet'; allowed: moons"),
        (["--router", "quantum", "--epochs", "0"], "--epochs must be an integer in [1, 100000], got 0"),
        (["--router", "quantum", "--layers", "-1"], "--layers must be an integer in [1, 100], got -1"),
        (["--router", "quantum", "--qubits", "1"], "n_qubits=1 is below the feature count 2"),
    ],
)
def test_cli_bad_input_exits_2_without_traceback(args, fragment, qmoe_cli):
    code, out, err = qmoe_cli("train", *args)
    assert code == 2
    assert fragment in err
    assert "Traceback" not in err
    assert out == ""
