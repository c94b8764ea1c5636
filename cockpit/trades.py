"""Book-keeping of the hedge engine's suggested trades: which hedges to add or shrink.

No pricing here: bought legs carry the entry prices the engine put on them, and a
sell closes at the model mark the engine gave the held hedge (flagged "model fill").
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date

from core.model.inputs import Book, Hedge
from core.model.results import AlvhResult, Trade


def _trades(a: AlvhResult) -> list[tuple[int, Trade]]:
    return [(x.layer, t) for x in a.layers for t in x.trades if t.contracts > 0]


def trade_lines(a: AlvhResult) -> list[str]:
    return [f"L{k}: {t.action} {t.contracts} {t.instrument}"
            f" ({'-' if t.cost < 0 else ''}${abs(t.cost):,.0f}, {t.theta:+,.0f} $/day)"
            for k, t in _trades(a)]


def totals_lines(a: AlvhResult, equity: float, budget_pct: float) -> list[str]:
    """What the whole set does: premium, drag and the hedge ratio before and after."""
    cost = sum(t.cost for _, t in _trades(a))
    ratio = "n/a" if a.coverage_after is None else \
        f"{a.ratio.current or 0:.2f} -> {a.coverage_after:.2f} (target {a.ratio.target:.2f})"
    return [f"premium {'-' if cost < 0 else ''}${abs(cost):,.0f} ({cost / equity:.1%} of equity);"
            f" at risk after {a.premium_pct_after:.1f}% (cap {a.premium_cap_pct:g}%)",
            f"drag {a.drag_pct:.2f} -> {a.drag_pct_after:.2f} %/yr of equity (budget {budget_pct:g} %/yr)",
            f"hedge ratio in \"{a.ratio.reference}\": {ratio}"] + ([a.budget_line] if a.budget_line else [])



def apply_trades(book: Book, a: AlvhResult, marks: dict[str, float], on: date) -> Book:
    """Buys become new hedges (opened `on`); sells close that many of the held hedge with
    those legs at its model mark (`marks`: per unit, by id) into the realized ledger."""
    from core.book.lifecycle import close_position
    hedges = list(book.hedges)
    sells = []
    for layer, tr in _trades(a):
        if tr.action == "buy":
            if any(leg.price <= 0 for leg in tr.legs):
                raise ValueError(f"L{layer}: the engine gave no entry prices for {tr.instrument}")
            hedges.append(Hedge(_new_id(layer, tr.legs[0].expiry, hedges, book.closed), layer, tr.contracts, tr.legs,
                                opened=on))
            continue
        h = next((h for h in hedges if h.id == tr.hedge_id), None)  # the one the engine sized
        if h is None or h.id not in marks:
            raise ValueError(f"L{layer}: no held hedge matches {tr.instrument}")
        sells.append((h.id, min(tr.contracts, h.quantity)))
    book = replace(book, hedges=tuple(hedges))
    for hid, qty in sells:
        book, _ = close_position(book, hid, qty, marks[hid], 0.0, on, how="model fill")
    return book


def _new_id(layer: int, expiry, hedges, closed) -> str:
    """A fresh id: not held, and not in the ledger (its realized P&L would count as this one's)."""
    base = f"L{layer}-{expiry:%b%d}"
    taken = {h.id for h in hedges} | {c.id for c in closed}
    n = 1
    while (name := base if n == 1 else f"{base}-{n}") in taken:
        n += 1
    return name
