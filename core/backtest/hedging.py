"""The ALVH layers in the backtest, sized each day as the hedge engine sizes them.

Each layer holds one instrument at a time, its template's (DEFAULT_LAYERS: L1 a 1-7 day VIX
call, L2 a 30-60 day call spread, L3 the farthest call), struck at strike_mult x that
expiry's future, and rolls to a fresh one when fewer than roll_below_days are left. Each day:
the condor book's loss in each layer's own stress; L2 wants what its premium budget buys,
up to the target there; L1 and L3 their shares of what L2 leaves (L1 nothing when R3 finds
the regime dormant and R4 sees no event); then the whole hedge is fitted into the drag
budget and the premium cap, best coverage per $ of drag first. The engine searches a menu
of candidates; here each layer keeps its template, so a day costs microseconds.
Arrays are (paths, 3 layers) throughout.
"""
from __future__ import annotations

import numpy as np

from core.model.inputs import DEFAULT_LAYERS, DEFAULT_STRESS, AlvhSettings
from core.pricing.kernels import bsm_price, bsm_price_theta
from core.pricing.legs import moved_future, spot_vol

SETTINGS = AlvhSettings()  # l2 budget, L1/L3 weights, event horizon: the engine's defaults
LAYERS = (1, 2, 3)
IS_L1 = np.array([1.0, 0.0, 0.0])
_T = [DEFAULT_LAYERS[k] for k in LAYERS]
_S = [next(s for s in DEFAULT_STRESS if s.name == t.stress) for t in _T]
MIN_DAYS = np.array([t.min_days for t in _T])
MAX_DAYS = np.array([t.max_days if t.max_days is not None else np.inf for t in _T])
STRIKE_MULT = np.array([t.strike_mult for t in _T])
WIDTH = np.array([t.width for t in _T])
RATIO2 = np.array([-1.0 if t.instrument == "vix_call_spread" else 0.0 for t in _T])  # the short strike's
LEG_COUNT = np.where(RATIO2 != 0, 2, 1)
WEIGHT = np.stack([np.ones(3), RATIO2], -1)  # (layer, strike): the long strike 1, the spread's short one -1
_OFFSET = np.stack([np.zeros(3), WIDTH], -1)  # each strike's distance above the long one
ROLL_BELOW = np.array([t.roll_below_days or 0.0 for t in _T])
STRESS_MOVE = np.array([s.spx_move for s in _S])
STRESS_DAYS = np.array([s.days for s in _S])
STRESS_VIX = np.array([np.nan if s.vix is None else s.vix for s in _S])
STRIKE_STEP = 1.0  # VIX points
LISTED = 8  # monthly VIX expiries a day lists (the futures curve's depth)
PERCENTILE_DAYS = 252  # R3's one-year VIX percentile


def pick_expiries(days_to: np.ndarray) -> np.ndarray:
    """(D, 3) days to the expiry each layer's template takes, from (D, LISTED) days to the
    listed expiries: L1 the nearest in its window, L3 the farthest, L2 the one nearest the
    window's middle; the nearest outside a window when none is in it (as core.hedge.candidates)."""
    out = np.empty((len(days_to), 3))
    for j in range(3):
        lo, hi = MIN_DAYS[j], MAX_DAYS[j]
        inside = (days_to >= lo) & (days_to <= hi)
        if j == 0:
            score = np.where(inside, days_to, np.inf)
        elif np.isinf(hi):
            score = np.where(inside, -days_to, np.inf)
        else:
            score = np.where(inside, np.abs(days_to - (lo + hi) / 2), np.inf)
        outside = np.maximum(lo - days_to, days_to - hi)
        score = np.where(inside.any(axis=1, keepdims=True), score, outside)
        out[:, j] = np.take_along_axis(days_to, np.argmin(score, axis=1)[:, None], axis=1)[:, 0]
    return out


def black76_price(is_call, F, K, T, r, sigma):
    """Black-76 price only: BSM on the future with q = r."""
    return bsm_price(is_call, F, K, T, r, r, sigma)


def strikes(fut):
    """(..., 3, 2) strikes: each layer's long one at strike_mult x its future, and its spread's
    short one."""
    k1 = np.maximum(np.round(fut * STRIKE_MULT / STRIKE_STEP) * STRIKE_STEP, STRIKE_STEP)
    return k1[..., None] + _OFFSET


def value(F, K, T, r, sigma):
    """Price and theta in VIX points of one unit of each layer's instrument (Black-76); K is
    (..., 3, 2), every other argument broadcasts against (..., 3)."""
    r = np.asarray(r)[..., None]
    price, theta = bsm_price_theta(True, np.asarray(F)[..., None], K, np.asarray(T)[..., None], r, r,
                                   np.asarray(sigma)[..., None])  # Black-76: BSM on the future, q = r
    return (price * WEIGHT).sum(-1), (theta * WEIGHT).sum(-1)


def payoff(vix, K):
    """(P, 3) settlement value in VIX points of one unit of each layer at spot `vix` (P,)."""
    return (np.maximum(vix[:, None, None] - K, 0.0) * WEIGHT).sum(-1)


def stressed_vix(vix, beta: float):
    """(P, 3) spot VIX in each layer's stress: the spot-vol map, or the stress's fixed level."""
    mapped = spot_vol(vix[:, None], 1.0 + STRESS_MOVE, beta)
    return np.where(np.isnan(STRESS_VIX), mapped, STRESS_VIX)


