"""The ALVH hedge engine: stress set, hedge ratio and adaptive target, layer sizing,
roll alerts, package break-evens and parity checks. Pure: inputs in, AlvhResult out.

Stress P&L is the change in value from now (the what-if valuation) to the scenario.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

import numpy as np

from core.risk.curves import Scan
from core.hedge.candidates import menu_of, picks
from core.hedge.sizing import Item, layer_chain, solve, taken
from core.pricing.kernels import Greeks
from core.pricing.legs import (SPX, VIX_FUT, VIX_OPT, YEAR, Legs, MarketState, build_legs, by_position, distinct_legs,
                               leg_prices, market_state, moved_future, settle_time)
from core.model.instruments import NEW_YORK
from core.model.inputs import (LAYER_NAMES, Book, Hedge, LayerTemplate, Market, SignalInputs,
                        WhatIf)
from core.model.results import (AlvhResult, Candidate, HedgeRatio, LayerResult, ParityBreak, RollAlert,
                                RuleResult, StressResult, Trade)

PARITY_THRESHOLD = 0.25  # points
TICK = 0.01  # the smallest VIX option price


def hedge_menus(book: Book, market: Market, now: float):
    """Every layer's candidates at valuation time `now` and their legs (None: no candidate),
    for the engine to price beside the book's in one call and hand to run_alvh."""
    return _menu_legs(book, market, now)


def run_alvh(book: Book, market: Market, whatif: WhatIf, now: MarketState, legs: Legs, menus, priced,
             signals: SignalInputs, value_now: np.ndarray, hedge_theta: dict[str, float], curves: Scan,
             horizon: float, leg_delta: np.ndarray) -> AlvhResult:
    """`now`: the what-if's market state; `menus`: hedge_menus at its time; `priced`: (legs,
    their Greeks there): the book's distinct legs, then the candidates' when there are any;
    `value_now`: each position's value there, $; `curves` carries the package break-evens and
    risk curve (found with the condors'); `horizon`: their POSIX time."""
    scale = legs.units * legs.mult
    s = book.stress
    stressed = market_state(market, book.model, whatif, spx_move=np.array([x.spx_move for x in s]),
                            days=np.array([x.days for x in s]),
                            vix_fixed=np.array([np.nan if x.vix is None else x.vix for x in s]))
    nc = legs.n_condors
    distinct, inverse = distinct_legs(legs)
    both, greeks = priced
    n = len(distinct.owner)
    in_stress = leg_prices(both, stressed)  # the stress set and the candidates in one call
    candidates = menus, (Greeks(*(x[n:] for x in greeks)), in_stress[:, n:]) if len(both.owner) > n else None

    stress, change = _stress(book, legs, now, stressed, in_stress[:, :n][:, inverse], scale, value_now)
    i_ref = next(i for i, s in enumerate(stress) if s.name == book.alvh.reference_stress)
    ref = stress[i_ref]
    today = _ny_date(now.t)
    rules, multiplier, dormant = _rules(book, signals, today)
    base = book.alvh.base_ratio
    ratio = HedgeRatio(current=ref.hedge_pnl / -ref.book_pnl if ref.book_pnl < 0 else None,
                       target=base * multiplier, base=base, multiplier=multiplier,
                       reference=ref.name, rules=rules)

    layers, rolls, sol, drag_held, risk_held = _layers(
        book, market, (now, stressed), candidates, legs, leg_delta, change, value_now[nc:], i_ref, ratio.target,
        dormant, bool(rules[3].fired), hedge_theta)
    eq = book.equity
    trades = [t for l in layers for t in l.trades]
    drag = drag_held / eq * 100
    after = (drag_held + sum(t.drag for t in trades)) / eq * 100
    premium = (risk_held + sum(t.at_risk for t in trades)) / eq * 100
    coverage = ((ref.hedge_pnl + sum(t.stress_gain for t in trades)) / -ref.book_pnl
                if ref.book_pnl < 0 else None)
    limited = sol.limited and (coverage is None or coverage < ratio.target - 1e-9)
    warning = _drag_warning(drag, after if trades else None, book.alvh.drag_budget_pct)

    return AlvhResult(
        stress=stress, ratio=ratio, layers=layers, drag_pct=drag, drag_warning=warning,
        rolls=rolls, horizon=_ny_date(horizon).isoformat(),
        breakevens_t0=curves.package_t0, breakevens_horizon=curves.package_horizon, curve=curves.curve,
        parity=_parity(market), signals=signals, worst=min(stress, key=lambda x: x.package_pnl),
        drag_pct_after=after, premium_pct_after=premium, coverage_after=coverage,
        drag_budget_pct=book.alvh.drag_budget_pct, premium_cap_pct=book.alvh.premium_cap_pct,
        limited=limited, forced=sol.forced)


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


