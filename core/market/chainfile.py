"""A read option chain into the market: as_of and the index level, the rate and dividend
the chain implies, each expiry's forward and smile, and bid/ask marks for the legs the book
holds. Pure: a Chain, a Market and a Book in, a Market out."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from core.model.inputs import Book, Mark, Market, Smile

CARRY_DAYS = (7, 120)  # expiries whose parity fit gives the book's one rate and dividend


@dataclass(frozen=True)
class Imported:
    market: Market
    smiles: int  # slices written
    marks: int  # legs of the book marked from the chain
    unmarked: tuple[str, ...]  # legs the book holds that the chain has no usable quote for
    carry_from: int  # expiries whose rate and dividend were averaged


def market_from_chain(chain, market: Market, book: Book) -> Imported:
    from core.market.marketfile import LEVELS
    from core.model.errors import InputError

    vix = all(e.root.startswith("VIX") for e in chain.expiries)
    lo, hi = LEVELS["vix" if vix else "spx"]
    if not lo <= chain.header.last <= hi:
        raise InputError(f"the index's last {chain.header.last:g} is outside {lo:g} to {hi:,g}",
                         file=chain.source, line=1, field="Last")
    smiles = tuple(Smile(e.expiry, e.root, e.forward, e.discount,
                         (e.svi.a, e.svi.b, e.svi.rho, e.svi.m, e.svi.sigma), (e.rmse or 0.0) / 100)
                   for e in chain.expiries if e.svi is not None and e.forward and e.t > 0)
    out = replace(market, as_of=chain.header.quote_time)
    carry = [e for e in chain.expiries if e.rate is not None and CARRY_DAYS[0] <= e.t * 365 <= CARRY_DAYS[1]]
    if vix:
        futures = dict(market.vix_futures)
        futures.update({e.expiry: round(float(e.forward), 4) for e in chain.expiries
                        if e.forward and e.root == "VIX" and e.t > 0})
        out = replace(out, vix=chain.header.last, vix_smiles=smiles,
                      vix_futures=tuple(sorted((d, f) for d, f in futures.items() if d >= out.as_of.date())))
    else:
        out = replace(out, spx=chain.header.last, spx_smiles=smiles)
        if carry:  # one rate and dividend for the engine: the median over liquid expiries
            out = replace(out, rate=float(np.median([e.rate for e in carry])),
                          dividend_yield=float(np.median([e.dividend for e in carry])))
    marks, unmarked = _marks(chain, book, vix)
    keep = {(m.kind, m.expiry, m.strike, m.root) for m in marks}
    old = tuple(m for m in market.marks if (m.kind, m.expiry, m.strike, m.root) not in keep
                and m.expiry >= out.as_of.date())
    out = replace(out, marks=old + marks)
    return Imported(out, len(smiles), len(marks), unmarked, 0 if vix else len(carry))


def _marks(chain, book: Book, vix: bool) -> tuple[tuple[Mark, ...], tuple[str, ...]]:
    """A bid/ask mark for every leg the book holds that the chain quotes usably."""
    wanted: list[tuple[str, str, date, float]] = []  # (kind, root, expiry, strike)
    if not vix:
        for c in book.condors:
            for kind, k in (("put", c.long_put), ("put", c.short_put), ("call", c.short_call), ("call", c.long_call)):
                wanted.append((kind, c.root, c.expiry, k))
    else:
        for h in book.hedges:
            for leg in h.legs:
                if leg.kind in ("vix_call", "vix_put"):
                    wanted.append((leg.kind[4:], "VIX", leg.expiry, leg.strike))
    marks, missing = {}, []
    for kind, root, expiry, strike in dict.fromkeys(wanted):
        name = f"{'vix' if vix else 'spx'}_{kind}"
        try:
            q = chain.quote(root, expiry, kind, strike)
        except KeyError:
            missing.append(f"{root} {expiry} {strike:g} {kind}: not in the chain")
            continue
        if q.reason != "usable":
            missing.append(f"{root} {expiry} {strike:g} {kind}: {q.reason}")
            continue
        marks[(name, expiry, strike, root)] = Mark(name, expiry, float(strike), q.mid, root=root,
                                                   bid=q.bid, ask=q.ask)
    return tuple(marks.values()), tuple(missing)
