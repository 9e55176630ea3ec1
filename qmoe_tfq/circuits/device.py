"""Stage: circuits. The router circuit on a real processor: calibrated noise, placement, native gates.

``processor(name)`` reads one of the median calibrations that ``cirq_google`` ships ("rainbow", 23
qubits; "weber", 53), offline, and turns it into noise properties (per-qubit T1/Tphi, readout
errors, per-gate Pauli errors, coherent entangler errors) and cirq_google's noise model. The
calibrations measure two entangling gates, sqrt-iSWAP and Sycamore; the router is compiled to
sqrt-iSWAP (``NATIVE_GATE``) and the single-qubit ``PhasedXZGate``.

``compile_router(rc, weights, proc)`` takes a trained router circuit (weights resolved to numbers,
inputs left symbolic) to the processor:

* **placement** (``placement``): the connected set of n physical qubits with the smallest
  calibrated error score (``qubit_score`` summed over the qubits plus the sqrt-iSWAP Pauli error
  of every coupler inside the set), found by growing a set greedily from every qubit (add the
  neighbour that raises the score least) and keeping the best; ties broken by qubit order.
* **routing**: the ansatz's CNOTs (ranges up to n - 1) are routed onto the placement's coupling
  graph by ``cirq.RouteCQC`` (SWAPs inserted where a CNOT is not nearest-neighbour); its initial
  mapping puts logical qubit i on a physical qubit, and the final mapping says where its readout
  ends up.
* **native gates**: ``cirq.optimize_for_target_gateset(..., cirq.SqrtIswapTargetGateset())``.

The embedding stays a separate first layer of ``PhasedXZGate`` rotations RX(x_i) (one per qubit,
data-dependent, tagged ``EMBEDDING_TAG``), so the compiled circuit without noise equals the
abstract one for every input (``equivalence_error``). ``noisy_circuit`` applies the noise model to
it (gate errors, idling, coherent entangler errors) without measurement; the readout error is
applied on the <Z> values (``readout_affine``), where it is exact.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import cirq
import numpy as np
import sympy

from qmoe_tfq.circuits.router import RouterCircuit
from qmoe_tfq.core.errors import ConfigError, check_choice

PROCESSORS = ("rainbow", "weber")
NATIVE_GATE = "sqrt_iswap"
EMBEDDING_TAG = "embedding"


@dataclass(frozen=True)
class Processor:
    """One processor's calibrated noise: properties, the noise model and its coupling graph."""

    name: str
    properties: object  # cirq_google.GoogleNoiseProperties
    noise_model: cirq.NoiseModel
    graph: object = field(repr=False)  # networkx.Graph of GridQubits

    def readout_errors(self, q: cirq.Qid) -> tuple[float, float]:
        """(e0, e1) of qubit ``q``: P(read 1 | prepared 0), P(read 0 | prepared 1)."""
        e0, e1 = self.properties.readout_errors[q]
        return float(e0), float(e1)

    def gate_error(self, gate_type: type, *qubits: cirq.Qid) -> float:
        """Calibrated Pauli error of a gate type on ``qubits`` (0 when the calibration has none)."""
        from cirq.devices.noise_utils import OpIdentifier

        return float(self.properties.gate_pauli_errors.get(OpIdentifier(gate_type, *qubits), 0.0))

    def qubit_score(self, q: cirq.Qid) -> float:
        """Calibrated error of one qubit for placement: single-qubit Pauli error + mean readout error."""
        return self.gate_error(cirq.PhasedXZGate, q) + 0.5 * sum(self.readout_errors(q))

    def coupler_error(self, a: cirq.Qid, b: cirq.Qid) -> float:
        """sqrt-iSWAP Pauli error per cycle of coupler (a, b)."""
        return self.gate_error(cirq.ISwapPowGate, a, b)


@functools.cache
def processor(name: str) -> Processor:
    """The processor ``name`` (``PROCESSORS``) from cirq_google's shipped median calibration (no network)."""
    check_choice("processor", name, PROCESSORS)
    import cirq_google as cg

    cal = cg.engine.load_median_device_calibration(name)
    props = cg.noise_properties_from_calibration(cal)
    graph = cg.engine.create_device_from_processor_id(name).metadata.nx_graph
    calibrated = set(props.readout_errors)
    graph = graph.subgraph([q for q in graph.nodes if q in calibrated]).copy()
    return Processor(name, props, cg.NoiseModelFromGoogleNoiseProperties(props), graph)


