"""Probability of profit, touch, max loss and expected move against references built here:
the lognormal integral in closed form and by quadrature, Monte Carlo, a finite-difference
Breeden-Litzenberger on calls priced by vollib, and a Brownian-bridge path count."""
from __future__ import annotations

import math
from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from scipy.integrate import quad
from vollib.black_scholes_merton import black_scholes_merton

from core.book.bookfile import load_book
from core.capital.probability import STRADDLE_TO_SIGMA, above, odds, real_world, real_world_for, touch
from core.engine import analyze
from core.history.daily import Daily
from core.io.paths import DEMO_BOOK, DEMO_MARKET
from core.market.marketfile import load_market
from core.model.inputs import Condor, Mark, VolSurface, WhatIf
from core.model.instruments import SPX, settle_time
from core.pricing.legs import YEAR

BOOK, MARKET = load_book(DEMO_BOOK, demo=True), load_market(DEMO_MARKET, demo=True)
EXPIRY = date(2026, 12, 18)
CONDOR = Condor("T", EXPIRY, 1, 6500, 6600, 7050, 7150, 20.0)


def N(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def flat(vol=0.2, skew=0.0, condors=(CONDOR,)):
    market = replace(MARKET, spx_vol=VolSurface(vol, skew), marks=(), spx_smiles=())
    return replace(BOOK, condors=condors, hedges=()), market


def years(m) -> float:
    return (settle_time(EXPIRY, SPX) - m.as_of.timestamp()) / YEAR


def lognormal_between(S, lo, hi, T, growth, sigma) -> float:
    """P(lo < S_T < hi): N(d2(lo)) - N(d2(hi)), d2 = (ln(S/K) + (g - s^2/2) T) / (s sqrt T)."""
    def d2(K):
        return (math.log(S / K) + (growth - sigma ** 2 / 2) * T) / (sigma * math.sqrt(T))
    return N(d2(lo)) - N(d2(hi))


def test_pop_at_expiry_is_the_lognormal_integral_between_the_break_evens():
    book, m = flat()
    a = analyze(book, m)
    lo, hi = a.condors[0].breakevens_expiry
    assert (lo, hi) == pytest.approx((6600 - 20, 7050 + 20))
    T, g, s = years(m), m.rate - m.dividend_yield, 0.2
    closed = lognormal_between(m.spx, lo, hi, T, g, s)
    mu = math.log(m.spx) + (g - s * s / 2) * T

    def density(x):
        return math.exp(-(math.log(x) - mu) ** 2 / (2 * s * s * T)) / (x * s * math.sqrt(2 * math.pi * T))
    assert quad(density, lo, hi)[0] == pytest.approx(closed, abs=1e-9)
    got = odds(a).condors[0]
    assert got.pop == pytest.approx(closed, abs=1e-9)
    # Monte Carlo: 4e6 terminal prices; the estimate's sd is 2.2e-4, so 1e-3 is 4.5 sd
    z = np.random.default_rng(7).standard_normal(4_000_000)
    ST = m.spx * np.exp((g - s * s / 2) * T + s * math.sqrt(T) * z)
    assert np.mean((ST > lo) & (ST < hi)) == pytest.approx(got.pop, abs=1e-3)
    # max loss: beyond either wing (both 100 wide)
    assert got.max_loss == pytest.approx(np.mean((ST <= 6500) | (ST >= 7150)), abs=1e-3)


def test_the_smile_digital_is_breeden_litzenberger_on_calls_priced_by_vollib():
    """With skew, P(S_T > K) = -e^(rT) dC/dK on calls at the smile's own vols (central
    difference, 0.5 pt), not N(d2) at the strike's vol: the demo's put skew fattens the left."""
    book, m = flat(0.155, -0.8)
    a = analyze(book, m)
    T, r, q = years(m), m.rate, m.dividend_yield
    F = m.spx * math.exp((r - q) * T)

    def call(K):
        return black_scholes_merton("c", m.spx, K, T, r, 0.155 - 0.8 * math.log(K / F), q)

    def p_above(K, h=0.5):
        return -math.exp(r * T) * (call(K + h) - call(K - h)) / (2 * h)
    lo, hi = a.condors[0].breakevens_expiry
    got = odds(a).condors[0]
    assert got.pop == pytest.approx(p_above(lo) - p_above(hi), abs=1e-5)
    assert got.max_loss == pytest.approx(1 - p_above(6500) + p_above(7150), abs=1e-5)
    plain = lognormal_between(m.spx, lo, hi, T, r - q, 0.155)
    assert abs(got.pop - plain) > 0.01  # the slope term matters at this skew


def bridge_touch(S, H, T, growth, sigma, paths, steps, seed) -> float:
    """Share of GBM paths touching H: each step crosses between its two endpoints with the
    Brownian bridge's exp(-2 (b - x0)(b - x1) / (sigma^2 dt)), exact for continuous
    monitoring (a plain grid count misses crossings between steps)."""
    rng, dt, b = np.random.default_rng(seed), T / steps, math.log(H / S)
    up, hit = b > 0, 0.0
    for _ in range(paths // 50_000):
        x = np.cumsum((growth - sigma ** 2 / 2) * dt + sigma * math.sqrt(dt)
                      * rng.standard_normal((50_000, steps)), axis=1)
        x0 = np.concatenate([np.zeros((50_000, 1)), x[:, :-1]], axis=1)
        beyond = (x >= b) if up else (x <= b)
        cross = np.where(beyond | ((x0 >= b) if up else (x0 <= b)), 1.0,
                         np.exp(-2 * (b - x0) * (b - x) / (sigma ** 2 * dt)))
        hit += np.sum(1 - np.prod(1 - cross, axis=1))
    return hit / paths


@pytest.mark.parametrize("H", [6600.0, 7050.0])
def test_touch_is_the_reflection_closed_form_against_simulated_paths(H):
    S, T, g, s = 6850.0, 28 / 365, 0.027, 0.18
    p = float(touch(S, H, T, g, s))
    # 400k bridged paths: sd of the estimate <= 0.5 / sqrt(4e5) = 8e-4; 3e-3 is 4 sd
    assert bridge_touch(S, H, T, g, s, 400_000, 50, 3) == pytest.approx(p, abs=3e-3)
    # a plain count on a fine grid (2,000 steps) sits a little below: discrete monitoring
    # misses crossings, by about the Broadie-Glasserman shift of H by 0.5826 s sqrt(dt)
    rng, steps = np.random.default_rng(4), 2000
    dt = T / steps
    x = np.zeros(20_000)
    hit = np.zeros(20_000, dtype=bool)
    for _ in range(steps):
        x += (g - s * s / 2) * dt + s * math.sqrt(dt) * rng.standard_normal(20_000)
        hit |= (x >= math.log(H / S)) if H > S else (x <= math.log(H / S))
    shift = math.exp(0.5826 * s * math.sqrt(dt) * (1 if H > S else -1))
    shifted = float(touch(S, H * shift, T, g, s))
    assert shifted < p
    assert hit.mean() == pytest.approx(shifted, abs=4 * math.sqrt(p * (1 - p) / 20_000))


def test_touch_edges():
    assert touch(100.0, 100.0, 0.1, 0.0, 0.2) == 1.0
    assert touch(100.0, 90.0, 0.0, 0.0, 0.2) == 0.0
    # growth = sigma^2 / 2 leaves ln S driftless: the reflection principle doubles P(S_T < H)
    assert float(touch(100.0, 90.0, 0.25, 0.02, 0.2)) == pytest.approx(2 * N(math.log(0.9) / 0.1), abs=1e-12)
    assert float(touch(100.0, 90.0, 0.25, 0.0, 0.2)) > 2 * N(math.log(0.9) / 0.1)  # drifting down


def test_expected_move_by_hand_and_from_the_straddle():
    book, m = flat(0.155)
    T = years(m)
    got = odds(analyze(book, m)).condors[0]
    assert got.move == pytest.approx(6850 * 0.155 * math.sqrt(T), rel=1e-12)
    assert got.straddle is None and got.move_straddle is None
    # marks for the ATM call and put of the expiry: 1 sigma = the straddle mid x sqrt(pi / 2)
    call = black_scholes_merton("c", 6850, 6850, T, m.rate, 0.155, m.dividend_yield)
    put = black_scholes_merton("p", 6850, 6850, T, m.rate, 0.155, m.dividend_yield)
    marked = replace(m, marks=(Mark("spx_call", EXPIRY, 6850, call), Mark("spx_put", EXPIRY, 6850, put)))
    got = odds(analyze(book, marked)).condors[0]
    assert got.straddle == pytest.approx(call + put)
    assert got.move_straddle == pytest.approx((call + put) * math.sqrt(math.pi / 2))
    assert STRADDLE_TO_SIGMA == pytest.approx(1.2533, abs=1e-4)
    assert got.move_straddle == pytest.approx(got.move, rel=0.01)  # same vol: within the drift's 1 %
    # a what-if has no live straddle
    assert odds(analyze(book, marked, WhatIf(days=1))).condors[0].straddle is None


def test_real_world_is_a_lognormal_with_realized_vol_and_capm_drift():
    rng = np.random.default_rng(1)
    closes = 5000 * np.exp(np.cumsum(rng.normal(0, 0.01, 400)))
    days = np.arange(np.datetime64("2025-06-01"), np.datetime64("2025-06-01") + 400)
    r = np.diff(np.log(closes[-253:]))
    rw = real_world(Daily(days, closes, True), date(2027, 1, 1), 0.04)
    assert rw.vol == pytest.approx(math.sqrt(252 * np.mean(r * r))) and rw.window == 252
    assert rw.drift == pytest.approx(0.095) and rw.demo
    cut = real_world(Daily(days, closes), date(2026, 6, 1), 0.04, mrp=0.03)  # closes after as_of unused
    r = np.diff(np.log(closes[days <= np.datetime64("2026-06-01")][-253:]))
    assert cut.vol == pytest.approx(math.sqrt(252 * np.mean(r * r)))
    assert cut.drift == pytest.approx(0.07) and not cut.demo
    assert real_world(Daily(days[:200], closes[:200]), date(2027, 1, 1), 0.04) is None  # under a window
    assert real_world_for(BOOK, MARKET, Daily(days, closes)).drift == pytest.approx(MARKET.rate + 0.055)
    book, m = flat(0.2)
    a = analyze(book, m)
    got = odds(a, rw).condors[0]
    lo, hi = a.condors[0].breakevens_expiry
    g = rw.drift - m.dividend_yield
    assert got.pop_real == pytest.approx(lognormal_between(m.spx, lo, hi, years(m), g, rw.vol), abs=1e-9)
    assert got.touch_put_real == pytest.approx(float(touch(m.spx, 6600, years(m), g, rw.vol)))
    assert odds(a).condors[0].pop_real is None


def test_pop_at_the_what_if_date_uses_the_break_evens_at_that_date_from_the_live_level():
    book, m = flat(0.2, condors=(replace(CONDOR, credit=45.0),))  # near the mark: T+10 break-evens
    a = analyze(book, m, WhatIf(days=10))
    lo, hi = a.condors[0].breakevens_t0
    got = odds(a).condors[0]
    assert got.pop_whatif == pytest.approx(
        lognormal_between(m.spx, lo, hi, 10 / 365, m.rate - m.dividend_yield, 0.2), abs=1e-9)
    assert odds(analyze(book, m)).condors[0].pop_whatif is None  # no days: no date to ask about


def test_book_pop_of_a_lone_condor_is_its_own():
    book, m = flat(0.155, -0.8)
    o = odds(analyze(book, m))
    assert o.book.horizon == EXPIRY.isoformat()
    assert o.book.pop == pytest.approx(o.condors[0].pop, abs=1e-4)


def test_unequal_wings_lose_the_most_beyond_the_wider_one_only():
    c = replace(CONDOR, long_call=7100)  # call side 50 wide, put side 100
    book, m = flat(0.2, condors=(c,))
    got = odds(analyze(book, m)).condors[0]
    assert got.max_loss == pytest.approx(1 - float(above(m.spx, 6500, years(m), m.rate - m.dividend_yield, 0.2)))


def test_demo_figures_are_sane():
    o = odds(analyze(BOOK, MARKET))
    for c in o.condors:
        assert 0.5 < c.pop < 0.95 and 0 < c.max_loss < 1 - c.pop
        assert c.touch_put > 0 and c.touch_call > 0 and c.move > 0
    assert 0 < o.book.pop < 1


def test_the_report_json_carries_them_on_the_demo_book(capsys, tmp_path, monkeypatch):
    import json
    from cockpit.cli.main import main
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert main(["report", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    want = odds(analyze(BOOK, MARKET))
    for c, o in zip(d["condors"], want.condors):
        assert c["pop"] == pytest.approx(o.pop) and c["touch_put"] == pytest.approx(o.touch_put)
        assert c["max_loss_prob"] == pytest.approx(o.max_loss)
        assert c["expected_move"]["implied"] == pytest.approx(o.move)
        for k in ("pop_real", "touch_call", "touch_call_real", "max_loss_prob_real"):
            assert 0 < c[k] < 1
        assert c["pop_whatif"] is None  # no what-if days
    p = d["book"]["probability"]
    assert p["horizon"] == "2026-12-04" and 0 < p["pop"] < 1 and p["real_world"]["demo"]
    assert p["real_world"]["drift"] == pytest.approx(MARKET.rate + 0.055)
    shares = [t["risk_share"] for t in d["tranches"]]
    assert len(shares) == 3 and sum(shares) + d["risk_contribution"]["hedges_share"] == pytest.approx(1.0)
    assert d["risk_contribution"]["demo"] and d["risk_contribution"]["moves"] > 400


def test_the_package_horizon_skips_expiries_a_what_if_has_passed():
    """20 days on, Dec04 has settled: the package PoP is on Dec18's smile over its time left."""
    a = analyze(BOOK, MARKET, WhatIf(days=20))
    o = odds(a)
    assert o.book.horizon == "2026-12-18"
    assert 0.5 < o.book.pop < 1  # not the settled expiry's certainty
    assert o.condors[0].pop in (0.0, 1.0) and o.condors[0].move == 0  # no time left: where SPX is decides


def test_a_short_strike_spx_is_already_through_is_touched():
    """A what-if (or the market) past a short strike: the put's touch is 1 once SPX is at or
    below it, the call's once at or above it, under both measures and with no time left;
    the side that is not through keeps the reflection figure."""
    S, T, g, s = 6500.0, 28 / 365, 0.027, 0.18
    assert float(touch(S, 6600.0, T, g, s, side=-1)) == 1.0  # a put strike above spot: through it
    assert float(touch(S, 6600.0, 0.0, g, s, side=-1)) == 1.0
    assert float(touch(7100.0, 7050.0, T, g, s, side=1)) == 1.0  # a call strike below spot
    assert float(touch(S, 6400.0, T, g, s, side=-1)) == pytest.approx(float(touch(S, 6400.0, T, g, s)))
    assert float(touch(S, 6600.0, T, g, s, side=1)) == pytest.approx(float(touch(S, 6600.0, T, g, s)))
    rng = np.random.default_rng(1)
    days = np.arange(np.datetime64("2025-06-01"), np.datetime64("2025-06-01") + 400)
    rw = real_world(Daily(days, 5000 * np.exp(np.cumsum(rng.normal(0, 0.01, 400)))), date(2027, 1, 1), 0.04)
    book, m = flat(0.2)
    down = odds(analyze(book, m, WhatIf(spx_move=-0.05)), rw).condors[0]  # 6,507.5 < the 6,600 short put
    assert (down.touch_put, down.touch_put_real) == (1.0, 1.0) and 0 < down.touch_call < 0.5
    up = odds(analyze(book, m, WhatIf(spx_move=0.04)), rw).condors[0]  # 7,124 > the 7,050 short call
    assert (up.touch_call, up.touch_call_real) == (1.0, 1.0) and 0 < up.touch_put < 0.5
