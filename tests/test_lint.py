"""The code is linted and formatted as ``pyproject.toml`` configures ruff (``ruff check`` and
``ruff format --check`` over the repository), so style drift fails the suite, not a review."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff() -> list[str]:
    ruff = Path(sys.executable).with_name("ruff")
    return [str(ruff)] if ruff.exists() else [sys.executable, "-m", "ruff"]


@pytest.mark.parametrize(
    "args", [["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]], ids=["check", "format"]
)
def test_ruff(args):
    result = subprocess.run([*_ruff(), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