def placement_score(proc: Processor, qubits: tuple[cirq.Qid, ...]) -> float:
    """Sum of ``qubit_score`` over ``qubits`` plus every coupler error inside the set."""
    inside = set(qubits)
    edges = [(a, b) for a, b in proc.graph.edges if a in inside and b in inside]
    return sum(proc.qubit_score(q) for q in qubits) + sum(proc.coupler_error(a, b) for a, b in edges)


@functools.cache
def placement(name: str, n_qubits: int) -> tuple[cirq.GridQubit, ...]:
    """The connected, best-calibrated set of ``n_qubits`` physical qubits (module docstring), sorted."""
    proc = processor(name)
    nodes = sorted(proc.graph.nodes)
    if not 1 <= n_qubits <= len(nodes):
        raise ConfigError(f"{name} has {len(nodes)} calibrated qubits; cannot place {n_qubits}")
    best: tuple[float, tuple] | None = None
    for start in nodes:
        chosen = [start]
        while len(chosen) < n_qubits:
            frontier = sorted({nb for q in chosen for nb in proc.graph.neighbors(q)} - set(chosen))
            if not frontier:
                break
            chosen.append(min(frontier, key=lambda nb: placement_score(proc, (*chosen, nb))))
        if len(chosen) == n_qubits:
            key = (placement_score(proc, tuple(chosen)), tuple(sorted(chosen)))
            if best is None or key < best:
                best = key
    if best is None:
        raise ConfigError(f"{name}: no connected set of {n_qubits} qubits")
    return best[1]


@dataclass(frozen=True)
class CompiledRouter:
    """A trained router on a processor: the embedding layer then the native, routed ansatz.

    ``physical[i]`` carries logical qubit i's embedding; ``readout[i]`` is where its <Z_i> is read
    after routing. ``circuit`` is noiseless, its embedding gates symbolic in the inputs ``x_i``."""

    processor: str
    circuit: cirq.Circuit
    physical: tuple[cirq.GridQubit, ...]
    readout: tuple[cirq.GridQubit, ...]
    inputs: tuple[sympy.Symbol, ...]
    placed: tuple[cirq.GridQubit, ...]
    swaps: int = 0

    @property
    def ansatz(self) -> cirq.Circuit:
        return self.circuit[1:]

    def two_qubit_gates(self) -> int:
        """Native two-qubit gates in the circuit."""
        return sum(1 for op in self.circuit.all_operations() if len(op.qubits) == 2)

    def depth(self) -> int:
        """Moments of the compiled circuit, embedding layer included."""
        return len(self.circuit)

    def resolved(self, x: np.ndarray) -> cirq.Circuit:
        """The circuit at input ``x`` (angles)."""
        return cirq.resolve_parameters(self.circuit, {s.name: float(v) for s, v in zip(self.inputs, x)})


def embedding_gate(x: sympy.Basic | float) -> cirq.PhasedXZGate:
    """RX(x) as the native ``PhasedXZGate`` (equal up to a global phase)."""
    exponent = x / sympy.pi if isinstance(x, sympy.Basic) else x / np.pi
    return cirq.PhasedXZGate(x_exponent=exponent, z_exponent=0.0, axis_phase_exponent=0.0)


@dataclass(frozen=True)
class Template:
    """The weight-independent part of compiling a router shape to a processor: the placement, the
    routed (still symbolic) ansatz, the embedding and readout qubits, and the SWAPs inserted."""

    processor: str
    routed: cirq.Circuit
    physical: tuple[cirq.GridQubit, ...]
    readout: tuple[cirq.GridQubit, ...]
    placed: tuple[cirq.GridQubit, ...]
    swaps: int


