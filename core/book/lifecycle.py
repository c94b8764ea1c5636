"""A position's life after it is opened: settlement at expiry, closes at a fill, and
the realized ledger they feed. Pure functions of immutable books; nothing here reads
files (the price lookup is handed in: core.history.store.settlement_lookup).
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from typing import Callable

from core.model.errors import InputError
from core.model.instruments import MULT, SPX, VIX_FUT, VIX_OPT, VXX_OPT, settle_time
from core.model.inputs import Book, Closed, Condor, Hedge, HedgeLeg, Market

# (underlying, day, style) -> (value, where it came from), or None when nobody knows yet
Lookup = Callable[[str, date, str], "tuple[float, str] | None"]
_LEG_CODE = {"vix_call": VIX_OPT, "vix_put": VIX_OPT, "vix_future": VIX_FUT,
             "vxx_call": VXX_OPT, "vxx_put": VXX_OPT}


@dataclass(frozen=True)
class Awaiting:
    """An expired position with no settlement price yet: kept in the book, not priced."""
    id: str
    what: str  # "condor" or "hedge"
    underlying: str  # SPX | VIX | VXX
    day: date
    style: str  # AM | PM

    @property
    def label(self) -> str:
        return f"expired — awaiting settlement price ({self.underlying} {self.style} {self.day})"


@dataclass(frozen=True)
class Settled:
    """The book with every expired position settled that could be."""
    book: Book  # settled positions gone, their records appended to book.closed
    records: tuple[Closed, ...]  # the new ledger records
    awaiting: tuple[Awaiting, ...]

    @property
    def priceable(self) -> Book:
        """The open book the engine can price: awaiting positions set aside."""
        ids = {a.id for a in self.awaiting}
        return replace(self.book, condors=tuple(c for c in self.book.condors if c.id not in ids),
                       hedges=tuple(h for h in self.book.hedges if h.id not in ids))


def settlement_key(condor: Condor) -> tuple[str, str]:
    """(underlying, style) a condor settles on: SPXW on the close, SPX monthlies AM."""
    return "SPX", "AM" if condor.root == "SPX" else "PM"


def leg_key(leg: HedgeLeg) -> tuple[str, str]:
    return ("VXX", "PM") if leg.kind.startswith("vxx") else ("VIX", "AM")


def condor_settles_at(c: Condor) -> float:
    return settle_time(c.expiry, SPX, c.root == "SPX")


def leg_settles_at(leg: HedgeLeg) -> float:
    return settle_time(leg.expiry, _LEG_CODE[leg.kind])


def condor_value(c: Condor, spx: float) -> float:
    """Points per condor to buy it back with SPX at `spx`: the short spreads' intrinsic."""
    put = min(max(c.short_put - spx, 0.0), c.short_put - c.long_put)
    call = min(max(spx - c.short_call, 0.0), c.long_call - c.short_call)
    return put + call


def leg_payoff(leg: HedgeLeg, level: float) -> float:
    if leg.kind.endswith("future"):
        return level
    return max(level - leg.strike, 0.0) if leg.kind.endswith("call") else max(leg.strike - level, 0.0)


def describe_condor(c: Condor) -> str:
    return f"{c.root} {c.expiry} {c.long_put:g}/{c.short_put:g}/{c.short_call:g}/{c.long_call:g}"


def describe_legs(h: Hedge, legs=None) -> str:
    parts = []
    for leg in legs if legs is not None else h.legs:
        strike = "" if leg.strike is None else f" {leg.strike:g}"
        parts.append(f"{leg.ratio:+g} {leg.kind}{strike} {leg.expiry}")
    return f"L{h.layer} " + ", ".join(parts)


def settle(book: Book, market: Market, lookup: Lookup) -> Settled:
    """Settle every position whose settlement moment is at or before as_of at its
    intrinsic value against the looked-up settlement price. A hedge whose legs expire
    apart settles leg by leg; one price missing leaves the whole position awaiting."""
    now = market.as_of.timestamp()
    records: list[Closed] = []
    awaiting: list[Awaiting] = []
    condors = []
    for c in book.condors:
        if condor_settles_at(c) > now:
            condors.append(c)
            continue
        under, style = settlement_key(c)
        found = lookup(under, c.expiry, style)
        if found is None:
            awaiting.append(Awaiting(c.id, "condor", under, c.expiry, style))
            condors.append(c)
            continue
        value, source = found
        debit = condor_value(c, value)
        records.append(_record(c.id, "condor", describe_condor(c), c.quantity, c.credit, debit, c.opened,
                              c.expiry, 0.0, (c.credit - debit) * c.quantity * MULT[SPX],
                              f"settled {under} {style} {value:g} ({source})"))
    hedges = []
    for h in book.hedges:
        gone = [leg for leg in h.legs if leg_settles_at(leg) <= now]
        if not gone:
            hedges.append(h)
            continue
        prices = {}
        for leg in gone:
            key = leg_key(leg) + (leg.expiry,)
            if key not in prices:
                prices[key] = lookup(key[0], leg.expiry, key[1])
        missing = [k for k, v in prices.items() if v is None]
        if missing:
            under, style, day = missing[0]
            awaiting.append(Awaiting(h.id, "hedge", under, day, style))
            hedges.append(h)
            continue
        opened = sum(leg.ratio * leg.price for leg in gone)
        closing = sum(leg.ratio * leg_payoff(leg, prices[leg_key(leg) + (leg.expiry,)][0]) for leg in gone)
        cash = h.quantity * sum(leg.ratio * MULT[_LEG_CODE[leg.kind]]
                                * (leg_payoff(leg, prices[leg_key(leg) + (leg.expiry,)][0]) - leg.price)
                                for leg in gone)
        how = "; ".join(f"settled {u} {s} {v:g} ({src})" for (u, s, _), (v, src) in prices.items())
        last = max(leg.expiry for leg in gone)
        records.append(_record(h.id, "hedge", describe_legs(h, gone), h.quantity, opened, closing, h.opened,
                              last, 0.0, cash, how, layer=h.layer))
        rest = tuple(leg for leg in h.legs if leg not in gone)
        if rest:
            hedges.append(replace(h, legs=rest))
    new = replace(book, condors=tuple(condors), hedges=tuple(hedges), closed=book.closed + tuple(records))
    return Settled(new, tuple(records), tuple(awaiting))


