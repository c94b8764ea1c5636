"""Vega kept apart by unit, and the book's $ per +1 VIX point through the spot-vol map,
checked against an independent reprice: a second market built here with VIX + 1, each
future + e^(-kappa T), SPX vols x VIX'/VIX and VXX x (VIX'/VIX)^exponent."""
from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from core.book.bookfile import load_book
from core.engine import analyze
from core.market.marketfile import load_market
from core.model.inputs import Hedge, HedgeLeg, VolSurface, WhatIf
from core.io.paths import DEMO_BOOK, DEMO_MARKET

NY = ZoneInfo("America/New_York")


def vix_years(as_of: datetime, expiry: date) -> float:
    """VIX legs settle 09:30 New York; time in seconds / (365 x 86400)."""
    settle = datetime(expiry.year, expiry.month, expiry.day, 9, 30, tzinfo=NY)
    return (settle.astimezone(timezone.utc) - as_of.astimezone(timezone.utc)).total_seconds() / (365 * 86400)


def flat_vix_vol(m):
    """A flat VIX-option (and VXX) vol surface, so vols stay put when the futures move
    (the engine holds each leg's vol; a skewed surface would re-read it at the new future)."""
    return dataclasses.replace(m, vix_vol=VolSurface(0.85), vxx_vol=VolSurface(0.60))


def bumped(m, kappa: float, exponent: float, points: float = 1.0):
    """The market after VIX + points through the spot-vol map, written out by hand."""
    ratio = (m.vix + points) / m.vix
    futures = tuple((d, f + points * math.exp(-kappa * vix_years(m.as_of, d))) for d, f in m.vix_futures)
    spx_vol = VolSurface(m.spx_vol.atm * ratio, m.spx_vol.skew * ratio)  # atm + skew ln(K/F), all x ratio
    return dataclasses.replace(m, vix=m.vix + points, vix_futures=futures, spx_vol=spx_vol,
                               vxx=m.vxx * ratio ** exponent)


@pytest.fixture
def demo():
    book = load_book(DEMO_BOOK, demo=True)
    # one VXX call too, so every unit is present
    vxx = Hedge("VXX-C50", 3, 4, (HedgeLeg("vxx_call", date(2027, 3, 19), 50.0, 1, 2.0),))
    book = dataclasses.replace(book, hedges=book.hedges + (vxx,))
    return book, flat_vix_vol(load_market(DEMO_MARKET, demo=True))


def test_vix_point_is_the_reprice_at_vix_plus_one(demo):
    book, m = demo
    k, e = book.model.kappa, book.model.vxx_exponent
    base = analyze(book, m)
    up = analyze(book, bumped(m, k, e))
    t = base.totals
    assert up.at.vix == pytest.approx(m.vix + 1) and up.at.spx == m.spx
    assert t.vix_point == pytest.approx(up.totals.pnl - t.pnl, abs=1e-6)
    assert t.condor_vix_point == pytest.approx(up.totals.condor_pnl - t.condor_pnl, abs=1e-6)
    assert t.hedge_vix_point == pytest.approx(up.totals.hedge_pnl - t.hedge_pnl, abs=1e-6)
    assert t.vix_point == pytest.approx(t.condor_vix_point + t.hedge_vix_point)
    # short condors lose, long VIX calls gain when VIX rises
    assert t.condor_vix_point < 0 < t.hedge_vix_point


def test_vix_point_after_a_days_whatif_is_the_reprice_then(demo):
    """The +1 applies where the what-if priced: 10 days on, both markets age alike."""
    book, m = demo
    w = WhatIf(days=10)
    a = analyze(book, m, w)
    up = analyze(book, bumped(m, book.model.kappa, book.model.vxx_exponent), w)
    assert a.totals.vix_point == pytest.approx(up.totals.pnl - a.totals.pnl, abs=1e-6)


def test_vega_split_by_unit(demo):
    book, m = demo
    a = analyze(book, m)
    t = a.totals
    vix_ids = {h.hedge.id for h in a.hedges if h.hedge.legs[0].kind.startswith("vix_")}
    # condors are SPX legs only; the hedges are VIX options or VXX options, one kind each
    assert t.spx_vega == pytest.approx(sum(c.greeks.vega for c in a.condors))
    assert t.vix_vega == pytest.approx(sum(h.greeks.vega for h in a.hedges if h.hedge.id in vix_ids))
    assert t.vxx_vega == pytest.approx(sum(h.greeks.vega for h in a.hedges if h.hedge.id not in vix_ids))
    assert t.spx_vega < 0 < t.vix_vega and t.vxx_vega > 0
    assert t.greeks.vega == pytest.approx(t.spx_vega + t.vix_vega + t.vxx_vega)  # the old mixed sum


def test_vix_point_first_order_from_spx_vega():
    """A condor book alone: the one-point reprice is close to the slope (a 0.001-point
    reprice), since SPX vols move only by 1/VIX of themselves per VIX point."""
    book = load_book(DEMO_BOOK, demo=True)
    book = dataclasses.replace(book, hedges=())
    m = load_market(DEMO_MARKET, demo=True)
    t = analyze(book, m).totals
    small = analyze(book, bumped(m, 2.0, 0.5, points=0.001)).totals.pnl - t.pnl
    assert t.vix_point == pytest.approx(small / 0.001, rel=0.05)  # curvature over one point is small
    assert t.vix_point < 0
