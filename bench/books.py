"""Plausible books and random legs for benches and tests.

Condors: short strikes 1.5-6% out of the money on a 5- or 25-point grid around the demo
SPX, wings 25-100 points, expiries among the next eight weekly/monthly SPX Fridays, a
credit of 1.1 x the current mark (what a trader who sold a bit earlier would hold).
Hedges: one position per ALVH layer on expiries listed in the demo market, entered at
0.9 x the current mark. Everything is seeded, so figures are comparable run to run.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.book.bookfile import load_book  # noqa: E402
from core.engine import analyze  # noqa: E402
from core.market.marketfile import load_market  # noqa: E402
from core.model.inputs import Book, Condor, Hedge, HedgeLeg, Market  # noqa: E402
from core.io.paths import DEMO_BOOK, DEMO_MARKET  # noqa: E402


def demo() -> tuple[Book, Market]:
    return load_book(DEMO_BOOK, demo=True), load_market(DEMO_MARKET, demo=True)


def spx_expiries(market: Market, n: int = 8) -> list[date]:
    """The next n Fridays after as_of (a holiday Friday moves to Thursday)."""
    d = market.as_of.date() + timedelta(days=1)
    out = []
    while len(out) < n:
        if d.weekday() == 4:
            out.append(d - timedelta(days=1) if (d.month, d.day) in ((12, 25), (1, 1), (7, 4)) else d)
        d += timedelta(days=1)
    return out


def random_condors(n: int, market: Market, seed: int = 0) -> tuple[Condor, ...]:
    """n condors with placeholder credits (see `with_model_credits`)."""
    rng = np.random.default_rng(seed)
    expiries = spx_expiries(market)
    out = []
    for i in range(n):
        step = 25.0 if rng.random() < 0.5 else 5.0
        snap = lambda x: float(np.round(x / step) * step)  # noqa: E731
        sp = snap(market.spx * (1 - rng.uniform(0.015, 0.06)))
        sc = snap(market.spx * (1 + rng.uniform(0.015, 0.06)))
        pw = max(step, snap(rng.uniform(25, 100)))
        cw = max(step, snap(rng.uniform(25, 100)))
        out.append(Condor(f"IC-{i + 1:04d}", expiries[rng.integers(len(expiries))],
                          int(rng.integers(1, 6)), sp - pw, sp, sc, sc + cw, credit=0.05))
    return tuple(out)


def layer_hedges(market: Market) -> tuple[Hedge, ...]:
    """L1 call on the nearest listed VIX expiry, L2 call spread 30-60 days out, L3 call on the
    farthest; strikes above the future (placeholder prices, see `with_model_credits`)."""
    listed = [d for d, _ in market.vix_futures]
    fut = dict(market.vix_futures)
    today = market.as_of.date()
    l1 = listed[0]
    l2 = next((d for d in listed if 30 <= (d - today).days <= 60), listed[len(listed) // 2])
    l3 = listed[-1]
    up = lambda d, m: float(np.ceil(fut[d] * m))  # noqa: E731
    return (
        Hedge("L1", 1, 4, (HedgeLeg("vix_call", l1, up(l1, 1.1), 1.0, 0.01),)),
        Hedge("L2", 2, 10, (HedgeLeg("vix_call", l2, up(l2, 1.1), 1.0, 0.01),
                            HedgeLeg("vix_call", l2, up(l2, 1.1) + 10, -1.0, 0.01))),
        Hedge("L3", 3, 5, (HedgeLeg("vix_call", l3, up(l3, 1.3), 1.0, 0.01),)),
    )


def with_model_credits(book: Book, market: Market, credit_mult: float = 1.1,
                       hedge_mult: float = 0.9) -> Book:
    """Credits = credit_mult x the model mark (kept below the wing width); hedge entry
    prices = hedge_mult x each leg's model price."""
    a = analyze(book, market)
    condors = []
    for c, r in zip(book.condors, a.condors):
        credit = round(min(max(credit_mult * r.mark, 0.05), 0.95 * c.max_width), 2)
        condors.append(replace(c, credit=credit))
    hedges = []
    for h, r in zip(book.hedges, a.hedges):
        legs = tuple(replace(leg, price=round(max(hedge_mult * price, 0.01), 2))
                     for leg, (_, _, price) in zip(h.legs, r.legs))
        hedges.append(replace(h, legs=legs))
    return replace(book, condors=tuple(condors), hedges=tuple(hedges))


def make_book(n_condors: int, market: Market, *, hedges: bool = True, seed: int = 0,
              equity: float = 250_000.0) -> Book:
    """A plausible book of n condors (+ one hedge per ALVH layer), priced consistently."""
    book = Book(equity=equity * max(1, n_condors / 20), condors=random_condors(n_condors, market, seed),
                hedges=layer_hedges(market) if hedges else (), source=f"<generated {n_condors} condors>")
    return with_model_credits(book, market)


def random_legs(n: int, seed: int = 0):
    """Random option inputs, SPX-like and VIX-like mixed: (is_call, S, K, T, r, q, sigma)."""
    rng = np.random.default_rng(seed)
    spx = rng.random(n) < 0.7
    S = np.where(spx, rng.uniform(5000, 8000, n), rng.uniform(12, 40, n))
    K = np.round(S * np.exp(rng.uniform(-0.2, 0.2, n)), 0)
    T = rng.uniform(1, 365, n) / 365
    r = np.full(n, 0.04)
    q = np.where(spx, 0.013, 0.04)  # Black-76 is BSM with q = r
    sigma = np.where(spx, rng.uniform(0.08, 0.4, n), rng.uniform(0.5, 1.5, n))
    return rng.random(n) < 0.5, S, K, T, r, q, sigma
