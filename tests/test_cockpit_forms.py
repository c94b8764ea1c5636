"""No edit can brick the book: every form is checked by the engine the panes use, a book
the engine cannot price in part still opens, and market entry is undoable."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest

from cockpit.header import HeaderBar
from cockpit.screens.condor_form import CondorForm
from cockpit.screens.hedge_form import HedgeForm
from cockpit.screens.market_form import MarketForm
from cockpit.session import Session
from core.io import paths
from core.book.bookfile import load_book
from core.engine import analyze
from core.market.marketfile import NEW_YORK, load_market
from core.model.inputs import Hedge, HedgeLeg
from cockpit_helpers import demo_session, make_cockpit, sync, text_of, until_saved

GOOD = {"id": "IC-Feb", "expiry": "2027-02-19", "quantity": "2", "long_put": "6100",
        "short_put": "6200", "short_call": "7300", "long_call": "7400", "credit": "21.5"}
# a VIX call past the last listed future (2027-07-21): nothing to price it on
FAR = Hedge("L3-Sep-30C", 3, 2, (HedgeLeg("vix_call", date(2027, 9, 15), 30.0, 1.0, 1.5),))


@pytest.fixture(autouse=True)
def _user_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def problem(form) -> str:
    return str(form.query_one("#problem").content)


async def fill(pilot, form, values):
    for name, value in values.items():
        form.query_one(f"#{name}").value = value
    await pilot.pause()


def book_with_far_hedge():
    b = load_book(paths.DEMO_BOOK, demo=True)
    return replace(b, hedges=b.hedges[:2] + (FAR,) + b.hedges[2:])


# ---- the forms check through the engine ------------------------------------------

@pytest.mark.parametrize("values,message", [
    ({"expiry": "2026-11-01"}, "expiry 2026-11-01 is not after as_of 2026-11-20 16:15"),
    ({"short_call": "9000", "long_call": "9100"}, "spx_vol.skew: gives a vol of"),  # skew drives it below 0
])
@sync
async def test_condor_form_rejects_what_the_engine_cannot_price_and_the_book_is_unchanged(tmp_path, values,
                                                                                        message):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.session
        original, live = s.book, s.live
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, CondorForm)
        await fill(pilot, form, {**GOOD, **values})
        assert message in problem(form) and form.result is None
        assert str(paths.DEMO_MARKET) not in problem(form)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is form  # not taken: a bell, the form stays
        await pilot.press("escape")
        await pilot.pause()
        assert s.book is original and s.live is live and not s.dirty and not s.broken


@sync
async def test_condor_form_edit_to_a_past_expiry_is_refused(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        original = app.session.book
        await pilot.press("e")
        await pilot.pause()
        form = app.screen
        await fill(pilot, form, {"expiry": "2026-11-20"})  # as_of's own day, after the 16:00 close
        assert "not after as_of" in problem(form)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is form and app.session.book is original


@sync
async def test_hedge_form_rejects_a_leg_with_no_future_and_shows_strike_in_help(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.session
        original = s.book
        await pilot.press("2", "down", "down", "e")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, HedgeForm) and form.query_one("#id").value == "L3-Jul-30C"
        assert "RATIO KIND EXPIRY [STRIKE] @PRICE" in str(form.query_one(".hint").content)
        await fill(pilot, form, {"legs": "+1 vix_call 2027-09-15 30 @1.6"})
        text = problem(form)
        assert "no VIX future to price on for 2027-09-15" in text and "last listed 2027-07-21" in text
        assert str(paths.DEMO_MARKET) not in text  # the demo is never the file to fix
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is form
        await fill(pilot, form, {"legs": "+1 vix_call 2027-06-16 30 @1.6"})  # a listed future
        assert problem(form) == ""
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is not form and s.book is not original
        assert s.book.hedges[2].legs[0].expiry == date(2027, 6, 16) and not s.broken


# ---- a book the engine cannot price in part still opens --------------------------------

@sync
async def test_book_with_an_unpriceable_hedge_opens_prices_the_rest_and_shows_why(tmp_path):
    book = book_with_far_hedge()
    app = make_cockpit(tmp_path, book=book, signals=False)
    async with app.run_test(size=(160, 50)) as pilot:
        s = app.session
        assert s.error is None and set(s.broken) == {FAR.id}
        assert "no VIX future to price on for 2027-09-15" in s.broken[FAR.id]
        rest = replace(book, hedges=tuple(h for h in book.hedges if h.id != FAR.id))
        expected = analyze(rest, s.market)
        assert s.live.totals == expected.totals
        assert [h.hedge.id for h in s.live.hedges] == [h.id for h in rest.hedges]
        assert [c.condor.id for c in s.view.condors] == [c.id for c in book.condors]
        pane = text_of(app.query_one("#hedges"))
        assert f"✗{FAR.id}" in pane and "not priced" in pane and "no VIX future" in pane
        assert "Condors" in app.query_one("#condors").border_title
        assert "IC-Dec04" in text_of(app.query_one("#condors"))  # the rest still shows
        # listed after the priced hedges: the fourth row; e edits it
        await pilot.press("2", "down", "down", "down", "e")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, HedgeForm) and form.query_one("#id").value == FAR.id
        assert "no VIX future" in problem(form)  # unchanged, still unpriceable
        await fill(pilot, form, {"legs": "+1 vix_call 2027-07-21 30 @1.5"})
        assert problem(form) == ""
        await pilot.press("enter")
        await pilot.pause()
        assert not s.broken and len(s.live.hedges) == 4
        assert FAR.id in [h.hedge.id for h in s.live.hedges]
        await pilot.press("u")
        await pilot.pause()
        assert set(s.broken) == {FAR.id}


@sync
async def test_unpriceable_hedge_can_be_deleted(tmp_path):
    app = make_cockpit(tmp_path, book=book_with_far_hedge(), signals=False)
    async with app.run_test(size=(160, 50)) as pilot:
        s = app.session
        await pilot.press("2", "down", "down", "down", "x", "y")
        await pilot.pause()
        assert FAR.id not in [h.id for h in s.book.hedges] and len(s.book.hedges) == 3
        assert not s.broken and FAR.id not in text_of(app.query_one("#hedges"))


@sync
async def test_saved_book_file_with_an_unpriceable_hedge_opens_and_the_fix_prices_it(tmp_path):
    text = paths.DEMO_BOOK.read_text().replace("expiry = 2027-07-21", "expiry = 2027-09-15")
    path = tmp_path / "book.toml"
    path.write_text(text)
    book = load_book(path)
    app = make_cockpit(tmp_path, book=book, signals=False)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        s = app.session
        assert set(s.broken) == {"L3-Jul-30C"} and "no VIX future" in s.broken["L3-Jul-30C"]
        assert s.live is not None and len(s.live.condors) == 3 and len(s.live.hedges) == 2
        assert "✗L3-Jul-30C" in text_of(app.query_one("#hedges"))
        await pilot.press("2", "down", "down", "e")
        await pilot.pause()
        form = app.screen
        assert form.query_one("#id").value == "L3-Jul-30C" and "no VIX future" in problem(form)
        await fill(pilot, form, {"legs": "+1 vix_call 2027-07-21 30 @1.6"})
        await pilot.press("enter")
        await pilot.pause()
        assert not s.broken and len(s.live.hedges) == 3
        await pilot.press("ctrl+s")
        await until_saved(pilot)
        assert "2027-09-15" not in path.read_text()


def test_condor_pane_lists_a_set_aside_condor_last_with_its_reason(tmp_path):
    from cockpit.condors import condor_table
    from cockpit.pane import Palette
    s = demo_session(tmp_path)
    pal = Palette("green", "red", "yellow", "bold red", "green", "dim", "blue")
    x = s.book.condors[0]
    shown = text_of_renderable(condor_table(s.live, s.view, pal, 3, ((x, "expiry: why not"),)))
    rows = [line for line in shown.splitlines() if line.startswith(("IC-", "✗IC"))]
    assert rows[-1].startswith(f"✗{x.id}") and "not priced" in rows[-1]
    assert f"✗ {x.id} not priced: expiry: why not" in shown


def text_of_renderable(r) -> str:
    from rich.console import Console
    console = Console(width=250, record=True, file=open("/dev/null", "w"))
    console.print(r)
    return console.export_text()


def test_an_error_naming_no_position_keeps_the_last_good_numbers(tmp_path):
    s = demo_session(tmp_path)
    live = s.live
    steep = replace(s.market, spx_vol=replace(s.market.spx_vol, skew=-5.0))  # negative call vols
    assert s.problem(market=steep).startswith("spx_vol.skew:")
    assert not s.set_market(steep)
    assert s.live is live and "spx_vol.skew" in s.error and not s.broken


def test_session_sets_aside_every_unpriceable_position(tmp_path):
    b = book_with_far_hedge()
    past = replace(b.condors[1], expiry=date(2026, 11, 1))
    book = replace(b, condors=(b.condors[0], past, b.condors[2]))
    s = Session(book, load_market(paths.DEMO_MARKET, demo=True), save_path=tmp_path / "b.toml")
    assert set(s.broken) == {FAR.id, past.id} and s.error is None
    assert len(s.live.condors) == 2 and len(s.live.hedges) == 3


# ---- the market form -------------------------------------------------------------

@sync
async def test_market_form_focuses_its_first_field_and_u_undoes_it(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.session
        before = s.market
        await pilot.press("m")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, MarketForm)
        first = next(iter(form.query("Input")))
        assert app.focused is first and first.id == "spx"
        await pilot.press("1")  # the first key edits the level, it does not wipe it
        assert first.value == "68501" and problem(form) == ""
        await fill(pilot, form, {"spx": "7000"})
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert s.market.spx == 7000 and s.live.at.spx == 7000
        await pilot.press("u")
        await pilot.pause()
        assert s.market is before and s.live.at.spx == 6850
        assert "undid: market by hand" in text_of(app.query_one(HeaderBar))
        assert load_market(paths.user_market()).spx == 6850  # the file follows the undo
        await pilot.press("U")
        await pilot.pause()
        assert s.market.spx == 7000 and load_market(paths.user_market()).spx == 7000


@sync
async def test_market_form_as_of_is_new_york_unless_an_offset_is_given(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("m")
        await pilot.pause()
        form = app.screen
        assert form.query_one("#as_of").value == "2026-11-20T18:15:00"  # the clock, in New York
        await fill(pilot, form, {"as_of": "20/11/2026"})
        assert problem(form).startswith("as_of:")
        await fill(pilot, form, {"as_of": "2026-11-20T17:00"})
        assert problem(form) == ""
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.session.market.as_of == datetime(2026, 11, 20, 17, 0, tzinfo=NEW_YORK)
        await pilot.press("m")
        await pilot.pause()
        await fill(pilot, app.screen, {"as_of": "2026-11-20T22:30+00:00"})
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.session.market.as_of == datetime(2026, 11, 20, 17, 30, tzinfo=NEW_YORK)


@sync
async def test_market_form_rejects_a_market_the_book_cannot_price_naming_the_users_file(tmp_path):
    path = tmp_path / "market.toml"
    path.write_text(paths.DEMO_MARKET.read_text())
    app = make_cockpit(tmp_path, market_path=path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.session
        before = s.market
        await pilot.press("m")
        await pilot.pause()
        form = app.screen
        futures = form.query_one("#futures").value
        await fill(pilot, form, {"futures": futures.replace(", 2027-07-21=21", "")})
        text = problem(form)
        assert "L3-Jul-30C" in text and "no VIX future" in text and str(path) in text
        assert str(paths.DEMO_MARKET) not in text and "entered by hand" not in text
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is form
        await fill(pilot, form, {"futures": futures, "spx_skew": "-5"})
        assert problem(form).startswith(f"{path}: spx_vol.skew:")
        await pilot.press("escape")
        await pilot.pause()
        assert s.market is before and not s.undo_stack
    assert load_market(path).spx == 6850


@sync
async def test_market_form_on_the_demo_never_names_the_demo_or_a_missing_file(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    app.session.market_path = paths.DEMO_MARKET
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("m")
        await pilot.pause()
        form = app.screen
        futures = form.query_one("#futures").value
        await fill(pilot, form, {"futures": futures.replace(", 2027-07-21=21", "")})
        text = problem(form)
        assert "no VIX future" in text
        assert str(paths.DEMO_MARKET) not in text and str(paths.user_market()) not in text
        await fill(pilot, form, {"futures": futures, "spx_skew": "-5"})
        assert problem(form).startswith("spx_vol.skew:")