def _stress(book, legs, now, stressed, prices, scale, value_now) -> tuple[StressResult, ...]:
    """`prices`: each leg's in each of the `stressed` states (rows as book.stress)."""
    s = book.stress
    gone = legs.settle <= now.t  # settled by the what-if: worth its settlement in every stress
    if gone.any():
        prices[:, gone] = leg_prices(legs, now)[gone]
    change = by_position(prices * scale, legs) - value_now
    nc = legs.n_condors
    layer_of = np.array([h.layer for h in book.hedges], dtype=int)
    by_layer = change[:, nc:] @ (layer_of[:, None] == np.arange(1, 4)).astype(float)
    sums = np.stack([change[:, :nc].sum(axis=1), change[:, nc:].sum(axis=1), change.sum(axis=1)], axis=1)
    vix = np.atleast_1d(stressed.vix).tolist()
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

def _describe(h: Hedge) -> str:
    leg = h.legs[0]
    under = "VXX" if leg.kind.startswith("vxx") else "VIX"
    if leg.kind == "vix_future":
        return f"VIX future {leg.expiry}"
    shape = {1: "call", 2: "call spread", 3: "call butterfly"}[len(h.legs)]
    strikes = "/".join(f"{x.strike:g}" for x in h.legs)
    return f"{under} {leg.expiry} {strikes} {shape}"


def _roll_down(legs: Legs, st, delta: np.ndarray) -> np.ndarray:
    """$/day a VIX position is expected to lose as each future converges to spot in contango
    (none is counted in backwardation), through its delta (a future's is 1), per position as
    held: the drag theta leaves out. Legs settled by the valuation time have none."""
    vix = (legs.underlying == VIX_FUT) | (legs.underlying == VIX_OPT)
    days = (legs.settle - st.t) / 86400
    live = vix & (days > 0)
    if not live.any():
        return by_position(np.zeros(len(legs.owner)), legs)
    level = np.nan_to_num(moved_future(legs.fut, st.dvix, legs.fut_decay))
    per_day = np.where(live, np.maximum(level - st.vix, 0.0) / np.where(live, days, 1.0), 0.0)
    return by_position(per_day * delta * legs.units * legs.mult, legs)


@dataclass(frozen=True)
class _Unit:
    """One unit of a candidate, priced at the what-if."""
    hedge: Hedge  # legs carry their live model prices: the entry to record
    gain: float  # $ in the layer's own stress
    gain_ref: float  # $ in the reference stress
    gains: np.ndarray  # $ in every stress
    theta: float  # $/day, analytic
    drag: float  # $/yr: theta and the futures' roll-down through delta
    premium: float  # $ of option premium (a future has none: margin)
    at_risk: float  # premium, or for a future its loss in the worst stress

    @property
    def per_drag(self) -> float:
        return self.gain / self.drag if self.drag > 0 else np.inf


_MENU_CACHE: list = []  # (market, layers, model, picks, menus, legs): what a what-if moving days keeps


def _menu_legs(book, market, now):
    """Each layer's candidates and their legs, built once per market, templates and the
    expiries the valuation time picks (only their prices depend on the time)."""
    a = book.alvh
    chosen = tuple(picks(k, a.layers[k], market, now) for k in (1, 2, 3))
    for m, layers, model, p, menus, cl in _MENU_CACHE:
        if m is market and layers == a.layers and model == book.model and p == chosen:
            return menus, cl
    menus = {k: menu_of(k, a.layers[k], market, chosen[k - 1]) for k in (1, 2, 3)}
    cands = [h for k in (1, 2, 3) for h in menus[k]]
    cl = _hedge_legs(book, market, tuple(replace(h, id=f"c{i}") for i, h in enumerate(cands))) if cands else None
    _MENU_CACHE[:] = [(market, a.layers, book.model, chosen, menus, cl)]
    return menus, cl


