"""Each layer's menu: listed VIX expiries in its tenor window x strikes from 0.9x to 2x that
expiry's future x the layer's structures (its template's, and the others of its family)."""
from __future__ import annotations

from core.model.inputs import Hedge, HedgeLeg, LayerTemplate, Market
from core.pricing.legs import VIX_FUT, settle_time

STRIKE_MULTS = (0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0)
FAMILY = {1: ("vix_call", "vix_call_butterfly", "vix_future"), 2: ("vix_call_spread", "vix_call"),
          3: ("vix_call",)}
SHAPES = {"vix_call": ((0, 1),), "vix_call_spread": ((0, 1), (1, -1)),
          "vix_call_butterfly": ((0, 1), (1, -2), (2, 1))}


def expiries(t: LayerTemplate, market: Market, now: float) -> list[tuple]:
    """(expiry, future, days left) of the listed expiries inside the window; when none is,
    the nearest one outside it (monthly expiries can straddle a window's edges)."""
    listed = [(d, f, (settle - now) / 86400) for d, f, settle in _listed(market)]
    listed = [x for x in listed if x[2] > 0]
    inside = [x for x in listed if x[2] >= t.min_days and (t.max_days is None or x[2] <= t.max_days)]
    if not inside and listed and t.max_days is not None:
        inside = [min(listed, key=lambda x: max(t.min_days - x[2], x[2] - t.max_days))]
    return inside


_LISTED: list = []  # (market, its futures with their settlement times): asked three times a what-if


def _listed(market: Market) -> list[tuple]:
    if not (_LISTED and _LISTED[0][0] is market):
        _LISTED[:] = [(market, [(d, f, settle_time(d, VIX_FUT)) for d, f in market.vix_futures])]
    return _LISTED[0][1]


def picks(layer: int, t: LayerTemplate, market: Market, now: float):
    """The expiries the time picks: the template's (expiry, future) and every one inside the
    window. A what-if moving days rarely changes them, so the candidates are keyed on them.
    The template is the layer's own instrument today (where rolls go): L1 the nearest
    expiry, L3 the farthest, L2 the one nearest the window's middle."""
    inside = expiries(t, market, now)
    if not inside:
        return None, ()
    if t.max_days is None:
        first = inside[-1]
    elif layer == 1:
        first = inside[0]
    else:
        mid = (t.min_days + t.max_days) / 2
        first = min(inside, key=lambda x: abs(x[2] - mid))
    return first[:2], tuple(x[:2] for x in inside)


def menu(layer: int, t: LayerTemplate, market: Market, now: float) -> list[Hedge]:
    return menu_of(layer, t, market, picks(layer, t, market, now))


def menu_of(layer: int, t: LayerTemplate, market: Market, picked) -> list[Hedge]:
    """The template first, then every other candidate once."""
    first, inside = picked
    first = None if first is None else _hedge(layer, t.instrument, *first, t.strike_mult, t.width, market)
    if first is None:
        return []
    out, seen = [first], {first.legs}
    kinds = (t.instrument,) + tuple(k for k in FAMILY[layer] if k != t.instrument)
    for expiry, fut in inside:
        for kind in kinds:
            for m in (STRIKE_MULTS if kind != "vix_future" else (1.0,)):
                h = _hedge(layer, kind, expiry, fut, m, t.width, market)
                if h is not None and h.legs not in seen:
                    seen.add(h.legs)
                    out.append(h)
    return out


def _hedge(layer, kind, expiry, fut, mult, width, market) -> Hedge | None:
    if kind == "vxx_call":
        if not market.vxx:
            return None
        legs = (HedgeLeg("vxx_call", expiry, float(round(market.vxx * mult)), 1, 0.0),)
    elif kind == "vix_future":
        legs = (HedgeLeg("vix_future", expiry, None, 1, 0.0),)
    else:
        k = float(max(round(fut * mult), 1))
        legs = tuple(HedgeLeg("vix_call", expiry, k + i * width, r, 0.0) for i, r in SHAPES[kind])
    return Hedge(f"L{layer}-candidate", layer, 1, legs)
