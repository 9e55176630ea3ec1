"""The ``make paper`` driver on tiny notebooks (no training): one run, one stamp; a killed or failed
run leaves the previous complete folder untouched; a warm rerun writes the same bytes; QUICK and
single-notebook runs never land in ``paper/``; the terminal shows the kernels' stderr but not
TensorFlow's start-up noise."""

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from qmoe_tfq.publish import paper

ROOT = Path(__file__).resolve().parents[1]

TABLE_NB = """\
# %% [markdown]
# # Demo table

# %%
import os, sys
import qmoe_tfq  # noqa: F401
import pandas as pd
from qmoe_tfq.reporting.report import paper_settings, write_table

S = paper_settings()
rows = pd.DataFrame({"key": ["k1", "k2"], "acc": [0.5, 0.75]})
write_table(rows, S.tables, "demo", caption=f"Run {os.environ.get('MARK', '')}.", sources=rows, study="demo")
print("progress line for the terminal", file=sys.stderr)
rows
"""

FIGURE_NB = """\
# %%
import os, signal, time
import qmoe_tfq  # noqa: F401
import matplotlib.pyplot as plt
from qmoe_tfq.reporting.report import paper_settings, save_figure

if os.environ.get("KILL_DRIVER") == "1":
    os.kill(os.getppid(), signal.SIGKILL)  # the driver dies mid-run, as under `kill -9` or an OOM kill
    time.sleep(30)
if os.environ.get("FAIL") == "1":
    raise RuntimeError("this notebook fails")
if os.environ.get("IMPORT_TF") == "1":
    import tensorflow as tf
    tf.constant(1.0)
S = paper_settings()
fig, ax = plt.subplots()
ax.plot([0, 1], [1, 0])
save_figure(fig, S.figures, "demo_fig", caption="A figure.", sources=["k2"], study="demo")
"""


@pytest.fixture
def notebooks(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / "a_table.py").write_text(TABLE_NB)
    (folder / "b_figure.py").write_text(FIGURE_NB)
    return paper.notebook_sources(folder)


def hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def build_in_subprocess(notebooks, target: Path, **env) -> subprocess.CompletedProcess:
    code = textwrap.dedent(f"""
        from pathlib import Path
        from qmoe_tfq.publish import paper
        paper.build([Path(p) for p in {[str(n) for n in notebooks]!r}], Path({str(target)!r}), quick=True,
                    warm=False, studies=[])
    """)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_a_killed_run_leaves_the_previous_complete_folder_untouched(tmp_path, notebooks):
    target = tmp_path / "paper"
    first = build_in_subprocess(notebooks, target, MARK="first", IMPORT_TF="1")
    assert first.returncode == 0, first.stderr
    before = hashes(target)
    assert {
        "manifest.json",
        "index.html",
        "README.md",
        "tables/demo.md",
        "figures/demo_fig.png",
        "notebooks/a_table.html",
        "notebooks/b_figure.html",
    } <= set(before)
    # the terminal: the notebook's stderr echoed, no kernel transport warning, no TensorFlow start-up noise
    assert "progress line for the terminal" in first.stderr
    for noise in ("cuInit", "factory", "absl::InitializeLog", "without encryption", "retracing", "Parent appears"):
        assert noise not in first.stderr + first.stdout, (noise, first.stderr)

    killed = build_in_subprocess(notebooks, target, MARK="second", KILL_DRIVER="1")
    assert killed.returncode == -9
    assert hashes(target) == before, "the killed run changed the previous paper folder"
    leftover = tmp_path / ".paper.staging"
    assert "Run second." in (leftover / "tables" / "demo.md").read_text()  # it got that far, in staging only

    third = build_in_subprocess(notebooks, target, MARK="third")
    assert third.returncode == 0, third.stderr
    assert "removed .paper.staging left by an interrupted run" in third.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == [".paper.lock", "notebooks", "paper"]
    assert "Run third." in (target / "tables" / "demo.md").read_text()
    stamp = json.loads((target / "manifest.json").read_text())
    assert stamp["outputs"]["tables/demo"]["caption"].endswith("Run third.")
    assert stamp["files"] == {k: v for k, v in hashes(target).items() if k != "manifest.json"}


