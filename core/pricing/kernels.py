"""Vectorized Black-Scholes-Merton and Black-76 prices and Greeks.

All inputs broadcast against each other. Black-76 is BSM on the future with
q = r, so one kernel serves both. Expired options (T <= 0) are worth their
intrinsic value, with a step delta and zero gamma, theta and vega.
Greeks are per unit of the option: delta dV/dS, gamma d2V/dS2, theta dV/dt
per calendar day (1/365 year), vega dV/dsigma per vol point (0.01).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from core.pricing.normal import ndtr

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


class Greeks(NamedTuple):
    price: np.ndarray
    delta: np.ndarray
    gamma: np.ndarray
    theta: np.ndarray  # per calendar day
    vega: np.ndarray  # per vol point


def _terms(is_call, S, K, T, r, q, sigma):
    T = np.asarray(T, dtype=float)
    live = T > 0
    all_live = bool(live.all())  # the common case skips the expiry masks
    Tl = T if all_live else np.where(live, T, 1.0)
    sqrtT = np.sqrt(Tl)
    vol_t = sigma * sqrtT
    d1 = np.log(S / K)
    d1 += (r - q + 0.5 * sigma * sigma) * Tl
    d1 /= vol_t
    sign = np.where(is_call, 1.0, -1.0)
    disc_q, disc_r = np.exp(-q * Tl), np.exp(-r * Tl)
    Nd1, Nd2 = ndtr(sign * d1), ndtr(sign * (d1 - vol_t))
    price = sign * (S * disc_q * Nd1 - K * disc_r * Nd2)
    if not all_live:
        price = np.where(live, price, np.maximum(sign * (S - K), 0.0))
    return live, Tl, sqrtT, vol_t, d1, sign, disc_q, disc_r, Nd1, Nd2, price


def bsm_price(is_call, S, K, T, r, q, sigma) -> np.ndarray:
    """BSM price only: what break-even scans need, at a third of the cost."""
    return _terms(is_call, S, K, T, r, q, sigma)[-1]


def _theta_per_year(S, K, r, q, sigma, sqrtT, sign, disc_q, disc_r, Nd1, Nd2, pdf1):
    return (-S * disc_q * pdf1 * sigma / (2.0 * sqrtT)
            + sign * (q * S * disc_q * Nd1 - r * K * disc_r * Nd2))


def bsm_price_theta(is_call, S, K, T, r, q, sigma):
    """BSM price and theta per calendar day only (what a daily mark needs), as bsm gives them."""
    live, Tl, sqrtT, vol_t, d1, sign, disc_q, disc_r, Nd1, Nd2, price = _terms(
        is_call, S, K, T, r, q, sigma)
    pdf1 = _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)
    theta = _theta_per_year(S, K, r, q, sigma, sqrtT, sign, disc_q, disc_r, Nd1, Nd2, pdf1) / 365.0
    return price, theta if live.all() else np.where(live, theta, 0.0)


def bsm(is_call, S, K, T, r, q, sigma) -> Greeks:
    """BSM price and Greeks; European options on a spot paying yield q."""
    live, Tl, sqrtT, vol_t, d1, sign, disc_q, disc_r, Nd1, Nd2, price = _terms(
        is_call, S, K, T, r, q, sigma)
    pdf1 = _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)
    delta = sign * disc_q * Nd1
    gamma = disc_q * pdf1 / (S * vol_t)
    vega = S * disc_q * pdf1 * sqrtT
    theta = _theta_per_year(S, K, r, q, sigma, sqrtT, sign, disc_q, disc_r, Nd1, Nd2, pdf1)
    step = np.where(sign * (S - K) > 0, sign, 0.0)
    return Greeks(
        price=price,
        delta=np.where(live, delta, step),
        gamma=np.where(live, gamma, 0.0),
        theta=np.where(live, theta / 365.0, 0.0),
        vega=np.where(live, vega * 0.01, 0.0),
    )


def black76(is_call, F, K, T, r, sigma) -> Greeks:
    """Black-76 price and Greeks of an option on a future F (delta is dV/dF)."""
    return bsm(is_call, F, K, T, r, r, sigma)


def implied_vol_bsm(price: float, S: float, K: float, T: float, r: float, q: float,
                    is_call: bool) -> float:
    """Implied vol by LetsBeRational (vollib), imported only when a mark needs it."""
    from vollib.black_scholes_merton.implied_volatility import implied_volatility
    return float(implied_volatility(price, S, K, T, r, q, "c" if is_call else "p"))


def implied_vol_black(price: float, F: float, K: float, T: float, r: float,
                      is_call: bool) -> float:
    from vollib.black.implied_volatility import implied_volatility
    return float(implied_volatility(price, F, K, r, T, "c" if is_call else "p"))
