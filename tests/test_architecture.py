"""The house plan holds: stages import only the stages below them (import-linter contracts in
``pyproject.toml``), and every router family has its Keras half in ``BUILDERS``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    """``lint-imports`` passes: no stage imports one above it, the two stack variants stay independent."""
    lint = Path(sys.executable).with_name("lint-imports")
    cmd = [str(lint)] if lint.exists() else [sys.executable, "-m", "importlinter.cli"]
    result = subprocess.run([*cmd, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_builders_cover_exactly_the_router_families():
    """A family without a Keras builder (or a builder without a family) is caught here, not in a run."""
    from qmoe_tfq.models.routers import BUILDERS, NOT_STACKABLE, StackSupport
    from qmoe_tfq.specs.routers import ROUTER_FAMILIES

    assert list(BUILDERS) == list(ROUTER_FAMILIES)
    for name, kind in BUILDERS.items():
        assert isinstance(kind.stack, StackSupport) or kind.stack == NOT_STACKABLE, name


def test_every_router_family_has_a_figure_style():
    """Figures never raise for a family: its colour, or the neutral default."""
    from qmoe_tfq.reporting.style import color_for, style_for
    from qmoe_tfq.specs.routers import ROUTER_FAMILIES

    for name in ROUTER_FAMILIES:
        assert style_for(name).color == color_for(name)
    assert color_for("someone_elses_router").startswith("#")


def test_every_module_docstring_names_its_stage():
    """Each module's docstring starts with ``Stage: <its folder>.`` (the cli with ``Stage: cli.``)."""
    package = ROOT / "qmoe_tfq"
    wrong = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package)
        if rel == Path("__init__.py"):
            continue
        stage = rel.parts[0].removesuffix(".py")
        text = path.read_text()
        doc = text.lstrip()
        if doc.startswith(("import ", "from ")) or not doc.startswith('"""'):
            wrong.append(f"{rel}: no docstring")
        elif not doc[3:].startswith(f"Stage: {stage}."):
            wrong.append(f"{rel}: {doc[3:60]!r}")
    assert not wrong, "\n".join(wrong)
