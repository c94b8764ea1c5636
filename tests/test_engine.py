"""analyze() against independent references: hand-worked condors, vollib per leg with
time and vols resolved here from the spec (not from core.pricing.legs), and property tests."""
from __future__ import annotations

import copy
import dataclasses
import math
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vollib.black import black as v_black
from vollib.black.greeks import analytical as v_black_greeks
from vollib.black_scholes_merton import black_scholes_merton as v_bsm
from vollib.black_scholes_merton.greeks import analytical as v_bsm_greeks

from core.engine import analyze
from core.model.errors import InputError
from core.model.inputs import (Book, Condor, Hedge, HedgeLeg, Mark, Market, ModelSettings,
                        VolSurface, WhatIf)
from core.io.paths import DEMO_BOOK, DEMO_MARKET
from core.book.bookfile import load_book
from core.market.marketfile import load_market
from core.pricing.kernels import bsm

NY = ZoneInfo("America/New_York")
YEAR = 365 * 86400
AS_OF = datetime(2026, 11, 20, 16, 15, tzinfo=NY)
FUTURES = ((date(2026, 11, 25), 16.9), (date(2026, 12, 2), 17.2), (date(2026, 12, 16), 17.6),
           (date(2027, 1, 20), 18.7), (date(2027, 2, 17), 19.4), (date(2027, 7, 21), 21.0))
CENT = 0.01


# ---- independent reference ---------------------------------------------------------------

def years(as_of: datetime, expiry: date, hour: int, minute: int) -> float:
    """Seconds from as_of to expiry at hh:mm New York, over 365 x 86400 (UTC arithmetic:
    Python's same-tzinfo subtraction ignores DST, so convert first)."""
    settle = datetime(expiry.year, expiry.month, expiry.day, hour, minute, tzinfo=NY)
    return (settle.astimezone(timezone.utc) - as_of.astimezone(timezone.utc)).total_seconds() / YEAR


def spx_years(m: Market, expiry: date, days: float = 0.0) -> float:
    return years(m.as_of, expiry, 16, 0) - days / 365


def vix_years(m: Market, expiry: date, days: float = 0.0) -> float:
    return years(m.as_of, expiry, 9, 30) - days / 365


def spx_vol(m: Market, K: float, expiry: date) -> float:
    """Live vol of an SPX strike: atm + skew ln(K/F), F = S e^{(r-q)T} (held per strike)."""
    T = spx_years(m, expiry)
    F = m.spx * math.exp((m.rate - m.dividend_yield) * T)
    return m.spx_vol.atm + m.spx_vol.skew * math.log(K / F)


def condor_legs(c: Condor):
    """(strike, flag, signed units per condor) long put, short put, short call, long call."""
    return ((c.long_put, "p", 1), (c.short_put, "p", -1), (c.short_call, "c", -1), (c.long_call, "c", 1))


def ref_condor_value(c: Condor, m: Market, S: float, days: float = 0.0, vol_scale: float = 1.0,
                     fn=v_bsm) -> float:
    """$ value of the position (negative for a short condor) with vollib, vols per strike."""
    T = spx_years(m, c.expiry, days)
    return sum(u * c.quantity * 100 * fn(f, S, K, T, m.rate, spx_vol(m, K, c.expiry) * vol_scale,
                                          m.dividend_yield)
               for K, f, u in condor_legs(c))


def ref_condor_pnl(c: Condor, m: Market, S: float, **kw) -> float:
    return ref_condor_value(c, m, S, **kw) + c.credit * c.quantity * 100


def expiry_payoff(c: Condor, S: float) -> float:
    """$ P&L at expiry, by hand: credit minus what the short spreads pay."""
    put = max(c.short_put - S, 0) - max(c.long_put - S, 0)
    call = max(S - c.short_call, 0) - max(S - c.long_call, 0)
    return (c.credit - put - call) * c.quantity * 100


def vix_vol(m: Market, K: float, F: float) -> float:
    return m.vix_vol.atm + m.vix_vol.skew * math.log(K / F)


def market(**kw) -> Market:
    base = dict(as_of=AS_OF, spx=6850.0, vix=16.5, rate=0.04, dividend_yield=0.013,
                spx_vol=VolSurface(0.155, -0.8), vix_futures=FUTURES, vix_vol=VolSurface(0.85, 0.5),
                vxx=42.0)
    base.update(kw)
    return Market(**base)


def condor(cid="IC", expiry=date(2026, 12, 18), quantity=2, strikes=(6350, 6450, 7150, 7250),
           credit=19.4) -> Condor:
    return Condor(cid, expiry, quantity, *map(float, strikes), credit=credit)


def vix_hedge(hid="H", layer=2, quantity=10, legs=((20.0, 1, 1.35), (30.0, -1, 0.55)),
              expiry=date(2027, 1, 20), kind="vix_call") -> Hedge:
    return Hedge(hid, layer, quantity, tuple(HedgeLeg(kind, expiry, k, r, p) for k, r, p in legs))


def book(condors=(), hedges=(), **model) -> Book:
    return Book(250_000.0, tuple(condors), tuple(hedges), model=ModelSettings(**model))


@pytest.fixture(scope="module")
def demo():
    b, m = load_book(DEMO_BOOK, demo=True), load_market(DEMO_MARKET, demo=True)
    return b, m, analyze(b, m)


def sign_changes(f, lo, hi, n=4000):
    """Reference count of roots of f on [lo, hi] by a dense scan."""
    xs = np.linspace(lo, hi, n)
    ys = np.array([f(x) for x in xs])
    return int(np.sum(ys[:-1] * ys[1:] < 0))


