"""Watch one file (the market file) and call back when it is rewritten from outside.

The directory is watched, not the file: an atomic save replaces the file's inode.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

DEBOUNCE_MS = 150  # a reload lands well within a second of the write


async def watch_file(path: Path, on_change: Callable[[], None]) -> None:
    from watchfiles import awatch
    target = Path(path).resolve()
    async for changes in awatch(target.parent, debounce=DEBOUNCE_MS, step=50, recursive=False):
        if any(Path(p).resolve() == target for _, p in changes):
            on_change()
