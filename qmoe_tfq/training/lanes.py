"""Stage: training. How many lanes a stack of runs occupies, without importing TensorFlow (the runner's
parent process plans jobs by it: ``experiments.runner.job_affinity``).

Stacks are padded with idle copies of their first member up to a multiple of ``LANES`` members. CPU
kernels vectorise across the member axis in packets and finish a ragged tail with scalar code, which
rounds differently; with every real member inside a full packet, a member's numbers do not depend on
which or how many other runs share its stack (``tests/test_stacked.py`` checks it for its specs), so a
run gives the same result alone, in a study, or after a resume. Gradients that sum a member's rows do
so per member (``models.ops.broadcast_rows``): TensorFlow's own broadcast gradient vectorised across
members and rounded lane 0 and lane 15 apart.

Why 16 and not 8, one AVX packet (the pinned TensorFlow's own kernels are built for AVX on every
x86-64 machine: its start-up notice lists AVX2, AVX-512 and FMA as not used): tried on 2026-12-06, a
quantum router run in the last lane of an 8- or 24-lane stack trained to other bits than alone
(Two Moons, 2 qubits, from the first epoch; every lane of 16- and 32-lane stacks agreed, and every
lane of 8-lane blocks for the classical routers), and a full make paper from an empty cache moved 20
runs, two tables' selection margins among them
(``tests/test_stacked.py::test_a_quantum_router_in_the_last_lane_gives_its_bits_alone``).
"""

from __future__ import annotations

LANES = 16


def round_up(n: int, multiple: int) -> int:
    """``n`` rounded up to a multiple of ``multiple``."""
    return -(-n // multiple) * multiple


def lanes_for(members: int) -> int:
    """Lanes a stack of ``members`` runs occupies: the next multiple of ``LANES``."""
    return round_up(members, LANES)


__all__ = ["LANES", "lanes_for", "round_up"]