# ---- hand-worked condors -------------------------------------------------------------------

def test_condor_expiry_breakevens_and_max_profit_loss_by_hand():
    c = condor(quantity=3, strikes=(6500, 6600, 7100, 7200), credit=12.5)
    r = analyze(book([c]), market()).condors[0]
    assert r.breakevens_expiry == pytest.approx((6587.5, 7112.5), abs=1e-9)
    assert r.max_profit == pytest.approx(12.5 * 3 * 100)  # 3,750
    assert r.max_loss == pytest.approx((100 - 12.5) * 3 * 100)  # 26,250
    for x in r.breakevens_expiry:
        assert expiry_payoff(c, x) == pytest.approx(0, abs=1e-9)


def test_asymmetric_condor_and_a_side_that_cannot_lose():
    # wider put wing: max loss is on the put side
    c = condor(quantity=1, strikes=(6400, 6600, 7100, 7150), credit=20.0)
    r = analyze(book([c]), market()).condors[0]
    assert r.breakevens_expiry == pytest.approx((6580.0, 7120.0))
    assert r.max_loss == pytest.approx((200 - 20) * 100)
    # credit above the call wing (25 < 30 < 100): the call side ends in profit, no break-even there
    c2 = condor(quantity=1, strikes=(6500, 6600, 7100, 7125), credit=30.0)
    r2 = analyze(book([c2]), market()).condors[0]
    assert r2.breakevens_expiry == pytest.approx((6570.0,))
    assert expiry_payoff(c2, 8000) == pytest.approx(5 * 100)
    assert r2.max_loss == pytest.approx(70 * 100)


def test_book_expiry_breakevens_sum_of_condors_by_hand():
    a = condor("A", strikes=(6500, 6600, 7100, 7200), quantity=1, credit=10.0)
    b = condor("B", strikes=(6400, 6500, 7200, 7300), quantity=1, credit=5.0)
    # Combined expiry payoff (credit 15): on the put side it loses 1 pt/pt below 6600 from A
    # and again below 6500 from B: 15 - (6600 - S) = 0 -> S = 6585. Call side: 7100 + 15 = 7115.
    res = analyze(book([a, b]), market())
    assert res.totals.breakevens_expiry == pytest.approx((6585.0, 7115.0))
    # with 3 x B the put side is flat -7,500 + ... : 10+15=25 credit; A loses from 6600,
    # at 6500 the payoff is 25 - 100 = -75 < 0 so the root is in A's wing: 6600 - 25 = 6575
    b3 = dataclasses.replace(b, quantity=3)
    res3 = analyze(book([a, b3]), market())
    assert res3.totals.breakevens_expiry == pytest.approx((6575.0, 7125.0))
    for x in res3.totals.breakevens_expiry:
        assert expiry_payoff(a, x) + expiry_payoff(b3, x) == pytest.approx(0, abs=1e-9)


def test_book_expiry_roots_where_the_payoff_recovers():
    """Two rich condors with disjoint profit zones: the book payoff is -60 pts outside,
    +40 in each short range and -60 between them, so it has four roots, by hand:
    6000 + 60 = 6060, 6300 + 40 = 6340, 6900 + 60 = 6960, 7200 + 40 = 7240."""
    m = market()
    a = condor("A", strikes=(6000, 6100, 6300, 6400), quantity=1, credit=70.0)
    b = condor("B", strikes=(6900, 7000, 7200, 7300), quantity=1, credit=70.0)
    res = analyze(book([a, b]), m)
    assert res.totals.breakevens_expiry == pytest.approx((6060.0, 6340.0, 6960.0, 7240.0))
    # T+0 as well: every root found, each one a root of the vollib reference
    f = lambda S: ref_condor_pnl(a, m, S) + ref_condor_pnl(b, m, S)  # noqa: E731
    roots = res.totals.breakevens_t0
    for x in roots:
        assert abs(f(x)) < CENT, x
    assert len(roots) == sign_changes(f, 0.7 * m.spx, 1.3 * m.spx, 800)


# ---- T+0 break-evens ---------------------------------------------------------------------

def test_demo_t0_breakevens_zero_pnl_and_complete(demo):
    b, m, a = demo
    for c, r in zip(b.condors, a.condors):
        assert len(r.breakevens_t0) == 2, r
        assert list(r.breakevens_t0) == sorted(r.breakevens_t0)
        for x in r.breakevens_t0:
            assert abs(ref_condor_pnl(c, m, x)) < CENT, (c.id, x)
        # nothing missed: a dense vollib scan from -30% to +30% finds as many roots
        f = lambda S, c=c: ref_condor_pnl(c, m, S)  # noqa: E731
        assert sign_changes(f, 0.7 * m.spx, 1.3 * m.spx, 600) == len(r.breakevens_t0)


def test_demo_book_t0_breakevens(demo):
    b, m, a = demo
    roots = a.totals.breakevens_t0
    assert len(roots) >= 2 and list(roots) == sorted(roots)
    f = lambda S: sum(ref_condor_pnl(c, m, S) for c in b.condors)  # noqa: E731
    for x in roots:
        assert abs(f(x)) < CENT, x
    assert sign_changes(f, 0.7 * m.spx, 1.3 * m.spx, 600) == len(roots)


