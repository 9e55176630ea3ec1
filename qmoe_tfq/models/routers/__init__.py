"""Stage: models. The routers: Keras layers mapping inputs (batch, d) to expert gates (batch, E).

One file per family of layers: ``quantum`` (the PQC router), ``classical`` (``linear``, ``mlp``,
``constant``), ``fourier`` (``fourier``, ``fourier_rank``), and for many inputs ``amplitude``,
``reupload``, ``quadratic`` (the amplitude router's classical twin) and ``quadratic_rank`` (the twin
at low rank). Each file owns its families' Keras builder and their stack support (how the family
runs inside ``qmoe_tfq.training.stack``); the families' validation, expert and parameter counts and
labels are in ``qmoe_tfq.specs.routers`` (no TensorFlow). ``BUILDERS`` maps every family name to its ``RouterKind``: the tests check that its
keys are exactly ``ROUTER_FAMILIES``.

A router from outside the package is one file: a ``RouterFamily`` subclass, a builder, a
``StackSupport`` (or ``NOT_STACKABLE``, said explicitly) and one ``register_router`` call
(``examples/bring_your_own_router.py``).
"""

from __future__ import annotations

from qmoe_tfq.models.routers._kind import NOT_STACKABLE, RouterKind, StackSupport
from qmoe_tfq.models.routers.amplitude import AMPLITUDE_KINDS
from qmoe_tfq.models.routers.classical import CLASSICAL_KINDS
from qmoe_tfq.models.routers.fourier import FOURIER_KINDS
from qmoe_tfq.models.routers.quadratic import QUADRATIC_KINDS
from qmoe_tfq.models.routers.quadratic_rank import QUADRATIC_RANK_KINDS
from qmoe_tfq.models.routers.quantum import QUANTUM_KINDS
from qmoe_tfq.models.routers.reupload import REUPLOAD_KINDS
from qmoe_tfq.specs.config import ModelSpec
from qmoe_tfq.specs.routers import ROUTER_FAMILIES, RouterFamily, register_router_family, router_family

#: Family name -> its Keras builder and stack support; keys equal ``ROUTER_FAMILIES``'.
BUILDERS: dict[str, RouterKind] = {**QUANTUM_KINDS, **CLASSICAL_KINDS, **FOURIER_KINDS}
# Routers for many inputs (issue #23): amplitude embedding, re-uploading, and the quadratic twins.
BUILDERS.update({**AMPLITUDE_KINDS, **REUPLOAD_KINDS, **QUADRATIC_KINDS})
BUILDERS.update(QUADRATIC_RANK_KINDS)


def register_router(family: RouterFamily, build, stack) -> RouterFamily:
    """Add a router family from outside the package: its spec half (``family``: validation, counts,
    label, colour) to ``ROUTER_FAMILIES`` and its Keras half (``build(spec, n_features, seed)``, and
    ``stack``: a ``StackSupport`` or ``NOT_STACKABLE``) to ``BUILDERS``."""
    kind = RouterKind(build, stack)
    register_router_family(family)
    BUILDERS[family.name] = kind
    return family


def router_kind(name: str) -> RouterKind:
    """The ``RouterKind`` of family ``name`` (ConfigError listing the families otherwise)."""
    router_family(name)
    return BUILDERS[name]


def build_router(spec: ModelSpec, n_features: int, seed: int):
    """The router ``spec`` describes (built by its family), initialised deterministically from ``seed``."""
    return router_kind(spec.router).build(spec, n_features, seed)


__all__ = [
    "BUILDERS",
    "NOT_STACKABLE",
    "ROUTER_FAMILIES",
    "RouterKind",
    "StackSupport",
    "build_router",
    "register_router",
    "router_kind",
]