@pytest.mark.slow
def test_a_failed_notebook_leaves_the_previous_folder_untouched(tmp_path, notebooks, monkeypatch):
    import nbclient.exceptions

    target = tmp_path / "paper"
    paper.build(notebooks, target, quick=True, warm=False, studies=[], log=lambda m: None)
    before = hashes(target)
    monkeypatch.setenv("FAIL", "1")
    with pytest.raises(nbclient.exceptions.CellExecutionError):
        paper.build(notebooks, target, quick=True, warm=False, studies=[], log=lambda m: None)
    assert hashes(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".paper.lock", "notebooks", "paper"]


@pytest.mark.slow
def test_a_warm_rerun_writes_the_same_bytes(tmp_path, notebooks):
    first, second = tmp_path / "first" / "out", tmp_path / "second" / "out"  # README.md names its folder
    paper.build(notebooks, first, quick=False, warm=False, studies=[], log=lambda m: None)
    paper.build(notebooks, second, quick=False, warm=False, studies=[], log=lambda m: None)
    a, b = hashes(first), hashes(second)
    assert set(a) == set(b)
    differ = sorted(k for k in a if a[k] != b[k])
    assert differ == ["manifest.json"], differ
    ma, mb = (json.loads((d / "manifest.json").read_text()) for d in (first, second))
    for m in (ma, mb):
        del m["started"], m["finished"]
    assert ma == mb
    html = (first / "notebooks" / "a_table.html").read_text()
    assert 'id="cell-000"' in html or "cell-000" in html
    assert "<script src=" not in html and "cdnjs" not in html


@pytest.mark.slow
def test_notebooks_side_by_side_write_the_bytes_of_one_at_a_time(tmp_path, notebooks):
    first, second = tmp_path / "first" / "out", tmp_path / "second" / "out"
    paper.build(notebooks, first, quick=False, warm=False, studies=[], log=lambda m: None)
    log: list[str] = []
    paper.build(notebooks, second, quick=False, warm=False, studies=[], jobs=2, log=log.append)
    a, b = hashes(first), hashes(second)
    assert set(a) == set(b) and sorted(k for k in a if a[k] != b[k]) == ["manifest.json"]
    ma, mb = (json.loads((d / "manifest.json").read_text()) for d in (first, second))
    for m in (ma, mb):
        del m["started"], m["finished"]
    assert ma == mb
    assert sum("running" in line for line in log) == sum("done in" in line for line in log) == 2


@pytest.mark.slow
def test_a_failing_notebook_stops_the_one_beside_it(tmp_path, notebooks, monkeypatch):
    import time

    import nbclient.exceptions

    sleeper = tmp_path / "notebooks" / "c_sleep.py"
    sleeper.write_text(SLEEP_NB)
    monkeypatch.setenv("FAIL", "1")
    start = time.monotonic()
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="this notebook fails"):
        paper.build(
            [sleeper, *notebooks], tmp_path / "out", quick=True, warm=False, studies=[], jobs=2, log=lambda m: None
        )
    assert time.monotonic() - start < 100, "the sleeping notebook (120 s) was waited for, not stopped"
    assert not (tmp_path / "out").exists() and not (tmp_path / ".out.staging").exists()
    assert not paper._KERNELS


def test_quick_and_partial_runs_never_go_to_paper(monkeypatch, capsys):
    assert paper.default_out_dir(quick=False, complete=True) == ROOT / "paper"
    assert paper.default_out_dir(quick=True, complete=True) == ROOT / "paper-quick"
    assert paper.default_out_dir(quick=False, complete=False) == ROOT / "paper-scratch"
    assert paper.default_out_dir(quick=True, complete=False) == ROOT / "paper-scratch"
    monkeypatch.setenv("QMOE_PAPER_DIR", str(ROOT / "paper"))
    monkeypatch.setenv("QMOE_QUICK", "1")
    assert paper.main([]) == 2
    assert "QUICK runs go to paper-quick/" in capsys.readouterr().err
    monkeypatch.setenv("QMOE_QUICK", "0")
    assert paper.main(["01_two_moons"]) == 2
    assert "single notebooks go to paper-scratch/" in capsys.readouterr().err
    assert paper.main(["no_such_notebook"]) == 2
    assert "unknown notebook(s) no_such_notebook" in capsys.readouterr().err