def test_book_t0_with_shared_legs_and_mixed_expiries():
    """Two condors holding the same options (priced once in the engine) plus another expiry."""
    m = market()
    cs = [condor("A", quantity=1), condor("B", quantity=3),
          condor("C", expiry=date(2026, 12, 4), strikes=(6550, 6600, 7050, 7100), quantity=2, credit=12.6)]
    a = analyze(book(cs), m)
    f = lambda S: sum(ref_condor_pnl(c, m, S) for c in cs)  # noqa: E731
    assert a.totals.breakevens_t0
    for x in a.totals.breakevens_t0:
        assert abs(f(x)) < CENT
    assert sign_changes(f, 0.7 * m.spx, 1.3 * m.spx, 600) == len(a.totals.breakevens_t0)
    # and the book P&L is the sum of the condors'
    assert a.totals.condor_pnl == pytest.approx(f(m.spx), abs=1e-6)


NARROW = [
    # 3 days, 6770/6820/6850/6895 for 32.80: in profit only between ~6828.6 and ~6837.6
    (date(2026, 11, 23), (6770, 6820, 6850, 6895), 32.8, (6820, 6833, 6840)),
    # 34 days, 6560/6590/7240/7330 for 8.80 (now -$97): in profit only between ~6753.3 and ~6780.8
    (date(2026, 12, 24), (6560, 6590, 7240, 7330), 8.8, (6740, 6766, 6800)),
]


@pytest.mark.parametrize("expiry,strikes,credit,probe", NARROW)
def test_condor_with_a_narrow_profit_window(expiry, strikes, credit, probe):
    """The condor's T+0 break-evens must list both roots, as the one-condor book does."""
    m = market()
    c = condor(expiry=expiry, quantity=1, strikes=strikes, credit=credit)
    f = lambda S: ref_condor_pnl(c, m, S)  # noqa: E731
    below, inside, above = probe
    assert f(below) < 0 < f(inside) and f(above) < 0  # the reference: two roots close together
    a = analyze(book([c]), m)
    assert len(a.totals.breakevens_t0) == 2  # the book scan finds them
    assert a.condors[0].breakevens_t0 == pytest.approx(a.totals.breakevens_t0, abs=0.01)


# ---- P&L, mark and Greeks per position --------------------------------------------------

def test_condor_mark_pnl_and_greeks_vs_vollib(demo):
    b, m, a = demo
    for c, r in zip(b.condors, a.condors):
        T = spx_years(m, c.expiry)
        value = ref_condor_value(c, m, m.spx)
        assert r.pnl == pytest.approx(value + c.credit * c.quantity * 100, abs=1e-6)
        assert r.mark == pytest.approx(-value / (c.quantity * 100), abs=1e-9)
        assert r.dte == pytest.approx(T * 365, abs=1e-9)
        for name in ("delta", "gamma", "theta", "vega"):
            fn = getattr(v_bsm_greeks, name)
            ref = sum(u * c.quantity * 100 * fn(f, m.spx, K, T, m.rate, spx_vol(m, K, c.expiry),
                                                 m.dividend_yield) for K, f, u in condor_legs(c))
            assert getattr(r.greeks, name) == pytest.approx(ref, rel=1e-9, abs=1e-9), (c.id, name)
        # a short condor near the money: short gamma and vega, long theta
        assert r.greeks.gamma < 0 and r.greeks.vega < 0 and r.greeks.theta > 0


def test_hedge_greeks_and_book_totals_vs_vollib(demo):
    b, m, a = demo
    futures = dict(m.vix_futures)
    totals = dict(delta=0.0, gamma=0.0, theta=0.0, vega=0.0)
    for h, r in zip(b.hedges, a.hedges):
        ref = dict(delta=0.0, gamma=0.0, theta=0.0, vega=0.0)
        mark = 0.0
        for leg in h.legs:
            F, T = futures[leg.expiry], vix_years(m, leg.expiry)
            args = ("c", F, leg.strike, T, m.rate, vix_vol(m, leg.strike, F))
            mark += leg.ratio * v_black(*args)
            for name in ref:
                ref[name] += h.quantity * leg.ratio * 100 * getattr(v_black_greeks, name)(*args)
        assert r.mark == pytest.approx(mark, abs=1e-9)
        assert r.pnl == pytest.approx((mark - sum(l.ratio * l.price for l in h.legs)) * h.quantity * 100,
                                      abs=1e-6)
        for name, value in ref.items():
            assert getattr(r.greeks, name) == pytest.approx(value, rel=1e-9, abs=1e-9), (h.id, name)
        totals["theta"] += ref["theta"]
        totals["vega"] += ref["vega"]
    for r in a.condors:
        for name in totals:
            totals[name] += getattr(r.greeks, name)
    g = a.totals.greeks
    # book delta and gamma are SPX legs' (VIX deltas are per VIX point, not addable)
    assert g.delta == pytest.approx(totals["delta"], rel=1e-12)
    assert g.gamma == pytest.approx(totals["gamma"], rel=1e-12)
    assert g.theta == pytest.approx(totals["theta"], rel=1e-12)
    assert g.vega == pytest.approx(totals["vega"], rel=1e-12)
    assert a.totals.pnl == pytest.approx(sum(r.pnl for r in a.condors) + sum(r.pnl for r in a.hedges))


