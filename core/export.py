"""An analysis as plain JSON-ready data (numbers in the units of core.model.results)."""
from __future__ import annotations

import math
from dataclasses import asdict

from core.model.results import Analysis, GreekSet


def _greeks(g: GreekSet) -> dict:
    return asdict(g)


def analysis_to_dict(a: Analysis) -> dict:
    m, w, t = a.market, a.whatif, a.totals
    out = {
        "demo": bool(a.book.demo or m.demo),
        "as_of": m.as_of.isoformat(),
        "valued_at": a.at.time.isoformat(),
        "market": {"spx": a.at.spx, "vix": a.at.vix, "vix3m": m.vix3m, "vxx": a.at.vxx,
                   "rate": m.rate, "dividend_yield": m.dividend_yield},
        "whatif": {"spx_move": w.spx_move, "vix_move": w.vix_move, "days": w.days},
        "units": {"delta": "$ per point of the underlying (beta-weighted: per SPX point)",
                  "gamma": "delta change per point", "theta": "$ per calendar day",
                  "vega": "$ per vol point of the leg's own underlying (book greeks.vega mixes them:"
                          " read spx_vega / vix_option_vega / vxx_option_vega)",
                  "spx_vega": "$/SPX vol pt", "vix_option_vega": "$/VIX-opt vol pt",
                  "vxx_option_vega": "$/VXX-opt vol pt",
                  "vix_point": "$ per +1 VIX pt (spot-vol map)", "mark": "index points per unit", "pnl": "$"},
        "condors": [{
            "id": c.condor.id, "expiry": c.condor.expiry.isoformat(), "quantity": c.condor.quantity,
            "strikes": [c.condor.long_put, c.condor.short_put, c.condor.short_call, c.condor.long_call],
            "credit": c.condor.credit, "root": c.condor.root, "dte": c.dte, "mark": c.mark, "pnl": c.pnl,
            "close": {"mid": c.close_mid, "natural": c.close_natural, "slippage": c.slippage},
            "pnl_realized": c.pnl_realized, "pnl_lifetime": c.pnl_lifetime,
            "max_profit": c.max_profit, "max_loss": c.max_loss,
            "breakevens": {"expiry": list(c.breakevens_expiry), "t0": list(c.breakevens_t0)},
            # sd is null only once the condor has expired at the valuation time (no time left)
            "expired": c.dte <= 0,
            "distance": {"pct": c.distance_pct, "sd": c.distance_sd if c.dte > 0 else None,
                         "short": c.nearest_short},
            "greeks": _greeks(c.greeks),
        } for c in a.condors],
        "hedges": [{
            "id": h.hedge.id, "layer": h.hedge.layer, "quantity": h.hedge.quantity,
            "days_left": h.days_left, "mark": h.mark, "entry": h.entry, "value": h.value,
            "pnl": h.pnl, "pnl_realized": h.pnl_realized, "pnl_lifetime": h.pnl_lifetime,
            "greeks": _greeks(h.greeks), "beta_weighted_delta": h.beta_delta,
            "legs": [{"kind": leg.kind, "expiry": leg.expiry.isoformat(), "strike": leg.strike,
                      "ratio": leg.ratio, "entry": leg.price, "underlying": u, "vol": v, "price": p}
                     for leg, (u, v, p) in zip(h.hedge.legs, h.legs)],
        } for h in a.hedges],
        "book": {
            "pnl": t.pnl, "condor_pnl": t.condor_pnl, "hedge_pnl": t.hedge_pnl,
            "greeks": _greeks(t.greeks), "beta_weighted_delta": t.beta_weighted_delta,
            "condor_greeks": _greeks(t.condor_greeks), "hedge_greeks": _greeks(t.hedge_greeks),
            "breakevens": {"expiry": list(t.breakevens_expiry), "t0": list(t.breakevens_t0)},
            "spx_vega": t.spx_vega, "vix_option_vega": t.vix_vega, "vxx_option_vega": t.vxx_vega,
            "vix_point": {"book": t.vix_point, "condors": t.condor_vix_point, "hedges": t.hedge_vix_point},
        },
        "assumptions": {"beta": a.book.model.beta, "beta_source": a.book.model.beta_source,
                        "kappa": a.book.model.kappa, "vxx_exponent": a.book.model.vxx_exponent,
                        "base_ratio": a.book.alvh.base_ratio, "notes": list(a.assumptions)},
    }
    out["realized"] = realized_to_dict(a.book)
    out["book"]["pnl_unrealized"] = t.pnl
    out["book"]["pnl_total"] = t.pnl_total
    if a.alvh:
        out.update(_alvh(a.alvh))
    return clean(out)