def _record(id, what, description, quantity, open_price, close_price, opened, closed, commission,
            realized, how, layer=None) -> Closed:
    """A ledger record as the book file keeps it: prices to 6 decimals, dollars to the cent
    (so a record read back from the file is the record written)."""
    return Closed(id, what, description, quantity, round(open_price, 6), round(close_price, 6), opened,
                  closed, round(commission, 2), round(realized, 2), how, layer)


_CAP = {"vix": 500.0, "vxx": 1e5}  # the market file's highest VIX and VXX levels


def unit_value_range(h: Hedge) -> tuple[float, float]:
    """What one unit of a hedge can be worth, points. Legs of one expiry: between the least
    and the most its payoff takes at any underlying level (a European combination is priced
    inside its payoff's range); legs of several expiries: only the size bound."""
    cap = _CAP[h.legs[0].kind.split("_")[0]]
    if len({leg.expiry for leg in h.legs}) == 1:
        levels = [0.0, cap] + [leg.strike for leg in h.legs if leg.strike is not None]
        values = [sum(leg.ratio * leg_payoff(leg, x) for leg in h.legs) for x in levels]
        return min(values), max(values)
    size = sum(abs(leg.ratio) for leg in h.legs) * cap
    return -size, size


def hedge_multiplier(h: Hedge) -> float:
    """$ per point of one hedge unit: its legs' common multiplier."""
    mults = {MULT[_LEG_CODE[leg.kind]] for leg in h.legs}
    if len(mults) != 1:
        raise InputError(f"hedge {h.id} mixes futures and options: close its legs as separate hedges",
                         field="close")
    return mults.pop()


def close_position(book: Book, pid: str, quantity: int, price: float, commission: float,
                   on: date, how: str = "fill") -> tuple[Book, Closed]:
    """Close `quantity` of a position at `price` (per condor: the debit to buy it back;
    per hedge unit: what a unit sells for, points) less `commission` ($, total)."""
    for what, items in (("condor", book.condors), ("hedge", book.hedges)):
        pos = next((x for x in items if x.id == pid), None)
        if pos is not None:
            break
    else:
        raise InputError(f"no open position with id {pid!r}", field="id")
    if not isinstance(quantity, int) or not 1 <= quantity <= pos.quantity:
        raise InputError(f"quantity must be a whole number from 1 to {pos.quantity}, got {quantity!r}",
                         field="quantity")
    if not math.isfinite(price):
        raise InputError(f"price must be a number, got {price!r}", field="price")
    if not (math.isfinite(commission) and 0 <= commission <= 1e6):
        raise InputError(f"commission must be $0 to $1,000,000, got {commission!r}", field="commission")
    commission = round(commission, 2)  # the record keeps cents: realized must follow from it
    if what == "condor":
        if not 0 <= price <= pos.max_width:
            raise InputError(f"a condor's buy-back price lies from 0 to its widest wing {pos.max_width:g},"
                             f" got {price:g}", field="price")
        realized = (pos.credit - price) * quantity * MULT[SPX] - commission
        record = _record(pos.id, what, describe_condor(pos), quantity, pos.credit, price, pos.opened, on,
                        commission, realized, how)
    else:
        lo, hi = unit_value_range(pos)
        slack = 1e-9 * max(1.0, abs(lo), abs(hi))  # float sums only: a fill over the bound is refused
        if not lo - slack <= price <= hi + slack:
            raise InputError(f"hedge {pos.id}: a unit is worth from {lo:g} to {hi:g} points, got {price:g}",
                             field="price")
        unit = sum(leg.ratio * leg.price for leg in pos.legs)
        realized = (price - unit) * quantity * hedge_multiplier(pos) - commission
        record = _record(pos.id, what, describe_legs(pos), quantity, unit, price, pos.opened, on,
                        commission, realized, how, layer=pos.layer)
    left = pos.quantity - quantity
    keep = (replace(pos, quantity=left),) if left else ()
    if what == "condor":
        i = book.condors.index(pos)
        book = replace(book, condors=book.condors[:i] + keep + book.condors[i + 1:])
    else:
        i = book.hedges.index(pos)
        book = replace(book, hedges=book.hedges[:i] + keep + book.hedges[i + 1:])
    return replace(book, closed=book.closed + (record,)), record


def realized_by_id(book: Book) -> dict[str, float]:
    """The ledger summed per position id, to the cent."""
    out: dict[str, float] = defaultdict(float)
    for c in book.closed:
        out[c.id] += c.realized
    return {k: round(v, 2) for k, v in out.items()}


def market_file_lookup(market: Market) -> Lookup:
    """The settlement prices the market file gives ([[settlement]]); the history store's
    come after them (core.history.store.settlement_lookup)."""
    given = {(s.underlying, s.date, s.style): s.value for s in market.settlements}
    src = market.source or "the market file"

    def lookup(underlying: str, day: date, style: str):
        value = given.get((underlying, day, style))
        return None if value is None else (value, f"market file {src}")
    return lookup
