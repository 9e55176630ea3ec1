"""Writing ``paper/``: tables as CSV/Markdown/LaTeX and figures as PDF/PNG, atomically and
reproducibly (fixed float formatting, no timestamps in figure metadata)."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from qmoe_tfq.io import atomic_write_bytes, atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
FLOAT_FORMAT = "%.4f"


@dataclass(frozen=True)
class PaperSettings:
    """Where ``paper/`` goes, whether this is a QUICK (smoke-size) run, the cache and the workers."""

    out_dir: Path
    quick: bool
    cache_dir: Path | None
    jobs: int

    @property
    def tables(self) -> Path:
        return self.out_dir / "tables"

    @property
    def figures(self) -> Path:
        return self.out_dir / "figures"


def paper_settings() -> PaperSettings:
    """Settings from the environment ``make paper`` sets: QMOE_PAPER_DIR, QMOE_QUICK, QMOE_CACHE_DIR,
    QMOE_JOBS (default: all cores)."""
    cache = os.environ.get("QMOE_CACHE_DIR")
    return PaperSettings(
        out_dir=Path(os.environ.get("QMOE_PAPER_DIR", ROOT / "paper")),
        quick=os.environ.get("QMOE_QUICK", "0") not in ("", "0"),
        cache_dir=Path(cache) if cache else None,
        jobs=int(os.environ.get("QMOE_JOBS", os.cpu_count() or 1)),
    )


def write_table(df: pd.DataFrame, directory: Path, name: str, caption: str, formats=("csv", "md", "tex")) -> None:
    """Write ``df`` as ``name.csv`` / ``.md`` / ``.tex`` under ``directory`` with ``caption``."""
    directory = Path(directory)
    if "csv" in formats:
        atomic_write_text(directory / f"{name}.csv", df.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n"))
    if "md" in formats:
        body = df.to_markdown(index=False, floatfmt=".4f")
        atomic_write_text(directory / f"{name}.md", f"{caption}\n\n{body}\n")
    if "tex" in formats:
        tex = df.to_latex(index=False, float_format=FLOAT_FORMAT, caption=caption, label=f"tab:{name}", escape=True)
        atomic_write_text(directory / f"{name}.tex", tex)


def save_figure(fig, directory: Path, name: str) -> None:
    """Save ``fig`` as ``name.pdf`` and ``name.png`` without timestamps or software fields."""
    directory = Path(directory)
    metadata = {
        "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
        "png": {"Software": None},
    }
    for fmt in ("pdf", "png"):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=150, bbox_inches="tight", metadata=metadata[fmt])
        atomic_write_bytes(directory / f"{name}.{fmt}", buf.getvalue())