def test_beta_weighted_delta_of_a_hedge_is_its_spx_sensitivity():
    """A VIX hedge alone: its SPX-equivalent delta equals d(value)/d(SPX) through the
    spot-vol map (central difference of what-if SPX moves), by hand: own delta x
    e^{-kappa T} x beta x VIX / SPX."""
    m = market()
    h = vix_hedge()
    bk = book(hedges=[h], beta=-4.0, kappa=2.0)
    a = analyze(bk, m)
    r = a.hedges[0]
    T = vix_years(m, h.legs[0].expiry)
    assert r.beta_delta == pytest.approx(r.greeks.delta * math.exp(-2.0 * T) * -4.0 * m.vix / m.spx,
                                         rel=1e-9)
    eps = 1e-5
    up = analyze(bk, m, WhatIf(spx_move=eps)).hedges[0].value
    dn = analyze(bk, m, WhatIf(spx_move=-eps)).hedges[0].value
    assert r.beta_delta == pytest.approx((up - dn) / (2 * eps * m.spx), rel=1e-4)
    assert r.beta_delta < 0  # long VIX calls gain when SPX falls
    assert a.totals.beta_weighted_delta == pytest.approx(r.beta_delta, rel=1e-12)


def test_beta_weighted_delta_of_the_book_adds_condor_deltas(demo):
    b, m, a = demo
    assert a.totals.beta_weighted_delta == pytest.approx(
        sum(r.greeks.delta for r in a.condors) + sum(r.beta_delta for r in a.hedges), rel=1e-12)


# ---- VIX instruments ---------------------------------------------------------------------

def test_vix_call_uses_the_future_of_its_own_expiry_hand_example():
    """Long 1 VIX Jan-20 20 call: F = 18.7 (not spot 16.5); T = 2026-11-20 16:15 EST to
    2027-01-20 09:30 EST = 60 days 17h15m; vol = 0.85 + 0.5 ln(20/18.7)."""
    m = market()
    h = vix_hedge(quantity=1, legs=((20.0, 1, 1.0),))
    r = analyze(book(hedges=[h]), m).hedges[0]
    T = (60 * 86400 + 17 * 3600 + 15 * 60) / YEAR
    vol = 0.85 + 0.5 * math.log(20 / 18.7)
    price = v_black("c", 18.7, 20.0, T, 0.04, vol)
    underlying, leg_vol, leg_price = r.legs[0]
    assert underlying == 18.7
    assert leg_vol == pytest.approx(vol, abs=1e-12)
    assert leg_price == pytest.approx(price, abs=1e-9)
    assert r.mark == pytest.approx(price, abs=1e-9)
    assert r.pnl == pytest.approx((price - 1.0) * 100, abs=1e-7)
    assert r.days_left == pytest.approx(T * 365, abs=1e-9)
    spot_price = v_black("c", 16.5, 20.0, T, 0.04, 0.85 + 0.5 * math.log(20 / 16.5))
    assert abs(r.mark - spot_price) > 0.1  # would have been noticeably wrong on spot VIX
    # delta is against the future: quantity x 100 x dV/dF
    assert r.greeks.delta == pytest.approx(100 * v_black_greeks.delta("c", 18.7, 20.0, T, 0.04, vol),
                                           rel=1e-10)


def test_vix_put_and_butterfly_ratios():
    m = market()
    fly = vix_hedge(quantity=3, legs=((20.0, 1, 1.2), (25.0, -2, 0.7), (30.0, 1, 0.45)))
    put = vix_hedge("P", quantity=2, legs=((18.0, 1, 1.5),), kind="vix_put", expiry=date(2027, 2, 17))
    a = analyze(book(hedges=[fly, put]), m)
    T = vix_years(m, date(2027, 1, 20))
    ref = sum(r * v_black("c", 18.7, K, T, m.rate, vix_vol(m, K, 18.7)) for K, r, _ in
              ((20.0, 1, 0), (25.0, -2, 0), (30.0, 1, 0)))
    assert a.hedges[0].mark == pytest.approx(ref, abs=1e-9)
    assert a.hedges[0].pnl == pytest.approx((ref - (1.2 - 1.4 + 0.45)) * 300, abs=1e-6)
    T2 = vix_years(m, date(2027, 2, 17))
    ref_put = v_black("p", 19.4, 18.0, T2, m.rate, vix_vol(m, 18.0, 19.4))
    assert a.hedges[1].mark == pytest.approx(ref_put, abs=1e-9)
    assert a.hedges[1].greeks.delta < 0


def test_vix_future_multiplier_1000_and_kappa():
    m = market()
    fut = Hedge("VX", 3, 2, (HedgeLeg("vix_future", date(2026, 12, 16), None, 1.0, 17.0),))
    bk = book(hedges=[fut], kappa=2.0)
    r = analyze(bk, m).hedges[0]
    assert r.mark == pytest.approx(17.6)
    assert r.pnl == pytest.approx((17.6 - 17.0) * 1000 * 2)  # $1,200
    assert r.value == pytest.approx(17.6 * 1000 * 2)
    assert r.greeks.delta == pytest.approx(2 * 1000)
    assert (r.greeks.gamma, r.greeks.theta, r.greeks.vega) == (0, 0, 0)
    # spot VIX +2 points (what-if): the future takes e^{-kappa T} of it
    T = vix_years(m, date(2026, 12, 16))
    moved = analyze(bk, m, WhatIf(vix_move=2.0)).hedges[0]
    assert moved.pnl == pytest.approx((17.6 + 2.0 * math.exp(-2.0 * T) - 17.0) * 2000, abs=1e-6)
    short = Hedge("VXs", 3, 1, (HedgeLeg("vix_future", date(2026, 12, 16), None, -1.0, 18.0),))
    assert analyze(book(hedges=[short]), m).hedges[0].pnl == pytest.approx((18.0 - 17.6) * 1000)


