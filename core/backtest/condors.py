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


def strike_for_delta(S, T, r, q, delta, is_call, atm, slope, tol: float = 1e-13, iters: int = 100):
    """The strike whose BSM |delta| is `delta` on the smile (vol at the strike itself): a root
    in x = ln(K/F) kept bracketed between the money (|delta| about a half) and 12 ATM standard
    deviations out (|delta| about 0), found by regula falsi with the Illinois step (a handful of
    passes where bisection takes sixty)."""
    F = S * np.exp((r - q) * T)
    sign = np.where(is_call, 1.0, -1.0)  # is_call may be an array: puts and calls solved together
    sqrtT, disc = np.sqrt(T), np.exp(-q * T)

    def excess(x):  # |delta| at x less the target: falls as x moves out of the money
        s = model.smile_vol(atm, slope, F, F * np.exp(x), T)
        return disc * _ndtr(sign * (-x + 0.5 * s * s * T) / (s * sqrtT)) - delta

    b = sign * 12.0 * atm * sqrtT * np.ones_like(F)
    a = np.zeros_like(b)
    fa, fb = excess(a), excess(b)
    side = np.zeros(np.shape(a))
    for _ in range(iters):
        c = np.where(fa > fb, (a * fb - b * fa) / (fb - fa), 0.5 * (a + b))
        fc = excess(c)
        out = fc < 0  # too far out: c replaces the far end
        b, fb = np.where(out, c, b), np.where(out, fc, fb)
        a, fa = np.where(out, a, c), np.where(out, fa, fc)
        # the Illinois step: an end kept twice running has its value halved
        fa = np.where(out & (side < 0), 0.5 * fa, fa)
        fb = np.where(~out & (side > 0), 0.5 * fb, fb)
        side = np.where(out, -1.0, 1.0)
        if np.all(np.abs(fc) < tol):
            break
    return F * np.exp(c)


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
    return leg_prices @ -SIGN
