"""Stage: core. Which commit the code runs from, and whether the working tree differs from it.

Shared by the run cache (each entry records the commit that computed it) and the paper manifest
(the commit that rendered the notebooks); the generated output folders do not count as changes.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from qmoe_tfq.core.paths import ROOT

# Generated folders left out of the dirty check (a regenerated paper/ does not make the code dirty).
OUTPUT_DIRS = ("paper", "paper-quick", "paper-scratch")


def git_state(root: Path = ROOT) -> dict:
    """Commit of ``root``, whether tracked or untracked (not ignored) files differ from it, outside the
    generated folders, and the first such paths; ``commit`` is None outside a git checkout."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        excludes = [f":(exclude){d}" for d in OUTPUT_DIRS]
        changed = [line[3:] for line in git("status", "--porcelain", "--", ".", *excludes).splitlines()]
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None, "dirty_paths": []}
    return {"commit": commit, "dirty": bool(changed), "dirty_paths": changed[:20]}