def test_git_ignores_the_quick_and_scratch_folders():
    for path in (
        "paper-quick/tables/x.csv",
        "paper-scratch/index.html",
        ".paper.staging/x",
        ".paper.previous/x",
        ".paper.lock",
        ".paper-quick.lock",
    ):
        proc = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT)
        assert proc.returncode == 0, f"{path} is not git-ignored"
    assert subprocess.run(["git", "check-ignore", "-q", "paper/manifest.json"], cwd=ROOT).returncode == 1


def test_prints_split_into_messages_by_timing_give_the_same_notebook():
    """The kernel sends a cell's prints as one or several stream messages depending on timing; the
    executed notebook must not depend on how they were split."""
    import nbformat

    def executed(chunks):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('a'); print('b')")])
        nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text=t) for t in chunks]
        paper.make_deterministic(nb)
        return nbformat.writes(nb)

    assert executed(["a\n", "b\n"]) == executed(["a\nb\n"])


SLEEP_NB = """\
# %%
import sys, time
print("kernel started", file=sys.stderr, flush=True)
time.sleep(120)
"""


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2])
def test_ctrl_c_during_a_notebook_exits_130_with_one_line(tmp_path, jobs):
    """Ctrl-C at the terminal (SIGINT to the driver's process group) while notebooks run (one, or two
    side by side): one line, exit 130, no traceback from nbclient or the kernels, the staging folder
    gone, the target untouched, and no kernel socket folder or connection file left in the temp folder."""
    import signal
    import time

    books = []
    for i in range(jobs):
        books.append(tmp_path / f"sleep{i}.py")
        books[-1].write_text(SLEEP_NB)
    target, temp = tmp_path / "out", tmp_path / "temp"
    temp.mkdir()
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from qmoe_tfq.publish import paper
        paper.notebook_sources = lambda _: [Path(p) for p in {[str(b) for b in books]!r}]
        paper.warm_cache = lambda *a, **k: {{}}
        sys.exit(paper.main([]))
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={
            **os.environ,
            "QMOE_PAPER_DIR": str(target),
            "QMOE_QUICK": "1",
            "QMOE_JOBS": str(jobs),
            "TMPDIR": str(temp),
        },
    )
    try:
        deadline, started = time.monotonic() + 120, 0
        while time.monotonic() < deadline and started < jobs:
            line = proc.stderr.readline()
            if not line:
                break
            started += "kernel started" in line
        assert started == jobs
        time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert [line for line in err.splitlines() if line] == [f"paper: interrupted; {target} is unchanged."], err
    assert "Traceback" not in out + err
    assert not target.exists() and not (tmp_path / ".out.staging").exists()
    left = sorted(p.name for p in temp.iterdir() if p.name.startswith("qmoe-kernel-") or p.suffix == ".json")
    assert left == [], f"left in the temp folder: {left}"


def test_a_full_paper_copies_its_verdict_table_into_the_readme(tmp_path):
    """The README's front-page table is the ledger's summary, rewritten between its markers."""
    from qmoe_tfq.publish import paper

    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\nintro\n\n{paper.VERDICTS_START}\n| old |\n{paper.VERDICTS_END}\n\n## Map\n")
    claims = tmp_path / "claims.md"
    claims.write_text(
        "# Claims ledger\n\n## Summary\n\n| id | verdict |\n|---|---|\n| C1 | **reproduced** |\n\n## C1\n"
    )
    assert paper.sync_readme_verdicts(readme, claims)
    text = readme.read_text()
    assert "| C1 | **reproduced** |" in text and "| old |" not in text
    assert text.startswith("# x\n\nintro\n") and text.endswith("\n\n## Map\n")
    assert not paper.sync_readme_verdicts(readme, claims)  # unchanged the second time
    readme.write_text("# no markers\n")
    assert not paper.sync_readme_verdicts(readme, claims) and readme.read_text() == "# no markers\n"