_LEGS_CACHE: list = []  # (market, model, hedges, legs)


def _hedge_legs(book, market, hedges):
    """Legs of hedges outside the book (candidates, rolls): they depend on the market only."""
    for m, model, h, legs in _LEGS_CACHE:
        if m is market and model == book.model and h == hedges:
            return legs
    legs = build_legs(replace(book, condors=(), hedges=hedges), market)
    _LEGS_CACHE[:] = [(market, book.model, hedges, legs)] + _LEGS_CACHE[:1]
    return legs


def _menus(book, market, states, candidates, own, i_ref):
    """Each layer's candidates priced (`candidates`: (hedge_menus, their legs' Greeks now and
    prices in the stresses)), the useful ones best gain per $ of drag first (the top three as
    _Unit), and the rolled positions' values."""
    st = states[0]
    now = st.t
    (menus, cl), priced = candidates
    rolls_for = _roll_candidates(book, {k: (m[0] if m else None) for k, m in menus.items()}, now)
    rolled_now = np.zeros(0)
    if rolls_for:
        rl = _hedge_legs(book, market, tuple(replace(h, id=f"r{i}") for i, (_, _, h, _) in enumerate(rolls_for)))
        rolled_now = by_position(leg_prices(rl, st) * rl.units * rl.mult, rl)
    if cl is None:
        return {1: [], 2: [], 3: []}, rolls_for, rolled_now
    unit_now, unit_in, leg_now, unit_theta, leg_delta = _unit_values(cl, *priced)
    gains = unit_in - unit_now
    drag = (-unit_theta + _roll_down(cl, st, leg_delta)) * 365
    option = cl.underlying != VIX_FUT
    premium = by_position(np.where(option, leg_now * cl.units * cl.mult, 0.0), cl)
    # a leg worth less than the 0.01 tick has no quote to trade at, nor an entry to record
    untradable = by_position((leg_now < TICK).astype(float), cl) > 0
    out, first = {}, 0
    for k in (1, 2, 3):
        start = first
        idx = np.arange(start, start + len(menus[k]))
        first += len(menus[k])
        g = gains[own[k], idx]
        keep = idx[(g > 0) & ~untradable[idx]]
        g = gains[own[k], keep]
        with np.errstate(divide="ignore", invalid="ignore"):
            per_drag = np.where(drag[keep] > 0, g / drag[keep], np.inf)
            per_premium = np.where(premium[keep] > 0, g / premium[keep], np.inf)
        order = keep[np.lexsort((-per_premium, -per_drag))]
        out[k] = [_unit(menus[k][i - start], i, cl, leg_now, gains, own[k], i_ref, unit_theta, drag)
                  for i in order[:3]]
    return out, rolls_for, rolled_now


def _unit(h, i, cl, leg_now, gains, row, i_ref, theta, drag) -> _Unit:
    """A candidate at its recorded entry prices (to 0.0001 point): its premium is theirs."""
    mine = cl.owner == i
    legs = tuple(_renewed(leg, price=round(p, 4)) for leg, p in zip(h.legs, leg_now[mine].tolist()))
    premium = sum(leg.ratio * leg.price * m for leg, m in zip(legs, cl.mult[mine]) if leg.kind != "vix_future")
    return _Unit(_renewed(h, legs=legs), float(gains[row, i]), float(gains[i_ref, i]), gains[:, i],
                 float(theta[i]), float(drag[i]), premium, _at_risk(h, premium, gains[:, i]))


def _renewed(x, **changes):
    """dataclasses.replace(x, **changes) without its pass over every field through __init__
    (the frozen inputs check nothing there): nine candidates are repriced on every analysis."""
    out = object.__new__(type(x))
    out.__dict__.update(x.__dict__, **changes)
    return out


