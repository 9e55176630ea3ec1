"""Stage: reporting. Writing ``paper/``: tables as CSV/Markdown/LaTeX and figures as PDF/PNG, atomically and
reproducibly (fixed float formatting, no timestamps in figure metadata).

Each table and figure can name its sources (``sources=rows``, the runner's DataFrame, and
``study=``); they go into a sidecar that ``make paper`` folds into ``manifest.json``
(``qmoe_tfq.publish.manifest``). Outputs of a QUICK (smoke-size) run say so: in the table captions, as a
first comment line of the CSV, and in the figures' image and metadata.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from qmoe_tfq.core.io import atomic_write_bytes, atomic_write_text
from qmoe_tfq.core.paths import ROOT
from qmoe_tfq.reporting.provenance import record_output

FLOAT_FORMAT = "%.4f"
QUICK_NOTE = "QUICK run (smoke-test size): not the paper's numbers."
# Where a notebook writes when run outside `make paper` (Jupyter, `jupyter nbconvert --execute`).
SCRATCH_DIR = ROOT / "paper-scratch"


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

    @property
    def size(self) -> str:
        return "QUICK (smoke-test size)" if self.quick else "full size"


def quick_from_env() -> bool:
    """``QMOE_QUICK``: ``0`` or empty means full size; unset means QUICK (a notebook run by hand)."""
    return os.environ.get("QMOE_QUICK", "1").strip() not in ("", "0")


def paper_settings() -> PaperSettings:
    """Settings from the environment ``make paper`` sets: QMOE_PAPER_DIR, QMOE_QUICK, QMOE_CACHE_DIR,
    QMOE_JOBS (default: all cores). Unset, they mean a notebook run by hand: QUICK size, written to
    ``paper-scratch/``, never into ``paper/``."""
    cache = os.environ.get("QMOE_CACHE_DIR")
    return PaperSettings(
        out_dir=Path(os.environ.get("QMOE_PAPER_DIR") or SCRATCH_DIR),
        quick=quick_from_env(),
        cache_dir=Path(cache) if cache else None,
        jobs=int(os.environ.get("QMOE_JOBS") or os.cpu_count() or 1),
    )


def _caption(caption: str, quick: bool) -> str:
    return f"{QUICK_NOTE} {caption}" if quick else caption


def integral_columns(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every float column whose non-missing values are all integers (and at least one is
    present) as pandas' nullable ``Int64``, so counts print as ``24`` rather than ``24.0000`` in CSV,
    Markdown, LaTeX and HTML alike; missing values stay missing (an empty CSV field, as before).
    Other columns are left alone. The values keep their meaning: 24.0 and 24 are the same number."""
    import numpy as np

    out = df.copy()
    for column in out.columns:
        series = out[column]
        if series.dtype.kind != "f":
            continue
        values = series.dropna().to_numpy(dtype=np.float64)
        if (
            len(values)
            and np.all(np.isfinite(values))
            and np.all(values == np.round(values))
            and np.all(np.abs(values) < 2.0**53)
        ):
            out[column] = series.astype("Int64")
    return out


def write_table(
    df: pd.DataFrame,
    directory: Path,
    name: str,
    caption: str,
    formats=("csv", "md", "tex"),
    *,
    sources=None,
    study: str | None = None,
    quick: bool | None = None,
) -> None:
    """Write ``df`` as ``name.csv`` / ``.md`` / ``.tex`` under ``directory`` with ``caption``.

    ``sources``: the runner rows (or config hashes) the table was computed from, ``study`` their
    study; both are recorded for the manifest. ``quick`` defaults to ``QMOE_QUICK``; a QUICK table's
    caption and CSV say so. A float column whose values are all integers is written as integers
    (``integral_columns``).
    """
    directory = Path(directory)
    quick = quick_from_env() if quick is None else quick
    caption = _caption(caption, quick)
    df = integral_columns(df)
    files = []
    if "csv" in formats:
        head = f"# {QUICK_NOTE}\n" if quick else ""
        atomic_write_text(
            directory / f"{name}.csv", head + df.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
        )
        files.append(f"{name}.csv")
    if "md" in formats:
        body = df.to_markdown(index=False, floatfmt=".4f")
        atomic_write_text(directory / f"{name}.md", f"{caption}\n\n{body}\n")
        files.append(f"{name}.md")
    if "tex" in formats:
        tex = df.to_latex(index=False, float_format=FLOAT_FORMAT, caption=caption, label=f"tab:{name}", escape=True)
        atomic_write_text(directory / f"{name}.tex", tex)
        files.append(f"{name}.tex")
    record_output(directory, name, "table", files, caption, study, sources, quick)


def read_table(path: Path | str) -> pd.DataFrame:
    """A CSV written by ``write_table`` (QUICK ones start with a ``#`` comment line)."""
    with open(path) as fh:
        skip = 1 if fh.readline().startswith("#") else 0
    return pd.read_csv(path, skiprows=skip)


@dataclass(frozen=True)
class SavedFigure:
    """What ``save_figure`` returns: the PNG it wrote, shown inline when it is a notebook cell's value
    (Jupyter calls ``_repr_png_``), so the executed notebook carries the figure itself; the same bytes
    as the file, hence deterministic."""

    name: str
    png: bytes

    def _repr_png_(self) -> bytes:
        return self.png

    def __repr__(self) -> str:
        return f"<figure {self.name}>"


def save_figure(
    fig,
    directory: Path,
    name: str,
    caption: str = "",
    *,
    sources=None,
    study: str | None = None,
    quick: bool | None = None,
) -> SavedFigure:
    """Save ``fig`` as ``name.pdf`` and ``name.png`` without timestamps or software fields.

    The caption goes into the files' metadata (PDF Subject, PNG Description) and the manifest; a
    QUICK figure also carries a visible note under the plot. ``sources`` / ``study`` as for
    ``write_table``. Returns the PNG as a ``SavedFigure``, which a notebook displays inline (make it
    the cell's last expression, or pass it to ``IPython.display.display``).
    """
    directory = Path(directory)
    quick = quick_from_env() if quick is None else quick
    caption = _caption(caption, quick)
    if quick:
        fig.text(0.5, 0.0, QUICK_NOTE, ha="center", va="top", fontsize=9, color="#b00020")
    metadata = {
        "pdf": {
            "CreationDate": None,
            "ModDate": None,
            "Creator": None,
            "Producer": None,
            "Title": name,
            "Subject": caption,
            "Keywords": "QUICK" if quick else "full",
        },
        "png": {"Software": None, "Title": name, "Description": caption},
    }
    written = {}
    for fmt in ("pdf", "png"):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=150, bbox_inches="tight", metadata=metadata[fmt])
        written[fmt] = buf.getvalue()
        atomic_write_bytes(directory / f"{name}.{fmt}", written[fmt])
    record_output(directory, name, "figure", [f"{name}.pdf", f"{name}.png"], caption, study, sources, quick)
    return SavedFigure(name, written["png"])
