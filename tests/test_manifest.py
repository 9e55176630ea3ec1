"""Provenance: sources recorded per output, folded into a manifest; and the fast check (no training)
that the committed ``paper/`` was generated from the study grids the code plans now."""

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from qmoe_tfq.publish import manifest
from qmoe_tfq.reporting.report import write_table
from qmoe_tfq.studies import STUDIES

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "paper"
RERUN = "rerun `make paper` (full size) and commit paper/"


@pytest.fixture(scope="module")
def current():
    """Config hashes of every study's full-size planned grid, as the code gives them now."""
    return manifest.planned_keys(quick=False)


def manifest_for(studies: dict) -> dict:
    return {
        "manifest_version": manifest.MANIFEST_VERSION,
        "quick": False,
        "studies": {n: {"n_runs": len(k), "keys": sorted(k)} for n, k in studies.items()},
    }


def test_source_keys_accepts_runner_rows_and_hash_lists():
    rows = pd.DataFrame({"key": ["b", "a", "b"], "seed": [0, 1, 2]})
    assert manifest.source_keys(rows) == ["a", "b"]
    assert manifest.source_keys(rows["key"]) == ["a", "b"]
    assert manifest.source_keys(["c", "a"]) == ["a", "c"]
    assert manifest.source_keys(None) == []
    with pytest.raises(ValueError, match="key"):
        manifest.source_keys(pd.DataFrame({"seed": [0]}))


def test_sidecars_are_collected_into_outputs_and_removed(tmp_path):
    rows = pd.DataFrame({"key": ["k2", "k1"], "acc": [0.5, 0.75]})
    write_table(rows, tmp_path / "tables", "t", caption="Cap.", sources=rows, study="two_moons", quick=False)
    write_table(rows, tmp_path / "tables", "u", caption="Other.", formats=("csv",), quick=False)
    outputs = manifest.collect_outputs(tmp_path)
    assert outputs["tables/t"] == {
        "kind": "table",
        "files": ["tables/t.csv", "tables/t.md", "tables/t.tex"],
        "caption": "Cap.",
        "study": "two_moons",
        "size": "full",
        "keys": ["k1", "k2"],
    }
    assert outputs["tables/u"]["study"] is None and outputs["tables/u"]["keys"] == []
    assert not list(tmp_path.rglob(".*"))


def test_manifest_records_run_facts_and_file_hashes(tmp_path):
    write_table(pd.DataFrame({"a": [1]}), tmp_path / "tables", "t", caption="c", quick=True)
    m = manifest.build_manifest(
        tmp_path,
        quick=True,
        started="s",
        finished="f",
        notebooks=["01"],
        studies={"two_moons": ["k2", "k1"]},
        outputs=manifest.collect_outputs(tmp_path),
    )
    assert (m["size"], m["quick"], m["started"], m["finished"]) == ("QUICK", True, "s", "f")
    assert len(m["commit"]) == 40 and isinstance(m["dirty"], bool)
    assert m["packages"]["tensorflow-quantum"] and m["packages"]["numpy"]
    assert m["studies"]["two_moons"]["keys"] == ["k1", "k2"] and m["studies"]["two_moons"]["n_runs"] == 2
    assert set(m["files"]) == {"tables/t.csv", "tables/t.md", "tables/t.tex"}
    assert m["generator"] == "qmoe_tfq.publish.paper"
    assert m["rendered_at"] == {"commit": m["commit"], "dirty": m["dirty"]}
    manifest.write_manifest(tmp_path, m)
    assert manifest.changed_files(tmp_path, manifest.read_manifest(tmp_path)) == []
    (tmp_path / "tables" / "t.csv").write_text("edited\n")
    assert manifest.changed_files(tmp_path, m) == ["tables/t.csv"]


def test_a_manifest_of_the_current_grids_is_not_stale(current):
    assert set(current) == set(STUDIES)
    assert all(len(keys) > 0 for keys in current.values())
    assert manifest.stale_studies(manifest_for(current), current) == {}


