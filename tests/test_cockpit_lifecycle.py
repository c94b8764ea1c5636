"""The lifecycle in the cockpit (Pilot): a book with expired positions opens and settles,
a missing settlement price is entered with S, c closes at a fill, x deletes with no P&L,
and ctrl+s journals every edit so that the journal replays to the saved book."""
from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.app import Cockpit
from cockpit.screens.close_form import CloseForm
from cockpit.screens.settle_form import SettleForm
from cockpit.session import Session
from core.history import journal
from core.io import paths
from core.book.bookfile import load_book
from core.market.marketfile import load_market
from cockpit_helpers import CLOCK, sync, text_of, until_saved

SETTLE_SPX = '\n[[settlement]]\nunderlying = "SPX"\ndate = 2026-12-04\nstyle = "PM"\nvalue = 6590.5\n'


@pytest.fixture(autouse=True)
def _user_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def expired_cockpit(tmp_path: Path) -> Cockpit:
    """The demo book on 2026-12-07: IC-Dec04 settled by the market file, L1 (VIX 2026-11-25) awaiting."""
    book, market = tmp_path / "book.toml", tmp_path / "market.toml"
    book.write_text(paths.DEMO_BOOK.read_text())
    market.write_text(paths.DEMO_MARKET.read_text().replace("2026-11-20T16:15:00", "2026-12-07T10:00:00") + SETTLE_SPX)
    s = Session(load_book(book), load_market(market), save_path=book, market_path=market, db=tmp_path / "h.sqlite")
    return Cockpit(s, clock=lambda: CLOCK, watch=False, settings=tmp_path / "settings.toml", signals=None)


@sync
async def test_expired_book_opens_settles_and_takes_a_settlement_price(tmp_path):
    app = expired_cockpit(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.session
        assert [c.id for c in s.book.condors] == ["IC-Dec18", "IC-Jan15"]
        assert [r.realized for r in s.book.closed] == [930.0]  # (12.60 - 9.50) x 3 x 100
        assert set(s.awaiting) == {"L1-Nov25-19C"} and s.dirty
        header = text_of(app.query_one("#header"))
        assert "settled IC-Dec04 +930 $" in header and "realized +930" in header
        assert "awaiting settlement price" in text_of(app.query_one("#hedges"))
        assert s.live.totals.hedge_pnl == pytest.approx(sum(h.pnl for h in s.live.hedges))
        await pilot.press("2")
        app.selected["hedges"] = 2  # the awaiting hedge, listed after the priced ones
        await pilot.press("S")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, SettleForm)
        form.query_one("#value").value = "19.7"
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        # VIX SOQ 19.70 on a 19 call bought at 0.45, 4 units: (0.70 - 0.45) x 4 x 100 = +$100
        assert s.awaiting == {} and s.book.closed[-1].realized == 100.0
        assert load_market(tmp_path / "market.toml").settlements[-1].value == 19.7  # kept in the file
        assert "awaiting" not in text_of(app.query_one("#hedges"))


@sync
async def test_close_at_a_fill_delete_a_typo_then_save_journals_and_replays(tmp_path):
    app = expired_cockpit(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.session
        credit = s.book.condors[0].credit  # IC-Dec18, 2 lots
        await pilot.press("c")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, CloseForm)
        assert float(form.query_one("#price").value) == pytest.approx(s.live.condors[0].mark, abs=0.005)
        form.query_one("#quantity").value = "1"
        form.query_one("#price").value = "4.10"
        form.query_one("#commission").value = "2.60"
        await pilot.pause()
        assert "realized" in str(form.query_one("#outcome").render())
        await pilot.press("enter")
        await pilot.pause()
        rec = s.book.closed[-1]
        assert (rec.id, rec.quantity, rec.realized) == ("IC-Dec18", 1, round((credit - 4.10) * 100 - 2.60, 2))
        assert s.book.condors[0].quantity == 1
        assert s.live.condors[0].pnl_realized == rec.realized
        # x deletes IC-Jan15 as a typo: no ledger record
        await pilot.press("down", "x")
        await pilot.pause()
        assert "No P&L is recorded" in app.screen.question
        await pilot.press("y")
        await pilot.pause()
        assert [c.id for c in s.book.condors] == ["IC-Dec18"] and len(s.book.closed) == 2
        await pilot.press("ctrl+s")
        await until_saved(pilot)
        saved = load_book(tmp_path / "book.toml")
        key = journal.book_key(tmp_path / "book.toml")
        entries = journal.entries(tmp_path / "h.sqlite", key)
        assert [e.action for e in entries] == ["sync", "settle", "close", "delete"]
        assert entries[1].label.startswith("settled IC-Dec04") and entries[2].label.startswith("closed 1 of IC-Dec18")
        assert entries[3].label.startswith("deleted condor IC-Jan15")
        assert journal.same(journal.replay(tmp_path / "h.sqlite", key), saved)
        assert journal.snapshots(tmp_path / "h.sqlite", key)[0]["date"] == "2026-12-07"


