"""Implied vol off fitted smiles: raw SVI slices in total variance, one per expiry, and
linear interpolation in total variance between them at fixed log-moneyness.

Total variance w = vol^2 x T; a slice is w(k) = a + b (rho (k - m) + sqrt((k - m)^2 + s^2)),
k = ln(K / F) against the slice's own forward. Between two slices both w and ln F are
linear in T, which keeps a calendar-arbitrage-free pair free of it; beyond the first and
last slice the nearest slice's vol at the same k is held (flat extrapolation, flagged).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from core.model.inputs import Smile


def svi(params: tuple[float, ...], k: float) -> float:
    a, b, rho, m, s = params
    return a + b * (rho * (k - m) + math.sqrt((k - m) ** 2 + s * s))


@dataclass(frozen=True)
class SmileVol:
    vol: float
    extrapolated: str | None  # the slice whose vol was held, when outside the fitted range


def smile_vol(slices: list[tuple[float, Smile]], strike: float, T: float) -> SmileVol:
    """Vol at `strike` for time T (years) from (T_i, slice) sorted by T_i (T_i > 0)."""
    if T <= slices[0][0] or len(slices) == 1 or T >= slices[-1][0]:
        Ti, s = slices[0] if T <= slices[0][0] else slices[-1]
        vol = math.sqrt(max(svi(s.svi, math.log(strike / s.forward)), 0.0) / Ti)
        exact = abs(T - Ti) < 1e-9
        return SmileVol(vol, None if exact else f"{s.root} {s.expiry}")
    i = next(j for j in range(1, len(slices)) if slices[j][0] >= T)
    (T0, s0), (T1, s1) = slices[i - 1], slices[i]
    x = (T - T0) / (T1 - T0)
    fwd = math.exp((1 - x) * math.log(s0.forward) + x * math.log(s1.forward))
    k = math.log(strike / fwd)
    w = (1 - x) * svi(s0.svi, k) + x * svi(s1.svi, k)
    return SmileVol(math.sqrt(max(w, 0.0) / T), None)
