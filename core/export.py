"""An analysis as plain JSON-ready data (numbers in the units of core.results)."""
from __future__ import annotations

import math
from dataclasses import asdict

from core.results import Analysis, GreekSet


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
                  "vega": "$ per vol point", "mark": "index points per unit", "pnl": "$"},
        "condors": [{
            "id": c.condor.id, "expiry": c.condor.expiry.isoformat(), "quantity": c.condor.quantity,
            "strikes": [c.condor.long_put, c.condor.short_put, c.condor.short_call, c.condor.long_call],
            "credit": c.condor.credit, "dte": c.dte, "mark": c.mark, "pnl": c.pnl,
            "max_profit": c.max_profit, "max_loss": c.max_loss,
            "breakevens": {"expiry": list(c.breakevens_expiry), "t0": list(c.breakevens_t0)},
            "distance": {"pct": c.distance_pct, "sd": c.distance_sd, "short": c.nearest_short},
            "greeks": _greeks(c.greeks),
        } for c in a.condors],
        "hedges": [{
            "id": h.hedge.id, "layer": h.hedge.layer, "quantity": h.hedge.quantity,
            "days_left": h.days_left, "mark": h.mark, "entry": h.entry, "value": h.value,
            "pnl": h.pnl, "greeks": _greeks(h.greeks), "beta_weighted_delta": h.beta_delta,
            "legs": [{"kind": leg.kind, "expiry": leg.expiry.isoformat(), "strike": leg.strike,
                      "ratio": leg.ratio, "entry": leg.price, "underlying": u, "vol": v, "price": p}
                     for leg, (u, v, p) in zip(h.hedge.legs, h.legs)],
        } for h in a.hedges],
        "book": {
            "pnl": t.pnl, "condor_pnl": t.condor_pnl, "hedge_pnl": t.hedge_pnl,
            "greeks": _greeks(t.greeks), "beta_weighted_delta": t.beta_weighted_delta,
            "condor_greeks": _greeks(t.condor_greeks), "hedge_greeks": _greeks(t.hedge_greeks),
            "breakevens": {"expiry": list(t.breakevens_expiry), "t0": list(t.breakevens_t0)},
        },
        "assumptions": {"beta": a.book.model.beta, "beta_source": a.book.model.beta_source,
                        "kappa": a.book.model.kappa, "vxx_exponent": a.book.model.vxx_exponent,
                        "base_ratio": a.book.alvh.base_ratio, "notes": list(a.assumptions)},
    }
    if a.alvh:
        out.update(_alvh(a.alvh))
    return clean(out)


def _alvh(x) -> dict:
    r = x.ratio
    return {
        "stress": [asdict(s) for s in x.stress],
        "hedge_ratio": {"current": r.current, "target": r.target, "base": r.base,
                        "multiplier": r.multiplier, "reference": r.reference,
                        "rules": [asdict(rule) for rule in r.rules]},
        "layers": [{
            "layer": l.layer, "name": l.name, "instrument": l.instrument, "held": l.held,
            "target": l.target, "dormant": l.dormant, "note": l.note,
            "trade": {"action": l.trade.action, "contracts": l.trade.contracts,
                      "instrument": l.trade.instrument, "cost": l.trade.cost,
                      "legs": [{"kind": x.kind, "expiry": x.expiry.isoformat(), "strike": x.strike,
                                "ratio": x.ratio, "price": x.price} for x in l.trade.legs]},
            "drag_pct": l.drag_pct, "theta": l.theta,
            "stress_pnl": {"held": l.stress_pnl_held, "target": l.stress_pnl_target},
        } for l in x.layers],
        "drag": {"total_pct": x.drag_pct, "warning": x.drag_warning},
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
