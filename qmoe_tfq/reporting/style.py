"""Stage: reporting. One look per model across every figure: a colour per model FAMILY, and a line style and marker per
model, so models of one family differ by line and marker and the same model looks the same everywhere.

Families: ``quantum`` (the authors' router and its quantum variants), ``linear`` (Model A), ``mlp``
(Model C, the parameter-matched and width-sweep routers), ``constant`` (experts only), ``fourier``
(trigonometric-feature router), ``logreg``, ``rbf_svm``, ``quantum_kernel_svm``, ``phase1``. A router
family registered from outside (``qmoe_tfq.models.routers.register_router``) brings its own colour
(``RouterFamily.color``); any other model id is drawn in the neutral ``OTHER`` family, never an error.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

from qmoe_tfq.specs.routers import ROUTER_FAMILIES

FAMILY_COLORS = {
    "quantum": "#7b3294",
    "linear": "#1b7837",
    "mlp": "#d6604d",
    "constant": "#878787",
    "fourier": "#e08214",
    "logreg": "#2166ac",
    "rbf_svm": "#01665e",
    "quantum_kernel_svm": "#8c510a",
    "phase1": "#000000",
}
FAMILIES = tuple(FAMILY_COLORS)
NEUTRAL = "#4d4d4d"
#: The family of a model id no rule knows: drawn in ``NEUTRAL``.
OTHER = "other"

LINESTYLES = (
    "-",
    "--",
    ":",
    "-.",
    (0, (5, 1)),
    (0, (3, 1, 1, 1)),
    (0, (1, 1)),
    (0, (5, 5)),
    (0, (3, 5, 1, 5)),
    (0, (3, 1, 1, 1, 1, 1)),
)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">", "p")

# Known models in a fixed order: the i-th gets LINESTYLES[i % 10] and MARKERS[i % 12], so every
# (line style, marker) pair is distinct, and the models usually drawn together (first ten) also have
# distinct line styles.
MODEL_ORDER = (
    "quantum",
    "linear",
    "matched",
    "mlp_h4",
    "mlp_h64",
    "constant",
    "fourier",
    "logreg",
    "rbf_svm",
    "quantum_kernel_svm",
    "phase1",
    "deep",
    "quantum_L1",
    "quantum_L2",
    "quantum_L4",
    "quantum_L6",
    "quantum_prob",
    "quantum_rycz_prob",
    "quantum_rycz",
    "quantum_train",
    "mlp_h1",
    "mlp_h2",
    "mlp_h3",
    "mlp_h5",
    "mlp_h8",
    "mlp_h16",
    "mlp_h32",
    "mlp",
)
ALIASES = {"quantum_L3": "quantum", "quantum_deploy": "quantum"}
_PAIRS = math.lcm(len(LINESTYLES), len(MARKERS))  # indices below this have distinct pairs


@dataclass(frozen=True)
class Style:
    """How one model is drawn."""

    family: str
    color: str
    linestyle: str | tuple
    marker: str

    def kwargs(self) -> dict:
        """Keyword arguments for ``Axes.plot`` / ``Axes.errorbar``."""
        return {"color": self.color, "linestyle": self.linestyle, "marker": self.marker}


def family_of(model_id: str) -> str:
    """The family of a model id (``quantum_L3`` -> quantum, ``mlp_h4`` / ``matched`` -> mlp, ...;
    ``OTHER`` for an id no rule or registered router family claims)."""
    rules = (
        ("quantum_kernel_svm", "quantum_kernel_svm"),
        ("quantum", "quantum"),
        ("linear", "linear"),
        ("mlp", "mlp"),
        ("matched", "mlp"),
        ("deep", "mlp"),
        ("constant", "constant"),
        ("fourier", "fourier"),
        ("logreg", "logreg"),
        ("rbf_svm", "rbf_svm"),
        ("phase1", "phase1"),
    )
    for prefix, family in rules:
        if model_id.startswith(prefix):
            return family
    for name, router in sorted(ROUTER_FAMILIES.items(), key=lambda item: -len(item[0])):  # longest name first
        if router.color is not None and model_id.startswith(name):
            return name
    return OTHER


def family_color(family: str) -> str:
    """The colour of ``family``: the built-in table, a registered router family's own, else ``NEUTRAL``."""
    if family in FAMILY_COLORS:
        return FAMILY_COLORS[family]
    router = ROUTER_FAMILIES.get(family)
    return router.color if router is not None and router.color is not None else NEUTRAL


def style_for(model_id: str) -> Style:
    """The colour (by family), line style and marker (by model) of ``model_id``."""
    family = family_of(model_id)
    key = ALIASES.get(model_id, model_id)
    if key in MODEL_ORDER:
        i = MODEL_ORDER.index(key)
    else:
        i = len(MODEL_ORDER) + zlib.crc32(key.encode()) % (_PAIRS - len(MODEL_ORDER))
    return Style(family, family_color(family), LINESTYLES[i % len(LINESTYLES)], MARKERS[i % len(MARKERS)])


def color_for(model_id: str) -> str:
    """The colour of ``model_id``'s family."""
    return family_color(family_of(model_id))
