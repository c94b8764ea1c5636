"""Standard output that may be closed or full under a running command."""
from __future__ import annotations

import sys


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
