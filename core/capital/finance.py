"""Cost of capital and return: CAPM, WACC, the box-spread rate, IRR and the expected
settlement of a condor under a real-world lognormal. Rates are fractions a year."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np


def capm(rf: float, beta: float, mrp: float) -> float:
    """Cost of equity: rf + beta x market risk premium."""
    return rf + beta * mrp


def index_drift(rf: float, mrp: float) -> float:
    """SPX's real-world expected total return: the index's own CAPM return, beta 1,
    rf + 1 x MRP. The book's beta prices its equity (cost of equity), not the index."""
    return capm(rf, 1.0, mrp)


def box_rate(width: float, price: float, days: float) -> float:
    """The rate a box lends at: it pays its width at expiry for its price today,
    r = ln(width / price) / T, continuous, T in years of 365 days."""
    return math.log(width / price) / (days / 365.0)


@dataclass(frozen=True)
class WaccPart:
    name: str  # "margin loan", "box financing", "collateral", "equity"
    weight: float
    cost: float  # a year, after tax where it applies
    how: str  # where the cost came from


def wacc(parts: tuple[WaccPart, ...]) -> float:
    """Sum of weight x cost (the weights sum to 1: the book reader checks it)."""
    return sum(p.weight * p.cost for p in parts)


def npv(rate: float, flows: list[tuple[float, float]]) -> float:
    """Sum of amount / (1 + rate)^years over (years from the first flow, amount)."""
    return sum(x / (1.0 + rate) ** t for t, x in flows)


def irr(flows: list[tuple[date, float]]) -> float | None:
    """The annual rate whose NPV of the dated flows is zero (bisection in the bracket: scipy's
    brentq would import scipy.special into the report's start-up); None when the
    flows never change sign or no root is bracketed (from -99.99 % to 10^9 % a year)."""
    if not flows:
        return None
    start = min(d for d, _ in flows)
    years = [((d - start).days / 365.0, x) for d, x in flows]
    if not (any(x > 0 for _, x in years) and any(x < 0 for _, x in years)):
        return None
    lo, hi = -0.9999, 1.0
    f_lo = npv(lo, years)
    while hi < 1e7 and f_lo * npv(hi, years) > 0:
        hi *= 10.0
    if f_lo * npv(hi, years) > 0:
        return None
    for _ in range(200):  # the bracket halves each pass: far below 1e-12 of it
        mid = 0.5 * (lo + hi)
        f_mid = npv(mid, years)
        if f_mid == 0 or hi - lo <= 1e-13 * max(1.0, abs(mid)):
            break
        if f_lo * f_mid < 0:
            hi = mid
        else:
            lo, f_lo = mid, f_mid
    return float(0.5 * (lo + hi))


# z from -10 to 10 sd: the lognormal's mass outside is below 1e-22
_Z = np.linspace(-10.0, 10.0, 20001)  # a kink costs O(h^2): 1e-7 of the value here
_W = np.exp(-0.5 * _Z ** 2) / math.sqrt(2 * math.pi)


def condor_payoff(spx, long_put: float, short_put: float, short_call: float, long_call: float):
    """What one short condor pays at settlement, points: its put spread and call spread in the money."""
    s = np.asarray(spx, dtype=float)
    return (np.clip(short_put - s, 0.0, short_put - long_put)
            + np.clip(s - short_call, 0.0, long_call - short_call))


def expected_payoff(payoff, spot: float, years: float, drift: float, dividend: float, vol: float) -> float:
    """E[payoff(S_T)] with ln S_T ~ N(ln S + (drift - dividend - vol^2/2) T, vol^2 T): the
    real world, drift = the expected total return. Trapezoids over z in +-10 sd."""
    if years <= 0 or vol <= 0:
        return float(payoff(np.array([spot]))[0])
    sd = vol * math.sqrt(years)
    s = spot * np.exp((drift - dividend - 0.5 * vol * vol) * years + sd * _Z)
    return float(np.trapezoid(payoff(s) * _W, _Z))
