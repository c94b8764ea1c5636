"""Book-keeping of the hedge engine's suggested trades: which hedges to add or shrink.

No pricing here: bought legs carry the entry prices the engine put on them.
"""
from __future__ import annotations

from dataclasses import replace

from core.model import Book, Hedge
from core.results import AlvhResult, LayerResult


def _acts(x: LayerResult) -> bool:
    return x.trade.action in ("buy", "sell") and x.trade.contracts > 0


def trade_lines(a: AlvhResult) -> list[str]:
    return [f"L{x.layer}: {x.trade.action} {x.trade.contracts} {x.trade.instrument}"
            f" ({'-' if x.trade.cost < 0 else ''}${abs(x.trade.cost):,.0f})"
            for x in a.layers if _acts(x)]


def apply_trades(book: Book, a: AlvhResult) -> Book:
    """Buys become new hedges; sells shrink (or remove) the held hedge with those legs."""
    hedges = list(book.hedges)
    for x in a.layers:
        if not _acts(x):
            continue
        tr = x.trade
        if tr.action == "buy":
            if any(leg.price <= 0 for leg in tr.legs):
                raise ValueError(f"L{x.layer}: the engine gave no entry prices for {tr.instrument}")
            hedges.append(Hedge(_new_id(x.layer, tr.legs[0].expiry, hedges), x.layer, tr.contracts, tr.legs))
            continue
        j = next((j for j, h in enumerate(hedges) if h.layer == x.layer and h.legs == tr.legs), None)
        if j is None:
            raise ValueError(f"L{x.layer}: no held hedge matches {tr.instrument}")
        left = hedges[j].quantity - tr.contracts
        if left > 0:
            hedges[j] = replace(hedges[j], quantity=left)
        else:
            del hedges[j]
    return replace(book, hedges=tuple(hedges))


def _new_id(layer: int, expiry, hedges) -> str:
    base = f"L{layer}-{expiry:%b%d}"
    taken = {h.id for h in hedges}
    n = 1
    while (name := base if n == 1 else f"{base}-{n}") in taken:
        n += 1
    return name
