"""Atomic file replacement: nothing the user saved is ever half-written or lost.

Every file is written to a temporary `.NAME.*.tmp` beside it (created 0600: owner only),
fsynced, and renamed over its target, so a crash (kill -9, power loss) leaves the old
version or the new one, never a mix. The `.bak` of the previous version is written the
same way. Temporaries left by a crashed save are removed at the next save of that file.
A symlinked file is written through its link (the real file is updated, the link kept);
a target that is not a regular file (a device, a fifo, a folder) is refused.
"""
from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; strays are then judged by age
    fcntl = None

STRAY_AGE = 3600.0  # seconds: without fcntl, a temporary this old is a crashed save's


def atomic_write_text(path: str | os.PathLike, text: str, *, backup: bool = True) -> None:
    """Write `text` to a temporary file beside `path`, fsync it, then rename over `path`.

    With `backup`, the previous version is kept as `<name>.bak` first (written atomically
    too). A new file is created 0600 (owner only); a replaced one keeps its mode."""
    path = regular_target(path)
    remove_strays(path)
    data = text.encode("utf-8")
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o600
    old = None
    if backup:
        try:
            old = open(path, "rb")  # streamed into the .bak: a large file is never held whole
        except FileNotFoundError:
            pass
    held = []  # (name, fd): each temporary stays locked until it is renamed
    try:
        held.append(_write_temp(path, data, mode))
        if old is not None:
            bak = regular_target(path.with_name(path.name + ".bak"))  # a linked .bak written through
            held.append(_write_temp(bak, old, mode))
            os.replace(held[1][0], bak)
        os.replace(held[0][0], path)
    except BaseException:
        for tmp, _ in held:
            Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        for _, fd in held:
            if fd is not None:
                os.close(fd)
        if old is not None:
            old.close()
    _fsync_dir(path.parent)  # make the renames themselves durable


def describe_save(path: str | os.PathLike, existed: bool = True) -> str:
    """Where a save went, as told to the trader: the link and its target, and the .bak."""
    path = Path(path)
    real = Path(os.path.realpath(path))
    shown = f"{path} (link to {real})" if path.is_symlink() else str(path)
    return shown + (f" (previous version kept as {real.name}.bak)" if existed else "")


def not_regular(path: str | os.PathLike) -> str | None:
    """What `path` is when it is there but not a regular file ("a folder", "a fifo or a
    device"), else None: such a target is never read to its end nor replaced."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None  # absent or unreadable: the open that follows says which
    if stat.S_ISREG(mode):
        return None
    return "a folder" if stat.S_ISDIR(mode) else "a fifo or a device"


def regular_target(path: str | os.PathLike) -> Path:
    """The file a save of `path` must replace: symlinks followed, so the link survives and
    its target is updated. Raises OSError when that is there but not a regular file."""
    real = Path(os.path.realpath(path))
    kind = not_regular(real)
    if kind:
        raise OSError(errno.EINVAL, f"{Path(path).name} is {kind}, not a regular file: never replaced",
                      str(path))
    return real


def _write_temp(path: Path, data, mode: int) -> tuple[str, int | None]:
    """A fsynced temporary beside `path` holding `data` (bytes, or a binary file read in
    chunks), given `mode`: (its name, its open fd, locked while open so remove_strays knows
    it is alive)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # 0600
    try:
        if mode != 0o600:
            os.fchmod(fd, mode)
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        chunks = [data] if isinstance(data, bytes) else iter(lambda: data.read(1 << 20), b"")
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]
        os.fsync(fd)
        if os.fstat(fd).st_nlink == 0:  # taken for a stray before it was locked
            raise OSError(f"temporary {tmp} vanished while it was written")
    except BaseException:
        os.close(fd)
        Path(tmp).unlink(missing_ok=True)
        raise
    if fcntl is None:  # Windows cannot rename a file that is open
        os.close(fd)
        return tmp, None
    return tmp, fd


def remove_strays(path: str | os.PathLike) -> list[Path]:
    """Delete the `.NAME.*.tmp` files of earlier, crashed saves of `path`; the ones removed.

    A save in progress holds a lock on its temporary, so only dead ones are taken."""
    path = Path(path)
    removed = []
    try:
        candidates = list(path.parent.glob(f".{_glob_escape(path.name)}.*.tmp"))
    except OSError:
        return removed
    for stray in candidates:
        try:
            if fcntl is not None:
                fd = os.open(stray, os.O_RDONLY)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live save's
                finally:
                    os.close(fd)
            else:
                import time
                if time.time() - stray.stat().st_mtime < STRAY_AGE:
                    continue
            stray.unlink()
            removed.append(stray)
        except OSError:
            continue
    return removed


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _fsync_dir(folder: Path) -> None:
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open a folder
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
