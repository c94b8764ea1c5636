"""The one entry point: analyze(book, market, what-if) -> Analysis.

It keeps no state between calls, so the cockpit can call it on every key press.
"""
from __future__ import annotations

from datetime import datetime

import numpy as np

from core.alvh import run_alvh
from core.breakevens import condor_expiry_roots, piecewise_roots, smooth_roots
from core.errors import InputError
from core.legs import SPX, VIX_FUT, VIX_OPT, VXX_OPT, YEAR, Legs, MarketState, build_legs, \
    leg_prices, leg_values, market_state, merge_legs
from core.marketfile import NEW_YORK
from core.model import Book, Market, SignalInputs, WhatIf
from core.pricing import bsm_price
from core.results import (Analysis, BookResult, CondorResult, GreekSet, HedgeResult,
                          Valuation)

GRID_CONDOR = 48  # scan points per condor for T+0 break-evens
GRID_BOOK = 120


def analyze(book: Book, market: Market, whatif: WhatIf = WhatIf(),
            signals: SignalInputs = SignalInputs()) -> Analysis:
    """Price every leg, sum Greeks, find break-evens and run the hedge engine."""
    if not -0.9 <= whatif.spx_move <= 1.0:
        raise InputError(f"SPX {whatif.spx_move:+.1%}: a what-if moves SPX from -90% to +100%",
                         field="what-if")
    legs = build_legs(book, market)
    st = market_state(market, book.model, whatif)
    g = leg_values(legs, st)
    scale = legs.units * legs.mult
    npos = len(book.condors) + len(book.hedges)

    def per_position(x):
        return np.bincount(legs.owner, weights=scale * x, minlength=npos)

    value = per_position(g.price)
    delta, gamma, theta, vega = (per_position(x) for x in g[1:])
    beta_delta = per_position(g.delta * _spx_sensitivity(legs, st, book.model.beta,
                                                         book.model.vxx_exponent))
    pnl = value - legs.entry
    nc = len(book.condors)

    condors = _condor_results(book, legs, st, value, pnl, delta, gamma, theta, vega)
    hedges = []
    levels = _underlying_levels(legs, st)
    for j, h in enumerate(book.hedges):
        p = nc + j
        mine = legs.owner == p
        mark = float(np.sum(g.price[mine] * legs.units[mine])) / h.quantity
        underlying = levels[mine]
        hedges.append(HedgeResult(
            hedge=h, days_left=float(np.min(legs.settle[mine] - st.t)) / 86400, mark=mark,
            entry=sum(leg.ratio * leg.price for leg in h.legs), value=float(value[p]),
            pnl=float(pnl[p]), greeks=GreekSet(float(delta[p]), float(gamma[p]), float(theta[p]), float(vega[p])),
            beta_delta=float(beta_delta[p]),
            legs=tuple(zip(underlying.tolist(), legs.vol[mine].tolist(), g.price[mine].tolist()))))

    def total(sl, d):
        return GreekSet(float(d[sl].sum()), float(gamma[sl].sum()), float(theta[sl].sum()),
                        float(vega[sl].sum()))
    is_spx = legs.underlying == SPX
    totals = BookResult(
        pnl=float(pnl.sum()), condor_pnl=float(pnl[:nc].sum()), hedge_pnl=float(pnl[nc:].sum()),
        condor_greeks=total(slice(0, nc), delta),
        hedge_greeks=total(slice(nc, None), beta_delta),
        greeks=GreekSet(float(np.sum((scale * g.delta)[is_spx])), float(np.sum((scale * g.gamma)[is_spx])),
                        float(theta.sum()), float(vega.sum())),
        beta_weighted_delta=float(beta_delta.sum()),
        breakevens_expiry=_book_expiry_roots(book),
        breakevens_t0=_book_t0_roots(book, legs, st))
    at = Valuation(time=datetime.fromtimestamp(st.t, NEW_YORK), spx=float(st.spx), vix=float(st.vix),
                   vxx=float(st.vxx) if market.vxx else None, vol_scale=float(st.vol_scale))
    alvh = None
    if book.condors or book.hedges:
        alvh = run_alvh(book, market, whatif, legs, signals, {h.hedge.id: h.greeks.theta for h in hedges})
    return Analysis(book, market, whatif, at, tuple(condors), tuple(hedges), totals,
                    _assumptions(book, market, legs), alvh)


def _spx_sensitivity(legs: Legs, st: MarketState, beta: float, vxx_exp: float) -> np.ndarray:
    """dUnderlying/dSPX through the spot-vol map: dVIX/dSPX = beta VIX/SPX, a future
    takes fut_decay of spot VIX's move, VXX moves vxx_exp x VXX/VIX per VIX point."""
    dvix = beta * st.vix / st.spx
    u = legs.underlying
    vxx = st.vxx if np.isfinite(st.vxx) else 0.0
    return np.where(u == SPX, 1.0, np.where(u == VXX_OPT, vxx_exp * vxx / st.vix * dvix,
                                            legs.fut_decay * dvix))


def _underlying_levels(legs: Legs, st: MarketState) -> np.ndarray:
    u = legs.underlying
    fut = legs.fut + st.dvix * legs.fut_decay
    return np.where(u == SPX, st.spx, np.where(u == VXX_OPT, st.vxx, fut))


def _condor_arrays(legs: Legs, nc: int):
    """Condor legs as (condors, 4): long put, short put, short call, long call."""
    sl = slice(0, 4 * nc)
    return (legs.is_call[sl].reshape(nc, 4), legs.strike[sl].reshape(nc, 4),
            legs.settle[sl].reshape(nc, 4), (legs.units * legs.mult)[sl].reshape(nc, 4),
            legs.vol[sl].reshape(nc, 4))


