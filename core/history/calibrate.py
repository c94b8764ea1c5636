"""Spot-vol calibration: how VIX moves with SPX, and the front VIX future with VIX.

β is the OLS slope (with intercept) of daily log VIX changes on daily log SPX
changes, over the days both closed in a window ending at the last common close.
The default window is 5 years: long enough to hold a stress episode, short
enough to follow the current regime. Series come in as pandas Series or
`Daily`; the math is numpy.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from core.history.daily import as_daily
from core.model.errors import InputError
from core.market.marketgen import vix_expiry

DEFAULT_YEARS = 5.0
MIN_DAYS = 20


@dataclass(frozen=True)
class Calibration:
    beta: float  # d ln VIX / d ln SPX
    beta_down: float  # on days SPX fell
    beta_up: float  # on days SPX rose
    r2: float
    n: int  # daily changes used
    start: date
    end: date
    years: float
    front_beta: float | None = None  # d ln VX1 / d ln VIX, roll days left out
    front_n: int = 0


def _aligned(a, b, start: np.datetime64, end: np.datetime64):
    """Common dates in [start, end] and both series' values on them."""
    a, b = as_daily(a), as_daily(b)
    days, ia, ib = np.intersect1d(a.days, b.days, assume_unique=True, return_indices=True)
    keep = (days >= start) & (days <= end)
    return (days[keep], np.asarray(a.values, dtype=float)[ia][keep],
            np.asarray(b.values, dtype=float)[ib][keep])


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and R² of y on x with an intercept."""
    if len(x) < 2 or np.var(x) == 0:
        return float("nan"), float("nan")
    c = np.cov(x, y)
    r2 = c[0, 1] ** 2 / (c[0, 0] * c[1, 1]) if c[1, 1] > 0 else float("nan")
    return float(c[0, 1] / c[0, 0]), float(r2)


def _roll_days(days: np.ndarray) -> np.ndarray:
    """True for each change days[i-1] -> days[i] that touches or spans a VIX expiry.

    A continuous front contract switches to the next future around expiry: in
    the Quandl/CFE series on the expiry day in some years, the day after in
    others. Dropping both changes next to an expiry (t0 <= expiry <= t1)
    keeps every remaining change within one contract.
    """
    first, last = days[0].astype(object), days[-1].astype(object)
    expiries = np.array([vix_expiry(y, m) for y in range(first.year, last.year + 1)
                         for m in range(1, 13)], dtype="datetime64[D]")
    t0, t1 = days[:-1], days[1:]
    i = np.searchsorted(expiries, t0)  # first expiry on or after t0
    nxt = expiries[np.minimum(i, len(expiries) - 1)]
    return (i < len(expiries)) & (nxt <= t1)


def calibrate(vix, spx, *, years: float = DEFAULT_YEARS, end: date | None = None,
              vx1=None) -> Calibration:
    """β of VIX to SPX over `years` ending at `end` (default: the last common close)."""
    stop = np.datetime64(end or date.max, "D")
    days, v, s = _aligned(vix, spx, np.datetime64(date.min, "D"), stop)
    if not len(days):
        raise InputError("no day with both VIX and SPX closes", field="history")
    stop = days[-1]
    start = stop - np.timedelta64(round(years * 365.25), "D")
    keep = days >= start
    days, v, s = days[keep], v[keep], s[keep]
    if len(days) <= MIN_DAYS:
        raise InputError(f"only {len(days)} common VIX and SPX closes in the window; "
                         f"need more than {MIN_DAYS}", field="window")
    y, x = np.diff(np.log(v)), np.diff(np.log(s))
    with np.errstate(invalid="ignore", divide="ignore"):
        beta, r2 = _ols(x, y)
    if not (np.isfinite(beta) and np.isfinite(r2)):
        raise InputError(f"SPX or VIX does not move from {days[0]} to {days[-1]}: no beta to fit",
                         field="window")
    down, up = x < 0, x > 0
    front_beta, front_n = None, 0
    if vx1 is not None and len(vx1):
        fdays, f, fv = _aligned(vx1, vix, start, stop)
        if len(fdays) > MIN_DAYS:
            ok = ~_roll_days(fdays)
            fy, fx = np.diff(np.log(f))[ok], np.diff(np.log(fv))[ok]
            front_beta, front_n = _ols(fx, fy)[0], int(ok.sum())
    return Calibration(
        beta=beta, beta_down=_ols(x[down], y[down])[0], beta_up=_ols(x[up], y[up])[0],
        r2=r2, n=len(x), start=days[0].astype(object), end=stop.astype(object),
        years=years, front_beta=front_beta, front_n=front_n)
