"""``paper/index.html``: every figure and table with its caption, the ledger, links to the notebooks;
offline (no scripts, nothing loaded from the network) and byte-stable for the same inputs."""

import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from qmoe_tfq.publish import (
    manifest,  # noqa: E402
    site,  # noqa: E402
)
from qmoe_tfq.reporting.report import save_figure, write_table  # noqa: E402

CLAIMS = {
    "header": "h",
    "verdict_rules": {"reproduced": "every part holds"},
    "claims": [
        {
            "id": "C1",
            "claim": "quantum beats linear <b>",
            "stated": "94% vs 65%",
            "reproduced": "0.97 vs 0.89",
            "protocol": "fair",
            "verdict": "partially reproduced",
            "note": "a note",
            "evidence": ["paper/tables/fair.csv"],
            "parts": [{"description": "q > l", "state": "holds"}],
        }
    ],
}


def make_run(out, quick: bool) -> dict:
    rows = pd.DataFrame({"key": ["k1", "k2"], "model": ["quantum", "linear"], "acc": [0.97123, 0.5]})
    write_table(
        rows, out / "tables", "fair", caption="Fair protocol table.", sources=rows, study="two_moons", quick=quick
    )
    write_table(
        rows,
        out / "tables",
        "runs",
        caption="Per-seed rows.",
        formats=("csv",),
        sources=rows,
        study="two_moons",
        quick=quick,
    )
    write_table(rows, out / "tables", "noise", caption="Noise table.", sources=["k3"], study="noise", quick=quick)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    save_figure(fig, out / "figures", "curve", caption="A curve.", sources=rows, study="two_moons", quick=quick)
    plt.close(fig)
    (out / "claims.json").write_text(json.dumps(CLAIMS))
    (out / "claims.md").write_text("# Claims\n")
    (out / "notebooks").mkdir()
    (out / "notebooks" / "01_two_moons.html").write_text("<html></html>")
    return manifest.build_manifest(
        out,
        quick=quick,
        started="s",
        finished="f",
        notebooks=["01_two_moons"],
        studies={"two_moons": ["k1", "k2"], "noise": ["k3"]},
        outputs=manifest.collect_outputs(out),
    )


@pytest.mark.parametrize("quick", [False, True])
def test_index_shows_every_output_with_its_caption_and_the_ledger(tmp_path, quick):
    stamp = make_run(tmp_path, quick)
    manifest.write_manifest(tmp_path, stamp)
    html = site.write_index(tmp_path, stamp).read_text()
    for caption in ("Fair protocol table.", "Per-seed rows.", "Noise table.", "A curve."):
        assert caption in html
    assert '<img src="figures/curve.png"' in html
    assert html.index('id="study-two_moons"') < html.index('id="study-noise"')
    assert "0.9712" in html  # the table itself, formatted
    assert "(per-seed rows: 2 rows, not shown inline)" in html
    assert "quantum beats linear &lt;b&gt;" in html  # escaped
    assert 'href="tables/fair.csv"' in html and 'href="notebooks/01_two_moons.html"' in html
    assert 'href="manifest.json"' in html and "partially reproduced" in html
    assert ("QUICK run (smoke-test size)" in html) == quick
    for link in re.findall(r'(?:href|src)="([^"]+)"', html):
        if link == site.PAPER["url"]:
            continue
        assert "://" not in link and (link.startswith("#") or (tmp_path / link).exists()), link


def test_index_is_offline_and_byte_stable(tmp_path):
    stamp = make_run(tmp_path, quick=False)
    first = site.render_index(tmp_path, stamp)
    assert "<script" not in first and "<link" not in first and "@import" not in first
    # the one link out of the folder is the paper itself on arXiv (a hyperlink; nothing is loaded from it)
    rest = first.replace(f'href="{site.PAPER["url"]}"', "")
    assert "http://" not in rest and "https://" not in rest
    later = dict(stamp, started="another time", finished="later still")
    assert site.render_index(tmp_path, later) == first


def test_evidence_of_a_quick_ledger_links_into_its_own_folder(tmp_path):
    out = tmp_path / ".paper-quick.staging"  # where the driver builds paper-quick/
    out.mkdir()
    stamp = make_run(out, True)
    claims = json.loads((out / "claims.json").read_text())
    claims["claims"][0]["evidence"] = ["paper-quick/tables/fair.csv"]
    (out / "claims.json").write_text(json.dumps(claims))
    html = site.write_index(out, stamp).read_text()
    assert 'href="tables/fair.csv"' in html and "../paper-quick" not in html
