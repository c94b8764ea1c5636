"""The backtest's condors: strikes struck by delta on the day's smile, and their marks.

Legs are ordered long put, short put, short call, long call along the last axis.
"""
from __future__ import annotations

import numpy as np

from core.backtest import model
from core.pricing.kernels import bsm, bsm_price
from core.pricing.normal import ndtr as _ndtr

IS_CALL = np.array([False, False, True, True])
SIGN = np.array([1.0, -1.0, -1.0, 1.0])  # +1 long
AM_HOURS = 6.5  # an AM root settles at the 9:30 open, 6.5 hours before the close we value at


def years_left(days, am):
    """Years from a close to settlement, `days` calendar days later (AM a morning earlier)."""
    return (days - np.where(am, AM_HOURS / 24.0, 0.0)) / 365.0


def strike_for_delta(S, T, r, q, delta, is_call, atm, slope, iters: int = 60):
    """The strike whose BSM |delta| is `delta` on the smile (vol at the strike itself), by
    bisection in x = ln(K/F) between the money (|delta| about a half) and 12 ATM standard
    deviations out (|delta| about 0): 60 halvings leave the bracket below 1e-14 of it."""
    F = S * np.exp((r - q) * T)
    sd = atm * np.sqrt(T)
    sign = 1.0 if is_call else -1.0
    near, far = np.zeros_like(sd), sign * 12.0 * sd  # at the money, and far out of it
    for _ in range(iters):
        x = 0.5 * (near + far)
        K = F * np.exp(x)
        s = model.smile_vol(atm, slope, F, K, T)
        d1 = (-x + 0.5 * s * s * T) / (s * np.sqrt(T))
        got = np.exp(-q * T) * _ndtr(sign * d1)
        out = got < delta  # too far out: come back toward the money
        far, near = np.where(out, x, far), np.where(out, near, x)
    return F * np.exp(0.5 * (near + far))


def struck(S, T, r, q, atm, slope, strikes):
    """(P, 4) strikes for the config's [strikes] section, rounded to its listed step; a wing
    stays at least one step outside its short strike."""
    step = strikes.step
    sp = np.round(strike_for_delta(S, T, r, q, strikes.short_delta, False, atm, slope) / step) * step
    sc = np.round(strike_for_delta(S, T, r, q, strikes.short_delta, True, atm, slope) / step) * step
    if strikes.wing_delta is not None:
        lp = np.round(strike_for_delta(S, T, r, q, strikes.wing_delta, False, atm, slope) / step) * step
        lc = np.round(strike_for_delta(S, T, r, q, strikes.wing_delta, True, atm, slope) / step) * step
    else:
        lp = np.round((sp - strikes.wing_width) / step) * step
        lc = np.round((sc + strikes.wing_width) / step) * step
    sc = np.maximum(sc, sp + step)
    return np.stack([np.minimum(lp, sp - step), sp, sc, np.maximum(lc, sc + step)], axis=-1)


def legs(S, K, T, r, q, atm, slope):
    """Per-leg Greeks of (..., 4) strikes; S, T, r, q, atm, slope broadcast as (..., 1)."""
    F = S * np.exp((r - q) * T)
    sigma = model.smile_vol(atm, slope, F, K, T)
    return bsm(IS_CALL, S, K, T, r, q, sigma)


def prices(S, K, T, r, q, atm, slope):
    """Per-leg prices only (a third of `legs`' cost): what a stress needs."""
    F = S * np.exp((r - q) * T)
    return bsm_price(IS_CALL, S, K, T, r, q, model.smile_vol(atm, slope, F, K, T))


def intrinsic(S, K):
    """Each leg's settlement value at S: (..., 4)."""
    return np.maximum(np.where(IS_CALL, S - K, K - S), 0.0)


def close_cost(leg_prices):
    """Points it costs to buy the condor back: shorts less wings."""
    return -(leg_prices * SIGN).sum(axis=-1)
