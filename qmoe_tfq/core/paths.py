"""Stage: core. Where things are: the one ``ROOT`` (the checkout holding ``qmoe_tfq/``) every stage
resolves its folders from (``.cache/``, ``paper/``, ``data/``, ``notebooks/``)."""

from __future__ import annotations

from pathlib import Path

#: The repository root: the folder that holds the ``qmoe_tfq`` package.
ROOT = Path(__file__).resolve().parents[2]

__all__ = ["ROOT"]
