"""The README stays short and its links resolve; the docs site builds with warnings as errors and
every internal link in it resolves (``make docs``)."""

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_MAX_BYTES = 15 * 1024

# [text](target) and [text](target "title"); images too. Autolinks and bare URLs are external.
_MD_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def _is_external(target):
    return bool(urlsplit(target).scheme) or target.startswith(("//", "mailto:"))


def _markdown_links(text):
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)  # code blocks are not links
    return _MD_LINK.findall(text)


def test_readme_is_at_most_15_kb():
    size = README.stat().st_size
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes, over {README_MAX_BYTES}; move prose to docs/"


def test_readme_relative_links_resolve():
    links = _markdown_links(README.read_text(encoding="utf-8"))
    assert links, "README.md has no links at all (it should link to the docs and paper/claims.md)"
    broken = []
    for target in links:
        if _is_external(target) or target.startswith("#"):
            continue
        path = unquote(urlsplit(target).path)
        if not (ROOT / path).exists():
            broken.append(target)
    assert not broken, f"README.md links to missing files: {broken}"


def test_readme_names_the_paper_and_the_commands():
    text = README.read_text(encoding="utf-8")
    for needle in (
        "arxiv.org/abs/2512.22296",
        "Heddad",
        "Bouanane",
        "make paper QUICK=1",
        "make test",
        "paper-quick/",
        "paper/claims.md",
        "make docs",
        "Apache",
    ):
        assert needle in text, needle


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        for key in ("href", "src"):
            if attrs.get(key) and not (tag == "link" and key == "href" and attrs.get("rel") == ["preload"]):
                self.links.append(attrs[key])


def _parse(path):
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


@pytest.fixture(scope="module")
def built_docs(tmp_path_factory):
    """The site, built once per test session even when its tests land on different xdist workers
    (pytest-xdist's recipe: the workers share the parent of their base temp folder, and a file lock)."""
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out, outcome = shared / "docs_html", shared / "docs_html.outcome"
    with FileLock(str(shared / "docs_html.lock")):
        if not outcome.exists():
            outcome.write_text(_build_docs(out))
    assert outcome.read_text() == "ok", f"sphinx-build -W failed:\n{outcome.read_text()}"
    return out


def _build_docs(out) -> str:
    """Build the site into ``out``: "ok", or sphinx's error output."""
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(ROOT / "docs"), str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return "ok" if proc.returncode == 0 else proc.stderr[-6000:] or f"exit code {proc.returncode}"


@pytest.mark.slow
def test_docs_build_has_no_broken_internal_links(built_docs):
    # Pages Sphinx wrote (not the copied paper/ companion, not the theme's template fragments).
    pages = [p for p in built_docs.rglob("*.html") if p.relative_to(built_docs).parts[0] not in ("paper", "_static")]
    assert (built_docs / "index.html").exists() and (built_docs / "api.html").exists()
    assert (built_docs / "paper" / "index.html").exists(), "the paper companion is not copied into the site"
    parsed = {p: _parse(p) for p in pages}
    broken = []
    for page, parser in parsed.items():
        for link in parser.links:
            if _is_external(link) or link.startswith(("javascript:", "data:")):
                continue
            parts = urlsplit(link)
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if not target.exists():
                broken.append(f"{page.relative_to(built_docs)}: {link}")
                continue
            if (
                parts.fragment
                and target.suffix == ".html"
                and target in parsed
                and parts.fragment not in parsed[target].ids
            ):
                broken.append(f"{page.relative_to(built_docs)}: {link} (no such anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(sorted(set(broken))[:50])


@pytest.mark.slow
def test_docs_cover_the_guide_and_the_public_api(built_docs):
    for page in ("guide/estimators.html", "guide/reproducing.html", "guide/speed.html", "companion.html"):
        assert (built_docs / page).exists(), page
    api_pages = {p.name for p in (built_docs / "_autosummary").glob("*.html")}
    for module in ("qmoe_tfq.cli", "qmoe_tfq.studies"):
        assert f"{module}.html" in api_pages, module
    assert any("estimators" in name for name in api_pages)
    assert any("runner" in name for name in api_pages)
    assert not any(name.split(".")[-2].startswith("_") for name in api_pages), "private modules documented"
    companion = (built_docs / "companion.html").read_text(encoding="utf-8")
    assert "Verdict rules" in companion and "fragile" in companion  # paper/claims.md is included


def test_readme_verdict_table_is_the_ledgers_summary():
    """README's 'Results at a glance' is a copy of paper/claims.md's summary: recopy it after make paper."""
    claims = (ROOT / "paper" / "claims.md").read_text(encoding="utf-8")
    summary = claims.split("## Summary\n", 1)[1].split("\n## ", 1)[0].strip()
    assert summary in README.read_text(encoding="utf-8"), (
        "README.md's verdict table differs from the summary in paper/claims.md; copy the summary table "
        "from paper/claims.md into README.md's 'Results at a glance'"
    )


def test_citation_cff_cites_the_software_and_the_paper():
    yaml = pytest.importorskip("yaml")
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software" and cff["license"] == "Apache-2.0"
    paper = cff["preferred-citation"]
    assert [a["family-names"] for a in paper["authors"]] == ["Heddad", "Bouanane"]
    assert paper["year"] == 2025 and "2512.22296" in paper["url"]
    assert any("2512.22296" in str(i["value"]) for i in paper["identifiers"])
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")[:200]


def _doc_texts():
    files = [README, *sorted((ROOT / "docs").rglob("*.md"))]
    return {
        f.relative_to(ROOT): f.read_text(encoding="utf-8")
        for f in files
        if "_build" not in f.parts and "_autosummary" not in f.parts
    }


def test_every_make_target_shown_exists():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z0-9_-]*):", makefile, flags=re.MULTILINE))
    shown = {
        (name, t)
        for name, text in _doc_texts().items()
        for t in re.findall(r"(?:^|`|\$ )make ([a-z][a-z0-9_-]*)", text, flags=re.MULTILINE)
    }
    assert shown, "no make command found in README/docs"
    missing = sorted((str(name), t) for name, t in shown if t not in targets)
    assert not missing, f"make targets shown in the docs but not in the Makefile: {missing}"


def test_every_qmoe_train_flag_shown_exists():
    from qmoe_tfq.cli import build_parser

    train = next(a for a in build_parser()._subparsers._group_actions[0].choices.items() if a[0] == "train")[1]
    known = {s for action in train._actions for s in action.option_strings}
    missing = []
    for name, text in _doc_texts().items():
        for line in text.splitlines():
            if "qmoe train" in line:
                for flag in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", line.split("qmoe train", 1)[1]):
                    if flag not in known:
                        missing.append((str(name), flag))
    assert not missing, f"qmoe train flags shown in the docs but unknown to the CLI: {missing}"
