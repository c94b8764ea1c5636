"""Argument types of the command line: numbers that are finite and in range, paths that name a file."""
from __future__ import annotations

import argparse
import math
import re

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:inf|nan)")


def number_type(what: str):
    """An argparse type: a finite number (nan and inf refused), its refusals naming `what`."""
    def parse(text: str) -> float:
        if not _NUMBER.fullmatch(text):  # float() also takes "1_0", "５", " 5 ", Arabic-Indic digits
            raise argparse.ArgumentTypeError(f"{what} needs a number, not {text[:20]!r}")
        x = float(text)
        if not math.isfinite(x):
            raise argparse.ArgumentTypeError(f"{what} needs a finite number, not {text[:20]!r}")
        return x
    return parse


finite = number_type("a what-if")


def whole_number(text: str) -> int:
    """argparse type: a plain whole number of contracts (digits only)."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise argparse.ArgumentTypeError(f"needs a whole number, not {text[:20]!r}")
    return int(text)


def nonempty(what: str):
    """An argparse type refusing an empty value (it would quietly mean the default)."""
    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"an empty value names no {what}")
        return text
    return parse


path_arg = nonempty("file")  # empty: the default file, or the current folder

DAYS = (-365.0, 3650.0)  # what-if days: a year back to ten years on


def days(text: str) -> float:
    """argparse type: what-if days, finite and within DAYS."""
    x = finite(text)
    if not DAYS[0] <= x <= DAYS[1]:
        raise argparse.ArgumentTypeError(f"a what-if moves {DAYS[0]:g} to {DAYS[1]:g} days, not {text[:20]}")
    return x


VOL_MOVE = (-100.0, 200.0)  # what-if VIX points: VIX's record close is 82.69
SPX_MOVE = (-90.0, 100.0)  # what-if SPX %, the engine's own range


def spx_move(text: str) -> float:
    """argparse type: a what-if SPX move in %, finite and within SPX_MOVE."""
    x = finite(text)
    if not SPX_MOVE[0] <= x <= SPX_MOVE[1]:
        raise argparse.ArgumentTypeError(f"a what-if moves SPX {SPX_MOVE[0]:+g}% to {SPX_MOVE[1]:+g}%,"
                                         f" not {text[:20]}")
    return x


def vol_move(text: str) -> float:
    """argparse type: a what-if VIX move in points, finite and within VOL_MOVE."""
    x = finite(text)
    if not VOL_MOVE[0] <= x <= VOL_MOVE[1]:
        raise argparse.ArgumentTypeError(f"a what-if moves VIX {VOL_MOVE[0]:+g} to {VOL_MOVE[1]:+g}"
                                         f" points, not {text[:20]}")
    return x


def port_number(text: str) -> int:
    """argparse type: a TCP port, 1 to 65535."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a port is a whole number, not {text!r}") from None
    if not 1 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, not {n}")
    return n