def test_vxx_call_is_bsm_on_vxx_with_scaled_vix_vol():
    m = market(vxx_vol=None)
    h = Hedge("VXX", 3, 5, (HedgeLeg("vxx_call", date(2027, 1, 15), 50.0, 1.0, 2.0),))
    a = analyze(book(hedges=[h]), m)
    T = spx_years(m, date(2027, 1, 15))  # VXX options settle like equity options, 16:00
    fwd = 42.0 * math.exp(0.04 * T)
    vol = 0.85 * 0.5 + 0.5 * math.log(50 / fwd)
    ref = v_bsm("c", 42.0, 50.0, T, 0.04, vol, 0.0)
    assert a.hedges[0].mark == pytest.approx(ref, abs=1e-9)
    assert any("VXX vol" in n for n in a.assumptions)


def test_a_vxx_call_beyond_the_vix_futures_curve_still_prices():
    """VXX options price on VXX itself: no VIX future is needed at their expiry."""
    m = market(vxx_vol=None)
    h = Hedge("VXX", 3, 5, (HedgeLeg("vxx_call", date(2028, 1, 21), 50.0, 1.0, 2.0),))
    T = spx_years(m, date(2028, 1, 21))
    vol = 0.85 * 0.5 + 0.5 * math.log(50 / (42.0 * math.exp(0.04 * T)))
    assert analyze(book(hedges=[h]), m).hedges[0].mark == pytest.approx(v_bsm("c", 42.0, 50.0, T, 0.04, vol, 0.0))


# ---- time to expiry ---------------------------------------------------------------------

def test_time_to_expiry_by_hand_and_across_dst():
    # Friday 2027-03-12 10:00 EST to Friday 2027-03-19 16:00 EDT: clocks jump on 03-14,
    # so 7 days 5 hours of real time (a naive wall-clock difference says 7 days 6 hours).
    as_of = datetime(2027, 3, 12, 10, 0, tzinfo=NY)
    m = market(as_of=as_of, vix_futures=((date(2027, 3, 17), 18.0), (date(2027, 4, 21), 19.0)))
    c = condor(expiry=date(2027, 3, 19), strikes=(6500, 6600, 7100, 7200), credit=5.0)
    h = vix_hedge(quantity=1, legs=((20.0, 1, 1.0),), expiry=date(2027, 3, 17))
    a = analyze(book([c], [h]), m)
    assert a.condors[0].dte == pytest.approx(7 + 5 / 24, abs=1e-9)
    # VIX 03-17 09:30 EDT: 4 days 23.5 hours minus the lost hour = 4 days 22.5 hours
    assert a.hedges[0].days_left == pytest.approx(4 + 22.5 / 24, abs=1e-9)
    T = (4 * 86400 + 22.5 * 3600) / YEAR
    assert a.hedges[0].mark == pytest.approx(
        v_black("c", 18.0, 20.0, T, m.rate, vix_vol(m, 20.0, 18.0)), abs=1e-9)
    # and the condor is priced at its T
    assert a.condors[0].pnl == pytest.approx(ref_condor_pnl(c, m, m.spx), abs=1e-6)
    # autumn: 2026-10-28 12:00 EDT to 2026-11-18 09:30 EST, clocks fall back on 11-01
    as_of = datetime(2026, 10, 28, 12, 0, tzinfo=NY)
    m2 = market(as_of=as_of, vix_futures=((date(2026, 11, 18), 17.0),))
    h2 = vix_hedge(quantity=1, legs=((20.0, 1, 1.0),), expiry=date(2026, 11, 18))
    assert analyze(book(hedges=[h2]), m2).hedges[0].days_left == pytest.approx(20 + 22.5 / 24, abs=1e-9)


def test_as_of_with_an_offset_is_the_same_moment():
    """as_of in UTC (21:15Z) is 16:15 New York in November: same analysis as the demo."""
    m_ny = market()
    m_utc = market(as_of=datetime(2026, 11, 20, 21, 15, tzinfo=timezone.utc))
    bk = book([condor()], [vix_hedge()])
    a, b = analyze(bk, m_ny), analyze(bk, m_utc)
    assert a.condors[0].dte == pytest.approx(b.condors[0].dte, abs=1e-12)
    assert a.totals.pnl == pytest.approx(b.totals.pnl, abs=1e-9)


def test_valuation_time_is_reported_in_new_york(demo):
    _, m, a = demo
    assert a.at.time == m.as_of
    assert a.at.time.utcoffset().total_seconds() == -5 * 3600


# ---- interpolated VIX futures -----------------------------------------------------------

def test_missing_vix_future_is_interpolated_in_time_and_flagged():
    m = market()
    expiry = date(2027, 1, 6)  # between the listed 2026-12-16 (17.6) and 2027-01-20 (18.7)
    h = vix_hedge(quantity=1, legs=((20.0, 1, 1.0),), expiry=expiry)
    a = analyze(book(hedges=[h]), m)
    t = lambda d: datetime(d.year, d.month, d.day, 9, 30, tzinfo=NY).timestamp()  # noqa: E731
    w = (t(expiry) - t(date(2026, 12, 16))) / (t(date(2027, 1, 20)) - t(date(2026, 12, 16)))
    F = 17.6 + w * (18.7 - 17.6)
    assert a.hedges[0].legs[0][0] == pytest.approx(F, abs=1e-12)
    T = vix_years(m, expiry)
    assert a.hedges[0].mark == pytest.approx(v_black("c", F, 20.0, T, m.rate, vix_vol(m, 20.0, F)),
                                             abs=1e-9)
    notes = [n for n in a.assumptions if "interpolated" in n]
    assert len(notes) == 1 and "2027-01-06" in notes[0] and f"{F:.2f}" in notes[0]
    # listed expiries make no such note
    a2 = analyze(book(hedges=[vix_hedge()]), m)
    assert not any("interpolated" in n for n in a2.assumptions)


