"""The ALVH hedge engine: stress set, hedge ratio and adaptive target, layer sizing,
roll alerts, package break-evens and parity checks. Pure: inputs in, AlvhResult out.

Stress P&L is the change in value from now (the what-if valuation) to the scenario.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import numpy as np

from core.risk.curves import Scan
from core.pricing.legs import (SPX, VIX_FUT, YEAR, Legs, build_legs, by_position, leg_prices, leg_values,
                               market_state, settle_time)
from core.model.instruments import NEW_YORK
from core.model.inputs import (LAYER_NAMES, Book, Hedge, HedgeLeg, LayerTemplate, Market, SignalInputs,
                        WhatIf)
from core.model.results import (AlvhResult, HedgeRatio, LayerResult, ParityBreak, RollAlert,
                          RuleResult, StressResult, Trade)

PARITY_THRESHOLD = 0.25  # points


def run_alvh(book: Book, market: Market, whatif: WhatIf, legs: Legs, signals: SignalInputs,
             value_now: np.ndarray, hedge_theta: dict[str, float], curves: Scan,
             horizon: float) -> AlvhResult:
    """`value_now`: each position's value at the what-if, $; `curves` carries the package
    break-evens and risk curve (found with the condors'); `horizon`: their POSIX time."""
    now = market_state(market, book.model, whatif)
    scale = legs.units * legs.mult
    nc = legs.n_condors

    stress, change = _stress(book, market, whatif, legs, scale, value_now)
    i_ref = next(i for i, s in enumerate(stress) if s.name == book.alvh.reference_stress)
    ref = stress[i_ref]
    today = _ny_date(now.t)
    rules, multiplier, dormant = _rules(book, signals, today)
    base = book.alvh.base_ratio
    ratio = HedgeRatio(current=ref.hedge_pnl / -ref.book_pnl if ref.book_pnl < 0 else None,
                       target=base * multiplier, base=base, multiplier=multiplier,
                       reference=ref.name, rules=rules)

    layers, rolls = _layers(book, market, whatif, change, value_now[nc:], i_ref, ratio.target,
                            dormant, bool(rules[3].fired), hedge_theta, now.t)
    drag = sum(l.drag_pct for l in layers)
    eq, trades = book.equity, [l.trade for l in layers if l.trade.action != "hold"]
    after = drag - sum(t.theta for t in trades) * 365 / eq * 100
    options = [not any(leg.kind == "vix_future" for leg in h.legs) for h in book.hedges]
    premium = (sum(max(v, 0.0) for v, o in zip(value_now[nc:], options) if o)
               + sum(t.cost for t in trades if not any(leg.kind == "vix_future" for leg in t.legs))) / eq * 100
    coverage = ((ref.hedge_pnl + sum(t.stress_gain for t in trades)) / -ref.book_pnl
                if ref.book_pnl < 0 else None)
    warning = _drag_warning(drag, after if trades else None, book.alvh.drag_budget_pct)

    return AlvhResult(
        stress=stress, ratio=ratio, layers=layers, drag_pct=drag, drag_warning=warning,
        rolls=rolls, horizon=_ny_date(horizon).isoformat(),
        breakevens_t0=curves.package_t0, breakevens_horizon=curves.package_horizon, curve=curves.curve,
        parity=_parity(market), signals=signals, worst=min(stress, key=lambda x: x.package_pnl),
        drag_pct_after=after, premium_pct_after=premium, coverage_after=coverage,
        drag_budget_pct=book.alvh.drag_budget_pct)


def _drag_warning(held: float, after: float | None, budget: float) -> str | None:
    """Which drag is over the budget: what is held, what the proposed trades leave, or both."""
    over_held, over_after = held > budget + 1e-9, after is not None and after > budget + 1e-9
    cap = f"the {budget:g}%/yr budget"
    if after is None:
        return f"hedge drag {held:.2f}%/yr is above {cap}" if over_held else None
    if over_held and over_after:
        return f"hedge drag {held:.2f}%/yr held and {after:.2f}%/yr after the proposed trades are above {cap}"
    if over_held:
        return f"hedge drag {held:.2f}%/yr held is above {cap} ({after:.2f}%/yr after the proposed trades)"
    if over_after:
        return f"hedge drag {after:.2f}%/yr after the proposed trades is above {cap} (held {held:.2f}%/yr)"
    return None


def _stress(book, market, whatif, legs, scale, value_now) -> tuple[StressResult, ...]:
    s = book.stress
    st = market_state(market, book.model, whatif, spx_move=np.array([x.spx_move for x in s]),
                      days=np.array([x.days for x in s]),
                      vix_fixed=np.array([np.nan if x.vix is None else x.vix for x in s]))
    change = by_position(leg_prices(legs, st) * scale, legs) - value_now
    nc = legs.n_condors
    layer_of = np.array([h.layer for h in book.hedges], dtype=int)
    by_layer = change[:, nc:] @ (layer_of[:, None] == np.arange(1, 4)).astype(float)
    sums = np.stack([change[:, :nc].sum(axis=1), change[:, nc:].sum(axis=1), change.sum(axis=1)], axis=1)
    vix = np.atleast_1d(st.vix).tolist()
    out = tuple(StressResult(x.name, x.spx_move, x.days, vix[i], book_pnl, hedge_pnl, tuple(layers), total)
                for i, (x, (book_pnl, hedge_pnl, total), layers)
                in enumerate(zip(s, sums.tolist(), by_layer.tolist())))
    return out, change


def _ny_date(t: float) -> date:
    return datetime.fromtimestamp(t, NEW_YORK).date()


def _rules(book: Book, sig: SignalInputs, today: date | None):
    a = book.alvh
    rules = []
    # R1: breadth diverges and term-structure RSI is stretched
    src = sig.term_rsi_source + (" (VIX3M missing)" if sig.term_rsi_source != "VIX/VIX3M" else "")
    if sig.ad_divergence is None or sig.term_rsi is None:
        r1, add = None, 0.0
        why = "A/D line unknown (no breadth data)" if sig.ad_divergence is None else f"RSI of {src} unknown"
    else:
        r1 = sig.ad_divergence == "bearish" and sig.term_rsi > 70
        add = 0.3 + 0.2 * min(max((sig.term_rsi - 70) / 15, 0.0), 1.0) if r1 else 0.0
        why = f"A/D divergence {sig.ad_divergence}, RSI(14) of {src} {sig.term_rsi:.1f} (> 70)"
    rules.append(RuleResult("R1 breadth + vol momentum", r1, f"+{add:.2f}" if r1 else "+0.3 to +0.5", why))
    r2 = a.ppi_hot and a.usd_strong
    rules.append(RuleResult("R2 macro", r2, f"x{a.macro_strength:.2f}",
                            f"PPI above expectations: {'yes' if a.ppi_hot else 'no'},"
                            f" USD strength: {'yes' if a.usd_strong else 'no'} (manual flags in [alvh])"))
    if sig.vix_percentile is None or sig.contango is None:
        r3 = None
        why = "VIX one-year percentile unknown" if sig.vix_percentile is None else "VIX curve unknown"
    else:
        r3 = sig.vix_percentile < 20 and sig.contango
        why = (f"VIX at {sig.vix_percentile:.0f}th percentile of a year (< 20),"
               f" curve in {'contango' if sig.contango else 'backwardation'}")
    rules.append(RuleResult("R3 dormant regime", r3, "L1 target 0", why))
    events = [(n, d) for n, d in sig.events if today is not None and 0 <= (d - today).days <= a.event_days]
    r4 = bool(events) if today is not None else None
    rules.append(RuleResult("R4 event risk", r4, "L1 active",
                            ", ".join(f"{n} {d}" for n, d in events) if events
                            else f"no FOMC/CPI/PPI within {a.event_days:g} days"))
    multiplier = (1.0 + add) * (a.macro_strength if r2 else 1.0)
    return tuple(rules), multiplier, bool(r3) and not r4


# ---- layer sizing --------------------------------------------------------

def _template(layer: int, t: LayerTemplate, market: Market, now: float) -> Hedge | None:
    """The layer's instrument today: an expiry in its tenor window, struck off its future."""
    listed = [(d, f, (settle_time(d, VIX_FUT) - now) / 86400) for d, f in market.vix_futures]
    listed = [x for x in listed if x[2] > 0]
    inside = [x for x in listed if x[2] >= t.min_days and (t.max_days is None or x[2] <= t.max_days)]
    if not inside and listed and t.max_days is not None:
        # monthly expiries can straddle a window's edges: take the nearest listed one
        gap = [max(t.min_days - x[2], x[2] - t.max_days) for x in listed]
        inside = [listed[int(np.argmin(gap))]]
    if not inside:
        return None
    if t.max_days is None:
        expiry, fut, _ = inside[-1]  # the farthest listed
    elif layer == 1:
        expiry, fut, _ = inside[0]  # the nearest
    else:
        mid = (t.min_days + t.max_days) / 2
        expiry, fut, _ = min(inside, key=lambda x: abs(x[2] - mid))
    if t.instrument == "vxx_call":
        if not market.vxx:
            return None
        legs = (HedgeLeg("vxx_call", expiry, float(round(market.vxx * t.strike_mult)), 1, 0.0),)
    elif t.instrument == "vix_future":
        legs = (HedgeLeg("vix_future", expiry, None, 1, 0.0),)
    else:
        k = float(round(fut * t.strike_mult))
        shape = {"vix_call": ((0, 1),), "vix_call_spread": ((0, 1), (1, -1)),
                 "vix_call_butterfly": ((0, 1), (1, -2), (2, 1))}[t.instrument]
        legs = tuple(HedgeLeg("vix_call", expiry, k + i * t.width, r, 0.0) for i, r in shape)
    return Hedge(f"L{layer}-target", layer, 1, legs)


def _describe(h: Hedge) -> str:
    leg = h.legs[0]
    under = "VXX" if leg.kind.startswith("vxx") else "VIX"
    if leg.kind == "vix_future":
        return f"VIX future {leg.expiry}"
    shape = {1: "call", 2: "call spread", 3: "call butterfly"}[len(h.legs)]
    strikes = "/".join(f"{x.strike:g}" for x in h.legs)
    return f"{under} {leg.expiry} {strikes} {shape}"


def _layers(book, market, whatif, change, held_now, i_ref, target_ratio, dormant, event, hedge_theta, now):
    """Each layer sized against its own stress (`[alvh.layerN] stress`): L2 by its premium
    budget, L1 and L3 their shares of the target coverage L2 leaves in their stresses.
    `change`: each position's P&L in each stress (rows as book.stress)."""
    a, nc = book.alvh, len(book.condors)
    own = {k: next(i for i, x in enumerate(book.stress) if x.name == a.layers[k].stress) for k in (1, 2, 3)}
    templates = {k: _template(k, a.layers[k], market, now) for k in (1, 2, 3)}
    rolls_for = _roll_candidates(book, templates, now)
    cands = [h for h in templates.values() if h] + [h for _, _, h, _ in rolls_for]
    tb = replace(book, condors=(), hedges=tuple(replace(h, id=f"c{i}") for i, h in enumerate(cands)))
    cl = build_legs(tb, market)
    unit_now, unit_in, leg_now, unit_theta = _unit_values(tb, market, whatif, book.stress, cl)
    idx = {k: i for i, k in enumerate(k for k in (1, 2, 3) if templates[k])}
    for k, i in idx.items():  # buys carry each leg's live model price: the entry to record
        legs = zip(templates[k].legs, leg_now[cl.owner == i])
        templates[k] = replace(templates[k], legs=tuple(replace(leg, price=round(float(p), 4))
                                                        for leg, p in legs))
    # premium per unit at the recorded prices; a future has none (margin, not premium)
    premium = {k: sum(leg.ratio * leg.price * m for leg, m in zip(templates[k].legs, cl.mult[cl.owner == i])
                      if leg.kind != "vix_future") for k, i in idx.items()}

    def unit_gain(k, stress_row):  # one unit of layer k's template in a stress, $
        return float(unit_in[stress_row, idx[k]] - unit_now[idx[k]]) if k in idx else 0.0

    w1, w3 = (0.0, 1.0) if dormant else a.weights
    results = {}
    budget = a.l2_budget_pct / 100 * book.equity
    l2_units = 0
    for k in (2, 1, 3):  # L2 first: its budget sets what is left for L1 and L3
        t, row = templates[k], own[k]
        mine = [j for j, h in enumerate(book.hedges) if h.layer == k]
        held = float(sum(book.hedges[j].quantity for j in mine))
        held_gain = change[row, nc:]
        held_stress = float(sum(held_gain[j] for j in mine))
        theta = sum(hedge_theta[book.hedges[j].id] for j in mine)
        if t is None:
            results[k] = LayerResult(k, LAYER_NAMES[k], "no listed VIX expiry in the layer's window",
                                     held, 0, Trade("hold", 0, "", (), 0.0), False, held_stress, 0.0,
                                     theta, -theta * 365 / book.equity * 100,
                                     "add the expiry under [vix_futures]", a.layers[k].stress)
            continue
        cost, gain = premium[k], unit_gain(k, row)
        if k == 2:
            target = l2_units = int(budget // cost) if cost > 0 else 0
            note = f"premium budget {a.l2_budget_pct:g}% of equity = ${budget:,.0f}"
        else:
            share = w1 if k == 1 else w3
            loss = max(-change[row, :nc].sum(), 0.0)
            l2_there = sum(change[row, nc + j] for j, h in enumerate(book.hedges) if h.layer == 2) \
                + l2_units * unit_gain(2, row)  # what L2 (held and bought) covers in this stress
            want = max(target_ratio * loss - l2_there, 0.0) * share
            target = int(np.floor(want / gain + 0.5)) if gain > 0 and want > 0 else 0
            note = "dormant: R3 fired, no event (R4)" if k == 1 and dormant else \
                f"{share:.0%} of the stress coverage left after L2"
        note = f"in \"{a.layers[k].stress}\": " + note
        trade = _trade(book, mine, t, target, gain, cost, held_stress, held_now, held_gain)
        if trade.action == "buy":
            trade = replace(trade, theta=trade.contracts * float(unit_theta[idx[k]]),
                            stress_gain=trade.contracts * unit_gain(k, i_ref))
        elif trade.action == "sell":
            j = next(j for j in mine if book.hedges[j].id == trade.hedge_id)
            share = trade.contracts / book.hedges[j].quantity
            trade = replace(trade, theta=-share * hedge_theta[book.hedges[j].id],
                            stress_gain=-share * change[i_ref, nc + j])
        if k == 1 and event and trade.action == "sell":  # R4: event risk keeps L1 on, never sold down
            trade = Trade("hold", 0, _describe(t), t.legs, 0.0)
            note += "; R4 (event risk) holds what L1 has"
        days = (settle_time(t.legs[0].expiry, VIX_FUT) - now) / 86400
        lt = a.layers[k]
        if days < lt.min_days or (lt.max_days is not None and days > lt.max_days):
            note += f"; no listed expiry in {lt.min_days:g}-{lt.max_days:g} days, nearest is {days:.1f}"
        results[k] = LayerResult(k, LAYER_NAMES[k], _describe(t), held, target, trade,
                                 k == 1 and dormant, held_stress, target * gain, theta,
                                 -theta * 365 / book.equity * 100, note, lt.stress)
    rolls = tuple(RollAlert(h.id, h.layer, h.legs[0].expiry.isoformat(), days,
                            rolled.legs[0].expiry.isoformat(), float(unit_now[len(idx) + i] - held_now[j]))
                  for i, (j, h, rolled, days) in enumerate(rolls_for))
    return tuple(results[k] for k in (1, 2, 3)), rolls


def _unit_values(book, market, whatif, stresses, legs):
    """Value of each hedge position now (row 0 of the second array: each stress), and its
    theta ($/day), $ (quantity as held)."""
    st = market_state(market, book.model, whatif, spx_move=np.array([x.spx_move for x in stresses]),
                      days=np.array([x.days for x in stresses]),
                      vix_fixed=np.array([np.nan if x.vix is None else x.vix for x in stresses]))
    now = market_state(market, book.model, whatif)
    g = leg_values(legs, now)
    scale = legs.units * legs.mult
    return (by_position(g.price * scale, legs), by_position(leg_prices(legs, st) * scale, legs), g.price,
            by_position(g.theta * scale, legs))


def _trade(book, mine, t, target, gain, cost, held_stress, held_now, held_gain) -> Trade:
    """Buy the template to reach the target; above it, sell from the largest held position."""
    held_equiv = held_stress / gain if gain > 0 else 0.0
    n = int(np.floor(target - held_equiv + 0.5))
    legs = t.legs
    if n > 0:
        return Trade("buy", n, _describe(t), legs, n * cost)
    if n < 0 and mine:
        j = max(mine, key=lambda j: book.hedges[j].quantity)
        h = book.hedges[j]
        per_unit_gain = held_gain[j] / h.quantity
        k = h.quantity if target == 0 else \
            min(h.quantity, int(np.floor(-n * gain / per_unit_gain + 0.5)) if per_unit_gain > 0 else 0)
        if k > 0:
            return Trade("sell", k, f"{h.id} ({_describe(h)})", h.legs, -k * held_now[j] / h.quantity,
                         hedge_id=h.id)
    return Trade("hold", 0, _describe(t), legs, 0.0)


def _roll_candidates(book, templates, now):
    """Held positions with a leg outside their layer's tenor window, and the same strikes rolled."""
    out = []
    for j, h in enumerate(book.hedges):
        t, target = book.alvh.layers[h.layer], templates[h.layer]
        if target is None:
            continue
        days = min((settle_time(x.expiry, VIX_FUT) - now) / 86400 for x in h.legs)
        short = t.roll_below_days is not None and days < t.roll_below_days
        long = h.layer == 1 and t.max_days is not None and days > t.max_days
        expiry = target.legs[0].expiry
        if days > 0 and (short or long) and expiry != h.legs[0].expiry:  # an expired leg settles
            out.append((j, h, replace(h, legs=tuple(replace(x, expiry=expiry) for x in h.legs)), days))
    return out


# ---- parity ---------------------------------------------------------------

def _parity(market: Market) -> tuple[ParityBreak, ...]:
    """Conversion/reversal: call minus put against the forward value of the strike."""
    marks = {(m.kind, m.expiry, m.strike): m.price for m in market.marks}
    futures = dict(market.vix_futures)
    out = []
    for (kind, expiry, strike), call in marks.items():
        under = kind.split("_")[0]
        if not kind.endswith("_call") or (f"{under}_put", expiry, strike) not in marks or under == "vxx":
            continue
        put = marks[(f"{under}_put", expiry, strike)]
        code = SPX if under == "spx" else VIX_FUT
        T = (settle_time(expiry, code) - market.as_of.timestamp()) / YEAR
        if under == "spx":
            fair = market.spx * np.exp(-market.dividend_yield * T) - strike * np.exp(-market.rate * T)
        elif expiry in futures:
            fair = np.exp(-market.rate * T) * (futures[expiry] - strike)
        else:
            continue
        dev = (call - put) - fair
        if abs(dev) > PARITY_THRESHOLD:
            out.append(ParityBreak(under.upper(), expiry.isoformat(), strike, float(dev)))
    return tuple(out)
