"""The backtest's condors: strikes struck by delta on the day's smile, and their marks.

Legs are ordered long put, short put, short call, long call along the last axis.
"""
from __future__ import annotations

import numpy as np

from core.backtest import model
from core.pricing.kernels import bsm, bsm_price

IS_CALL = np.array([False, False, True, True])
SIGN = np.array([1.0, -1.0, -1.0, 1.0])  # +1 long
AM_HOURS = 6.5  # an AM root settles at the 9:30 open, 6.5 hours before the close we value at


def years_left(days, am):
    """Years from a close to settlement, `days` calendar days later (AM a morning earlier)."""
    return (days - np.where(am, AM_HOURS / 24.0, 0.0)) / 365.0


def strike_for_delta(S, T, r, q, delta, is_call, atm, slope, iters: int = 6):
    """The strike whose BSM |delta| is `delta` on the smile: K = F exp(-d1 s sqrt T + s^2 T / 2)
    with d1 fixed by the delta and s the smile's vol at K (a fixed point, a few passes)."""
    from scipy.special import ndtri
    F = S * np.exp((r - q) * T)
    d1 = ndtri(delta * np.exp(q * T))
    d1 = np.where(is_call, d1, -d1)
    K = F
    for _ in range(iters):
        s = model.smile_vol(atm, slope, F, K, T)
        K = F * np.exp(-d1 * s * np.sqrt(T) + 0.5 * s * s * T)
    return K


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
