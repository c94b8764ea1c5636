"""History aligned into day arrays: the tape a backtest reads, one trading day per column.

Market arrays are (P, D): P paths (1 for history, many for the bootstrap) by D trading
days. Calendar arrays are (D,): every path shares the calendar, so listed expiries and
event days are facts of the date, not of the path. A value not stored that day is NaN;
the model fills it and the run records which days it did.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from core.history.daily import as_daily
from core.history.store import OPEN_SERIES, VX_SERIES
from core.market.marketgen import vix_expiry
from core.model.errors import InputError


@dataclass(frozen=True)
class Tape:
    dates: np.ndarray  # (D,) datetime64[D], trading days ascending
    spx: np.ndarray  # (P, D) close
    spx_open: np.ndarray  # (P, D) opening print; NaN where unknown or a placeholder
    vix: np.ndarray  # (P, D)
    vix9d: np.ndarray  # (P, D)
    vix3m: np.ndarray  # (P, D)
    vvix: np.ndarray  # (P, D)
    skew: np.ndarray  # (P, D) Cboe SKEW index
    vx: np.ndarray  # (P, D, 8) VIX future settlements, nearest expiry first
    vx_days: np.ndarray  # (P, D, 8) calendar days from the day to each future's expiry
    tbill: np.ndarray  # (P, D) cash rate known that day, annual, continuous
    fomc: np.ndarray  # (D,) bool: an FOMC announcement day
    cpi: np.ndarray  # (D,) bool: a CPI release day
    # (D,) calendar days to the next FOMC or CPI date on or after the day, past the tape's end
    # too: the dates are published ahead (inf: none known). None: from fomc | cpi alone.
    next_event: np.ndarray | None = None

    @property
    def paths(self) -> int:
        return self.spx.shape[0]

    @property
    def days(self) -> int:
        return self.dates.shape[0]


# --- building a tape from the history store ----------------------------------------------

CARRY_DAYS = 5  # an index level missing up to this many trading days repeats the last one
CLOSE_ONLY_UNTIL = date(1992, 1, 1)  # SPX opens of 1990-1991 are not used (close-only era)
# An SPX open within this of the previous close is that close repeated, not an opening
# print: Yahoo's ^GSPC open is so on 95-99 % of days 1990-2005, then on some of 2006-2013
# (and on 0-2 days a year since 2014, by chance).
STALE_OPEN = 0.011
BILL_DAYS = 91  # the 3-month bill's term, for the discount-basis conversion


def tape_from_series(series: dict, start: date | None = None, end: date | None = None) -> Tape:
    """The one-path tape of the SPX trading days in [start, end] from `load_daily`'s series
    (each one's days ascending). Every value on a day is computed from that day and
    earlier ones only, so a tape cut at `end` is the start of a longer one."""
    for name, file in (("spx", "spx_daily.csv"), ("vix", "vix_daily.csv")):
        if name not in series or not len(series[name]):
            raise InputError(f"the history store has no {name.upper()} closes; import them"
                             f" first: alvh data import FILE (e.g. {file})", field=name)
    spx = as_daily(series["spx"])
    close = spx.values.astype(float)
    cal = spx.days  # values are made on the whole calendar, then cut to [start, end]
    keep = np.ones(len(cal), dtype=bool)
    if start is not None:
        keep &= cal >= np.datetime64(start, "D")
    if end is not None:
        keep &= cal <= np.datetime64(end, "D")
    carried = {name: _carried(cal, series.get(name)) for name in ("vix", "vix9d", "vix3m", "vvix", "skew")}
    keep &= ~np.isnan(carried["vix"])  # a day without a VIX (even carried) cannot be priced: skipped
    if not keep.any():
        raise InputError(f"no SPX trading day with a VIX stored from {start or 'the start'} to"
                         f" {end or 'the end'}", field="dates")
    days = cal[keep]
    levels = {name: v[keep][None] for name, v in carried.items()}
    vx, vx_days = _futures(days, series)
    return Tape(dates=days, spx=close[keep][None],
                spx_open=_opens(cal, close, series.get(OPEN_SERIES["spx"]))[keep][None],
                **levels, vx=vx[None], vx_days=vx_days[None],
                tbill=_tbill(days, series.get("tbill_3m"))[None],
                fomc=_events(days, series.get("fomc")), cpi=_events(days, series.get("cpi")),
                next_event=_next_event(days, series.get("fomc"), series.get("cpi")))


def day_index(tape: Tape, d: date) -> int:
    """The index of trading day `d` in the tape; KeyError when it is not one."""
    i = int(np.searchsorted(tape.dates, np.datetime64(d, "D")))
    if i == tape.days or tape.dates[i] != np.datetime64(d, "D"):
        raise KeyError(f"{d} is not a trading day of the tape")
    return i


def _on(cal: np.ndarray, s) -> np.ndarray:
    """The series' value on each day of `cal`, NaN where it stores none."""
    out = np.full(len(cal), np.nan)
    if s is None or not len(s):
        return out
    s = as_daily(s)
    i = np.minimum(np.searchsorted(s.days, cal), len(s) - 1)
    hit = s.days[i] == cal
    out[hit] = s.values[i[hit]]
    return out


def _carried(cal: np.ndarray, s) -> np.ndarray:
    """`_on`, with a gap filled from the last stored day up to CARRY_DAYS trading days on:
    past data only, so a longer gap is filled for its first CARRY_DAYS days, never more."""
    x = _on(cal, s)
    n = np.arange(len(x))
    last = np.maximum.accumulate(np.where(np.isnan(x), -1, n))
    ok = (last >= 0) & (n - last <= CARRY_DAYS)
    return np.where(ok, x[np.maximum(last, 0)], np.nan)


def _opens(cal: np.ndarray, close: np.ndarray, s) -> np.ndarray:
    """The stored SPX opens that are real prints: not before CLOSE_ONLY_UNTIL, not a
    repeat of the previous close."""
    x = _on(cal, s)
    prev = np.concatenate(([np.nan], close[:-1]))
    with np.errstate(invalid="ignore"):
        stale = np.abs(x - prev) <= STALE_OPEN
    return np.where(stale | (cal < np.datetime64(CLOSE_ONLY_UNTIL, "D")), np.nan, x)


def _futures(days: np.ndarray, series: dict) -> tuple[np.ndarray, np.ndarray]:
    """(D, 8) settlements of the n-th monthly VIX future expiring after each day, and
    the calendar days to its expiry."""
    first, last = days[0].item(), days[-1].item()
    expiries = np.array([vix_expiry(y, m) for y in range(first.year - 1, last.year + 2)
                         for m in range(1, 13)], dtype="datetime64[D]")
    j = np.searchsorted(expiries, days, side="right")
    vx_days = (expiries[j[:, None] + np.arange(len(VX_SERIES))] - days[:, None]).astype(float)
    vx = np.stack([_on(days, series.get(name)) for name in VX_SERIES], axis=1)
    # A row without VX3 is the long VX1/VX2 file's (2005-2007 in a full store), whose
    # conventions differ: in 2005-2006 its vx2 is often vx1 copied, and on an expiry day
    # its vx1 is the expiring contract's final settlement, so the next one is vx2.
    long = ~np.isnan(vx[:, 0]) & np.isnan(vx[:, 2])
    vx[long & (vx[:, 1] == vx[:, 0]), 1] = np.nan
    expiring = long & np.isin(days, expiries)
    vx[expiring, 0], vx[expiring, 1] = vx[expiring, 1], np.nan
    return vx, vx_days


def _tbill(days: np.ndarray, s) -> np.ndarray:
    """The 3-month bill's monthly average of the last month before each day's month (it
    is published after its month ends), as a continuous annual rate: the discount rate
    dr prices the bill at P = 1 - dr * 91/360, its bond-equivalent yield is
    y = 365 dr / (360 - 91 dr), and the continuous rate ln(1 + y * 91/365) * 365/91,
    which is -ln(P) * 365/91."""
    out = np.full(len(days), np.nan)
    if s is None or not len(s):
        return out
    s = as_daily(s)
    month = days.astype("datetime64[M]").astype("datetime64[D]")
    i = np.searchsorted(s.days, month, side="left") - 1  # the last month stored before it
    dr = s.values.astype(float)[np.maximum(i, 0)] / 100.0
    rate = -np.log1p(-dr * BILL_DAYS / 360.0) * 365.0 / BILL_DAYS
    return np.where(i >= 0, rate, np.nan)


def _events(days: np.ndarray, s) -> np.ndarray:
    if s is None or not len(s):
        return np.zeros(len(days), dtype=bool)
    return np.isin(days, as_daily(s).days)


def _next_event(days: np.ndarray, *events) -> np.ndarray:
    """Calendar days from each day to the next scheduled event on or after it (inf: none)."""
    known = [as_daily(s).days for s in events if s is not None and len(s)]
    at = np.unique(np.concatenate(known)).astype("datetime64[D]") if known else np.array([], "datetime64[D]")
    i = np.searchsorted(at, days, "left")
    ahead = at[np.minimum(i, len(at) - 1)] if len(at) else days
    return np.where(i < len(at), (ahead - days).astype(float), np.inf)
