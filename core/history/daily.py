"""A daily series as two numpy arrays: what the signals and the calibration compute on.

The report and the cockpit read the store into these, so they never import pandas
(about 0.15 s); `history.load_all` still gives pandas Series, and `as_daily` takes one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np


@dataclass(frozen=True)
class Daily:
    days: np.ndarray  # datetime64[D]
    values: np.ndarray
    demo: bool = False  # the bundled DEMO history

    def __len__(self) -> int:
        return len(self.days)

    def __getitem__(self, rows) -> Daily:
        return Daily(self.days[rows], self.values[rows], self.demo)

    def with_values(self, values) -> Daily:
        return Daily(self.days, np.asarray(values), self.demo)

    def dropna(self) -> Daily:
        return self[~np.isnan(self.values)]

    def last_day(self) -> date:
        return self.days[-1].astype(object)


def as_daily(s) -> Daily:
    """A Daily as it is, or a pandas Series on a DatetimeIndex as one (attrs["demo"] kept)."""
    if isinstance(s, Daily):
        return s
    return Daily(np.asarray(s.index.values, dtype="datetime64[D]"), s.to_numpy(),
                 bool(s.attrs.get("demo", False)))
