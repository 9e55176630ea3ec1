"""Atomic file writes, and a folder replaced as a whole.

A file is written to a temporary file in the same folder, then renamed over the target: a crash or
Ctrl-C part-way leaves either the old file or the new one, never a truncated one. New files get the
mode ``open()`` would give them (0666 minus the umask: 0644 under the usual 022), not ``mkstemp``'s
0600, so a served ``paper/`` or a shared run cache stays readable.

A folder of outputs that must stay consistent (``paper/``) is built in a sibling staging folder and
moved into place at the end (``staging_dir`` / ``replace_dir``); ``recover_dir`` undoes what an
interrupted run left next to it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner_pid(folder: Path) -> int | None:
    """The pid in a ``.<name>.staging-<pid>-<random>`` or ``.<name>.previous-<pid>`` folder name."""
    try:
        return int(folder.name.rsplit(".", 1)[1].split("-")[1])
    except (IndexError, ValueError):
        return None


def staging_dir(target: Path | str) -> Path:
    """A new empty folder next to ``target`` (same file system) to build its next version in."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-{os.getpid()}-", dir=target.parent))
    os.chmod(staging, 0o777 & ~current_umask())
    return staging


def replace_dir(staging: Path | str, target: Path | str) -> None:
    """Move ``staging`` into place as ``target``, then delete the previous ``target``.

    Two renames on one file system; if the process dies between them, ``target`` is missing and the
    previous version waits next to it as ``.<name>.previous-<pid>``, which ``recover_dir`` restores.
    """
    staging, target = Path(staging), Path(target)
    previous = target.with_name(f".{target.name}.previous-{os.getpid()}")
    if previous.exists():
        shutil.rmtree(previous)
    if target.exists():
        os.replace(target, previous)
    os.replace(staging, target)
    shutil.rmtree(previous, ignore_errors=True)


def recover_dir(target: Path | str) -> list[Path]:
    """Clean up after runs that died while building ``target``; returns the folders removed.

    Restores the newest ``.<name>.previous-*`` folder if ``target`` itself is missing (a run killed
    between the two renames of ``replace_dir``), and removes staging and previous folders whose
    process is gone. Folders of a run still alive are left alone.
    """
    target = Path(target)
    if not target.parent.is_dir():
        return []
    previous = sorted(target.parent.glob(f".{target.name}.previous-*"), key=lambda p: p.stat().st_mtime)
    if not target.exists() and previous:
        os.replace(previous.pop(), target)
    removed = []
    for folder in previous + sorted(target.parent.glob(f".{target.name}.staging-*")):
        pid = _owner_pid(folder)
        if pid is not None and pid != os.getpid() and _pid_alive(pid):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed
