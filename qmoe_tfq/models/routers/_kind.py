"""Stage: models. What ``BUILDERS`` holds per router family: its Keras builder and its stack support.

No TensorFlow at import. A ``StackSupport`` tells ``qmoe_tfq.training.stack`` how the family's
router runs for ``M`` members at once (weights on a leading member axis); a family that cannot must
say so with ``NOT_STACKABLE`` (its runs then take the Keras loop, by declaration, not by omission).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from qmoe_tfq.core.errors import ConfigError


class StackSupport:
    """How one router family runs inside a stack (``qmoe_tfq.training.stack._moe.StackedMoE``).

    ``initial`` draws the router's ``(role, weights)`` from the router seed exactly as the family's
    builder does, in the built layer's ``get_weights()`` order; ``gates(stack, x, v, lane)`` maps
    inputs (lanes, B, d) to gates (lanes, B, E) from the stacked weights ``v`` (role -> variable).
    """

    def supports(self, spec) -> bool:
        """Whether runs of ``spec`` can be stacked (the mixture stacks exact engines only)."""
        return spec.engine == "exact"

    def initial(self, spec, n_features: int, n_experts: int, seed: int) -> list:
        raise NotImplementedError

    def frozen(self, spec) -> tuple[str, ...]:
        """Roles the stack must not train."""
        return ()

    def setup(self, stack) -> None:
        """Anything the stack needs besides its weights (an engine), once, before the first call."""

    def gates(self, stack, x, v: dict, lane: int | None = None):
        raise NotImplementedError


#: Said by a family whose runs cannot be stacked (they train in the Keras loop, one at a time).
NOT_STACKABLE = "not stackable"


@dataclass(frozen=True)
class RouterKind:
    """A family's Keras half: ``build(spec, n_features, seed)`` -> layer, and ``stack``: a
    ``StackSupport`` or ``NOT_STACKABLE`` (anything else is refused: no silent slow path)."""

    build: Callable
    stack: StackSupport | str

    def __post_init__(self) -> None:
        if not callable(self.build):
            raise ConfigError(f"a router's build must be callable, got {self.build!r}")
        if not (isinstance(self.stack, StackSupport) or self.stack == NOT_STACKABLE):
            raise ConfigError(f"a router's stack must be a StackSupport or NOT_STACKABLE, got {self.stack!r}")

    def stackable(self, spec) -> bool:
        return isinstance(self.stack, StackSupport) and self.stack.supports(spec)


__all__ = ["NOT_STACKABLE", "RouterKind", "StackSupport"]
