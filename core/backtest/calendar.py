"""The SPX expiries listed on a date: NYSE holidays, AM monthlies and PM weeklies (SPXW).

Checked against every SPX trading day of ../shared/data (1990-01-02 to 2026-08-21): the
weekdays this calendar calls holidays are exactly the weekdays with no SPX close.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

from core.market.marketgen import _good_friday

# One-off NYSE closures (each one a weekday with no SPX close in the data)
CLOSURES = frozenset(date.fromisoformat(d) for d in (
    "1994-04-27",  # President Nixon's funeral
    "2001-09-11", "2001-09-12", "2001-09-13", "2001-09-14",  # 9/11
    "2004-06-11",  # President Reagan's funeral
    "2007-01-02",  # President Ford's funeral
    "2012-10-29", "2012-10-30",  # Hurricane Sandy
    "2018-12-05",  # President G.H.W. Bush's funeral
    "2025-01-09",  # President Carter's funeral
))
# The day SPXW weeklies of each weekday (Monday 0 ... Friday 4) were first listed
WEEKLY_START = {4: date(2005, 10, 28), 2: date(2016, 2, 23), 0: date(2016, 8, 15),
                1: date(2022, 4, 18), 3: date(2022, 5, 11)}
# Assumption (a simplification, not Cboe's listing rules): weeklies are listed this many
# calendar days ahead; a few weeks in their early years, then as far as the monthlies.
WEEKLY_DAYS_EARLY, WEEKLY_DAYS = 42, 400
WEEKLY_DAYS_FROM = date(2014, 1, 1)
# The nearest listed expiry to any target lies within this many days of it: monthlies
# are 35 days apart at most (36 when a holiday moves one a day earlier), and are listed
# as far out as asked.
MONTHLY_GAP = 36


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _observed(d: date) -> date:
    """A Saturday holiday closes the Friday before, a Sunday one the Monday after."""
    return d - timedelta(days=1) if d.weekday() == 5 else d + timedelta(days=1) if d.weekday() == 6 else d


@lru_cache(maxsize=None)
def holidays(year: int) -> frozenset:
    """The NYSE's weekday closures in `year`."""
    days = {_nth_weekday(year, 2, 0, 3), _good_friday(year),
            _nth_weekday(year, 6, 0, 1) - timedelta(days=7),  # Memorial Day: May's last Monday
            _observed(date(year, 7, 4)), _nth_weekday(year, 9, 0, 1),
            _nth_weekday(year, 11, 3, 4), _observed(date(year, 12, 25))}
    if date(year, 1, 1).weekday() != 5:  # a Saturday New Year closes no Friday (Dec 31 trades)
        days.add(_observed(date(year, 1, 1)))
    if year >= 1998:
        days.add(_nth_weekday(year, 1, 0, 3))  # Martin Luther King Jr. Day
    if year >= 2022:
        days.add(_observed(date(year, 6, 19)))  # Juneteenth
    return frozenset(days | {d for d in CLOSURES if d.year == year})


def trading_day(d: date) -> bool:
    return d.weekday() < 5 and d not in holidays(d.year)


def _on_or_before(d: date) -> date:
    while not trading_day(d):
        d -= timedelta(days=1)
    return d


def monthly_expiry(year: int, month: int) -> date:
    """The AM monthly: the third Friday, or the trading day before it when it is a holiday."""
    return _on_or_before(_nth_weekday(year, month, 4, 3))


@lru_cache(maxsize=None)
def _year(year: int) -> tuple[tuple[date, ...], tuple[date, ...], tuple[date, ...]]:
    """(monthlies, weeklies, the day each weekly was first listed) expiring in `year`,
    ascending. A weekly on a holiday expires the trading day before (a January one may
    so expire in December); one landing on another is one."""
    monthlies = tuple(monthly_expiry(year, m) for m in range(1, 13))
    weeklies: dict[date, date] = {}
    for weekday, start in WEEKLY_START.items():
        d = _nth_weekday(year, 1, weekday, 1)
        while d < date(year + 1, 1, 8):
            e = _on_or_before(d)
            if e.year == year:
                weeklies[e] = min(start, weeklies.get(e, start))
            d += timedelta(days=7)
    expiries = sorted(weeklies)
    return monthlies, tuple(expiries), tuple(weeklies[e] for e in expiries)


def weekly_days(day: date) -> int:
    return WEEKLY_DAYS if day >= WEEKLY_DAYS_FROM else WEEKLY_DAYS_EARLY


def spx_expiries(day: date, horizon_days: int = 400) -> list[tuple[date, bool]]:
    """(expiry, am_settled) of the SPX expiries listed on `day` from that day (an expiry
    trading out that day included) to `horizon_days` later, ascending; on a date with
    both, the AM monthly comes before the PM weekly."""
    last = day + timedelta(days=horizon_days)
    last_weekly = min(last, day + timedelta(days=weekly_days(day)))
    out = []
    for year in range(day.year, last.year + 1):
        monthlies, weeklies, starts = _year(year)
        out += [(e, True) for e in monthlies if day <= e <= last]
        lo, hi = bisect_left(weeklies, day), bisect_right(weeklies, last_weekly)
        out += [(weeklies[i], False) for i in range(lo, hi) if starts[i] <= day]
    return sorted(out, key=lambda x: (x[0], not x[1]))


def nearest_expiry(day: date, dte: int) -> tuple[date, bool]:
    """The listed expiry after `day` whose calendar days to expiry are closest to `dte`
    (a tie: the later one; one date with both roots: the AM monthly)."""
    listed = [x for x in spx_expiries(day, max(dte, 0) + MONTHLY_GAP) if x[0] > day]
    return min(listed, key=lambda x: (abs((x[0] - day).days - dte), -x[0].toordinal(), not x[1]))


def monthly_expiry_days(dates: np.ndarray) -> np.ndarray:
    """Indices of the `dates` (datetime64[D], ascending) that are monthly expiries."""
    if not len(dates):
        return np.zeros(0, dtype=np.int64)
    first, last = dates[0].item(), dates[-1].item()
    expiries = np.array([monthly_expiry(y, m) for y in range(first.year, last.year + 1)
                         for m in range(1, 13)], dtype="datetime64[D]")
    return np.flatnonzero(np.isin(dates, expiries))
