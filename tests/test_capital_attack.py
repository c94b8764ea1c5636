"""Hostile inputs to the capital calculator and the new-tranche helper: every one is a
one-line refusal naming its file, line and field (or its argument), or a sound answer."""
from __future__ import annotations

import math

import pytest

from cli_helpers import refused, run
from core.backtest.calendar import nearest_expiry
from core.book.bookfile import parse_book
from core.capital.suggest import STEP, suggest
from core.io.paths import DEMO_BOOK, DEMO_MARKET
from core.book.bookfile import load_book
from core.market.marketfile import load_market
from core.model.errors import InputError
from core.model.instruments import SPX, settle_time
from core.pricing.legs import YEAR
from core.pricing.kernels import bsm

import numpy as np

BOOK = "[account]\nequity = 250000\n\n[capital]\n"


@pytest.fixture(autouse=True)
def no_user_config(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


@pytest.fixture(scope="module")
def demo():
    return load_book(DEMO_BOOK, demo=True), load_market(DEMO_MARKET, demo=True)


def refusal(text: str) -> InputError:
    with pytest.raises(InputError) as e:
        parse_book(BOOK + text, "b.toml")
    return e.value


# ---- [capital]: a box whose computed rate is no rate ------------------------------

@pytest.mark.parametrize("box,field", [("box_width = 100\nbox_price = 1e-300\nbox_days = 1e-9", "capital.box_price"),
                                       ("box_width = 1000\nbox_price = 10\nbox_days = 1", "capital.box_price"),
                                       ("box_width = 3650\nbox_price = 20\nbox_days = 5e-324", "capital.box_price")])
def test_a_box_whose_rate_is_over_100_pct_is_refused_like_an_entered_one(box, field):
    e = refusal(box)
    assert e.file == "b.toml" and e.field == field and e.line == 6
    assert "100" in str(e)


def test_a_box_at_a_sound_rate_is_kept():
    b = parse_book(BOOK + "box_width = 1000\nbox_price = 960\nbox_days = 365", "b.toml")
    assert b.capital.box == (1000.0, 960.0, 365.0)


# ---- the helper: every DTE it accepts, on the demo's linear skew ----------------------

def _abs_delta(market, K, T, vol, call):
    g = bsm(np.array([call]), market.spx, np.array([K]), T, market.rate, market.dividend_yield, np.array([vol]))
    return abs(float(g.delta[0]))


@pytest.mark.parametrize("dte", [50, 60, 90, 180, 365, 1000])
def test_long_dated_suggestions_solve_inside_the_smile(demo, dte):
    """The demo's skew (-0.8) gives no vol past ~1.2 x the forward: the solver must not
    probe there (it raised the market file's skew error for any DTE past ~45)."""
    book, market = demo
    s = suggest(book, market, dte, 0.16, 50, calendar=nearest_expiry)
    c = s.condor
    T = (settle_time(c.expiry, SPX, c.root == "SPX") - market.as_of.timestamp()) / YEAR
    F = market.spx * math.exp((market.rate - market.dividend_yield) * T)

    def vol(K):
        return market.spx_vol.atm + market.spx_vol.skew * math.log(K / F)
    for K, call, got in ((c.short_put, False, s.deltas[0]), (c.short_call, True, s.deltas[1])):
        assert got == pytest.approx(_abs_delta(market, K, T, vol(K), call), abs=1e-12)
        near = [_abs_delta(market, k, T, vol(k), call) for k in (K - STEP, K + STEP) if vol(k) >= 0.01]
        assert min(near) <= 0.16 <= max(near), (dte, K, near)  # within one step of the target
    assert c.short_put < market.spx < c.short_call


@pytest.mark.parametrize("wings", ["6000", "1e9", "5e300"])
def test_wings_past_the_index_name_the_wings_not_the_market_file(capsys, wings):
    line = refused(capsys, run("suggest", "--wings", wings))
    assert "--wings" in line and "market.toml" not in line.split("--wings")[0]


def test_wings_past_the_smile_name_the_wings(capsys):
    line = refused(capsys, run("suggest", "--wings", "5000"))
    assert line.startswith("alvh: --wings:"), line


# ---- a what-if date before the valuation: "-5 d", not "+-5 d" -------------------------

def test_a_past_what_if_date_is_signed_once_in_the_grid_and_the_odds(capsys):
    assert run("report", "--grid", "--days", "-5") == 0
    out = capsys.readouterr().out
    assert "+-" not in out
    assert "what-if date (-5 d)" in out and "PoP -5d" in out
    assert run("report", "--grid", "--days", "7") == 0
    assert "what-if date (+7 d)" in capsys.readouterr().out


# ---- the grid on a narrow terminal: every cell whole, in whole thousands ---------------

@pytest.mark.parametrize("size", [(60, 20), (56, 18)])
def test_the_grid_at_60_columns_shows_every_cell_whole(tmp_path, size):
    from cockpit.screens.grid import GridScreen
    from cockpit_helpers import make_cockpit, sync, text_of

    @sync
    async def go():
        app = make_cockpit(tmp_path, signals=False)
        async with app.run_test(size=size) as pilot:
            await pilot.press("g")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, GridScreen)
            shown = text_of(screen.query_one("#grid-body"))
            assert "…" not in shown, shown  # "-42.…" told nothing
            assert "0*" in shown and "~" in shown
            row = next(line for line in shown.splitlines() if line.strip().startswith("-20%"))
            assert len(row.split()) == 9 and "-44k" in row, row
            await app.run_action("app.pop_screen")
            await pilot.resize_terminal(120, 40) if hasattr(pilot, "resize_terminal") else None
    go()


def test_compact_cells_are_whole_thousands():
    from cockpit.screens.grid import cell_text
    assert [cell_text(x, compact=True) for x in (-44312.4, 1346.0, 512.4, -0.3, 999.6)] == \
        ["-44k", "+1k", "+512", "0", "+1k"]


@pytest.mark.parametrize("q", ["1000001", "1" + "0" * 30])
def test_a_quantity_no_book_file_takes_is_refused(capsys, q):
    line = refused(capsys, run("suggest", "--quantity", q))
    assert line.startswith("alvh: --quantity:") and "1,000,000" in line


def test_the_helper_s_quantity_bound_is_the_book_file_s():
    from core.book.bookfile import QUANTITY
    from core.capital.suggest import MAX_QUANTITY
    assert QUANTITY["check"](MAX_QUANTITY) and not QUANTITY["check"](MAX_QUANTITY + 1)
