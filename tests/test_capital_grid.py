"""The SPX x VIX scenario grid (core.capital.grid): each cell is the engine's own repricing
of the book at that scenario (analyze with the what-if that lands on the cell's SPX and
VIX), the current cell is zero at T+0, and the map's path is VIX (1 + move)^beta, capped."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from core.book.bookfile import load_book
from core.capital.grid import SPX_MOVES, VIX_SHIFTS, grid_to_dict, scenario_grid
from core.engine import analyze
from core.io.paths import DEMO_BOOK, DEMO_MARKET
from core.market.marketfile import load_market
from core.model.inputs import ModelSettings, WhatIf
from core.pricing.legs import VIX_CAP


@pytest.fixture(scope="module")
def demo():
    return load_book(DEMO_BOOK, demo=True), load_market(DEMO_MARKET, demo=True)


def engine_cell(book, market, move: float, vix: float, days: float) -> float:
    """The package P&L from now at SPX (1 + move), spot VIX `vix`, `days` on: the engine's
    what-if puts VIX at the map's level plus vix_move, so vix_move is what is left to `vix`."""
    mapped = market.vix * (1 + move) ** book.model.beta
    whatif = WhatIf(spx_move=move, vix_move=vix - mapped, days=days)
    return analyze(book, market, whatif).totals.pnl - analyze(book, market).totals.pnl


def test_the_axes_are_the_issue_s(demo):
    g = scenario_grid(*demo)
    assert g.spx_moves[0] == -0.20 and g.spx_moves[-1] == 0.10 and np.allclose(np.diff(g.spx_moves), 0.025)
    assert g.vix_shifts == tuple(float(x) for x in range(-5, 31, 5))
    assert g.pnl_t0.shape == g.pnl_horizon.shape == (13, 8)
    assert g.vix_levels == tuple(demo[1].vix + s for s in VIX_SHIFTS)


@pytest.mark.parametrize("i,j,days", [(0, 0, 0.0), (0, 7, 0.0), (3, 2, 0.0), (12, 5, 0.0),
                                      (2, 1, 7.0), (8, 6, 7.0), (10, 0, 30.0)])
def test_a_cell_is_the_engine_repricing_the_book_there(demo, i, j, days):
    book, market = demo
    g = scenario_grid(book, market, days)
    got = (g.pnl_horizon if days else g.pnl_t0)[i, j]
    want = engine_cell(book, market, SPX_MOVES[i], g.vix_levels[j], days)
    assert got == pytest.approx(want, abs=1e-9)


def test_past_an_expiry_the_horizon_prices_the_payoff_as_the_engine_does(demo):
    book, market = demo  # 30 days on: the Dec 04 and Dec 18 condors and the L1 call have settled
    g = scenario_grid(book, market, 30)
    for i, j in ((0, 3), (4, 1), (12, 7)):
        want = engine_cell(book, market, SPX_MOVES[i], g.vix_levels[j], 30)
        assert g.pnl_horizon[i, j] == pytest.approx(want, abs=1e-9)


def test_the_current_cell_is_zero_at_t0_and_theta_at_the_horizon(demo):
    book, market = demo
    g = scenario_grid(book, market, 1)
    assert (g.spx_moves[g.current[0]], g.vix_shifts[g.current[1]]) == (0.0, 0.0)
    assert g.pnl_t0[g.current] == 0.0
    # a day on, SPX and VIX unchanged: what the engine's one-day what-if (VIX held) gives
    assert g.pnl_horizon[g.current] == pytest.approx(engine_cell(book, market, 0.0, market.vix, 1), abs=1e-9)


def test_the_map_path_is_vix_times_growth_to_the_beta_capped(demo):
    book, market = demo
    moves = (-0.5, -0.3, -0.1, 0.0, 0.05)
    g = scenario_grid(book, market, spx_moves=moves)
    want = [min(market.vix * (1 + m) ** -4.0, VIX_CAP) for m in moves]
    assert g.map_vix == pytest.approx(want, rel=1e-12)
    assert g.map_vix[0] == VIX_CAP  # 16.5 x 0.5^-4 = 264: the map stops at its cap
    levels = np.array(g.vix_levels)
    assert list(g.map_path) == [int(np.abs(levels - v).argmin()) for v in want]
    assert g.map_path[3] == g.current[1]  # no move: the map stays at VIX now


def test_a_flatter_map_lowers_the_path(demo):
    book, market = demo
    flat = replace(book, model=ModelSettings(beta=-1.0))
    g = scenario_grid(flat, market)
    assert g.map_vix[0] == pytest.approx(market.vix / 0.8)


def test_the_grid_must_hold_the_current_cell(demo):
    with pytest.raises(ValueError, match="include 0"):
        scenario_grid(*demo, spx_moves=(-0.1, 0.1))


def test_the_json_form_has_the_issue_s_keys(demo):
    d = grid_to_dict(scenario_grid(*demo, days=5))
    for key in ("spx_moves", "vix_shifts", "pnl_t0", "pnl_horizon", "map_path"):
        assert key in d
    assert len(d["pnl_t0"]) == len(d["spx_moves"]) and len(d["pnl_t0"][0]) == len(d["vix_shifts"])
