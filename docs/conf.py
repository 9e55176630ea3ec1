"""Sphinx configuration for the qmoe-tfq documentation (``make docs``; builds offline)."""

import os
import shutil
import sys
from pathlib import Path

# TensorFlow Quantum 0.7.6 needs Keras 2; autodoc imports the package, so set this before it does.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

project = "qmoe-tfq"
author = "qmoe-tfq contributors"
copyright = "qmoe-tfq contributors; the paper: Reda Heddad and Lamiae Bouanane (arXiv 2512.22296)"
release = version = "0.1.0"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# MyST: keep the README prose as Markdown; headings get anchors for #links.
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

# API reference: autosummary over the whole package (recursive), numpydoc docstrings. The stub pages
# are regenerated on every build, so a module that moved or went away leaves no stale page behind.
shutil.rmtree(Path(__file__).resolve().parent / "_autosummary", ignore_errors=True)
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "none"
# Keras layers inherit `call` docstrings written for Keras's own docs; document ours only.
autodoc_inherit_docstrings = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

# Offline theme: no external fonts, analytics or version switcher.
html_theme = "pydata_sphinx_theme"
html_title = "qmoe-tfq"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "icon_links": [],
}
html_show_sourcelink = False
html_copy_source = False


def _copy_paper(app, exception):
    """Copy the committed ``paper/`` companion next to the docs so that links to it work offline."""
    if exception is not None or app.builder.format != "html":
        return
    source = ROOT / "paper"
    if source.is_dir():
        shutil.copytree(source, Path(app.outdir) / "paper", dirs_exist_ok=True)


def _escape_bars(app, what, name, obj, options, lines):
    """Docstrings write bra-kets and norms in plain text (``|<i|U|psi>|^2``); in reStructuredText a
    bar starts a substitution reference, so escape bars outside inline literals."""
    for i, line in enumerate(lines):
        if "|" not in line or line.lstrip().startswith(("| ", "+-", "+=")):  # line blocks, tables
            continue
        parts = line.split("``")
        lines[i] = "``".join(p if k % 2 else p.replace("|", "\\|") for k, p in enumerate(parts))


def _skip_member(app, what, name, obj, skip, options):
    """Leave out scikit-learn's generated metadata-routing setters (``set_fit_request`` ...)."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-process-docstring", _escape_bars)
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("build-finished", _copy_paper)
