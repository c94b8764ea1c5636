"""The one entry point: analyze(book, market, what-if) -> Analysis.

It keeps no state between calls beyond a cache of what a what-if cannot change (the last
book and market's legs, expiry break-evens, quotes), so the cockpit can call it on every key press.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np

from core.hedge.alvh import hedge_menus, run_alvh
from core.risk.breakevens import condor_expiry_roots, piecewise_roots
from core.risk.curves import scan
from core.model.errors import InputError
from core.book.lifecycle import realized_by_id
from core.pricing.legs import FUT_FLOOR, VIX_CAP, SPX, VIX_FUT, VIX_OPT, VXX_OPT, YEAR, Legs, MarketState, build_legs, \
    by_position, distinct_legs, joined_legs, leg_prices, leg_values, map_cap_reached, market_state, moved_future
from core.model.instruments import NEW_YORK
from core.pricing.arrays import distinct
from core.pricing.kernels import Greeks
from core.model.inputs import Book, Market, SignalInputs, WhatIf
from core.model.results import (Analysis, BookResult, CondorResult, GreekSet, HedgeResult,
                                Valuation, from_rows)


def analyze(book: Book, market: Market, whatif: WhatIf = WhatIf(),
            signals: SignalInputs = SignalInputs()) -> Analysis:
    """Price every leg, sum Greeks, find break-evens and run the hedge engine."""
    if not -0.9 <= whatif.spx_move <= 1.0:
        raise InputError(f"SPX {whatif.spx_move:+.1%}: a what-if moves SPX from -90% to +100%",
                         field="what-if")
    fixed = _fixed(book, market)
    legs = fixed.legs
    st = market_state(market, book.model, whatif)
    distinct, inverse = distinct_legs(legs)  # condors share options: price each once
    # the hedge candidates' legs after them, when the hedge engine runs: one pricing call
    menus = hedge_menus(book, market, st.t) if book.condors or book.hedges else (None, None)
    both = distinct if menus[1] is None else joined_legs(distinct, menus[1])
    priced = leg_values(both, st)
    g = Greeks(*(x[inverse] for x in priced))
    scale = legs.units * legs.mult

    def per_position(x):
        return by_position(scale * x, legs)

    value = per_position(g.price)
    delta, gamma, theta, vega = (per_position(x) for x in g[1:])
    beta_delta = per_position(g.delta * _spx_sensitivity(legs, st, book.model.beta,
                                                         book.model.vxx_exponent))
    pnl = value - legs.entry
    nc = len(book.condors)
    horizon = _horizon(legs, st.t)
    curves = scan(market, book.model, legs, st, horizon)
    realized = fixed.realized
    condors = _condor_results(book, fixed, st, curves.condor_t0, value, pnl, delta, gamma, theta, vega)
    hedges = []
    levels = _underlying_levels(legs, st)
    for j, (h, mine) in enumerate(zip(book.hedges, fixed.hedge_legs)):
        p = nc + j
        mark = float(np.sum(g.price[mine] * legs.units[mine])) / h.quantity
        underlying = levels[mine]
        hedges.append(HedgeResult(
            hedge=h, days_left=float(np.min(legs.settle[mine] - st.t)) / 86400, mark=mark,
            entry=sum(leg.ratio * leg.price for leg in h.legs), value=float(value[p]),
            pnl=float(pnl[p]), greeks=GreekSet(float(delta[p]), float(gamma[p]), float(theta[p]), float(vega[p])),
            beta_delta=float(beta_delta[p]),
            legs=tuple(zip(underlying.tolist(), legs.vol[mine].tolist(), g.price[mine].tolist())),
            pnl_realized=realized.get(h.id, 0.0)))

    def total(sl, d):
        return GreekSet(float(d[sl].sum()), float(gamma[sl].sum()), float(theta[sl].sum()),
                        float(vega[sl].sum()))
    is_spx = legs.underlying == SPX
    vix_pt = _vix_point(market, book, whatif, legs, st, value, per_position)

    vegas = scale * g.vega

    def vega_of(code):
        return float(np.sum(vegas[legs.underlying == code]))
    totals = BookResult(
        pnl=float(pnl.sum()), condor_pnl=float(pnl[:nc].sum()), hedge_pnl=float(pnl[nc:].sum()),
        condor_greeks=total(slice(0, nc), delta),
        hedge_greeks=total(slice(nc, None), beta_delta),
        greeks=GreekSet(float(np.sum((scale * g.delta)[is_spx])), float(np.sum((scale * g.gamma)[is_spx])),
                        float(theta.sum()), float(vega.sum())),
        beta_weighted_delta=float(beta_delta.sum()),
        breakevens_expiry=fixed.book_roots,
        breakevens_t0=curves.book_t0,
        # whole cents: records are kept to the cent, and 0.1 + 0.2 must print 0.30
        realized=round(sum(c.realized for c in book.closed), 2),
        condor_realized=round(sum(c.realized for c in book.closed if c.what == "condor"), 2),
        hedge_realized=round(sum(c.realized for c in book.closed if c.what == "hedge"), 2),
        spx_vega=vega_of(SPX), vix_vega=vega_of(VIX_OPT), vxx_vega=vega_of(VXX_OPT),
        vix_point=float(vix_pt.sum()), condor_vix_point=float(vix_pt[:nc].sum()),
        hedge_vix_point=float(vix_pt[nc:].sum()))
    at = Valuation(time=datetime.fromtimestamp(st.t, NEW_YORK), spx=float(st.spx), vix=float(st.vix),
                   vxx=float(st.vxx) if market.vxx else None, vol_scale=float(st.vol_scale))
    alvh = None
    if book.condors or book.hedges:
        alvh = run_alvh(book, market, whatif, st, legs, menus, (both, priced), signals, value,
                        {h.hedge.id: h.greeks.theta for h in hedges}, curves, horizon, g.delta)
    ceiling = map_cap_reached(market, book.model, whatif)
    capped = (f"Spot VIX capped at {ceiling:g} by the spot-vol map in this what-if",) if ceiling else ()
    at_risk = fixed.at_risk
    if at_risk > book.equity:  # the loader refuses 100x; between, the trader is told
        capped += (f"WARNING: the condors' max losses add up to ${at_risk:,.0f},"
                   f" {at_risk / book.equity:.1f}x the ${book.equity:,.0f} equity",)
    return Analysis(book, market, whatif, at, tuple(condors), tuple(hedges), totals,
                    fixed.assumptions + capped, alvh)


def _vix_point(market: Market, book: Book, whatif: WhatIf, legs: Legs, st: MarketState,
               value: np.ndarray, per_position) -> np.ndarray:
    """$ per +1 VIX point of each position: every leg repriced with spot VIX one point up
    through the spot-vol map (the what-if's own VIX move + 1; SPX and time unchanged)."""
    up = market_state(market, book.model, replace(whatif, vix_move=whatif.vix_move + 1.0))
    step = float(up.vix - st.vix)  # 1, unless VIX sits at its 0.01 floor
    if not step > 0:
        return np.zeros_like(value)
    distinct, inverse = distinct_legs(legs)
    return (per_position(leg_prices(distinct, up)[inverse]) - value) / step


def _spx_sensitivity(legs: Legs, st: MarketState, beta: float, vxx_exp: float) -> np.ndarray:
    """dUnderlying/dSPX through the spot-vol map: dVIX/dSPX = beta VIX/SPX, a future
    takes fut_decay of spot VIX's move, VXX moves vxx_exp x VXX/VIX per VIX point."""
    # one-sided at the cap: SPX falling cannot raise VIX further; a floored future stays put
    dvix = 0.0 if float(st.vix) >= VIX_CAP else beta * st.vix / st.spx
    u = legs.underlying
    vxx = st.vxx if np.isfinite(st.vxx) else 0.0
    floored = legs.fut + st.dvix * legs.fut_decay <= FUT_FLOOR
    return np.where(u == SPX, 1.0, np.where(u == VXX_OPT, vxx_exp * vxx / st.vix * dvix,
                                            np.where(floored, 0.0, legs.fut_decay * dvix)))


def _underlying_levels(legs: Legs, st: MarketState) -> np.ndarray:
    u = legs.underlying
    fut = moved_future(legs.fut, st.dvix, legs.fut_decay)
    return np.where(u == SPX, st.spx, np.where(u == VXX_OPT, st.vxx, fut))


def _horizon(legs: Legs, now: float) -> float:
    """The package horizon: the first condor expiry (else the nearest hedge expiry) ahead."""
    settle = legs.settle[: 4 * legs.n_condors] if legs.n_condors else legs.settle
    ahead = settle[settle > now]
    return float(ahead.min()) if len(ahead) else now


@dataclass(frozen=True)
class _Fixed:
    """What a what-if cannot change, for one book and market."""
    legs: Legs
    realized: dict[str, float]  # the ledger per position id
    book_roots: tuple[float, ...]  # the condor book's expiry break-evens
    assumptions: tuple[str, ...]
    # per condor, as lists: rows of the result
    expiry_roots: list[tuple[float, ...]]
    closes: list[tuple[float | None, float | None]]  # (mid, natural) from the quotes
    lot: np.ndarray  # quantity x 100
    max_profit: list[float]
    max_loss: list[float]
    pnl_realized: list[float]
    at_risk: float  # the condors' max losses summed
    hedge_legs: list[slice]  # each hedge's legs (a position's legs are contiguous)


_FIXED: list = []  # (book, market, _Fixed): a what-if re-prices the same legs


def _fixed(book: Book, market: Market) -> _Fixed:
    """Built once per book and market (both immutable: an edit or a reload makes new objects)."""
    if _FIXED and _FIXED[0][0] is book and _FIXED[0][1] is market:
        return _FIXED[0][2]
    legs = build_legs(book, market)
    c = book.condors
    K = legs.strike[: 4 * len(c)].reshape(len(c), 4)
    credit = np.array([x.credit for x in c])
    quotes = {(m.kind, m.expiry, m.strike, m.root): m for m in market.marks if m.bid is not None}
    realized = realized_by_id(book)
    max_loss = [x.max_loss_each * x.quantity for x in c]
    fixed = _Fixed(legs, realized, _book_expiry_roots(legs), _assumptions(book, market, legs),
                   condor_expiry_roots(K[:, 0], K[:, 1], K[:, 2], K[:, 3], credit) if c else [],
                   [_quoted_close(x, quotes) for x in c], np.array([x.quantity * 100 for x in c], dtype=float),
                   [x.credit * x.quantity * 100 for x in c],
                   max_loss, [realized.get(x.id, 0.0) for x in c], sum(max_loss),
                   [slice(*np.searchsorted(legs.owner, [p, p + 1]).tolist()) for p in range(len(c), len(legs.entry))])
    _FIXED[:] = [(book, market, fixed)]
    return fixed


def _condor_results(book, fixed, st, t0, value, pnl, delta, gamma, theta, vega):
    nc, legs = len(book.condors), fixed.legs
    if not nc:
        return []
    K = legs.strike[: 4 * nc].reshape(nc, 4)
    T = (legs.settle[: 4 * nc: 4] - st.t) / YEAR
    sigma = legs.vol[: 4 * nc].reshape(nc, 4) * st.vol_scale
    S = float(st.spx)
    put_pct, call_pct = (S - K[:, 1]) / S, (K[:, 2] - S) / S
    put = put_pct <= call_pct  # the nearer short strike is the put
    sd = np.sqrt(np.maximum(T, 0.0)) * np.where(put, sigma[:, 1], sigma[:, 2])
    dist = np.where(put, np.log(S / K[:, 1]), np.log(K[:, 2] / S))
    with np.errstate(divide="ignore", invalid="ignore"):
        dist_sd = np.where(sd > 0, dist / sd, np.inf * np.sign(dist))
    mark = -value[:nc] / fixed.lot
    greeks = from_rows(GreekSet, zip(*(x[:nc].tolist() for x in (delta, gamma, theta, vega))))
    mid, natural = zip(*fixed.closes)
    return from_rows(CondorResult, zip(
        book.condors, (T * 365).tolist(), mark.tolist(), pnl.tolist(), fixed.max_profit, fixed.max_loss,
        fixed.expiry_roots, t0, greeks, (100 * np.minimum(put_pct, call_pct)).tolist(), dist_sd.tolist(),
        ["put" if x else "call" for x in put.tolist()], fixed.pnl_realized, mid, natural))


def _quoted_close(c, quotes) -> tuple[float | None, float | None]:
    """The debit to close one condor at mid and at the natural price, when every leg has a
    bid and ask for its root (or for no root): buy the shorts back at the ask, sell the longs
    at the bid."""
    legs = (("spx_put", c.long_put, 1), ("spx_put", c.short_put, -1), ("spx_call", c.short_call, -1),
            ("spx_call", c.long_call, 1))
    got = [quotes.get((k, c.expiry, K, c.root)) or quotes.get((k, c.expiry, K, None)) for k, K, _ in legs]
    if any(q is None for q in got):
        return None, None
    mid = sum(-u * (q.bid + q.ask) / 2 for (_, _, u), q in zip(legs, got))
    natural = sum(q.ask if u < 0 else -q.bid for (_, _, u), q in zip(legs, got))
    return mid, natural


def _book_expiry_roots(legs: Legs) -> tuple[float, ...]:
    """The condor book's P&L at expiry is piecewise linear with kinks at the strikes: at a
    kink x, the calls struck below it pay sum(w) x - sum(w K), the puts above it
    sum(w K) - sum(w) x (running sums over the sorted strikes: linear memory)."""
    nc = legs.n_condors
    if not nc:
        return ()
    K, w = legs.strike[:4 * nc], (legs.units * legs.mult)[:4 * nc]
    call = legs.is_call[:4 * nc]
    kinks = distinct(K)

    def below(weight):  # sums over strikes < each kink, and over strikes <= it
        order = np.argsort(K)
        cw = np.concatenate([[0.0], np.cumsum(weight[order])])
        ks = K[order]
        return cw[np.searchsorted(ks, kinks, "left")], cw[np.searchsorted(ks, kinks, "right")], cw[-1]
    cw, _, _ = below(np.where(call, w, 0.0))
    cwk, _, _ = below(np.where(call, w * K, 0.0))
    _, pw, pw_all = below(np.where(call, 0.0, w))
    _, pwk, pwk_all = below(np.where(call, 0.0, w * K))
    payoff = cw * kinks - cwk + (pwk_all - pwk) - (pw_all - pw) * kinks
    return piecewise_roots(kinks, payoff - legs.entry[:nc].sum())


def _spx_vols(market: Market) -> str:
    if market.spx_smiles:
        worst = max(x.rmse_vol for x in market.spx_smiles)
        return (f"SPX vols: fitted SVI smiles, {len(market.spx_smiles)} expiries (fit error up to"
                f" {worst * 100:.2f} vol pts); total variance interpolated between expiries at fixed"
                " ln(K/F), held flat beyond them; held per strike")
    return ("SPX vols: " + ("atm + skew x ln(K/F)" if market.spx_vol and market.spx_vol.skew else "flat")
            + f", held per strike; atm {market.spx_vol.atm:.2%}")


# spot VIX / a listed future: the 2007-2021 closes of VIX against VX1-VX8 ran 0.50-2.70
SPOT_FRONT = (0.4, 3.0)


def _assumptions(book: Book, market: Market, legs: Legs) -> tuple[str, ...]:
    m = book.model
    out = [
        "SPX options: Black-Scholes-Merton, European; SPXW settle on the 16:00 close,"
        " SPX (AM) monthlies on the 09:30 opening print"
        f" (r {market.rate:.2%}, q {market.dividend_yield:.2%} continuous)",
        _spx_vols(market),
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
    ahead = [(d, p) for d, p in market.vix_futures if d >= market.as_of.date()]
    if ahead:
        day, front = min(ahead)
        if not SPOT_FRONT[0] <= market.vix / front <= SPOT_FRONT[1]:
            out.append(f"WARNING: spot VIX {market.vix:g} is {market.vix / front:.3g}x the {day}"
                       f" future {front:g} (2007-2021 closes ran 0.50-2.70x each of VX1-VX8):"
                       " check the market file")
    if market.demo or book.demo:
        out.append("DEMO data: bundled example book and market, not real positions")
    return tuple(out) + legs.notes