def test_future_before_the_first_listed_interpolates_from_spot_vix():
    m = market()
    expiry = date(2026, 11, 23)  # before 2026-11-25 (16.9): between spot 16.5 at as_of and it
    h = vix_hedge(quantity=1, legs=((18.0, 1, 0.3),), expiry=expiry)
    F = analyze(book(hedges=[h]), m).hedges[0].legs[0][0]
    t0 = AS_OF.timestamp()
    t = lambda d: datetime(d.year, d.month, d.day, 9, 30, tzinfo=NY).timestamp()  # noqa: E731
    w = (t(expiry) - t0) / (t(date(2026, 11, 25)) - t0)
    assert F == pytest.approx(16.5 + w * (16.9 - 16.5), abs=1e-12)


def test_vix_leg_after_the_last_listed_future_is_an_input_error():
    m = market()
    h = vix_hedge(expiry=date(2027, 9, 15))
    with pytest.raises(InputError, match="no VIX future"):
        analyze(book(hedges=[h]), m)
    with pytest.raises(InputError, match="no VIX future"):
        analyze(book(hedges=[vix_hedge()]), market(vix_futures=()))


# ---- marks -> implied vol -----------------------------------------------------------------

def test_spx_marks_are_reproduced_through_implied_vol():
    c = condor(quantity=1, strikes=(6500, 6600, 7100, 7200), credit=15.0, expiry=date(2026, 12, 18))
    marks = (("spx_put", 6500.0, 6.10), ("spx_put", 6600.0, 11.95),
             ("spx_call", 7100.0, 4.40), ("spx_call", 7200.0, 1.35))
    m = market(marks=tuple(Mark(k, c.expiry, K, p) for k, K, p in marks))
    r = analyze(book([c]), m).condors[0]
    # debit to close = short put + short call - long put - long call, from the marks
    assert r.mark == pytest.approx(11.95 + 4.40 - 6.10 - 1.35, abs=1e-8)
    assert r.pnl == pytest.approx((15.0 - r.mark) * 100, abs=1e-6)
    a = analyze(book([c]), m)
    notes = [n for n in a.assumptions if "implied from mark" in n]
    assert len(notes) == 4


def test_vix_mark_is_reproduced_and_changes_the_vol():
    m0 = market()
    h = vix_hedge(quantity=1, legs=((20.0, 1, 1.0),))
    m = market(marks=(Mark("vix_call", date(2027, 1, 20), 20.0, 1.85),))
    r0, r = analyze(book(hedges=[h]), m0).hedges[0], analyze(book(hedges=[h]), m).hedges[0]
    assert r.mark == pytest.approx(1.85, abs=1e-9)
    assert r.legs[0][2] == pytest.approx(1.85, abs=1e-9)
    assert r.legs[0][1] != pytest.approx(r0.legs[0][1], abs=1e-6)


def test_a_mark_below_intrinsic_is_an_input_error():
    c = condor(quantity=1, strikes=(6500, 6600, 7100, 7200), credit=15.0)
    m = market(marks=(Mark("spx_call", c.expiry, 6600.0, 100.0),  # not in the condor: ignored
                      Mark("spx_put", c.expiry, 7100.0, 1.0),))  # not in the condor either
    analyze(book([c]), m)
    c2 = condor(quantity=1, strikes=(6500, 6600, 6800, 7200), credit=15.0)
    bad = market(spx=6900.0, marks=(Mark("spx_call", c2.expiry, 6800.0, 50.0),))  # intrinsic ~100
    with pytest.raises(InputError, match="mark"):
        analyze(book([c2]), bad)


def test_a_skew_that_drives_a_vol_below_zero_names_the_strike_and_the_field():
    """0.155 - 1.5 ln(8400/F) < 0 for the far call wing; the near strikes price fine."""
    c = condor(quantity=1, strikes=(6500, 6600, 7100, 8400), credit=10.0)
    with pytest.raises(InputError, match="strike 8400") as err:
        analyze(book([c]), market(spx_vol=VolSurface(0.155, -1.5), source="m.toml"))
    assert err.value.field == "spx_vol.skew" and err.value.file == "m.toml"


# ---- what-if ------------------------------------------------------------------------------

def test_days_forward_reprices_with_less_time_and_vols_held():
    m = market()
    cs = [condor(), condor("B", expiry=date(2026, 12, 4), strikes=(6550, 6600, 7050, 7100), credit=12.6)]
    live = analyze(book(cs), m)
    fwd = analyze(book(cs), m, WhatIf(days=5))
    for c, r0, r in zip(cs, live.condors, fwd.condors):
        assert r.dte == pytest.approx(r0.dte - 5, abs=1e-9)
        assert r.pnl == pytest.approx(ref_condor_pnl(c, m, m.spx, days=5), abs=1e-6)
        # a short condor near the money earns time decay over 5 quiet days
        assert r.pnl > r0.pnl
        # T+0 roots at the what-if time are roots of the reference at that time
        for x in r.breakevens_t0:
            assert abs(ref_condor_pnl(c, m, x, days=5)) < CENT
    assert fwd.at.time.timestamp() == pytest.approx(m.as_of.timestamp() + 5 * 86400)