def priced(F, K, days, r, sigma, vix, stressed, kappa: float):
    """Each layer's instrument now and in each layer's stress (`stressed`: (P, 3) spot VIX in
    each, from stressed_vix): price and theta now (P, 3), VIX points, and gain (P, 3 stresses,
    3 layers), $ per unit (the stresses priced price-only)."""
    v = stressed[:, :, None]  # stress axis
    T = days / 365.0
    price, theta = value(F, K, T, r[:, None], sigma)
    moved = moved_future(F[:, None, :], v - vix[:, None, None], np.exp(-kappa * T)[:, None, :])
    T2 = np.maximum(T[:, None, :] - STRESS_DAYS[None, :, None] / 365.0, 0.0)
    p2 = black76_price(True, moved[..., None], K[:, None], T2[..., None], r[:, None, None, None],
                       sigma[:, None, :, None])
    return price, theta, ((p2 * WEIGHT).sum(-1) - price[:, None, :]) * 100


def wants(loss, gain, price, target, equity, dormant, on=(True, True, True)):
    """(P, 3) $ of stress gain each layer is meant to cover (the engine's split). loss: (P, 3)
    the condor book's loss in each layer's stress; gain: (P, 3 stresses, 3 layers); `on`: the
    layers that run (an L2 switched off covers nothing, so leaves the others the whole target).
    As in the engine, a dormant regime (R3, no event) gives L1 nothing and L3 the whole rest."""
    budget = SETTINGS.l2_budget_pct / 100 * equity
    g2 = gain[:, 1, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        bought = np.where(price[:, 1] > 0, np.floor(budget / (price[:, 1] * 100)) * g2, np.inf)
        want2 = np.maximum(np.minimum(bought, target * loss[:, 1]), 0.0) * bool(on[1])
        per = np.where(g2 > 0, want2 / g2, 0.0)
    w1, w3 = SETTINGS.weights
    left = np.maximum(target * loss - per[:, None] * gain[:, :, 1], 0.0)  # what L2 leaves in each stress
    share = np.stack([np.where(dormant, 0.0, w1), np.zeros_like(equity), np.where(dormant, 1.0, w3)], axis=1)
    return np.where(np.arange(3) == 1, want2[:, None], left * share) * np.asarray(on)


def fit(want, own_gain, loss, drag, premium, equity, keep, hedge):
    """(P, 3) whole units within the drag budget and the premium cap: layers in order of
    coverage per $ of drag (coverage = gain / the layer's loss), each taking what it wants
    or what is left. `keep`: units kept whatever the budget (R4 keeps L1's)."""
    drag_left = hedge.drag_budget_pct / 100 * equity - (keep * drag).sum(1)
    prem_left = hedge.premium_cap_pct / 100 * equity - (keep * premium).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        wanted = np.where(own_gain > 0, np.floor(want / own_gain + 0.5), 0.0)
        ratio = np.where(own_gain > 0, own_gain / np.maximum(loss, 1.0) / drag, -np.inf)
    order = np.argsort(-ratio, axis=1)  # each path's best layer first
    at = (np.arange(len(equity))[:, None], order)
    w, dr, pr, n = wanted[at], drag[at], premium[at], keep[at].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        for j in range(3):
            cap = np.minimum(np.maximum(drag_left, 0) / dr[:, j],
                             np.where(pr[:, j] > 0, np.maximum(prem_left, 0) / pr[:, j], np.inf))
            extra = np.maximum(np.minimum(w[:, j], np.floor(cap)) - n[:, j], 0.0)
            extra = np.where(np.isfinite(extra), extra, 0.0)
            n[:, j] += extra
            drag_left = drag_left - extra * dr[:, j]
            prem_left = prem_left - extra * pr[:, j]
    out = np.empty_like(n)
    out[at] = n
    return out


def dormant(vix: np.ndarray, contango: np.ndarray, chunk: int = 128) -> np.ndarray:
    """R3 on every day of (P, D) VIX closes: the day's VIX below the 20th percentile of the
    PERCENTILE_DAYS closes before it, and the curve in contango. Days are taken in chunks so
    the (P, chunk, window) comparison stays small."""
    P, D = vix.shape
    n = PERCENTILE_DAYS
    padded = np.concatenate([np.full((P, n), np.nan), vix], axis=1)
    out = np.zeros((P, D), bool)
    for start in range(0, D, chunk):
        stop = min(start + chunk, D)
        win = np.lib.stride_tricks.sliding_window_view(padded[:, start:stop + n - 1], n, axis=1)  # (P, k, n)
        today = vix[:, start:stop, None]
        known = ~np.isnan(win)
        with np.errstate(invalid="ignore", divide="ignore"):
            pct = (win < today).sum(-1) / known.sum(-1) * 100
        out[:, start:stop] = (pct < 20) & (known.sum(-1) > 0)
    return out & contango


def describe() -> str:
    return "; ".join(f"L{k} {t.instrument.replace('_', ' ')} {t.min_days:g}-{t.max_days or 'far'} days at "
                     f"{t.strike_mult:g}x the future, rolled below {t.roll_below_days:g} days, sized in "
                     f"\"{t.stress}\"" for k, t in zip(LAYERS, _T))
