"""Which history series a file holds, from its name and header: `alvh data import FILE...`
without --series.

The header decides where it can (the VIX futures files, release dates, the T-bill rate, a
Yahoo OHLC file with volume); the files of one layout (VIX, VIX3M and VIX9D share
`date,open,high,low,close`; SPX closes, VVIX and SKEW share `date,close`) are told apart by
a word of the file's name or of its value column (`vix9d_daily.csv`, FRED's
`observation_date,SP500`). What cannot be told is refused with the reason, never guessed.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from core.history.store import VX_SERIES, _readable_file
from core.model.errors import InputError

# words of a name or header that name a series (Cboe's, FRED's and Yahoo's own names too)
WORDS = {"vix": "vix", "vixcls": "vix", "vix3m": "vix3m", "vxv": "vix3m", "vix9d": "vix9d",
         "vvix": "vvix", "skew": "skew", "spx": "spx", "sp500": "spx", "gspc": "spx",
         "tbill": "tbill_3m", "tb3ms": "tbill_3m", "fomc": "fomc", "cpi": "cpi", "ppi": "ppi"}
NAMES = {  # the indexes, told apart by name, as each file's line calls them
    "vix": "Cboe VIX", "vix3m": "Cboe VIX3M", "vix9d": "Cboe VIX9D", "vvix": "Cboe VVIX",
    "skew": "Cboe SKEW", "spx": "S&P 500 closes"}
HEAD_LINES = 4  # a Cboe chain's header is its third line
HEAD_CHARS = 64_000  # of each: a header is far shorter; a binary file has no line breaks


@dataclass(frozen=True)
class Kind:
    what: str  # shown on the file's line
    series: tuple[str, ...]  # none: the file is skipped, `what` says why
    keep_stored: bool = False  # the lesser source of its series: it only fills missing dates


# Two files give one series on shared dates; the README of ../shared/data says which is
# better. SPX: FRED's closes are S&P's own, Yahoo's differ on 10 of 1734 shared days (up to
# 5.29 points, 2021-08-11). VX1/VX2: the wide file's VXn is the n-th monthly contract after
# the date, so on an expiry day it has rolled; the long file still shows the expiring
# contract's final settlement (93 days, points apart). One convention per store: the wide
# file's. It costs the long file's half-cent settles of 2014-2017 (16.225), which the wide
# file rounds (584 days, 0.005 at most).
SPX_OHLC = Kind("S&P 500 OHLC (closes only where none are stored: FRED's win)",
                ("spx", "spx_high", "spx_low"), keep_stored=True)
VX_LONG = Kind("VIX futures VX1/VX2, long format (only where none are stored: the VX1-VX8"
               " file's win)", ("vx1", "vx2"), keep_stored=True)
CHAIN = Kind("a Cboe option chain, not history (`alvh chain import FILE` reads it)", ())


def recognise(path: str | Path) -> Kind:
    """The Kind of a history file; InputError naming the file and why it is not one."""
    file = str(path)
    header, chain = _head(path, file)
    if chain:
        return CHAIN
    cols = set(header)
    words = {WORDS[w] for w in re.split(r"[^a-z0-9]+", Path(path).stem.lower()) + header
             if w in WORDS}
    shown = ",".join(header)[:80]

    def unknown(why: str) -> InputError:
        return InputError(f"not recognised: {why}; name its series with --series", file=file)

    if {"contract", "settle"} <= cols:
        return VX_LONG
    if "vx1" in cols:
        return Kind("VIX futures VX1-VX8, wide format", tuple(s for s in VX_SERIES if s in cols))
    if "release_date" in cols:
        found = words & {"cpi", "ppi"}
        if len(found) != 1:
            raise unknown("release dates, but its name does not say of cpi or of ppi")
        series = found.pop()
        return Kind(f"{series.upper()} release dates", (series,))
    if "fomc" in words or cols == {"date", "type", "source"}:
        return Kind("FOMC decision dates", ("fomc",))
    if "rate_pct" in cols or "tbill_3m" in words:
        return Kind("3-month T-bill rate, % a year", ("tbill_3m",))
    if not cols & {"date", "observation_date"}:
        raise unknown(f"header {shown!r} has no date column")
    if "close" not in cols and len(header) != 2:
        raise unknown(f"header {shown!r} has no close column")
    found = words & NAMES.keys()
    if len(found) > 1:
        raise unknown(f"its name and header name {' and '.join(sorted(found))}")
    ohlc = {"high", "low"} <= cols
    if not found and ohlc and "volume" in cols:  # Yahoo's layout; Cboe's files have no volume
        found = {"spx"}
    if not found:
        raise unknown(f"header {shown!r} is the layout of {', '.join(NAMES)} closes, and its"
                      " name says none of them")
    series = found.pop()
    if series == "spx" and ohlc:
        return SPX_OHLC
    return Kind(NAMES[series] + (", OHLC" if ohlc else ""), (series,))


def _head(path, file: str) -> tuple[list[str], bool]:
    """The first line's cells (trimmed, lower case) and whether the file is a Cboe chain."""
    try:
        _readable_file(path, file)
        with open(path, encoding="utf-8-sig", newline="") as fh:
            lines = [fh.readline(HEAD_CHARS) for _ in range(HEAD_LINES)]
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=file) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", file=file) from None
    if any(line.startswith("Expiration Date,") for line in lines):
        return [], True
    try:
        header = next(csv.reader([lines[0]]), [])
    except csv.Error as exc:
        raise InputError(f"bad CSV: {exc}", file=file, line=1) from None
    header = [h.strip().lower() for h in header]
    if not any(header):
        raise InputError("empty first line: no header", file=file, line=1)
    return header, False