def test_spx_move_with_zero_beta_is_repricing_at_the_moved_spot_and_kappa_is_irrelevant():
    m = market()
    cs = [condor(), condor("B", expiry=date(2026, 12, 4), strikes=(6550, 6600, 7050, 7100), credit=12.6)]
    hs = [vix_hedge()]
    results = [analyze(book(cs, hs, beta=0.0, kappa=k), m, WhatIf(spx_move=-0.02)) for k in (0.0, 2.0, 9.0)]
    S = m.spx * 0.98
    for a in results:
        assert a.at.spx == pytest.approx(S) and a.at.vix == pytest.approx(m.vix)
        for c, r in zip(cs, a.condors):
            assert r.pnl == pytest.approx(ref_condor_pnl(c, m, S), abs=1e-6)
        assert a.hedges[0].pnl == pytest.approx(analyze(book(cs, hs), m).hedges[0].pnl, abs=1e-9)
    assert results[0].totals.pnl == pytest.approx(results[2].totals.pnl, abs=1e-9)


def test_spx_move_through_the_spot_vol_map():
    """beta -4: SPX -2% puts VIX at 16.5 x 0.98^-4; SPX vols scale by VIX'/VIX, each VIX
    future moves e^{-kappa T} of spot VIX's move."""
    m = market()
    c, h = condor(), vix_hedge(quantity=1, legs=((20.0, 1, 1.0),))
    a = analyze(book([c], [h], beta=-4.0, kappa=2.0), m, WhatIf(spx_move=-0.02))
    vix = 16.5 * 0.98 ** -4
    assert a.at.vix == pytest.approx(vix, rel=1e-12)
    assert a.condors[0].pnl == pytest.approx(
        ref_condor_pnl(c, m, 6850 * 0.98, vol_scale=vix / 16.5), abs=1e-6)
    T = vix_years(m, date(2027, 1, 20))
    F = 18.7 + (vix - 16.5) * math.exp(-2.0 * T)
    vol = vix_vol(m, 20.0, 18.7)  # the VIX option's vol stays at the live strike vol
    assert a.hedges[0].mark == pytest.approx(v_black("c", F, 20.0, T, m.rate, vol), abs=1e-9)
    assert a.hedges[0].pnl > analyze(book([c], [h]), m).hedges[0].pnl


def test_vol_move_raises_spx_vols_and_vix():
    m = market()
    c = condor()
    base = analyze(book([c]), m)
    up = analyze(book([c]), m, WhatIf(vix_move=3.0))
    assert up.at.vix == pytest.approx(19.5)
    assert up.condors[0].pnl == pytest.approx(ref_condor_pnl(c, m, m.spx, vol_scale=19.5 / 16.5), abs=1e-6)
    assert up.condors[0].pnl < base.condors[0].pnl  # short vega


def test_whatif_never_changes_expiry_breakevens_or_max_loss():
    m = market()
    c = condor()
    a = analyze(book([c]), m)
    b = analyze(book([c]), m, WhatIf(spx_move=0.03, vix_move=-2, days=7))
    assert a.condors[0].breakevens_expiry == b.condors[0].breakevens_expiry
    assert a.condors[0].max_loss == b.condors[0].max_loss


# ---- properties over random condors ---------------------------------------------------------

EXPIRIES = [date(2026, 11, 27), date(2026, 12, 4), date(2026, 12, 11), date(2026, 12, 18),
            date(2026, 12, 31), date(2027, 1, 15), date(2027, 2, 19), date(2027, 3, 19)]


