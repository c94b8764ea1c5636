"""Standard output that may be closed or full under a running command, and the progress
bar long commands draw on stderr."""
from __future__ import annotations

import sys
from contextlib import contextmanager


def quiet_stdout() -> None:
    """Point stdout at devnull so the interpreter's last flush into a closed pipe or a full
    disk is not reported (the recipe of Python's signal documentation)."""
    import os
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real stdout (tests)
        pass


def say_done(*lines: str) -> None:
    """Print what a command did once it is done (the book saved, the store written). Output
    that cannot be written (a full disk, a reader gone) does not undo it: say so and go on,
    so the command exits 0 and is not repeated."""
    try:
        for line in lines:
            print(line)
        sys.stdout.flush()
    except OSError as exc:
        quiet_stdout()
        try:
            print(f"alvh: done (do not repeat it); its report could not be written:"
                  f" {exc.strerror or exc}", file=sys.stderr)
        except (OSError, AttributeError):
            pass


@contextmanager
def progress_bar(label: str, counted: bool = False):
    """A rich bar on stderr, only when stderr is a terminal (never in pipes or tests): yields
    `update(done, total)`, or None. `counted` shows done/total and the time spent (whole
    items), else the share done and the time left."""
    isatty = getattr(sys.stderr, "isatty", None)
    if not (isatty and isatty()):
        yield None
        return
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    columns = (MofNCompleteColumn(), TimeElapsedColumn()) if counted else (TaskProgressColumn(),
                                                                          TimeRemainingColumn())
    with Progress(TextColumn(label), BarColumn(), *columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)

