"""Stage: training. How many lanes a stack of runs occupies and how many traced stacks a worker keeps,
without importing TensorFlow (the runner's parent process plans jobs by them: ``experiments.runner.job_affinity``,
``experiments.pool``).

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
runs, the tuning losses and selection margins of four tables among them
(``tests/test_stacked.py::test_a_quantum_router_in_the_last_lane_gives_its_bits_alone``).
"""

from __future__ import annotations

LANES = 16

# A traced stack is reused for the next job of its shapes, and small jobs are mostly their trace (the
# high-dimensional study's tuning jobs: 0.4-4 s the first time, 0.06-0.27 s again). A study's stages revisit its
# architectures (tuning, edge extensions, evaluation), so a worker keeps 64 of them: the high-dimensional
# study alone (2 workers, empty cache, alternating runs) took 137.6 and 147.2 s with 16, 120.6 and 134.9 s
# with 64 (CPU 238-269 s against 277-292 s), 133.1 s with 256 (no better; more memory per worker).
TRACED_STACKS = 64


def round_up(n: int, multiple: int) -> int:
    """``n`` rounded up to a multiple of ``multiple``."""
    return -(-n // multiple) * multiple


def lanes_for(members: int) -> int:
    """Lanes a stack of ``members`` runs occupies: the next multiple of ``LANES``."""
    return round_up(members, LANES)


__all__ = ["LANES", "TRACED_STACKS", "lanes_for", "round_up"]
