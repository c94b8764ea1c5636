"""The new-tranche form proposes its condor as a what-if: priced with the book in every pane
(marked +ID, the header saying "+1 proposed condor"), never saved or journaled; N commits it
by the typed-condor path (undo, save and journal alike), X or r drops it."""
from __future__ import annotations

import html
import re
from dataclasses import replace

import pytest

from cockpit import keymap
from cockpit.condors import CondorsPane
from cockpit.greeks import GreeksPane
from cockpit.header import HeaderBar
from cockpit.screens.capital import CapitalScreen
from cockpit.screens.grid import GridScreen
from cockpit.screens.suggest_form import SuggestForm
from cockpit_helpers import demo_session, make_cockpit, sync, text_of, until_saved
from core.book.bookfile import load_book
from core.capital.grid import scenario_grid
from core.history import journal


@pytest.fixture(autouse=True)
def _user_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def test_commit_and_drop_are_bound_once_and_clash_with_nothing():
    for action, key in (("commit_proposed", "N"), ("drop_proposed", "X")):
        ours = [k for k in keymap.KEYS if k.action == action]
        assert len(ours) == 1 and ours[0].keys == key
    taken = [a.strip() for k in keymap.KEYS for a in k.keys.split(",")]
    assert len(taken) == len(set(taken)), "a key is bound twice"


def on_screen(app) -> str:
    """The screen's text as drawn (the SVG screenshot without its markup)."""
    return html.unescape(re.sub(r"<[^>]+>", "", app.export_screenshot())).replace("\xa0", " ")


async def propose(pilot):
    """n, the form's defaults, enter: the suggested condor as a what-if."""
    await pilot.press("n")
    await pilot.pause()
    form = pilot.app.screen
    assert isinstance(form, SuggestForm)
    condor = form.suggestion.condor
    await pilot.press("enter")
    await pilot.pause()
    assert not isinstance(pilot.app.screen, SuggestForm)
    return condor


def test_a_proposed_condor_is_priced_in_the_view_only(tmp_path):
    s = demo_session(tmp_path)
    book, live = s.book, s.live
    extra = replace(book.condors[0], id="IC-new", quantity=1)
    assert s.propose(extra)
    assert s.book is book and not s.dirty and s.live is live  # the book and live untouched
    assert [c.condor.id for c in s.view.condors] == [c.id for c in book.condors] + ["IC-new"]
    assert s.view.whatif.is_live and s.start_save().book is book and not s.pending
    shown = s.view.book
    s.shift(spx=-0.02)  # a what-if move keeps it, on the same book object (the engine's cache)
    assert s.view.condors[-1].condor.id == "IC-new" and s.view.book is shown
    s.reset_whatif()
    assert s.proposed is None and s.view is s.live


def test_a_book_position_taking_its_id_drops_the_proposal(tmp_path):
    s = demo_session(tmp_path)
    extra = replace(s.book.condors[0], id="IC-new", quantity=1)
    s.propose(extra)
    s.edit(replace(s.book, condors=s.book.condors + (extra,)), "added condor IC-new", "add")
    assert s.proposed is None and len(s.view.condors) == len(s.book.condors)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@sync
async def test_n_proposes_the_panes_price_it_ctrl_s_leaves_it_out_and_N_commits_it(tmp_path, size):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=size) as pilot:
        s = app.session
        before = s.book
        condor = await propose(pilot)
        assert s.proposed == condor and s.book is before and not s.dirty
        pane = text_of(app.query_one(CondorsPane))
        assert f"+{condor.id}" in pane and "proposed" in pane
        assert "+1 proposed condor" in text_of(app.query_one(HeaderBar))
        assert "Net vs live" in text_of(app.query_one(GreeksPane))
        assert s.view.totals.greeks.theta != s.live.totals.greeks.theta
        shown = on_screen(app)  # on the terminal itself, not just in the pane's text
        assert f"+{condor.id}" in shown and "+1 proposed condor" in shown
        await pilot.press("ctrl+s")
        await until_saved(pilot)
        assert condor.id not in {c.id for c in load_book(tmp_path / "book.toml").condors}
        key = journal.book_key(tmp_path / "book.toml")
        assert "add" not in [e.action for e in journal.entries(tmp_path / "h.sqlite", key)]
        await pilot.press("N")
        await pilot.pause()
        assert s.proposed is None and s.book.condors[-1] == condor and s.dirty
        assert s.pending[-1][0] == "add"
        pane = text_of(app.query_one(CondorsPane))
        assert f"+{condor.id}" not in pane and condor.id in pane
        assert "+1 proposed condor" not in text_of(app.query_one(HeaderBar))
        await pilot.press("ctrl+s")
        await until_saved(pilot)
        assert condor.id in {c.id for c in load_book(tmp_path / "book.toml").condors}
        assert "add" in [e.action for e in journal.entries(tmp_path / "h.sqlite", key)]
        await pilot.press("u")
        await pilot.pause()
        assert condor.id not in {c.id for c in s.book.condors} and s.proposed is None


@pytest.mark.parametrize("key", ["r", "X"])
@sync
async def test_r_or_X_drops_the_proposal(tmp_path, key):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.session
        condor = await propose(pilot)
        await pilot.press("left_square_bracket")
        await pilot.pause()
        assert s.view.condors[-1].condor == condor
        await pilot.press(key)
        await pilot.pause()
        assert s.proposed is None and len(s.view.condors) == len(s.book.condors)
        assert f"+{condor.id}" not in text_of(app.query_one(CondorsPane))
        assert s.view.whatif.is_live == (key == "r")
        await pilot.press("N")
        await pilot.pause()
        assert "no proposed condor" in app.message and condor.id not in {c.id for c in s.book.condors}


@sync
async def test_capital_and_grid_price_the_book_with_the_proposal(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        condor = await propose(pilot)
        await pilot.press("C")
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CapitalScreen)
        assert condor.id in screen.query_one("VerticalScroll").border_title
        assert condor.id in text_of(screen.query_one("#capital-body"))
        await pilot.press("escape")
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, GridScreen)
        s, grid = app.session, app.screen.grid
        assert (grid.pnl_t0 == scenario_grid(s.view.book, s.market, 0).pnl_t0).all()
        assert (grid.pnl_t0 != scenario_grid(s.live.book, s.market, 0).pnl_t0).any()
        assert f"+{condor.id}" in text_of(app.screen.query_one("#grid-body"))
