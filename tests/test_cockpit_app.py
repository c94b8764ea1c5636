"""Pilot tests of the cockpit: every key changes the engine input and the numbers shown."""
from __future__ import annotations

import pytest

from cockpit.condors import CondorsPane
from cockpit.header import HeaderBar
from cockpit.keymap import KEYS
from cockpit.screens.confirm import Confirm
from cockpit.screens.help import HelpScreen
from core.model.inputs import WhatIf
from cockpit_helpers import make_cockpit, settle, sync, text_of


@pytest.fixture(autouse=True)
def _user_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def key(action: str) -> str:
    return next(k.keys.split(",")[0] for k in KEYS if k.action == action)


WHATIF_KEYS = [
    ("spx(0.005)", WhatIf(spx_move=0.005)), ("spx(-0.005)", WhatIf(spx_move=-0.005)),
    ("spx(0.02)", WhatIf(spx_move=0.02)), ("spx(-0.02)", WhatIf(spx_move=-0.02)),
    ("vix(1)", WhatIf(vix_move=1)), ("vix(-1)", WhatIf(vix_move=-1)),
    ("days(1)", WhatIf(days=1)), ("days(-1)", WhatIf(days=-1)),
    ("days(7)", WhatIf(days=7)), ("days(-7)", WhatIf(days=-7)),
]


@pytest.mark.parametrize("action,expected", WHATIF_KEYS)
@sync
async def test_whatif_keys_move_engine_input_and_screen(tmp_path, action, expected):
    app = make_cockpit(tmp_path, signals=False)
    book = app.session.book
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(key(action))
        await pilot.pause()
        s = app.session
        assert s.whatif == expected
        assert s.view.whatif == expected and s.live.whatif.is_live
        assert s.book is book and not s.dirty  # a what-if never touches the book
        header = text_of(app.query_one(HeaderBar))
        assert "WHAT-IF" in header
        assert f"SPX {s.view.at.spx:,.2f}" in header and "()" not in header  # "(0)" when SPX stays
        condors = text_of(app.query_one(CondorsPane))
        first = s.view.condors[0]
        assert f"{first.pnl:+,.0f}" in condors and "vs live" in condors
        assert first.pnl != s.live.condors[0].pnl
        await pilot.press(key("reset_whatif"))
        await pilot.pause()
        assert s.whatif.is_live and s.view is s.live
        assert "LIVE" in text_of(app.query_one(HeaderBar))


@sync
async def test_whatif_steps_add_up_and_undo_each_other(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("]", "]", "}", "+", ".", ">")
        assert app.session.whatif == WhatIf(spx_move=0.03, vix_move=1, days=8)
        await pilot.press("[", "[", "{", "-", ",", "<")
        assert app.session.whatif.is_live


@sync
async def test_pane_keys_and_toggle_at_80x24(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.has_class("single")
        for n, name in enumerate(("condors", "hedges", "greeks", "gauges", "risk"), 1):
            await pilot.press(str(n))
            await pilot.pause()
            shown = [p.id for p in app.query(".pane") if p.display and p.region.height > 0]
            assert shown == [name]
            assert app.focused.id == name
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert not app.screen.has_class("single")
        assert all(p.region.height > 0 for p in app.query(".pane"))
        await pilot.press("z")
        await pilot.pause()
        assert app.screen.has_class("single")
        assert [p.id for p in app.query(".pane") if p.region.height > 0] == ["condors"]
        await pilot.press("z")
        await pilot.pause()
        assert not app.screen.has_class("single")
        await pilot.resize_terminal(80, 24)  # survives resize, both ways
        await pilot.pause()
        assert app.screen.has_class("single")
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert not app.screen.has_class("single")


@sync
async def test_select_keys_move_the_highlighted_row(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("down", "down", "down")
        assert app.selected["condors"] == 2  # stops at the last condor
        await pilot.press("up")
        assert app.selected["condors"] == 1
        await pilot.press("2", "down")
        assert app.selected["hedges"] == 1 and app.selected["condors"] == 1


@sync
async def test_help_lists_every_key_units_and_assumptions(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        console_text = text_of(app.screen.query_one("Static"))
        for k in KEYS:
            assert k.description in console_text
        assert "$ per calendar day" in console_text
        assert app.session.view.assumptions[0] in console_text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


@sync
async def test_command_palette_runs_a_key_table_action(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"VIX +1")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.session.whatif == WhatIf(vix_move=1)


@sync
async def test_signals_load_after_first_frame_and_feed_the_engine(tmp_path):
    app = make_cockpit(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.signal_set is not None and app.signal_set.demo
        assert app.session.signals is not None
        gauges = text_of(app.query_one("#gauges"))
        assert "DEMO history" in gauges and "VIX RSI" in gauges and "no data" in gauges
        assert f"regime {app.signal_set.regime}" in text_of(app.query_one(HeaderBar))


@sync
async def test_engine_error_keeps_last_good_numbers(tmp_path, monkeypatch):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        before = app.session.view

        def broken(*_):
            raise ZeroDivisionError("boom")
        monkeypatch.setattr(app.session, "_analyze", broken)
        await pilot.press("]")
        await pilot.pause()
        assert app.session.view is before
        assert "engine: ZeroDivisionError: boom" in text_of(app.query_one(HeaderBar))
        assert app.is_running


@sync
async def test_theme_cycle_never_crashes_and_is_saved(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(80, 24)) as pilot:
        seen = {app.theme}
        for _ in range(len(app.available_themes)):
            await pilot.press("t")
            await pilot.pause()
            seen.add(app.theme)
        assert seen == set(app.available_themes)
        assert f'theme = "{app.theme}"' in (tmp_path / "settings.toml").read_text()


@sync
async def test_quit_asks_when_edits_are_unsaved(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("x", "y")  # close the first condor
        assert app.session.dirty
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running and not isinstance(app.screen, Confirm)
        await pilot.press("q", "d")
        await pilot.pause()
        assert not app.is_running