@functools.cache
def template(n_qubits: int, layers: int, ansatz: str, name: str) -> Template:
    """The ``Template`` of ``router_circuit(n, n, layers, ansatz)`` on processor ``name``: placed by
    ``placement``, routed by ``cirq.RouteCQC`` on the symbolic circuit (routing sees only the
    two-qubit gates, so every trained model of this shape gets the same routing)."""
    from qmoe_tfq.circuits.router import router_circuit

    rc = router_circuit(n_qubits, n_qubits, layers, ansatz)
    placed = placement(name, n_qubits)
    if n_qubits == 1 or not any(len(op.qubits) == 2 for op in rc.ansatz.all_operations()):
        initial = dict(zip(rc.qubits, placed))
        final = {p: p for p in placed}
        routed = rc.ansatz.transform_qubits(initial)
    else:
        routed, initial, final = cirq.RouteCQC(processor(name).graph.subgraph(placed)).route_circuit(rc.ansatz)
    physical = tuple(initial[q] for q in rc.qubits)
    swaps = sum(1 for op in routed.all_operations() if op.gate == cirq.SWAP)
    return Template(name, routed, physical, tuple(final[p] for p in physical), placed, swaps)


def compile_router(rc: RouterCircuit, weights: np.ndarray, name: str) -> CompiledRouter:
    """``rc`` with ``weights`` resolved, placed and routed (``template``), then compiled to processor
    ``name``'s native gates by ``cirq.optimize_for_target_gateset`` with ``cirq.SqrtIswapTargetGateset``
    (which merges neighbouring gates and resynthesises two-qubit blocks). Each native single-qubit
    gate is tagged ``("slot", k)`` (the k-th in circuit order), so models whose compiled circuits
    share a structure share their noisy structure (``noisy_circuit``)."""
    if rc.embedding is None or rc.ansatz is None:
        raise ConfigError("compile_router needs a RouterCircuit built by router_circuit (embedding and ansatz)")
    n = len(rc.qubits)
    if len(rc.input_symbols) != n:
        raise ConfigError(f"compile_router needs one input per qubit, got {len(rc.input_symbols)} inputs on {n} qubits")
    weights = np.ravel(np.asarray(weights, dtype=float))
    if len(weights) != len(rc.weight_symbols):
        raise ConfigError(f"expected {len(rc.weight_symbols)} weights, got {len(weights)}")
    layers, ansatz = _shape_of(rc)
    t = template(n, layers, ansatz, name)
    resolved = cirq.resolve_parameters(t.routed, {s.name: float(v) for s, v in zip(rc.weight_symbols, weights)})
    native = cirq.optimize_for_target_gateset(resolved, gateset=cirq.SqrtIswapTargetGateset())
    native = cirq.drop_empty_moments(cirq.drop_negligible_operations(native))
    slots = iter(range(10**9))
    native = cirq.Circuit.from_moments(
        *(cirq.Moment(op.with_tags(("slot", next(slots))) if len(op.qubits) == 1 else op for op in m) for m in native)
    )
    embedding = cirq.Moment(
        embedding_gate(x).on(p).with_tags(EMBEDDING_TAG) for x, p in zip(rc.input_symbols, t.physical)
    )
    return CompiledRouter(
        name, cirq.Circuit([embedding]) + native, t.physical, t.readout, rc.input_symbols, t.placed, t.swaps
    )


def compile_ansatz(weights: np.ndarray, name: str) -> CompiledRouter:
    """The authors' strongly entangling layers with ``weights`` of shape (layers, n_qubits, 3) (the
    amplitude router's and the Phase 1 experts' ansatz, PennyLane's order) compiled to processor ``name``
    as ``compile_router`` compiles a router of that shape; its embedding layer (RX gates) is not part of
    those circuits: use ``ansatz`` / ``noisy_circuit(..., embedding=False)`` after an amplitude state
    prepared on ``physical`` (logical qubit i on ``physical[i]``)."""
    from qmoe_tfq.circuits.router import router_circuit

    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 3 or weights.shape[2] != 3:
        raise ConfigError(f"compile_ansatz takes weights of shape (layers, n_qubits, 3), got {weights.shape}")
    layers, n, _ = weights.shape
    return compile_router(router_circuit(n, n, layers, "strongly_entangling"), weights, name)


