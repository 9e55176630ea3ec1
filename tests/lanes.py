"""The lane check both stacks' ten-class lane tests share (test_stacked.py, test_stacked_phase1.py)."""

import numpy as np

#: Seed 5 first of 24 members, then 16th: lane 0 and lane 15 of a 32-lane stack.
FIRST = [5, *range(6, 29)]
MIDDLE = [*range(6, 21), 5, *range(21, 29)]


def assert_same_bits_in_lane_0_and_15(train) -> None:
    """``train(members) -> (stack, history)``: seed 5's losses, validation losses and weights are the same
    bits in lane 0 of one 32-lane stack and lane 15 of another."""
    first, h_first = train(FIRST)
    middle, h_middle = train(MIDDLE)
    assert first.lanes == middle.lanes == 32
    assert h_first.losses[0] == h_middle.losses[15]
    assert h_first.validation_losses[0] == h_middle.validation_losses[15]
    assert all(np.array_equal(a, b) for a, b in zip(first.member_weights(0), middle.member_weights(15)))
