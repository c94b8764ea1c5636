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
from core.capital.risk import equal_risk, spx_moves, tranche_risk, variance_shares, within_cap
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


# a hand-worked tranche: equity 250,000 $, cap 4 % = 10,000 $; a condor 50 wide for 25.00
# loses (50 - 25) x 100 = 2,500 $, so 4 of them lose exactly the cap
@pytest.mark.parametrize("qty, cap, want, capped", [
    (4, 4.0, [4], False),  # at the cap: 10,000 $ = 4 % passes as it is
    (4, 4.01, [4], False),  # just below it (the cap just above the tranche's 4 %)
    (4, 3.99, [3], True),  # just above it: 4 % > 3.99 %, 3 lose 3 % and 4 do not fit
    (5, 4.0, [4], True),  # 12,500 $ = 5 %: the largest that passes is 4
    (3, 4.0, [3], False),  # 7,500 $ = 3 %
    (1, 0.99, [0], True),  # not even one fits: 0, said
    (9, None, [9], False),  # no cap in force: as equal risk sized it
])
def test_equal_risk_sizes_are_held_to_the_tranche_cap(qty, cap, want, capped):
    assert within_cap([qty], [2_500.0], 250_000.0, cap) == (want, capped)


def test_a_capped_tranche_of_two_condors_is_scaled_then_filled_by_largest_remainder():
    # 2 x 3,740 + 2 x 8,060 = 23,600 $ over a 10,000 $ cap: scaled to 0.847 each, floored to 0 and 0;
    # one more of each in turn while it fits: the first (ties to the earlier) 3,740, then the second
    # would make 11,800 and the first again 7,480 -> [2, 0] = 7,480 $; nothing else fits
    assert within_cap([2, 2], [3_740.0, 8_060.0], 250_000.0, 4.0) == ([2, 0], True)
    # 10 x 500 + 1 x 8,000 = 13,000 $: scaled 7.69 and 0.77, floored 7 and 0 (3,500 $); the second
    # never fits (3,500 + 8,000 > 10,000), so the first takes one more at a time up to its 10 (5,000 $)
    assert within_cap([10, 1], [500.0, 8_000.0], 250_000.0, 4.0) == ([10, 0], True)
    assert within_cap([2, 1], [3_000.0, 4_000.0], 250_000.0, 4.0) == ([2, 1], False)  # 10,000 $: at the cap


def test_the_demo_equal_risk_sizes_at_just_above_and_just_below_a_tranche_cap():
    moves = spx_moves(demo_daily()["spx"].values)
    free = tranche_risk(BOOK, MARKET, moves)
    row = free[1]  # Dec18: 100 wide for 19.40, 8,060 $ a condor
    (cid, qty), = row["equal_risk_quantity"].items()
    at = 100 * qty * 8_060 / BOOK.equity
    assert row["equal_risk_max_loss_pct"] == pytest.approx(at) and not row["equal_risk_capped"]
    for cap, want, capped in ((at, qty, False), (at + 0.01, qty, False), (at - 0.01, qty - 1, True)):
        got = tranche_risk(BOOK, MARKET, moves, cap_pct=cap)[1]
        assert got["equal_risk_quantity"] == {cid: want} and got["equal_risk_capped"] is capped, cap
        assert got["equal_risk_uncapped"] == {cid: qty} and got["cap_pct"] == cap
        assert got["equal_risk_multiplier"] == row["equal_risk_multiplier"]  # the sizing itself is unchanged


@pytest.mark.parametrize("wacc_pct, cap", [(6.99, None), (7.0, None), (7.01, 4.0)])
def test_the_cap_holds_the_sizes_only_while_wacc_is_above_its_trigger(wacc_pct, cap):
    from core.capital.rules import cap_in_force
    assert cap_in_force(wacc_pct, 7.0, (4.0, 6.0)) == cap