@st.composite
def condors(draw):
    step = draw(st.sampled_from([5, 25]))
    sp = 6850 - step * draw(st.integers(0, 60 // (step // 5)))
    sc = 6850 + step * draw(st.integers(0, 60 // (step // 5)))
    if sc <= sp:
        sc = sp + step
    pw, cw = step * draw(st.integers(1, 8)), step * draw(st.integers(1, 8))
    credit = draw(st.floats(0.05, 0.98)) * min(pw, cw)
    return Condor("R", draw(st.sampled_from(EXPIRIES)), draw(st.integers(1, 20)),
                  float(sp - pw), float(sp), float(sc), float(sc + cw), credit=round(credit, 2) or 0.05)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(c=condors(), skew=st.floats(-1.2, 0.0), atm=st.floats(0.08, 0.4))
def test_random_condor_properties(c, skew, atm):
    m = market(spx_vol=VolSurface(atm, skew))
    a = analyze(book([c]), m)
    r = a.condors[0]
    # expiry roots exact, sorted, and nothing else changes sign on a fine grid
    xs = np.linspace(c.long_put - 200, c.long_call + 200, 3001)
    payoff = np.array([expiry_payoff(c, x) for x in xs])
    assert list(r.breakevens_expiry) == sorted(r.breakevens_expiry)
    for x in r.breakevens_expiry:
        assert expiry_payoff(c, x) == pytest.approx(0, abs=1e-6)
    assert len(r.breakevens_expiry) == int(np.sum(payoff[:-1] * payoff[1:] < 0)) + int(np.sum(payoff == 0))
    # max profit and max loss bound the expiry P&L everywhere and are attained
    assert np.all(payoff <= r.max_profit + 1e-6) and np.all(-payoff <= r.max_loss + 1e-6)
    assert payoff.max() == pytest.approx(r.max_profit) and -payoff.min() == pytest.approx(r.max_loss)
    # T+0: sorted, |P&L| < 1 cent at each root (vollib per leg), none missed on a dense scan
    assert list(r.breakevens_t0) == sorted(r.breakevens_t0)
    for x in r.breakevens_t0:
        assert abs(ref_condor_pnl(c, m, x)) < CENT, (x, ref_condor_pnl(c, m, x))
    T = spx_years(m, c.expiry)
    S = np.linspace(c.long_put * 0.5, c.long_call * 1.6, 6001)
    vols = [spx_vol(m, K, c.expiry) for K, _, _ in condor_legs(c)]
    pnl = sum(u * c.quantity * 100 * bsm(f == "c", S, K, T, m.rate, m.dividend_yield, v).price
              for (K, f, u), v in zip(condor_legs(c), vols)) + c.credit * c.quantity * 100
    assert len(r.breakevens_t0) == int(np.sum(pnl[:-1] * pnl[1:] < 0)), (r.breakevens_t0,)
    # T+0 P&L is within the expiry extremes: a European condor's value is bounded by its width
    # wherever its verticals are free of arbitrage: vols held per strike on a steep skew are
    # not (a call spread deep in the money, or a 5-point one at spot, exceeds its width).
    legs = [u * bsm(f == "c", S, K, T, m.rate, m.dividend_yield, v).price
            for (K, f, u), v in zip(condor_legs(c), vols)]
    disc = np.exp(-m.rate * T)
    fair = ((-(legs[0] + legs[1]) <= (c.short_put - c.long_put) * disc + 1e-9)  # the verticals' values
            & (-(legs[2] + legs[3]) <= (c.long_call - c.short_call) * disc + 1e-9))
    assert fair.any() and (fair.all() or skew < 0)  # a flat smile has none
    assert np.all(pnl[fair] <= r.max_profit + 1e-6) and np.all(-pnl[fair] <= r.max_loss + 1e-6)


# ---- purity -------------------------------------------------------------------------------

def same(a, b, path="") -> None:
    """Deep equality for results: dataclasses, tuples, dicts, numpy arrays, NaN == NaN."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), path
        for f in dataclasses.fields(a):
            same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), path
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def test_analyze_is_pure(demo):
    b, m, first = demo
    b_copy, m_copy = copy.deepcopy(b), copy.deepcopy(m)
    w = WhatIf(spx_move=-0.03, vix_move=2.0, days=3)
    w_copy = copy.deepcopy(w)
    shifted = analyze(b, m, w)
    again = analyze(b, m)
    same(first, again)  # a what-if in between leaves no trace
    same(shifted, analyze(b, m, w))
    same(b, b_copy)
    same(m, m_copy)
    same(w, w_copy)
    assert first.book is b and first.market is m
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.totals.pnl = 0.0  # type: ignore[misc]


# ---- a generated 20-condor book (bench/books.py) --------------------------------------------

def test_generated_book_breakevens_vs_reference():
    """20 plausible condors over eight expiries: every T+0 root (per condor and for the
    book) is a zero of the vollib reference, and a dense scan finds no more."""
    from bench.books import demo as bench_demo, make_book
    _, m = bench_demo()
    bk = make_book(20, m, seed=20)
    a = analyze(bk, m)

    def dense(cs):
        S = np.linspace(0.6 * m.spx, 1.4 * m.spx, 8001)
        total = np.zeros_like(S)
        for c in cs:
            T = spx_years(m, c.expiry)
            for K, f, u in condor_legs(c):
                total += u * c.quantity * 100 * bsm(f == "c", S, K, T, m.rate, m.dividend_yield,
                                                    spx_vol(m, K, c.expiry)).price
            total += c.credit * c.quantity * 100
        return int(np.sum(total[:-1] * total[1:] < 0))

    for c, r in zip(bk.condors, a.condors):
        for x in r.breakevens_t0:
            assert abs(ref_condor_pnl(c, m, x)) < CENT, (c.id, x)
        assert len(r.breakevens_t0) == dense([c]), c.id
        assert r.pnl > 0  # credit 1.1 x mark
    for x in a.totals.breakevens_t0:
        assert abs(sum(ref_condor_pnl(c, m, x) for c in bk.condors)) < CENT
    assert len(a.totals.breakevens_t0) == dense(bk.condors)
    f = lambda S: sum(expiry_payoff(c, S) for c in bk.condors)  # noqa: E731
    for x in a.totals.breakevens_expiry:
        assert f(x) == pytest.approx(0, abs=1e-6)


def test_book_and_candidates_priced_together_as_apart():
    """The engine prices the book's distinct legs and the hedge candidates' in one call
    (joined_legs), now and in the stress set: every price and Greek is the one each set
    gets priced alone, bit for bit."""
    from core.hedge.alvh import hedge_menus
    from core.pricing.legs import build_legs, distinct_legs, joined_legs, leg_prices, leg_values, market_state

    book, market = load_book(DEMO_BOOK), load_market(DEMO_MARKET)
    distinct, _ = distinct_legs(build_legs(book, market))
    for whatif in (WhatIf(), WhatIf(spx_move=-0.1, days=3.0)):
        now = market_state(market, book.model, whatif)
        cands = hedge_menus(book, market, now.t)[1]
        both, n = joined_legs(distinct, cands), len(distinct.owner)
        s = book.stress
        stressed = market_state(market, book.model, whatif, spx_move=np.array([x.spx_move for x in s]),
                                days=np.array([x.days for x in s]),
                                vix_fixed=np.array([np.nan if x.vix is None else x.vix for x in s]))
        for together, apart in ((leg_values(both, now), (leg_values(distinct, now), leg_values(cands, now))),
                                ((leg_prices(both, stressed),), ((leg_prices(distinct, stressed),),
                                                                 (leg_prices(cands, stressed),)))):
            for x, a, b in zip(together, *apart):
                assert x[..., :n].tobytes() == np.ascontiguousarray(a).tobytes()
                assert np.ascontiguousarray(x[..., n:]).tobytes() == np.ascontiguousarray(b).tobytes()
