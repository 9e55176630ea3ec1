"""Stage: core. Atomic file writes, and a folder replaced as a whole.

A file is written to a temporary file in the same folder, then renamed over the target: a crash or
Ctrl-C part-way leaves either the old file or the new one, never a truncated one. New files get the
mode ``open()`` would give them (0666 minus the umask: 0644 under the usual 022), not ``mkstemp``'s
0600, so a served ``paper/`` or a shared run cache stays readable.

A folder of outputs that must stay consistent (``paper/``) is built in a sibling staging folder and
moved into place at the end (``staging_dir`` / ``replace_dir``), one run at a time (``exclusive``);
``recover_dir`` undoes what an interrupted run left next to it. The staging and previous folders
carry a marker file (``OWNED_MARKER``) while they exist, and a sibling without it is never removed or
renamed (``NotOurs``): a folder that happens to be called ``.<name>.staging`` is left alone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


def current_umask() -> int:
    """The process umask: from ``/proc/self/status`` on Linux, else by setting and restoring it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically, creating parent folders; mode 0666 minus the umask."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path | str, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


class FolderBusy(RuntimeError):
    """Another process is building the same output folder."""


@contextmanager
def exclusive(target: Path | str):
    """Hold ``.<name>.lock`` next to ``target`` for the block; fail at once if another process holds it."""
    import fcntl

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = target.with_name(f".{target.name}.lock")
    with open(lock, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FolderBusy(f"another run is writing {target} (it holds {lock})") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class NotOurs(RuntimeError):
    """A folder where a staging or previous folder goes exists and was not made by ``staging_dir`` /
    ``replace_dir``; nothing is removed."""


OWNED_MARKER = ".qmoe-tfq-owned"  # inside a staging or previous folder while it exists


def _owned(folder: Path) -> bool:
    return folder.is_dir() and not folder.is_symlink() and (folder / OWNED_MARKER).is_file()


def _mark(folder: Path) -> None:
    (folder / OWNED_MARKER).write_text("made by qmoe_tfq.core.io for a folder replaced as a whole; safe to delete\n")


def _check_owned(folder: Path) -> None:
    if folder.exists() or folder.is_symlink():
        if not _owned(folder):
            raise NotOurs(f"{folder} exists and was not made by this tool (no {OWNED_MARKER} inside); move it away")


def check_siblings(target: Path | str) -> None:
    """Raise ``NotOurs`` if ``.<name>.staging`` or ``.<name>.previous`` next to ``target`` exists and
    was not made here (checked again, under the lock, by ``recover_dir``)."""
    target = Path(target)
    for folder in (_previous(target), _staging(target)):
        _check_owned(folder)


def _staging(target: Path) -> Path:
    return target.with_name(f".{target.name}.staging")


def _previous(target: Path) -> Path:
    return target.with_name(f".{target.name}.previous")


def staging_dir(target: Path | str) -> Path:
    """An empty folder ``.<name>.staging`` next to ``target`` (same file system) to build its next
    version in; its fixed name keeps paths printed by a run the same from one run to the next. Hold
    ``exclusive(target)`` while using it."""
    target = Path(target)
    staging = _staging(target)
    _check_owned(staging)
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    _mark(staging)
    return staging


def remove_staging(target: Path | str) -> bool:
    """Remove the staging folder of ``target`` if there is one made by ``staging_dir``; whether it did."""
    staging = _staging(Path(target))
    if _owned(staging):
        shutil.rmtree(staging, ignore_errors=True)
        return True
    return False


def replace_dir(staging: Path | str, target: Path | str) -> None:
    """Move ``staging`` into place as ``target``, then delete the previous ``target``.

    Two renames on one file system; if the process dies between them, ``target`` is missing and the
    previous version waits next to it as ``.<name>.previous``, which ``recover_dir`` restores. The
    caller decides that ``target`` may be replaced; a ``.<name>.previous`` not made here raises
    ``NotOurs`` before anything moves.
    """
    staging, target = Path(staging), Path(target)
    previous = _previous(target)
    _check_owned(previous)
    if previous.exists():
        shutil.rmtree(previous)
    if target.exists():
        _mark(target)
        os.replace(target, previous)
    (staging / OWNED_MARKER).unlink(missing_ok=True)
    os.replace(staging, target)
    shutil.rmtree(previous, ignore_errors=True)


def recover_dir(target: Path | str) -> list[Path]:
    """Clean up after a run that died while building ``target``; returns the folders removed.

    Restores ``.<name>.previous`` if ``target`` itself is missing (a run killed between the two
    renames of ``replace_dir``), then removes the leftover staging and previous folders; either one
    without the marker raises ``NotOurs`` and stays. Hold ``exclusive(target)`` while calling it.
    """
    target = Path(target)
    previous, staging = _previous(target), _staging(target)
    for folder in (previous, staging):
        _check_owned(folder)
    if not target.exists() and previous.exists():
        os.replace(previous, target)
        (target / OWNED_MARKER).unlink(missing_ok=True)
    removed = []
    for folder in (previous, staging):
        if folder.exists():
            shutil.rmtree(folder)
            removed.append(folder)
    return removed
