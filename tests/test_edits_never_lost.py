"""Edits are never lost: a book file changed by another program is noticed at ctrl+s and the
trader chooses (reload / save mine beside / overwrite); a reshaped file never ends the app;
a bad market rewrite keeps the last good market."""
from __future__ import annotations

import pytest

from cockpit.screens.confirm import Confirm
from core.io import paths
from core.book.bookfile import load_book
from core.model.errors import InputError
from core.market.marketfile import load_market
from cockpit_helpers import make_cockpit, sync, text_of, until_saved


@pytest.fixture(autouse=True)
def _user_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


async def edit_then_clash(pilot, app, tmp_path, theirs: str):
    """Save once, make an edit here, let another program write the file, press ctrl+s."""
    await pilot.press("ctrl+s")
    await until_saved(pilot)
    await pilot.press("x", "y")  # delete IC-Dec04 here
    await pilot.pause()
    (tmp_path / "book.toml").write_text(theirs)
    await pilot.press("ctrl+s")
    await pilot.pause()
    assert isinstance(app.screen, Confirm) and "changed by another program" in app.screen.question


def their_book() -> str:
    return paths.DEMO_BOOK.read_text().replace("equity = 250000.0", "equity = 300000.0")


@sync
async def test_save_mine_beside_keeps_both(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await edit_then_clash(pilot, app, tmp_path, their_book())
        await pilot.press("m")
        await until_saved(pilot)
        assert load_book(tmp_path / "book.toml").equity == 300000.0  # theirs untouched
        mine = load_book(tmp_path / "book.toml.mine")
        assert "IC-Dec04" not in {c.id for c in mine.condors} and mine.equity == 250000.0
        assert app.session.dirty and app.is_running


@sync
async def test_reload_takes_theirs_and_undo_brings_mine_back(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await edit_then_clash(pilot, app, tmp_path, their_book())
        await pilot.press("r")
        await pilot.pause()
        s = app.session
        assert s.book.equity == 300000.0 and "IC-Dec04" in {c.id for c in s.book.condors} and not s.dirty
        await pilot.press("u")
        assert "IC-Dec04" not in {c.id for c in s.book.condors}


@sync
async def test_overwrite_a_reshaped_file_keeps_theirs_as_bak_and_never_exits(tmp_path):
    """`condor = 5` (a scalar where the condor tables go) made tomlkit raise at save: exit 1, edits lost."""
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await edit_then_clash(pilot, app, tmp_path, "condor = 5\n[account]\nequity = 1.0\n")
        await pilot.press("o")
        await until_saved(pilot)
        assert app.is_running and not app.session.dirty
        saved = load_book(tmp_path / "book.toml")
        assert [c.id for c in saved.condors] == ["IC-Dec18", "IC-Jan15"]
        assert (tmp_path / "book.toml.bak").read_text().startswith("condor = 5")


@sync
async def test_quit_with_a_clash_asks_and_quits_once_saved(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+s")
        await until_saved(pilot)
        await pilot.press("x", "y")
        await pilot.pause()
        (tmp_path / "book.toml").write_text(their_book())
        await pilot.press("q", "s")
        await pilot.pause()
        assert isinstance(app.screen, Confirm) and "changed by another program" in app.screen.question
        await pilot.press("o")
        await until_saved(pilot)
        assert not app.is_running  # quit once saved
    assert "IC-Dec04" not in {c.id for c in load_book(tmp_path / "book.toml").condors}


def _without_spx_vol(text: str) -> str:
    import re
    return "spx_vol = 0.15\n" + re.sub(r"\[spx_vol\]\n(?:[a-z].*\n)*", "", text)


BAD_MARKETS = {
    "scalar for a table": _without_spx_vol,
    "as_of out of range": lambda t: t.replace("as_of = 2026-11-20T16:15:00", "as_of = 1899-01-01T00:00:00"),
    "array of tables": lambda t: t.replace("[vix_vol]", "[[vix_vol]]"),
}


@pytest.mark.parametrize("name", BAD_MARKETS)
@sync
async def test_a_bad_market_rewrite_keeps_the_last_good_market(tmp_path, name):
    market = tmp_path / "market.toml"
    market.write_text(paths.DEMO_MARKET.read_text())
    app = make_cockpit(tmp_path, market_path=market, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        before = app.session.market
        market.write_text(BAD_MARKETS[name](paths.DEMO_MARKET.read_text()))
        with pytest.raises(InputError):
            load_market(market)  # the rewrite really is bad
        app.reload_market()
        await pilot.pause()
        assert app.session.market is before and app.is_running
        assert "keeping the last good market" in text_of(app.query_one("#header"))
