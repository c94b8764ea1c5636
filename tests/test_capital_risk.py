"""Risk contribution: tranche P&L over SPX moves priced here with vollib through the spot-vol
map, shares from a covariance summed by hand, and the equal-risk sizes."""
from __future__ import annotations

import math
from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from vollib.black_scholes_merton import black_scholes_merton

from core.book.bookfile import load_book
from core.capital.risk import equal_risk, spx_moves, tranche_risk, variance_shares
from core.history.store import demo_daily
from core.io.paths import DEMO_BOOK, DEMO_MARKET
from core.market.marketfile import load_market
from core.model.inputs import Condor, VolSurface
from core.model.instruments import SPX, settle_time
from core.pricing.legs import YEAR

BOOK, MARKET = load_book(DEMO_BOOK, demo=True), load_market(DEMO_MARKET, demo=True)


def test_moves_are_overlapping_five_day_returns():
    closes = np.array([100, 101, 102, 103, 104, 110, 99.0])
    assert spx_moves(closes) == pytest.approx([110 / 100 - 1, 99 / 101 - 1])
    assert len(spx_moves(closes[:5])) == 0


def test_shares_match_a_hand_computed_covariance_on_three_moves():
    """Two tranches (two expiries), flat 18 % vol, beta from the book: each leg priced here
    by vollib at SPX (1 + move) and vol 0.18 (1 + move)^beta (the map's VIX'/VIX)."""
    a = Condor("A", date(2026, 12, 18), 2, 6500, 6600, 7050, 7150, 20.0)
    b = Condor("B", date(2027, 1, 15), 1, 6300, 6400, 7200, 7300, 25.0)
    book = replace(BOOK, condors=(a, b), hedges=())
    m = replace(MARKET, spx_vol=VolSurface(0.18), marks=(), spx_smiles=())
    moves = [-0.03, 0.0, 0.02]
    beta = book.model.beta

    def value(c, move):
        T = (settle_time(c.expiry, SPX) - m.as_of.timestamp()) / YEAR
        S, vol = m.spx * (1 + move), 0.18 * (1 + move) ** beta
        legs = (("p", c.long_put, 1), ("p", c.short_put, -1), ("c", c.short_call, -1), ("c", c.long_call, 1))
        return sum(u * black_scholes_merton(f, S, K, T, m.rate, vol, m.dividend_yield) for f, K, u in legs) * 100 * c.quantity
    pa = [value(a, x) - value(a, 0) for x in moves]
    pb = [value(b, x) - value(b, 0) for x in moves]
    book_pnl = [x + y for x, y in zip(pa, pb)]

    def cov(x, y):
        mx, my = sum(x) / 3, sum(y) / 3
        return sum((u - mx) * (v - my) for u, v in zip(x, y)) / 3
    want = [cov(pa, book_pnl) / cov(book_pnl, book_pnl), cov(pb, book_pnl) / cov(book_pnl, book_pnl)]
    rows = tranche_risk(book, m, moves)
    assert [r["expiry"] for r in rows] == ["2026-12-18", "2027-01-15"]
    assert [r["risk_share"] for r in rows] == pytest.approx(want, rel=1e-8)
    assert sum(r["risk_share"] for r in rows) == pytest.approx(1.0)
    assert rows[0]["pnl_sd"] == pytest.approx(math.sqrt(cov(pa, pa)), rel=1e-8)


def test_demo_shares_sum_to_one_with_the_hedges():
    rows = tranche_risk(BOOK, MARKET, spx_moves(demo_daily()["spx"].values))
    assert [r["kind"] for r in rows] == ["tranche"] * 3 + ["hedges"]
    assert sum(r["risk_share"] for r in rows) == pytest.approx(1.0, abs=1e-12)
    assert all(q >= 1 for r in rows[:3] for q in r["equal_risk_quantity"].values())
    assert tranche_risk(BOOK, MARKET, []) == []


def test_equal_risk_gives_equal_shares_and_keeps_the_variance():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((500, 4)) @ rng.standard_normal((4, 4)) * [1, 3, 0.5, 2]
    C = np.cov(x, rowvar=False, bias=True)
    m = equal_risk(C)
    assert m @ C @ m == pytest.approx(np.ones(4) @ C @ np.ones(4))
    assert m * (C @ m) / (m @ C @ m) == pytest.approx([0.25] * 4, abs=1e-9)
    assert variance_shares(x * m) == pytest.approx([0.25] * 4, abs=1e-9)
    # uncorrelated: sizes inverse to each part's sd
    m = equal_risk(np.diag([4.0, 1.0]))
    assert m[0] / m[1] == pytest.approx(0.5)
    assert equal_risk(np.diag([0.0, 1.0]))[0] > 0  # a part that never moves keeps a size
