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