def _shape_of(rc: RouterCircuit) -> tuple[int, str]:
    """(layers, ansatz) of a ``router_circuit``, read back from its weight shape and gates."""
    layers = rc.weight_shape[0]
    if len(rc.weight_shape) == 2:
        return layers, "ry_cz"
    has_cnot = any(len(op.qubits) == 2 for op in rc.ansatz.all_operations())
    return layers, "strongly_entangling" if has_cnot or len(rc.qubits) == 1 else "strongly_entangling_no_cnot"


# Noisy placeholder moments by structure (processor, system qubits, qubits already acted on, then
# the moment's operations with the single-qubit slots and embedding gates as markers): built once,
# filled per model. The calibration's noise models (thermal idling by moment duration, inserted Pauli
# errors, coherent entangler errors) act moment by moment, except that idling noise starts on a qubit
# at its first gate; so each moment is noised after a prefix moment acting on the qubits already
# acted on, whose own noisy moments are then cut off. The result equals the noise model on the whole
# circuit (``test_noise_model_acts_moment_by_moment``), and moments repeat across models and seeds.
_NOISY: dict[tuple, tuple[cirq.Moment, ...]] = {}
_NOISY_LIMIT = 50000
_PLACEHOLDER = cirq.PhasedXZGate(x_exponent=0.5, z_exponent=0.0, axis_phase_exponent=0.0)
_PLACEHOLDER_TAG = ("slot", -1)


def _marker(op: cirq.Operation):
    if _slot(op) is not None:
        return ("slot", op.qubits)
    if EMBEDDING_TAG in op.tags:
        return ("embedding", op.qubits)
    return op


def _noisy_moment(
    name: str, system: tuple[cirq.Qid, ...], touched: frozenset, moment: cirq.Moment
) -> tuple[cirq.Moment, ...]:
    """The noise model's moments for one compiled moment after the qubits ``touched`` were acted on,
    slots still placeholders (cached)."""
    key = (name, system, touched, tuple(_marker(op) for op in moment))
    if key in _NOISY:
        return _NOISY[key]
    placeholder = cirq.Moment(
        op
        if _marker(op) is op
        else _PLACEHOLDER.on(*op.qubits).with_tags(_PLACEHOLDER_TAG)
        if _slot(op) is not None
        else _PLACEHOLDER.on(*op.qubits).with_tags(*op.tags)
        for op in moment
    )
    model = processor(name).noise_model
    prefix = [cirq.Moment(_PLACEHOLDER.on(q) for q in sorted(touched))] if touched else []
    cut = len(cirq.Circuit(model.noisy_moments(prefix, list(system)))) if prefix else 0
    noisy = tuple(cirq.Circuit(model.noisy_moments(prefix + [placeholder], list(system))))[cut:]
    if len(_NOISY) < _NOISY_LIMIT:
        _NOISY[key] = noisy
    return noisy


def noisy_circuit(compiled: CompiledRouter, embedding: bool = True) -> cirq.Circuit:
    """The compiled circuit under its processor's calibrated noise model (no measurement: the
    readout error is applied to <Z> by ``readout_affine``). Embedding gates keep ``EMBEDDING_TAG``
    and a placeholder angle (replaced by RX(x) when evaluated). The noise model runs once per
    moment structure, with placeholder single-qubit gates, and each model's gates are put into
    their slots (the noise model's channels on a ``PhasedXZGate`` do not depend on its angles).
    ``embedding=False``: the ansatz alone, from an ideal prepared state (for amplitude-embedded
    circuits, whose state preparation is not compiled: ``compile_ansatz``)."""
    system = tuple(sorted(compiled.placed))
    out, touched = [], frozenset()
    for moment in compiled.circuit if embedding else compiled.ansatz:
        gates = {op.qubits[0]: op for op in moment if _slot(op) is not None}
        for m in _noisy_moment(compiled.processor, system, touched, moment):
            out.append(cirq.Moment(gates[op.qubits[0]] if _slot(op) == -1 else op for op in m))
        touched = touched | frozenset(moment.qubits)
    return cirq.Circuit.from_moments(*out)


