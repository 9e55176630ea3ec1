"""``qmoe_tfq.core.io``: atomic writes get the umask's mode; a folder is replaced whole, and what an
interrupted replacement leaves behind is recovered."""

import os
import stat

import pytest

from qmoe_tfq.core import io


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    """Set the process umask for one test, restoring it after."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield lambda mask: os.umask(mask)
    os.umask(saved)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_get_the_umask_mode_not_mkstemps(tmp_path, umask, mask, expected):
    umask(mask)
    assert io.current_umask() == mask
    path = io.atomic_write_text(tmp_path / "sub" / "a.txt", "x")
    assert mode(path) == expected
    os.chmod(path, 0o600)
    io.atomic_write_bytes(path, b"y")  # replaced: a new file, so the umask's mode again
    assert mode(path) == expected and path.read_bytes() == b"y"
    assert mode(io.staging_dir(tmp_path / "out")) == 0o777 & ~mask


def test_runner_cache_entries_are_readable_by_others(tmp_path, umask):
    umask(0o022)
    from qmoe_tfq.experiments.experiment import Experiment
    from qmoe_tfq.experiments.registry import qmoe
    from qmoe_tfq.experiments.runner import write_entry

    exp = Experiment("x", qmoe(router="linear"), seeds=(0,))
    result = {"train_accuracy": 1.0, "test_accuracy": 1.0, "total_params": 1, "train_seconds": 0.1}
    write_entry(tmp_path / "k.json", "k", exp, 0, result)
    assert mode(tmp_path / "k.json") == 0o644


def test_no_temporary_files_left(tmp_path):
    io.atomic_write_text(tmp_path / "a.txt", "x")
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_replace_dir_swaps_the_whole_folder(tmp_path):
    target = tmp_path / "paper"
    (target / "old").mkdir(parents=True)
    (target / "old" / "gone.txt").write_text("previous run")
    staging = io.staging_dir(target)
    assert staging == tmp_path / ".paper.staging" and [p.name for p in staging.iterdir()] == [io.OWNED_MARKER]
    io.atomic_write_text(staging / "new.txt", "this run")
    io.replace_dir(staging, target)
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["paper"]


def test_staging_starts_empty(tmp_path):
    target = tmp_path / "paper"
    io.atomic_write_text(io.staging_dir(target) / "left.txt", "from a killed run")
    assert [p.name for p in io.staging_dir(target).iterdir()] == [io.OWNED_MARKER]


def test_recover_restores_a_target_lost_between_the_two_renames(tmp_path):
    target = tmp_path / "paper"
    previous = tmp_path / ".paper.previous"
    previous.mkdir()
    (previous / "claims.md").write_text("complete previous run")
    staging = tmp_path / ".paper.staging"
    staging.mkdir()
    for folder in (previous, staging):  # as replace_dir and staging_dir leave them
        io._mark(folder)
    removed = io.recover_dir(target)
    assert (target / "claims.md").read_text() == "complete previous run"
    assert sorted(p.name for p in target.iterdir()) == ["claims.md"]
    assert removed == [staging]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["paper"]


def test_recover_removes_leftovers_next_to_a_complete_target(tmp_path):
    target = tmp_path / "paper"
    target.mkdir()
    for leftover in (".paper.previous", ".paper.staging"):
        (tmp_path / leftover).mkdir()
        io._mark(tmp_path / leftover)
    assert io.recover_dir(target) == [tmp_path / ".paper.previous", tmp_path / ".paper.staging"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["paper"]


@pytest.mark.parametrize("sibling", [".paper.previous", ".paper.staging"])
@pytest.mark.parametrize("target_exists", [True, False])
def test_siblings_not_made_here_are_never_removed(tmp_path, sibling, target_exists):
    target = tmp_path / "paper"
    if target_exists:
        target.mkdir()
    folder = tmp_path / sibling
    folder.mkdir()
    (folder / "keep.txt").write_text("someone else's")
    with pytest.raises(io.NotOurs, match="was not made by this tool"):
        io.recover_dir(target)
    with pytest.raises(io.NotOurs):
        if sibling == ".paper.staging":
            io.staging_dir(target)
        else:
            staging = tmp_path / "elsewhere"
            staging.mkdir()
            io.replace_dir(staging, target)
    assert (folder / "keep.txt").read_text() == "someone else's"
    assert target.exists() == target_exists


def test_the_marker_does_not_reach_the_target(tmp_path):
    target = tmp_path / "paper"
    for run in range(2):
        staging = io.staging_dir(target)
        io.atomic_write_text(staging / "a.txt", str(run))
        io.replace_dir(staging, target)
        assert sorted(p.name for p in target.iterdir()) == ["a.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["paper"]


def test_one_run_per_target_at_a_time(tmp_path):
    target = tmp_path / "paper"
    with io.exclusive(target):
        with pytest.raises(io.FolderBusy, match="another run is writing"):
            with io.exclusive(target):
                pass
        with io.exclusive(tmp_path / "paper-quick"):  # another target is independent
            pass
    with io.exclusive(target):  # released
        pass