def add_odds(out: dict, odds) -> None:
    """core.capital.probability's odds into an `analysis_to_dict` result, in place (this
    room sits below capital, so the caller passes them in): fractions 0..1, index points."""
    out["units"]["probability"] = "fraction 0..1; *_real under the real-world lognormal (null: no history)"
    out["units"]["expected_move"] = "index points, +-1 sigma to expiry"
    for row, o in zip(out["condors"], odds.condors):
        row.update(clean({
            "pop": o.pop, "pop_real": o.pop_real, "pop_whatif": o.pop_whatif, "pop_whatif_real": o.pop_whatif_real,
            "touch_put": o.touch_put, "touch_call": o.touch_call, "touch_put_real": o.touch_put_real,
            "touch_call_real": o.touch_call_real, "max_loss_prob": o.max_loss, "max_loss_prob_real": o.max_loss_real,
            "expected_move": {"implied": o.move, "atm_vol": o.atm_vol, "straddle": o.straddle,
                              "straddle_sigma": o.move_straddle}}))
    b, real = odds.book, odds.real
    out["book"]["probability"] = clean({
        **({"horizon": b.horizon, "pop": b.pop, "pop_real": b.pop_real, "pop_whatif": b.pop_whatif,
            "pop_whatif_real": b.pop_whatif_real} if b else {}),
        "real_world": None if real is None else {"vol": real.vol, "drift": real.drift, "rf": real.rf, "mrp": real.mrp,
                                                 "window": real.window, "last_close": real.last.isoformat(),
                                                 "demo": real.demo}})


def closed_to_dict(c) -> dict:
    d = asdict(c)
    for k in ("opened", "closed"):
        d[k] = d[k].isoformat() if d[k] else None
    return d


def realized_to_dict(book) -> dict:
    """The ledger's total and its sum per position id."""
    from core.book.lifecycle import realized_by_id
    return {"total": round(sum(c.realized for c in book.closed), 2), "by_position": realized_by_id(book),
            "closed": [closed_to_dict(c) for c in book.closed]}


def snapshot_numbers(a: Analysis) -> tuple[dict, dict]:
    """What a daily snapshot stores: book totals and each open position's value and P&L."""
    t = a.totals
    totals = {"pnl": t.pnl, "pnl_realized": t.realized, "theta": t.greeks.theta,
              "delta": t.beta_weighted_delta, "vega": t.vix_point,
              # the condors' own part: the live theta R² of the condors alone
              "condor_pnl": t.condor_pnl, "condor_realized": t.condor_realized,
              "condor_theta": t.condor_greeks.theta}
    positions = {c.condor.id: {"value": -c.mark * c.condor.quantity * 100, "pnl": c.pnl} for c in a.condors}
    positions.update({h.hedge.id: {"value": h.value, "pnl": h.pnl} for h in a.hedges})
    return clean(totals), clean(positions)


def _alvh(x) -> dict:
    r = x.ratio
    return {
        "stress": [asdict(s) for s in x.stress],
        "hedge_ratio": {"current": r.current, "target": r.target, "base": r.base,
                        "multiplier": r.multiplier, "reference": r.reference,
                        "rules": [asdict(rule) for rule in r.rules]},
        "layers": [{
            "layer": l.layer, "name": l.name, "instrument": l.instrument,
            "target_units": l.target, "dormant": l.dormant, "note": l.note,
            "stress": l.stress, "coverage": l.coverage, "target_coverage": l.target_coverage,
            "trades": [{"action": t.action, "contracts": t.contracts, "instrument": t.instrument,
                        "cost": t.cost, "theta": t.theta, "drag": t.drag, "stress_gain": t.stress_gain,
                        "at_risk": t.at_risk, "hedge_id": t.hedge_id,
                        "legs": [{"kind": x.kind, "expiry": x.expiry.isoformat(), "strike": x.strike,
                                  "ratio": x.ratio, "price": x.price} for x in t.legs]} for t in l.trades],
            "candidates": [{"instrument": c.instrument, "gain": c.gain, "premium": c.premium,
                            "drag_pct": c.drag_pct,
                            "gain_per_drag": None if c.gain_per_drag == float("inf") else c.gain_per_drag}
                           for c in l.candidates],
            "drag_pct": l.drag_pct, "theta": l.theta,
            "stress_pnl": {"held": l.stress_pnl_held, "target": l.stress_pnl_target},
        } for l in x.layers],
        "drag": {"total_pct": x.drag_pct, "warning": x.drag_warning},
        "budget": {"drag_pct_after": x.drag_pct_after, "premium_pct_after": x.premium_pct_after,
                   "coverage_after": x.coverage_after, "drag_budget_pct": x.drag_budget_pct,
                   "premium_cap_pct": x.premium_cap_pct, "limited": x.limited, "forced": x.forced,
                   "line": x.budget_line,
                   "over_budget": x.over_budget},
        "worst_stress": {"name": x.worst.name, "spx_move": x.worst.spx_move,
                         "package_pnl": x.worst.package_pnl, "note": x.upside_note},
        "rolls": [asdict(r) for r in x.rolls],
        "package": {"horizon": x.horizon,
                    "breakevens": {"t0": list(x.breakevens_t0), "horizon": list(x.breakevens_horizon)}},
        "parity_breaks": [asdict(p) for p in x.parity],
    }


def clean(value):
    """Strict JSON: numpy scalars become floats, a non-finite number becomes null."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