def is_native_slot(op: cirq.Operation) -> bool:
    """Whether ``op`` is one of the compiled ansatz's native single-qubit gates (tagged ``("slot", k)``)."""
    return _slot(op) is not None


def _slot(op: cirq.Operation) -> int | None:
    return next((t[1] for t in op.tags if isinstance(t, tuple) and len(t) == 2 and t[0] == "slot"), None)


# Channels TFQ's trajectory simulator runs (``tensorflow_quantum.core.serialize.serializer``), all
# single-qubit; it has no two-qubit channel and no generic Kraus channel.
TFQ_CHANNELS = (
    cirq.AmplitudeDampingChannel,
    cirq.AsymmetricDepolarizingChannel,
    cirq.BitFlipChannel,
    cirq.DepolarizingChannel,
    cirq.GeneralizedAmplitudeDampingChannel,
    cirq.PhaseDampingChannel,
    cirq.PhaseFlipChannel,
    cirq.ResetChannel,
)
DAMPING_TOLERANCE = 1e-9


def _ptm1(kraus: list[np.ndarray]) -> np.ndarray:
    """Single-qubit Pauli transfer matrix T[a, b] = Tr(P_a E(P_b)) / 2 (I, X, Y, Z)."""
    paulis = [np.eye(2), cirq.unitary(cirq.X), cirq.unitary(cirq.Y), cirq.unitary(cirq.Z)]
    return np.array(
        [[np.real(np.trace(pa @ sum(k @ pb @ k.conj().T for k in kraus))) / 2 for pb in paulis] for pa in paulis]
    )


def damping_channels(op: cirq.Operation) -> list[cirq.Operation] | None:
    """A single-qubit channel as generalized amplitude damping then phase damping (TFQ channels), when
    it is exactly one (its PTM equal to 1e-9: the thermal T1/Tphi channels of the calibrated noise
    model are); None otherwise. GAD(p, g) has PTM diag(1, sqrt(1 - g), sqrt(1 - g), 1 - g) with
    T[Z, I] = g (2p - 1), phase damping PD(l) diag(1, sqrt(1 - l), sqrt(1 - l), 1)."""
    if len(op.qubits) != 1 or not cirq.has_kraus(op):
        return None
    t = _ptm1(list(cirq.kraus(op)))
    g = 1.0 - t[3, 3]
    if g < -DAMPING_TOLERANCE or g >= 1.0:
        return None
    g = max(g, 0.0)
    p = 0.5 * (t[3, 0] / g + 1.0) if g > 0 else 1.0
    s = t[1, 1] / np.sqrt(1.0 - g)
    lam = 1.0 - s * s
    if not (-DAMPING_TOLERANCE <= p <= 1 + DAMPING_TOLERANCE and -DAMPING_TOLERANCE <= lam <= 1):
        return None
    q = op.qubits[0]
    out = [cirq.generalized_amplitude_damp(float(np.clip(p, 0, 1)), float(g)).on(q)]
    out.append(cirq.phase_damp(float(np.clip(lam, 0, 1))).on(q))
    rebuilt = _ptm1(list(cirq.kraus(out[1]))) @ _ptm1(list(cirq.kraus(out[0])))
    return out if np.abs(rebuilt - t).max() < DAMPING_TOLERANCE else None


