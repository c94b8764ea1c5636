"""How a backtest day is priced: the vol term structure and put skew for SPX options, the
VIX futures curve and VIX option vol, from what the tape holds that day.

Every formula uses only that day's values (and constants), never a sample statistic, so a
value on a day cannot depend on a later one. Where a series is missing the model stands in
and `DayModel.real` records it per day.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NODES = np.array([9.0, 30.0, 93.0]) / 365.0  # VIX9D, VIX, VIX3M tenors, years
SKEW_REF = 120.0  # a fixed reference level of the SKEW index (a constant, not the sample
# mean, which would look ahead): skew_slope applies as given at SKEW 120
FUT_WINDOW = 30.0 / 365.0  # a VIX future settles on the next 30 days' implied variance
VOL_FLOOR, VOL_CAP = 0.5, 3.0  # the smile stays within half and three times the ATM vol: a
# linear skew would otherwise price far puts so high that no strike has a small delta


@dataclass(frozen=True)
class DayModel:
    w: np.ndarray  # (P, D, 3) total implied variance at the three nodes (ATM, after atm_ratio)
    slope: np.ndarray  # (P, D) put skew: share of ATM vol per standard deviation of moneyness
    vix_vol: np.ndarray  # (P, D) VIX option vol at 30 days
    long_var: np.ndarray  # (P, D) the futures model's long-run variance
    real: dict  # name -> (P, D) bool: the tape held that input that day


def _nan_to(x, fill):
    return np.where(np.isnan(x), fill, x)


def day_model(tape, m) -> DayModel:
    """`m`: the config's [model] section."""
    v30 = tape.vix / 100.0
    kap = max(m.kappa, 1e-9)
    a = (1 - np.exp(-kap * NODES[2])) / (kap * NODES[2])
    with np.errstate(invalid="ignore"):
        # long-run variance that makes the model's 93-day average equal VIX3M
        fitted = ((tape.vix3m / 100.0) ** 2 - v30 ** 2 * a) / (1 - a)
    long_var = np.clip(_nan_to(fitted, (m.long_vix / 100.0) ** 2), 0.05 ** 2, 0.8 ** 2)
    modelled93 = np.sqrt(long_var + (v30 ** 2 - long_var) * a)
    vols = np.stack([_nan_to(tape.vix9d / 100.0, v30), v30, _nan_to(tape.vix3m / 100.0, modelled93)], axis=-1)
    w = np.maximum.accumulate((m.atm_ratio * vols) ** 2 * NODES, axis=-1)  # no calendar arbitrage
    scale = _nan_to((tape.skew - 100.0) / (SKEW_REF - 100.0), 1.0) if m.skew_index else 1.0
    slope = m.skew_slope * np.clip(scale, 0.0, 3.0) * np.ones_like(v30)
    real = {"vix9d": ~np.isnan(tape.vix9d), "vix3m": ~np.isnan(tape.vix3m), "vvix": ~np.isnan(tape.vvix),
            "skew": ~np.isnan(tape.skew) if m.skew_index else np.zeros_like(v30, bool),
            "futures": ~np.isnan(tape.vx[..., 0]), "open": ~np.isnan(tape.spx_open)}
    vix_vol = _nan_to(tape.vvix / 100.0, m.vix_vol)
    return DayModel(w, slope, vix_vol, long_var, real)


def atm_vol(w, T):
    """ATM vol at T years: total variance linear between the nodes, vol flat outside them.
    `w`: (..., 3) total variances at the nodes (DayModel.w indexed by path and day), broadcast
    against T's shape."""
    w0, w1, w2 = w[..., 0], w[..., 1], w[..., 2]
    n0, n1, n2 = NODES
    T = np.maximum(T, 1e-6)
    var = np.where(T <= n0, w0 / n0 * T,
                   np.where(T <= n1, w0 + (w1 - w0) * (T - n0) / (n1 - n0),
                            np.where(T <= n2, w1 + (w2 - w1) * (T - n1) / (n2 - n1), w2 / n2 * T)))
    return np.sqrt(var / T)


def smile_vol(atm, slope, F, K, T):
    """Put skew linear in standardized moneyness z = ln(K/F) / (atm sqrt T): vol = atm (1 - slope z),
    from VOL_FLOOR to VOL_CAP x atm."""
    z = np.log(K / F) / (atm * np.sqrt(np.maximum(T, 1e-6)))
    return atm * np.minimum(np.maximum(1.0 - slope * z, VOL_FLOOR), VOL_CAP)


def model_future(vix, long_var, kappa: float, days):
    """A VIX future `days` out under mean-reverting variance: the square root of the expected
    30-day variance starting then (no convexity adjustment)."""
    T = np.maximum(days, 0.0) / 365.0
    k = max(kappa, 1e-9)
    a = (1 - np.exp(-k * FUT_WINDOW)) / (k * FUT_WINDOW)
    v0 = (vix / 100.0) ** 2
    return 100.0 * np.sqrt(np.maximum(long_var + (v0 - long_var) * np.exp(-k * T) * a, 1e-8))


def futures(tape, dm: DayModel, rows, d: int, days, kappa: float):
    """The VIX future `days` calendar days out on day d, per path (days: (P, n)). Inside the
    day's real curve (spot VIX at 0 days, then VX1..VX8) it is interpolated linearly in days;
    outside it, or where a bracketing settlement is missing, the model's. Returns
    (futures, real mask)."""
    spot = tape.vix[rows, d][:, None]
    xs = np.concatenate([np.zeros_like(spot), tape.vx_days[rows, d]], axis=1)  # (P, 9), ascending
    ys = np.concatenate([spot, tape.vx[rows, d]], axis=1)
    below = (xs[:, None, :] <= days[:, :, None]).sum(-1)
    i = np.minimum(np.maximum(below - 1, 0), xs.shape[1] - 2)  # the bracket's start
    p = np.arange(len(xs))[:, None]
    x0, x1, y0, y1 = xs[p, i], xs[p, i + 1], ys[p, i], ys[p, i + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        val = y0 + (y1 - y0) * np.minimum(np.maximum((days - x0) / (x1 - x0), 0.0), 1.0)
    real = (days >= 0) & (days <= xs[:, -1:]) & ~np.isnan(val)
    model = model_future(spot, dm.long_var[rows, d][:, None], kappa, days)
    return np.where(real, val, model), real


def vix_option_vol(dm: DayModel, rows, d: int, days, decay: float):
    """VIX option vol `days` out: the day's 30-day level (VVIX, else the constant) x (30/days)^decay."""
    base = dm.vix_vol[rows, d].reshape(-1, *(1,) * (np.ndim(days) - 1))
    return base * (30.0 / np.maximum(days, 1.0)) ** decay