@sync
async def test_watched_market_rolling_past_an_expiry_keeps_pricing(tmp_path):
    """The market file is rewritten with as_of past IC-Dec04's close and no price for it:
    the condor waits for its settlement price, the rest prices, no engine error."""
    book, market = tmp_path / "book.toml", tmp_path / "market.toml"
    book.write_text(paths.DEMO_BOOK.read_text())
    market.write_text(paths.DEMO_MARKET.read_text())  # 2026-11-20: nothing expired yet
    s = Session(load_book(book), load_market(market), save_path=book, market_path=market, db=tmp_path / "h.sqlite")
    assert s.awaiting == {} and len(s.live.condors) == 3
    app = Cockpit(s, clock=lambda: CLOCK, watch=False, settings=tmp_path / "settings.toml", signals=None)
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.session
        market.write_text(paths.DEMO_MARKET.read_text().replace("2026-11-20T16:15:00", "2026-12-05T10:00:00"))
        app.reload_market()
        await pilot.pause()
        assert s.error is None and "IC-Dec04" in s.awaiting and "L1-Nov25-19C" in s.awaiting
        assert [c.condor.id for c in s.live.condors] == ["IC-Dec18", "IC-Jan15"]
        assert "awaiting a settlement price" in text_of(app.query_one("#header"))


@sync
async def test_add_form_takes_an_am_root_on_monthlies_only_and_dates_the_trade(tmp_path):
    """Root SPX on a weekly (2027-02-12) is refused; on the third Friday (2027-02-19) it is taken,
    priced 6.5 h shorter than the same condor as SPXW, and opened at the market's as_of."""
    from cockpit_helpers import make_cockpit
    from cockpit.screens.condor_form import CondorForm
    app = make_cockpit(tmp_path, signals=False)
    good = {"id": "IC-Feb", "expiry": "2027-02-12", "quantity": "2", "long_put": "6100", "short_put": "6200",
            "short_call": "7300", "long_call": "7400", "credit": "21.5", "root": "spx"}
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, CondorForm) and form.query_one("#root").value == "SPXW"
        for name, value in good.items():
            form.query_one(f"#{name}").value = value
        await pilot.pause()
        assert "third Friday" in str(form.query_one("#problem").content)
        form.query_one("#expiry").value = "2027-02-19"
        await pilot.pause()
        assert str(form.query_one("#problem").content) == ""
        await pilot.press("ctrl+s")
        await pilot.pause()
        new = app.session.book.condors[-1]
        assert (new.id, new.root, new.opened) == ("IC-Feb", "SPX", app.session.market.as_of.date())
        # from 16:15 on 2026-11-20 to 09:30 on the expiry (both EST)
        days = (new.expiry - app.session.market.as_of.date()).days - (16.25 - 9.5) / 24
        assert app.session.live.condors[-1].dte == pytest.approx(days, abs=1e-9)


def demo_files(tmp_path: Path) -> Session:
    book, market = tmp_path / "book.toml", tmp_path / "market.toml"
    book.write_text(paths.DEMO_BOOK.read_text())
    market.write_text(paths.DEMO_MARKET.read_text())
    return Session(load_book(book), load_market(market), save_path=book, market_path=market, db=tmp_path / "h.sqlite")