def tfq_reduction(noisy: cirq.Circuit) -> tuple[cirq.Circuit, cirq.Circuit, dict[str, int]]:
    """(reduced, translated, dropped) of a ``noisy_circuit``: ``reduced`` is ``noisy`` without the
    channels TFQ cannot simulate (two-qubit depolarizing channels; Kraus channels that are not
    exactly damping channels, ``damping_channels``), counted in ``dropped`` by kind; ``translated``
    is ``reduced`` in TFQ's gate set, operation by operation and exactly: PhasedXZ -> Z, X, Z powers
    (``cirq.decompose_once``); PhasedFSim with zeta = chi = gamma = 0 -> FSim; thermal Kraus ->
    generalized amplitude damping + phase damping. Embedding operations are kept as they are in
    both (the caller puts the inputs in)."""
    reduced, translated = [], []
    dropped: dict[str, int] = {}
    for moment in noisy:
        keep, trans = [], []
        for op in moment:
            gate = op.untagged.gate
            if EMBEDDING_TAG in op.tags:
                keep.append(op)
                trans.append(op)
                continue
            if cirq.has_unitary(op):
                keep.append(op)
                if isinstance(gate, cirq.PhasedXZGate):
                    trans.extend(cirq.decompose_once(op.untagged))
                elif isinstance(gate, cirq.PhasedFSimGate):
                    if max(abs(gate.zeta), abs(gate.chi), abs(gate.gamma)) < 1e-12:
                        trans.append(cirq.FSimGate(gate.theta, gate.phi).on(*op.qubits))
                    else:
                        trans.extend(cirq.decompose_once(op.untagged))
                else:
                    trans.append(op.untagged)
                continue
            if isinstance(gate, TFQ_CHANNELS) and len(op.qubits) == 1:
                keep.append(op)
                trans.append(op.untagged)
                continue
            damping = damping_channels(op)
            if damping is not None:
                keep.append(op)
                trans.extend(damping)
                continue
            kind = f"{type(gate).__name__} ({len(op.qubits)} qubit{'s' if len(op.qubits) > 1 else ''})"
            dropped[kind] = dropped.get(kind, 0) + 1
        reduced.append(cirq.Moment(keep))
        translated.extend(trans)
    return cirq.Circuit(reduced), cirq.Circuit(translated), dropped


def readout_affine(name: str, qubits: tuple[cirq.Qid, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(slope, offset) per qubit with measured <Z> = slope * <Z> + offset under the calibrated readout
    error: slope = 1 - e0 - e1, offset = e1 - e0."""
    e = np.array([processor(name).readout_errors(q) for q in qubits])
    return 1.0 - e[:, 0] - e[:, 1], e[:, 1] - e[:, 0]


def estimated_fidelity(compiled: CompiledRouter) -> dict[str, float]:
    """Calibration-based fidelity estimates of one execution: ``gates`` = prod over native gates
    (embedding included) of (1 - Pauli error); ``readout`` = prod over read qubits of
    (1 - (e0 + e1) / 2); ``total`` their product (idling and coherent errors not included)."""
    proc = processor(compiled.processor)
    gates = 1.0
    for op in compiled.circuit.all_operations():
        gate = op.gate
        if isinstance(gate, cirq.ZPowGate):
            continue  # virtual Z
        gate_type = cirq.ISwapPowGate if isinstance(gate, cirq.ISwapPowGate) else type(gate)
        gates *= 1.0 - proc.gate_error(gate_type, *op.qubits)
    readout = float(np.prod([1.0 - 0.5 * sum(proc.readout_errors(q)) for q in compiled.readout]))
    return {"gates": float(gates), "readout": readout, "total": float(gates * readout)}


def equivalence_error(rc: RouterCircuit, weights: np.ndarray, compiled: CompiledRouter, xs: np.ndarray) -> float:
    """Largest 1 - |<psi_abstract(x)|psi_compiled(x)>| over inputs ``xs`` (noiseless state vectors,
    the compiled one read in logical order through the final mapping; zero when they agree up to a
    global phase)."""
    sim = cirq.Simulator(dtype=np.complex128)
    worst = 0.0
    for x in np.atleast_2d(xs):
        a = sim.simulate(cirq.resolve_parameters(rc.circuit, rc.resolver(x, weights)), qubit_order=rc.qubits)
        c = sim.simulate(compiled.resolved(x), qubit_order=list(compiled.readout))
        worst = max(worst, 1.0 - abs(np.vdot(a.final_state_vector, c.final_state_vector)))
    return float(worst)


__all__ = [
    "EMBEDDING_TAG",
    "NATIVE_GATE",
    "PROCESSORS",
    "CompiledRouter",
    "Processor",
    "TFQ_CHANNELS",
    "compile_router",
    "damping_channels",
    "embedding_gate",
    "equivalence_error",
    "estimated_fidelity",
    "is_native_slot",
    "noisy_circuit",
    "placement",
    "placement_score",
    "processor",
    "readout_affine",
    "tfq_reduction",
]
