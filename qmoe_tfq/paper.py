"""``make paper``: execute every jupytext notebook in ``notebooks/`` and write ``paper/``.

Notebooks are thin glue over the package; they write tables and figures themselves (atomically,
through ``qmoe_tfq.io``). This driver runs them in name order and saves each executed notebook as
HTML under ``paper/notebooks/``. ``QMOE_QUICK=1`` in the environment selects smoke-test size.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def notebook_sources(notebooks_dir: Path) -> list[Path]:
    """The jupytext percent-format notebooks, in the order they run."""
    return sorted(p for p in notebooks_dir.glob("*.py") if not p.name.startswith("_"))


def execute(source: Path, html_dir: Path, timeout: int = 7200) -> float:
    """Execute one notebook with cwd = repo root and save it as HTML; returns seconds taken."""
    import jupytext
    import nbclient
    from nbconvert import HTMLExporter

    from qmoe_tfq.io import atomic_write_text

    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    start = time.perf_counter()
    nbclient.NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    ).execute()
    seconds = time.perf_counter() - start
    html, _ = HTMLExporter().from_notebook_node(nb)
    atomic_write_text(html_dir / f"{source.stem}.html", html)
    return seconds


def main(argv: list[str] | None = None) -> int:
    """Run all notebooks (or those named in ``argv``); exit non-zero if any fails."""
    notebooks = notebook_sources(ROOT / "notebooks")
    if argv:
        notebooks = [p for p in notebooks if p.stem in argv]
    if not notebooks:
        print("paper: no notebooks to run in notebooks/", file=sys.stderr)
        return 0
    out = Path(os.environ.get("QMOE_PAPER_DIR", ROOT / "paper"))
    quick = os.environ.get("QMOE_QUICK", "0") not in ("", "0")
    print(f"paper: {len(notebooks)} notebook(s) -> {out} ({'QUICK' if quick else 'full'} size)", flush=True)
    for nb in notebooks:
        print(f"paper: running {nb.name} ...", flush=True)
        seconds = execute(nb, out / "notebooks")
        print(f"paper: {nb.name} done in {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
