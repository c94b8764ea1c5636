"""History aligned into day arrays: the tape a backtest reads, one trading day per column.

Market arrays are (P, D): P paths (1 for history, many for the bootstrap) by D trading
days. Calendar arrays are (D,): every path shares the calendar, so listed expiries and
event days are facts of the date, not of the path. A value not stored that day is NaN;
the model fills it and the run records which days it did.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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

    @property
    def paths(self) -> int:
        return self.spx.shape[0]

    @property
    def days(self) -> int:
        return self.dates.shape[0]
