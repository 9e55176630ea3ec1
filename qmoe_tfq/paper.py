"""``make paper``: execute every jupytext notebook in ``notebooks/`` and write ``paper/``.

Notebooks are thin glue over the package; they write tables and figures themselves (atomically,
through ``qmoe_tfq.io``). This driver first runs every study's experiments through the cached runner,
with a progress bar on the terminal (a notebook kernel's output is not shown while it runs), then
executes the notebooks in name order, which find every run cached, and saves each executed notebook
as HTML under ``paper/notebooks/``. Environment: ``QMOE_QUICK=1`` selects smoke-test size,
``QMOE_PAPER_DIR`` the output folder, ``QMOE_CACHE_DIR`` the run cache, ``QMOE_JOBS`` the workers.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from qmoe_tfq.report import PaperSettings, paper_settings

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


def warm_cache(settings: PaperSettings) -> None:
    """Run every study (cached runs are skipped) with a progress bar."""
    from qmoe_tfq.studies import STUDIES, study_results

    for name in STUDIES:
        study_results(name, settings)


def main(argv: list[str] | None = None) -> int:
    """Run all notebooks (or those named in ``argv``); exit non-zero if any fails."""
    notebooks = notebook_sources(ROOT / "notebooks")
    if argv:
        notebooks = [p for p in notebooks if p.stem in argv]
    if not notebooks:
        print("paper: no notebooks to run in notebooks/", file=sys.stderr)
        return 0
    settings = paper_settings()
    print(f"paper: {len(notebooks)} notebook(s) -> {settings.out_dir} "
          f"({'QUICK' if settings.quick else 'full'} size, {settings.jobs} jobs)", flush=True)
    start = time.perf_counter()
    warm_cache(settings)
    print(f"paper: experiments done in {time.perf_counter() - start:.0f} s", flush=True)
    import nbclient.exceptions

    for nb in notebooks:
        print(f"paper: running {nb.name} ...", flush=True)
        try:
            seconds = execute(nb, settings.out_dir / "notebooks")
        except nbclient.exceptions.CellExecutionError as err:
            print(f"paper: {nb.name} failed; files it already wrote are complete, later ones are missing.\n{err}",
                  file=sys.stderr)
            return 1
        print(f"paper: {nb.name} done in {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
