"""The backtest's condors: strikes struck by delta on the day's smile, and their marks.

Legs are ordered long put, short put, short call, long call along the last axis.
"""
from __future__ import annotations

import numpy as np

from core.backtest import model
from core.pricing.kernels import bsm_price, bsm_price_theta

IS_CALL = np.array([False, False, True, True])
AM_HOURS = 6.5  # an AM root settles at the 9:30 open, 6.5 hours before the close we value at


def years_left(days, am):
    """Years from a close to settlement, `days` calendar days later (AM a morning earlier)."""
    return (days - np.where(am, AM_HOURS / 24.0, 0.0)) / 365.0


def strike_for_delta(S, T, r, q, delta, is_call, atm, slope, tol: float = 1e-12, iters: int = 60):
    """The strike whose BSM |delta| is `delta` on the smile (vol at the strike itself).

    In x = ln(K/F) the condition is d1(x) = sign N^-1(delta e^(qT)), and d1 falls as x moves
    out. Newton from the flat-smile root, with d1's analytic slope through the skew, kept inside
    a bracket 12 ATM standard deviations either side of the forward (a step that leaves it
    bisects instead), each strike left where it is once solved: a handful of passes for a
    whole batch (at most 8 over the config's range). Stops when every d1 is within `tol` of
    its target (|delta| then within 0.4 tol)."""
    from scipy.special import ndtri  # here, not at import: scipy.special costs 0.2 s to load
    F = S * np.exp((r - q) * T)
    sign = np.where(is_call, 1.0, -1.0)  # is_call may be an array: puts and calls solved together
    sqrtT = np.sqrt(T)
    sd = atm * sqrtT
    target = sign * ndtri(delta * np.exp(q * T))
    hi = 12.0 * sd * np.ones_like(F * sign)
    lo = -hi  # d1(lo) > target > d1(hi): the smile's floor and cap keep both ends' signs
    x = np.clip(0.5 * sd * sd - target * sd, lo, hi)  # the root were the smile flat at the money
    for _ in range(iters):
        raw = 1.0 - slope * x / sd
        s = atm * np.clip(raw, model.VOL_FLOOR, model.VOL_CAP)
        ds = np.where((raw > model.VOL_FLOOR) & (raw < model.VOL_CAP), -slope / sqrtT, 0.0)
        st = s * sqrtT
        g = -x / st + 0.5 * st - target
        solved = np.abs(g) < tol
        if np.all(solved):
            break
        lo, hi = np.where(g > 0, x, lo), np.where(g > 0, hi, x)
        slope_g = -1.0 / st + (x / (s * st) + 0.5 * sqrtT) * ds
        with np.errstate(divide="ignore", invalid="ignore"):
            step = x - g / slope_g
        # a solved strike stays put while the others go on: its step is ~0, so it sits on an
        # end of its bracket, would read as leaving it and bisect back to mid-bracket
        x = np.where(solved, x, np.where((step > lo) & (step < hi), step, 0.5 * (lo + hi)))
    return F * np.exp(x)


def struck(S, T, r, q, atm, slope, strikes):
    """(P, 4) strikes for the config's [strikes] section, rounded to its listed step; a wing
    stays at least one step outside its short strike. Inputs are (P,)."""
    step = strikes.step
    wings = strikes.wing_delta is not None
    target = np.array([strikes.short_delta] * 2 + ([strikes.wing_delta] * 2 if wings else []))
    calls = np.array([False, True] * (2 if wings else 1))
    col = (lambda x: np.asarray(x)[..., None] if np.ndim(x) else x)  # paths down, legs across
    K = strike_for_delta(col(S), col(T), col(r), q, target, calls, col(atm), col(slope))
    K = np.round(K / step) * step
    sp, sc = K[..., 0], K[..., 1]
    if wings:
        lp, lc = K[..., 2], K[..., 3]
    else:
        lp = np.round((sp - strikes.wing_width) / step) * step
        lc = np.round((sc + strikes.wing_width) / step) * step
    sc = np.maximum(sc, sp + step)
    return np.stack([np.minimum(lp, sp - step), sp, sc, np.maximum(lc, sc + step)], axis=-1)


def legs(S, K, T, r, q, atm, slope):
    """Per-leg (price, theta per day) of (..., 4) strikes; S, T, r, q, atm, slope broadcast as
    (..., 1)."""
    F = S * np.exp((r - q) * T)
    sigma = model.smile_vol(atm, slope, F, K, T)
    return bsm_price_theta(IS_CALL, S, K, T, r, q, sigma)


def prices(S, K, T, r, q, atm, slope):
    """Per-leg prices only, no theta: what an entry's credit and a stress need."""
    F = S * np.exp((r - q) * T)
    return bsm_price(IS_CALL, S, K, T, r, q, model.smile_vol(atm, slope, F, K, T))


def intrinsic(S, K):
    """Each leg's settlement value at S: (..., 4)."""
    return np.maximum(np.where(IS_CALL, S - K, K - S), 0.0)


def net(leg_values):
    """A condor's value of (..., 4) per-leg values (long put, short put, short call, long
    call): the wings less the shorts, summed leg by leg in one order whatever the array's
    shape (a matmul's rounding follows the shape, so a day's figure would depend on how
    many days and paths were priced beside it)."""
    v = leg_values
    return v[..., 0] - v[..., 1] - v[..., 2] + v[..., 3]


def close_cost(leg_prices):
    """Points it costs to buy the condor back: shorts less wings."""
    return -net(leg_prices)