def _at_risk(h: Hedge, premium: float, gains: np.ndarray) -> float:
    """What a hedge can lose: an option's premium; a future (no premium) its worst stress."""
    if any(leg.kind == "vix_future" for leg in h.legs):
        return max(-float(np.min(gains, initial=0.0)), 0.0) + max(premium, 0.0)
    return max(premium, 0.0)


MAX_QUANTITY = 1_000_000  # a book's largest position: the engine never proposes more


def _layers(book, market, states, candidates, legs, leg_delta, change, held_now, i_ref, target_ratio, dormant,
            event, hedge_theta):
    """Each layer against its own stress (`[alvh.layerN] stress`): L2 wants what its premium
    budget buys, up to the target there; L1 and L3 their shares of the target coverage L2
    at its want leaves in their stresses. Then the solver fits the whole hedge (held and
    bought) into the drag budget and the premium cap. `change`: each position's P&L in each
    stress (rows as book.stress)."""
    a, nc, eq = book.alvh, len(book.condors), book.equity
    own = {k: next(i for i, x in enumerate(book.stress) if x.name == a.layers[k].stress) for k in (1, 2, 3)}
    menus, rolls_for, rolled_now = _menus(book, market, states, candidates, own, i_ref)
    st = states[0]
    drag_held = (-np.array([hedge_theta[h.id] for h in book.hedges]) + _roll_down(legs, st, leg_delta)[nc:]) * 365
    risk_held = [_at_risk(h, v, change[:, nc + j]) for j, (h, v) in enumerate(zip(book.hedges, held_now))]
    live = by_position((legs.settle > st.t).astype(float), legs)[nc:] > 0  # a settled hedge is not traded
    mine = {k: [j for j, h in enumerate(book.hedges) if h.layer == k and live[j]] for k in (1, 2, 3)}
    loss = {k: max(-float(change[own[k], :nc].sum()), 0.0) for k in (1, 2, 3)}

    def held_gain(k, row):
        return float(sum(change[row, nc + j] for j, h in enumerate(book.hedges) if h.layer == k))

    w1, w3 = (0.0, 1.0) if dormant else a.weights
    budget = a.l2_budget_pct / 100 * eq
    want, notes = {}, {}
    l2 = menus[2][0] if menus[2] else None
    cap2 = target_ratio * loss[2]
    if l2 is None:
        want[2] = min(held_gain(2, own[2]), cap2)
    else:
        want[2] = min(int(budget // l2.premium) * l2.gain, cap2) if l2.premium > 0 else cap2
    notes[2] = f"premium budget {a.l2_budget_pct:g}% of equity = ${budget:,.0f}, at most the target there"
    for k, share in ((1, w1), (3, w3)):
        row = own[k]  # what L2 at its want covers in this stress (whatever it holds now)
        l2_there = want[2] * float(l2.gains[row]) / l2.gain if l2 else held_gain(2, row)
        want[k] = max(target_ratio * loss[k] - l2_there, 0.0) * share
        notes[k] = "dormant: R3 fired, no event (R4)" if k == 1 and dormant else \
            f"{share:.0%} of the stress coverage left after L2"

    chains = []
    for k in (1, 2, 3):
        u = menus[k][0] if menus[k] else None
        held = [Item(j, book.hedges[j].quantity, *(x / book.hedges[j].quantity for x in
                     (float(change[own[k], nc + j]), float(drag_held[j]), risk_held[j]))) for j in mine[k]]
        n = 0 if u is None else min(int(np.floor(want[k] / u.gain + 0.5)), MAX_QUANTITY)
        buy = Item(-1, n, u.gain, u.drag, u.at_risk) if u else None
        chains.append(layer_chain(held, buy, want[k], 1 / loss[k] if loss[k] > 0 else 1 / eq, k == 1 and event))
    sol = solve(tuple(chains), a.drag_budget_pct / 100 * eq, a.premium_cap_pct / 100 * eq)

    results, kept_all = [], {}
    for k, chain, s in zip((1, 2, 3), chains, sol.states):
        kept = taken(chain, s)
        kept_all.update(kept)
        u = menus[k][0] if menus[k] else None
        trades = _trades(book, mine[k], kept, u, held_now, hedge_theta, drag_held, risk_held, change[i_ref, nc:],
                         change[own[k], nc:])
        got = held_gain(k, own[k]) + sum(t.own_gain for t in trades)
        note = f"in \"{a.layers[k].stress}\": " + notes[k]
        if k == 1 and event:
            note += "; R4 (event risk) holds what L1 has" + (", outside the budget" if sol.forced else "")
        if u:
            note += _window_note(a.layers[k], u.hedge, st.t)
        elif not candidates[0][0][k]:
            note += "; no listed VIX expiry in the layer's window: add it under [vix_futures]"
        else:
            note += f"; no candidate gains in \"{a.layers[k].stress}\""
        results.append(LayerResult(
            k, LAYER_NAMES[k], _describe(u.hedge) if u else "none",
            int(np.floor(want[k] / u.gain + 0.5)) if u else 0, tuple(trades), k == 1 and dormant,
            held_gain(k, own[k]), want[k], sum(hedge_theta[book.hedges[j].id] for j in mine[k]),
            float(sum(drag_held[j] for j, h in enumerate(book.hedges) if h.layer == k)) / eq * 100,
            note, a.layers[k].stress, coverage=_ratio(got, loss[k]), target_coverage=_ratio(want[k], loss[k]),
            candidates=tuple(Candidate(_describe(x.hedge), x.gain, x.drag / eq * 100, x.premium, x.per_drag)
                             for x in menus[k][:3])))
    rolls = []
    for i, (j, h, rolled, days) in enumerate(rolls_for):
        share = kept_all.get(j, 0) / h.quantity  # only what the sizing keeps is rolled
        if share > 0:
            rolls.append(RollAlert(h.id, h.layer, h.legs[0].expiry.isoformat(), days,
                                   rolled.legs[0].expiry.isoformat(), share * float(rolled_now[i] - held_now[j])))
    return tuple(results), tuple(rolls), sol, float(np.sum(drag_held)), float(np.sum(risk_held))


def _ratio(x: float, loss: float) -> float | None:
    return max(x, 0.0) / loss if loss > 0 else None


def _trades(book, mine, kept, u, held_now, hedge_theta, drag_held, risk_held, ref_change,
            own_change) -> list[Trade]:
    """Sells of held units the layer's state leaves out, and a buy of the chosen candidate's
    units it takes; each carries its gain in the layer's own stress (own_gain)."""
    out = []
    for j in mine:
        h = book.hedges[j]
        n = h.quantity - kept.get(j, 0)
        if n <= 0:
            continue
        share = n / h.quantity
        action = "sell" if held_now[j] >= 0 else "close"  # a short hedge is bought back
        out.append(Trade(action, n, f"{h.id} ({_describe(h)})", h.legs, -share * held_now[j],
                         theta=-share * hedge_theta[h.id], stress_gain=-share * ref_change[j], hedge_id=h.id,
                         drag=-share * float(drag_held[j]), at_risk=-share * risk_held[j],
                         own_gain=-share * float(own_change[j])))
    n = kept.get(-1, 0)
    if n:
        out.append(Trade("buy", n, _describe(u.hedge), u.hedge.legs, n * u.premium, theta=n * u.theta,
                         stress_gain=n * u.gain_ref, drag=n * u.drag, at_risk=n * u.at_risk, own_gain=n * u.gain))
    return out


def _window_note(t: LayerTemplate, h: Hedge, now: float) -> str:
    days = (settle_time(h.legs[0].expiry, VIX_FUT) - now) / 86400
    if days < t.min_days or (t.max_days is not None and days > t.max_days):
        return f"; no listed expiry in {t.min_days:g}-{t.max_days:g} days, nearest is {days:.1f}"
    return ""


def _unit_values(legs, g, in_stress):
    """Value of each position now, in each stress (rows), each leg's price now and each
    position's theta ($/day), $ (quantity as held), from the legs' Greeks `g` now and their
    prices in the stresses."""
    scale = legs.units * legs.mult
    return (by_position(g.price * scale, legs), by_position(in_stress * scale, legs), g.price,
            by_position(g.theta * scale, legs), g.delta)


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
