"""Break-even scans find every root: generated books against a dense scan."""
import sys
from dataclasses import replace
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pytest

from core.risk.breakevens import TOLERANCE, piecewise_roots, smooth_roots
from core.engine import analyze
from core.pricing.legs import build_legs, leg_prices, market_state
from core.market.marketfile import NEW_YORK

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from books import demo, layer_hedges, random_condors, with_model_credits  # noqa: E402

_, MARKET = demo()


@pytest.mark.parametrize("seed", range(12))
def test_condor_t0_roots_match_a_dense_scan(seed):
    """Credits near the mark make narrow profit windows: the case a coarse scan misses.
    Every root is also a root: |P&L| there is below the solver's $0.001 tolerance."""
    rng = np.random.default_rng(seed)
    book, _ = demo()
    book = replace(book, condors=random_condors(20, MARKET, seed), hedges=())
    book = with_model_credits(book, MARKET, credit_mult=rng.uniform(0.9, 1.1))
    a = analyze(book, MARKET)
    legs = build_legs(book, MARKET)
    st = market_state(MARKET, book.model)
    dense = np.linspace(4000, 9500, 4000)
    values = leg_prices(legs, st, spx=dense[:, None]) * legs.units * legs.mult
    for i, r in enumerate(a.condors):
        pnl = values[:, 4 * i:4 * i + 4].sum(axis=1) - legs.entry[i]
        cells = np.nonzero(np.diff(np.sign(pnl)))[0]
        assert len(r.breakevens_t0) == len(cells), r.condor
        for cell, root in zip(cells, r.breakevens_t0):
            assert dense[cell] <= root <= dense[cell + 1]
        at = leg_prices(legs, st, spx=np.array(r.breakevens_t0)[:, None]) * legs.units * legs.mult
        assert np.all(np.abs(at[:, 4 * i:4 * i + 4].sum(axis=1) - legs.entry[i]) < TOLERANCE)


def assert_roots_match(roots, dense, pnl, label):
    cells = np.nonzero(np.diff(np.sign(pnl)))[0]
    assert len(roots) == len(cells), (label, roots, dense[cells])
    for cell, root in zip(cells, roots):
        assert dense[cell] <= root <= dense[cell + 1], label


@pytest.mark.parametrize("seed", range(12))
def test_book_and_package_roots_match_a_dense_scan(seed):
    """The condor book at T+0 (vols per strike) and the hedged package at T+0 and at the
    horizon (spot-vol map; condors expiring there are at their payoff), priced on 6,000
    levels through the plain leg pricer, not the scan's own kernel."""
    rng = np.random.default_rng(100 + seed)
    book, _ = demo()
    book = replace(book, condors=random_condors(20, MARKET, 100 + seed), hedges=layer_hedges(MARKET))
    book = with_model_credits(book, MARKET, credit_mult=rng.uniform(0.9, 1.1))
    a = analyze(book, MARKET)
    legs = build_legs(book, MARKET)
    scale = legs.units * legs.mult
    nc = 4 * len(book.condors)
    st = market_state(MARKET, book.model)
    dense = np.linspace(3000, 9500, 6000)
    book_pnl = leg_prices(legs, st, spx=dense[:, None])[:, :nc] @ scale[:nc] - legs.entry[:len(book.condors)].sum()
    inside = (dense > 4000) & (dense < 9000)  # the book scan spans the condors' ranges only
    assert_roots_match(a.totals.breakevens_t0, dense[inside], book_pnl[inside], "book")
    at = leg_prices(legs, st, spx=np.array(a.totals.breakevens_t0)[:, None])[:, :nc] @ scale[:nc]
    assert np.all(np.abs(at - legs.entry[:len(book.condors)].sum()) < TOLERANCE)
    grid = a.alvh.curve.spx
    dense = np.linspace(grid[0], grid[-1], 6000)
    horizon = datetime.combine(date.fromisoformat(a.alvh.horizon), time(16), NEW_YORK)
    for days, roots in ((0.0, a.alvh.breakevens_t0),
                        ((horizon.timestamp() - MARKET.as_of.timestamp()) / 86400, a.alvh.breakevens_horizon)):
        st = market_state(MARKET, book.model, spx_move=dense / MARKET.spx - 1, days=days)
        assert_roots_match(roots, dense, leg_prices(legs, st) @ scale - legs.entry.sum(), f"package +{days:.1f}d")
        st = market_state(MARKET, book.model, spx_move=np.array(roots) / MARKET.spx - 1, days=days)
        assert np.all(np.abs(leg_prices(legs, st) @ scale - legs.entry.sum()) < TOLERANCE)


def test_two_roots_between_samples_are_found():
    """A bump narrower than the grid step, positive only between 1.0 and 1.2 ($ scale)."""
    f = lambda rows, S: 1e4 * (0.01 - (S - 1.1) ** 2)  # noqa: E731
    grid = np.linspace(0.0, 3.0, 7)[None, :]  # step 0.5: every sample is negative
    (roots,) = smooth_roots(f, grid)
    assert roots == pytest.approx((1.0, 1.2), abs=1e-6)


def test_a_stretch_at_zero_gives_its_two_ends_and_a_lone_zero_sample_is_a_root():
    def f(rows, S):
        return np.where(S < 4, S - 4, np.where(S > 6, S - 6, 0.0)) * (S - 8.0)  # zero on [4, 6]
    grid = np.arange(0.0, 10.5, 0.5)[None, :]  # samples at 4, 4.5, ..., 6 and at 8
    (roots,) = smooth_roots(f, grid)
    assert roots == (4.0, 6.0, 8.0)


def test_piecewise_roots_flat_zero_segment_and_ends():
    kinks = np.array([0.0, 1.0, 2.0, 3.0])
    assert piecewise_roots(kinks, np.array([-1.0, 0.0, 0.0, 1.0])) == (1.0, 2.0)
    assert piecewise_roots(kinks, np.array([-1.0, 1.0, 1.0, -3.0])) == (0.5, 2.25)