def _condor_results(book, legs, st, value, pnl, delta, gamma, theta, vega):
    nc = len(book.condors)
    if not nc:
        return []
    call, K, settle, scale, vol = _condor_arrays(legs, nc)
    T = (settle[:, 0] - st.t) / YEAR
    sigma = vol * st.vol_scale
    entry = legs.entry[:nc]

    def curves(rows, S):
        price = bsm_price(call[rows][:, None, :], S[:, :, None], K[rows][:, None, :],
                          ((settle[rows] - st.t) / YEAR)[:, None, :], st.rate,
                          st.dividend_yield, sigma[rows][:, None, :])
        return np.sum(price * scale[rows][:, None, :], axis=2) - entry[rows][:, None]

    t0 = smooth_roots(curves, _grids(K, sigma[:, 1:3].mean(axis=1), T, st.spx, GRID_CONDOR))
    c = book.condors
    credit = np.array([x.credit for x in c])
    expiry = condor_expiry_roots(K[:, 0], K[:, 1], K[:, 2], K[:, 3], credit)
    S = float(st.spx)
    out = []
    for i, x in enumerate(c):
        put_pct, call_pct = (S - x.short_put) / S, (x.short_call - S) / S
        side = 1 if put_pct <= call_pct else 2  # index of the nearer short strike
        sd = np.sqrt(max(T[i], 0.0)) * sigma[i, side]
        dist = np.log(S / x.short_put) if side == 1 else np.log(x.short_call / S)
        out.append(CondorResult(
            condor=x, dte=float(settle[i, 0] - st.t) / 86400, mark=-float(value[i]) / (x.quantity * 100),
            pnl=float(pnl[i]), max_profit=x.credit * x.quantity * 100,
            max_loss=(x.max_width - x.credit) * x.quantity * 100,
            breakevens_expiry=expiry[i], breakevens_t0=t0[i],
            greeks=GreekSet(float(delta[i]), float(gamma[i]), float(theta[i]), float(vega[i])),
            distance_pct=100 * min(put_pct, call_pct),
            distance_sd=float(dist / sd) if sd > 0 else float("inf") * np.sign(dist),
            nearest_short="put" if side == 1 else "call"))
    return out


def _grids(K: np.ndarray, sigma: np.ndarray, T: np.ndarray, spx, n: int) -> np.ndarray:
    """Scan range per condor: beyond both wings by five standard deviations (at least 10%)."""
    s = np.maximum(sigma * np.sqrt(np.maximum(T, 0.0)), 0.02)
    lo = np.minimum(K[:, 0], spx) * np.exp(-5 * s)
    hi = np.maximum(K[:, 3], spx) * np.exp(5 * s)
    return lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, n)[None, :]


def _book_expiry_roots(book: Book) -> tuple[float, ...]:
    if not book.condors:
        return ()
    K = np.array([[c.long_put, c.short_put, c.short_call, c.long_call] for c in book.condors])
    q = np.array([c.quantity for c in book.condors], dtype=float)
    credit = np.array([c.credit for c in book.condors])
    kinks = np.unique(K)
    x = kinks[:, None]
    payoff = (np.maximum(K[:, 0] - x, 0) - np.maximum(K[:, 1] - x, 0)
              - np.maximum(x - K[:, 2], 0) + np.maximum(x - K[:, 3], 0))
    values = np.sum((credit + payoff) * q * 100, axis=1)
    return piecewise_roots(kinks, values)


def _book_t0_roots(book: Book, legs: Legs, st: MarketState) -> tuple[float, ...]:
    nc = len(book.condors)
    if not nc:
        return ()
    merged = merge_legs(legs, slice(0, 4 * nc))
    entry = merged.entry[0]

    def curve(rows, S):
        return (leg_prices(merged, st, spx=S.reshape(-1, 1)) @ merged.units - entry).reshape(S.shape)

    _, K, settle, _, vol = _condor_arrays(legs, nc)
    T = (settle[:, 0] - st.t) / YEAR
    ends = _grids(K, (vol[:, 1:3] * st.vol_scale).mean(axis=1), T, st.spx, 2)
    grid = np.linspace(ends[:, 0].min(), ends[:, 1].max(), GRID_BOOK)[None, :]
    return smooth_roots(curve, grid)[0]


def _assumptions(book: Book, market: Market, legs: Legs) -> tuple[str, ...]:
    m = book.model
    out = [
        "SPX options: Black-Scholes-Merton, European, settle 16:00 New York"
        f" (r {market.rate:.2%}, q {market.dividend_yield:.2%} continuous)",
        "SPX vols: " + ("atm + skew x ln(K/F)" if market.spx_vol and market.spx_vol.skew else "flat")
        + f", held per strike; atm {market.spx_vol.atm:.2%}",
        "Time: seconds to settlement / (365 x 86400)",
        f"Spot-vol map: VIX' = VIX x (SPX'/SPX)^{m.beta:g} ({m.beta_source}); "
        f"futures move exp(-{m.kappa:g} T) of spot VIX; SPX vols scale with VIX'/VIX",
    ]
    if (legs.underlying == VIX_OPT).any() or (legs.underlying == VIX_FUT).any():
        out.append("VIX options: Black-76 on the VIX future of the same expiry, settle 09:30 New York")
    if (legs.underlying == VXX_OPT).any():
        out.append(f"VXX: BSM on VXX, VXX' = VXX x (VIX'/VIX)^{m.vxx_exponent:g}")
    out.append(f"Hedge ratio: hedge P&L / condor loss in \"{book.alvh.reference_stress}\";"
               f" target = base {book.alvh.base_ratio:g} x rule multiplier; stress P&L = change from now")
    if market.demo or book.demo:
        out.append("DEMO data: bundled example book and market, not real positions")
    return tuple(out) + legs.notes