def test_a_market_moved_past_an_expiry_is_taken_and_undo_brings_the_positions_back(tmp_path):
    """The market form's candidate with as_of past IC-Dec04: no error (it would settle or wait);
    taken, IC-Dec04 awaits; undone, it is open and priced again."""
    from dataclasses import replace
    from datetime import datetime
    from core.market.marketfile import NEW_YORK
    s = demo_files(tmp_path)
    later = replace(s.market, as_of=datetime(2026, 12, 7, 10, tzinfo=NEW_YORK))
    assert s.problem(market=later) is None
    s.set_market(later, label="market by hand")
    assert set(s.awaiting) == {"IC-Dec04", "L1-Nov25-19C"}
    s.undo()
    assert s.awaiting == {} and [c.condor.id for c in s.live.condors] == ["IC-Dec04", "IC-Dec18", "IC-Jan15"]


def test_an_awaiting_condor_can_be_re_dated(tmp_path):
    """IC-Dec04 awaits its price on 2026-12-07; its expiry was a typo for Dec 11: the edit is taken."""
    from dataclasses import replace
    from datetime import datetime
    from core.market.marketfile import NEW_YORK
    m = replace(load_market(paths.DEMO_MARKET), as_of=datetime(2026, 12, 7, 10, tzinfo=NEW_YORK))
    s = Session(load_book(paths.DEMO_BOOK), m, save_path=tmp_path / "b.toml", db=tmp_path / "h.sqlite")
    assert "IC-Dec04" in s.awaiting
    fixed = replace(s.book.condors[0], expiry=s.book.condors[0].expiry.replace(day=11))
    book = replace(s.book, condors=(fixed,) + s.book.condors[1:])
    assert s.problem(book, edited=("IC-Dec04",)) is None
    s.edit(book, "edited condor IC-Dec04")
    assert "IC-Dec04" not in s.awaiting and "IC-Dec04" in [c.condor.id for c in s.live.condors]


@sync
async def test_undoing_s_takes_the_settlement_out_of_the_market_file(tmp_path):
    app = expired_cockpit(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.session
        app.selected["hedges"] = 2
        await pilot.press("2", "S")
        await pilot.pause()
        app.screen.query_one("#value").value = "19.7"
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert len(load_market(tmp_path / "market.toml").settlements) == 2
        await pilot.press("u")  # the settlement's book edit
        await pilot.press("u")  # the settlement price itself
        await pilot.pause()
        assert [x.underlying for x in load_market(tmp_path / "market.toml").settlements] == ["SPX"]
        assert "L1-Nov25-19C" in s.awaiting


@sync
async def test_a_settlement_value_the_market_file_refuses_is_refused_by_the_form(tmp_path):
    app = expired_cockpit(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        app.selected["hedges"] = 2
        await pilot.press("2", "S")
        await pilot.pause()
        form = app.screen
        form.query_one("#value").value = "99999"
        await pilot.pause()
        assert "VIX settles from 1 to 500" in str(form.query_one("#problem").content) and form.result is None


@sync
async def test_a_row_awaiting_its_price_still_fits_the_table_at_80_columns(tmp_path):
    """The condor table fits 80x24 with an awaiting row in it: the columns it keeps on screen,
    those it leaves out said so under the header, the awaiting row one line like the rest."""
    from dataclasses import replace
    from datetime import datetime
    from core.market.marketfile import NEW_YORK
    m = replace(load_market(paths.DEMO_MARKET), as_of=datetime(2026, 12, 7, 10, tzinfo=NEW_YORK))
    s = Session(load_book(paths.DEMO_BOOK), m, save_path=tmp_path / "b.toml", db=tmp_path / "h.sqlite")
    app = Cockpit(s, clock=lambda: CLOCK, watch=False, settings=tmp_path / "settings.toml", signals=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        body = app.query_one("#condors").body
        lines = [body.segments(y) for y in range(len(body._lines))]
        widths = [sum(len(seg.text) for seg in line) for line in lines]
        text = "\n".join("".join(seg.text for seg in line) for line in lines)
        assert max(widths) <= 78 and "Θ $/d" in text and "columns not shown at this width" in text, text
        row = next(line for line in text.splitlines() if line.startswith("✗IC-Dec04 "))
        assert "not priced" in row, text
