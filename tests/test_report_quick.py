"""A QUICK (smoke-size) run says so in every table and figure it writes; a notebook run by hand
(no ``make paper`` environment) is QUICK and writes to ``paper-scratch/``, never to ``paper/``."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from qmoe_tfq.reporting import report  # noqa: E402

DF = pd.DataFrame({"model": ["quantum"], "acc": [0.9]})


def figure():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    return fig


@pytest.mark.parametrize("quick", [True, False])
def test_tables_and_figures_carry_the_size(tmp_path, quick):
    report.write_table(DF, tmp_path, "t", caption="Caption.", quick=quick)
    report.save_figure(figure(), tmp_path, "f", caption="Fig caption.", quick=quick)
    note = report.QUICK_NOTE
    assert ((tmp_path / "t.md").read_text().startswith(f"{note} Caption.")) == quick
    assert (note in (tmp_path / "t.tex").read_text()) == quick
    assert ((tmp_path / "t.csv").read_text().startswith(f"# {note}\n")) == quick
    assert report.read_table(tmp_path / "t.csv").equals(DF)
    png = Image.open(tmp_path / "f.png").text
    assert png["Title"] == "f" and png["Description"].endswith("Fig caption.")
    assert (note in png["Description"]) == quick
    pdf = (tmp_path / "f.pdf").read_bytes()
    assert (b"/Keywords (QUICK)" in pdf) == quick and b"Fig caption." in pdf
    assert b"CreationDate" not in pdf


def test_size_comes_from_the_environment_and_defaults_to_quick(tmp_path, monkeypatch):
    monkeypatch.delenv("QMOE_QUICK", raising=False)
    monkeypatch.delenv("QMOE_PAPER_DIR", raising=False)
    settings = report.paper_settings()
    assert settings.quick and settings.out_dir == report.ROOT / "paper-scratch"
    report.write_table(DF, tmp_path, "t", caption="c")
    assert (tmp_path / "t.md").read_text().startswith(report.QUICK_NOTE)
    monkeypatch.setenv("QMOE_QUICK", "0")
    monkeypatch.setenv("QMOE_PAPER_DIR", str(tmp_path))
    settings = report.paper_settings()
    assert not settings.quick and settings.out_dir == tmp_path
    report.write_table(DF, tmp_path, "t", caption="c")
    assert (tmp_path / "t.md").read_text().startswith("c\n")


def test_figures_are_byte_stable(tmp_path):
    for folder in ("a", "b"):
        report.save_figure(figure(), tmp_path / folder, "f", caption="c", quick=True)
    for ext in ("png", "pdf"):
        assert (tmp_path / "a" / f"f.{ext}").read_bytes() == (tmp_path / "b" / f"f.{ext}").read_bytes()