def test_a_changed_grid_names_its_study(current, monkeypatch):
    recorded = manifest_for(current)
    from qmoe_tfq.studies import two_moons

    original = two_moons.experiments

    def more_epochs(quick=False, chosen=None):
        exps = original(quick, chosen)
        first = exps[0]
        return [
            dataclasses.replace(first, model=first.model.replace(max_epochs=first.model.get("max_epochs") + 1)),
            *exps[1:],
        ]

    monkeypatch.setattr(two_moons, "experiments", more_epochs)
    now = {**current, **manifest.planned_keys(False, ["two_moons"])}
    stale = manifest.stale_studies(recorded, now)
    assert list(stale) == ["two_moons"]
    n = len(original(False)[0].seeds)
    assert stale["two_moons"] == f"{n} planned run(s) not in the manifest, {n} in the manifest no longer planned"


def test_a_results_schema_bump_makes_every_study_stale(current, monkeypatch):
    import qmoe_tfq.experiments.experiment as experiments

    monkeypatch.setattr(experiments, "RESULTS_SCHEMA", experiments.RESULTS_SCHEMA + 1)
    now = manifest.planned_keys(False, ["two_moons", "noise"])
    assert set(manifest.stale_studies(manifest_for(current), {**current, **now})) == {"two_moons", "noise"}


def test_added_and_removed_studies_are_stale(current):
    recorded = manifest_for({**current, "retired": ["x"]})
    del recorded["studies"]["noise"]
    assert manifest.stale_studies(recorded, current) == {
        "noise": "not in the manifest",
        "retired": "in the manifest but no longer a study",
    }


# The committed paper/: regenerated by `make paper`, checked here without training.


@pytest.fixture(scope="module")
def committed():
    path = PAPER / manifest.MANIFEST_NAME
    if not path.exists():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: {RERUN}")
    return json.loads(path.read_text())


def test_committed_paper_is_a_full_size_run(committed):
    assert committed["size"] == "full" and committed["quick"] is False, f"paper/ holds a QUICK run: {RERUN}"


def test_committed_paper_matches_the_study_grids(committed):
    current = manifest.planned_keys(quick=False, chosen=committed.get("chosen", {}))
    stale = manifest.stale_studies(committed, current)
    assert not stale, (
        "paper/ is stale for " + "; ".join(f"study {n!r} ({why})" for n, why in stale.items()) + f": {RERUN}"
    )


def test_committed_paper_files_are_the_ones_its_manifest_lists(committed):
    changed = manifest.changed_files(PAPER, committed)
    assert not changed, f"files in paper/ differ from paper/manifest.json (a mixed or edited run): {changed[:10]}"


def test_committed_outputs_cite_runs_of_their_study(committed):
    studies = {n: set(s["keys"]) for n, s in committed["studies"].items()}
    studies["ledger"] = set().union(*studies.values())
    for out_id, out in committed["outputs"].items():
        assert out["study"] in studies, f"{out_id}: no study recorded"
        assert out["keys"], f"{out_id}: no runs recorded"
        assert set(out["keys"]) <= studies[out["study"]], f"{out_id}: cites runs outside study {out['study']!r}"


def test_computed_at_lists_the_commits_behind_the_planned_runs(tmp_path):
    from qmoe_tfq.experiments.experiment import Experiment
    from qmoe_tfq.experiments.registry import qmoe
    from qmoe_tfq.experiments.runner import current_provenance, write_entry

    exp = Experiment("x", qmoe(router="linear"), seeds=(0,))
    result = {"train_accuracy": 1.0, "test_accuracy": 1.0, "total_params": 1, "train_seconds": 0.1}
    cache = tmp_path / "cache"
    old = {"commit": "b" * 40, "dirty": False}
    for key, provenance in (("k1", old), ("k2", None), ("k3", None)):
        write_entry(cache / f"{key}.json", key, exp, 0, result, provenance=provenance)
    out = tmp_path / "out"
    out.mkdir()
    m = manifest.build_manifest(
        out,
        quick=True,
        started="s",
        finished="f",
        notebooks=[],
        outputs={},
        studies={"two_moons": ["k1", "k2"], "noise": ["k2", "k3", "k4"]},
        cache_dir=cache,
    )
    assert m["computed_at"] == [{**current_provenance(), "runs": 2}, {**old, "cpu": None, "runs": 1}]
    assert m["machine"]["model"] == current_provenance()["cpu"]
