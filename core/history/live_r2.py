"""The live book's theta R²: each day's P&L regressed on the prior day's theta, over the
last WINDOW daily snapshots, for the condors and for the whole book (condors + hedges).

It is the backtest's theta R² measured on the book as traded. A day's P&L is the change in
P&L (open + realized) from one snapshot to the next, so a close moving P&L from open to
realized is no P&L; a gap in the snapshots (days the book was not looked at) is one step,
as a weekend is in the backtest. WINDOW snapshot days give WINDOW - 1 (P&L, theta) pairs.
Plain least squares here: core/history is below the backtest's room.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

WINDOW = 20  # snapshot days
FLAT = 1e-12  # a spread this small beside the values' size is rounding: no R² (as the backtest's)

BOOK = ("pnl", "pnl_realized", "theta")
CONDORS = ("condor_pnl", "condor_realized", "condor_theta")


@dataclass(frozen=True)
class LiveR2:
    window: int
    days: int  # snapshot days holding the book's P&L and theta
    condor_days: int  # of those, the days holding the condors' own P&L and theta too
    book: float | None  # None: fewer than `window` days, or theta (or P&L) did not vary
    condors: float | None

    @property
    def enough(self) -> bool:
        return self.days >= self.window


def r_squared(x, y) -> float | None:
    """R² of y on x by ordinary least squares (with an intercept); None for fewer than three
    points or when x or y does not vary."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.size < 3:
        return None
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy, sxy = float(dx @ dx), float(dy @ dy), float(dx @ dy)
    if math.sqrt(sxx) <= FLAT * float(np.abs(x).max()) or math.sqrt(syy) <= FLAT * float(np.abs(y).max()):
        return None
    return min(sxy * sxy / (sxx * syy), 1.0)


def _usable(rows, names) -> list[tuple[float, float]]:
    """(P&L open + realized, theta) of each row that holds all three as finite numbers."""
    out = []
    for r in rows:
        v = [r.get(n) for n in names]
        if all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v):
            out.append((v[0] + v[1], v[2]))
    return out


def _window_r2(points, window: int) -> float | None:
    if len(points) < window:
        return None
    pnl, theta = np.array(points[-window:], dtype=float).T
    return r_squared(theta[:-1], np.diff(pnl))


def theta_r2(rows, window: int = WINDOW) -> LiveR2:
    """The rolling R² over the last `window` snapshots (`journal.snapshot_series` rows, by date)."""
    book = _usable(rows, BOOK)
    condors = _usable([r for r in rows if _usable([r], BOOK)], CONDORS)  # days the book has too
    return LiveR2(window, len(book), len(condors), _window_r2(book, window), _window_r2(condors, window))
