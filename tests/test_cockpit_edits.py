"""Edits in the cockpit: the add-condor form, undo/redo, delete, hedge edit, save, market entry, trades."""
from __future__ import annotations

import time
from dataclasses import replace

import pytest

from cockpit.header import HeaderBar
from cockpit.screens.condor_form import CondorForm, parse_condor
from cockpit.screens.confirm import Confirm
from cockpit.trades import apply_trades, totals_lines, trade_lines
from core.io import paths
from core.book.bookfile import load_book
from core.market.marketfile import load_market
from core.model.inputs import HedgeLeg
from core.model.results import Trade
from cockpit_helpers import demo_session, make_cockpit, sync, text_of, until_saved

GOOD = {"id": "IC-Feb", "expiry": "2027-02-19", "quantity": "2", "long_put": "6100",
        "short_put": "6200", "short_call": "7300", "long_call": "7400", "credit": "21.5"}


@pytest.fixture(autouse=True)
def _user_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def meaning(book):
    """What a book says, without where it came from (file lines, source)."""
    return (book.equity, tuple(replace(c, line=None) for c in book.condors),
            tuple(replace(h, line=None) for h in book.hedges), book.model, book.stress, book.alvh)


@pytest.mark.parametrize("field,value,message", [
    ("short_put", "6050", "strikes must rise"),
    ("long_call", "7300", "strikes must rise"),
    ("credit", "150", "below the wing width"),
    ("quantity", "1.5", "not a whole number"),
    ("short_call", "abc", "not a number"),
    ("expiry", "19/02/2027", "YYYY-MM-DD"),
    ("id", "IC-Dec04", "already in the book"),
])
def test_parse_condor_rejects_bad_input_with_a_message(tmp_path, field, value, message):
    book = demo_session(tmp_path).book
    condor, problem = parse_condor({**GOOD, field: value}, book, None)
    assert condor is None and message in problem and problem.startswith(field.split("_")[0])


def test_parse_condor_accepts_good_input_and_its_own_id_when_editing(tmp_path):
    book = demo_session(tmp_path).book
    condor, problem = parse_condor(GOOD, book, None)
    assert problem is None and condor.short_put == 6200 and condor.quantity == 2
    same, problem = parse_condor({**GOOD, "id": "IC-Dec04"}, book, "IC-Dec04")
    assert problem is None and same.id == "IC-Dec04"


async def fill(pilot, form, values):
    for name, value in values.items():
        form.query_one(f"#{name}").value = value
    await pilot.pause()


@sync
async def test_add_form_rejects_bad_strikes_then_saves_good_ones_and_undo_restores(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        original = app.session.book
        await pilot.press("a")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, CondorForm)
        await fill(pilot, form, {**GOOD, "short_put": "6050"})
        assert "strikes must rise" in str(form.query_one("#problem").content)
        await pilot.press("ctrl+s")
        assert app.screen is form  # not saved
        await fill(pilot, form, GOOD)
        assert str(form.query_one("#problem").content) == ""
        preview = str(form.query_one("#preview").content)
        assert "Break-evens at expiry" in preview and "Θ" in preview
        await pilot.press("ctrl+s")
        await pilot.pause()
        s = app.session
        assert [c.id for c in s.book.condors][-1] == "IC-Feb" and s.dirty
        assert len(s.view.condors) == 4 and "IC-Feb" in text_of(app.query_one("#condors"))
        await pilot.press("u")
        assert s.book is original and not s.dirty
        assert [c.condor.id for c in s.view.condors] == [c.id for c in original.condors]
        await pilot.press("U")
        assert s.book.condors[-1].id == "IC-Feb"


@sync
async def test_edit_and_delete_selected_condor_with_undo(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.session
        original = s.book
        await pilot.press("down", "e")
        await pilot.pause()
        form = app.screen
        assert form.query_one("#id").value == "IC-Dec18"
        await fill(pilot, form, {"quantity": "5"})
        await pilot.press("enter")
        await pilot.pause()
        assert s.book.condors[1].quantity == 5 and s.view.condors[1].condor.quantity == 5
        await pilot.press("x", "n")
        assert len(s.book.condors) == 3
        await pilot.press("x", "y")
        assert [c.id for c in s.book.condors] == ["IC-Dec04", "IC-Jan15"]
        await pilot.press("u", "u")
        assert s.book is original


@sync
async def test_edit_hedge_quantity(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2", "down", "e")
        await pilot.pause()
        form = app.screen
        assert form.query_one("#id").value == "L2-Jan-20/30"
        form.query_one("#quantity").value = "12"
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        h = app.session.book.hedges[1]
        assert h.quantity == 12 and h.legs == app.session.undo_stack[-1][1].hedges[1].legs
        assert app.session.view.hedges[1].hedge.quantity == 12


@sync
async def test_save_then_reload_round_trips_the_book(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    target = tmp_path / "book.toml"
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("x", "y", "ctrl+s")
        await until_saved(pilot)
        s = app.session
        assert not s.dirty and target.exists()
        assert meaning(load_book(target)) == meaning(s.book)
        assert "saved" in text_of(app.query_one(HeaderBar))
        await pilot.press("2", "x", "y", "ctrl+s")
        await until_saved(pilot)
        assert meaning(load_book(target)) == meaning(s.book)
        assert len(load_book(target.with_name("book.toml.bak")).hedges) == 3  # the previous version
    assert load_book(paths.DEMO_BOOK).condors[0].id == "IC-Dec04"  # the demo file is untouched


@sync
async def test_market_form_sets_levels_by_hand(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    app.session.market_path = paths.DEMO_MARKET  # as `alvh` on the demo has it
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("m")
        await pilot.pause()
        form = app.screen
        form.query_one("#spx").value = "abc"
        await pilot.pause()
        assert "not a number" in str(form.query_one("#problem").content)
        form.query_one("#spx").value = "7000"
        form.query_one("#vix").value = "18"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        s = app.session
        assert s.market.spx == 7000 and s.market.vix == 18 and s.live.at.spx == 7000
        assert "SPX 7,000.00" in text_of(app.query_one(HeaderBar))
    # started on the demo: saved to the user's own market file, the demo left alone
        await pilot.press("m")  # a second entry goes to the same user file
        await pilot.pause()
        app.screen.query_one("#spx").value = "7010"
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = load_market(paths.user_market())
    assert (saved.spx, saved.vix) == (7010, 18) and not s.market.demo
    assert load_market(paths.DEMO_MARKET).spx == 6850


@sync
async def test_market_form_saves_over_the_users_file_with_a_backup(tmp_path):
    path = tmp_path / "market.toml"
    path.write_text(paths.DEMO_MARKET.read_text())
    app = make_cockpit(tmp_path, market_path=path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("m")
        await pilot.pause()
        app.screen.query_one("#spx").value = "6900.5"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
    text = path.read_text()
    assert "spx = 6900.5" in text and "# DEMO market" in text  # the user's comments stay
    assert load_market(path.with_name("market.toml.bak")).spx == 6850


def test_apply_trades_adds_buys_and_shrinks_sells(tmp_path):
    s = demo_session(tmp_path)
    a = s.live.alvh
    leg = HedgeLeg("vix_call", s.market.vix_futures[2][0], 20.0, 1.0, 0.9)
    held = s.book.hedges[2]
    layers = list(a.layers)
    buy = Trade("buy", 3, "VIX call", (leg,), 3 * 90.0)
    layers[0] = replace(layers[0], trades=(buy,))
    layers[1] = replace(layers[1], trades=())
    layers[2] = replace(layers[2], trades=(Trade("sell", 2, held.id, held.legs, -100.0, hedge_id=held.id),))
    alvh = replace(a, layers=tuple(layers))
    marks = {h.hedge.id: h.mark for h in s.live.hedges}
    on = s.market.as_of.date()
    book = apply_trades(s.book, alvh, marks, on)
    assert len(trade_lines(alvh)) == 2
    assert book.hedges[2].quantity == held.quantity - 2
    # the sell is realized at the model mark: (mark - entry) x 2 x 100, flagged as a model fill
    (rec,) = book.closed
    entry = sum(leg.ratio * leg.price for leg in held.legs)
    assert (rec.id, rec.quantity, rec.how) == (held.id, 2, "model fill")
    assert rec.realized == pytest.approx((marks[held.id] - entry) * 2 * 100, abs=0.005)
    new = book.hedges[-1]
    assert (new.layer, new.quantity, new.legs) == (1, 3, (leg,)) and new.id not in {h.id for h in s.book.hedges}
    unpriced = replace(alvh, layers=(replace(layers[0], trades=(replace(buy, legs=(replace(leg, price=0.0),)),)),
                                     layers[1], layers[2]))
    with pytest.raises(ValueError, match="no entry prices"):
        apply_trades(s.book, unpriced, marks, on)


@sync
async def test_apply_key_shows_the_totals_and_over_budget_takes_two_keys(tmp_path):
    # 400 L1 calls that R4 keeps (FOMC within the 30 event days): no set fits the budget
    b = load_book(paths.DEMO_BOOK, demo=True)
    b = replace(b, hedges=(replace(b.hedges[0], quantity=400),) + b.hedges[1:],
                alvh=replace(b.alvh, event_days=30.0))
    app = make_cockpit(tmp_path, book=b)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()  # the signals, with the FOMC date
        await pilot.pause()
        s = app.session
        before, a = s.book, s.live.alvh
        assert a.over_budget and a.ratio.rules[3].fired
        await pilot.press("A")
        await pilot.pause()
        shown = str(app.screen.question)
        for line in trade_lines(a) + totals_lines(a, s.book.equity, s.book.alvh.drag_budget_pct):
            assert line in shown
        assert "OVER the 2 %/yr drag budget" in shown
        await pilot.press("y")  # one key cannot apply an over-budget set
        await pilot.pause()
        assert s.book is before and isinstance(app.screen, Confirm)
        await pilot.press("n")
        await pilot.press("A", "o")
        await pilot.pause()
        assert "Really go past the 2 %/yr drag budget" in str(app.screen.question)
        await pilot.press("y")
        await pilot.pause()
        assert s.book is not before and "applied hedge trades" in text_of(app.query_one(HeaderBar))


@pytest.mark.parametrize("hedges, base, actions", [
    ("none", 0.5, {"buy"}), ("demo", 0.0, {"sell"}), ("demo", 0.5, {"buy", "sell"}), ("400 L1", 0.5, {"buy", "sell"})])
def test_apply_totals_are_the_book_after_the_trades(hedges, base, actions):
    from core.engine import analyze
    from core.model.inputs import SignalInputs
    book, market = load_book(paths.DEMO_BOOK, demo=True), load_market(paths.DEMO_MARKET, demo=True)
    held = {"none": (), "demo": book.hedges,
            "400 L1": (replace(book.hedges[0], quantity=400),) + book.hedges[1:]}[hedges]
    book = replace(book, hedges=held, alvh=replace(book.alvh, base_ratio=base))
    a = analyze(book, market, signals=SignalInputs())
    assert {t.action for x in a.alvh.layers for t in x.trades} == actions
    after = analyze(apply_trades(book, a.alvh, {h.hedge.id: h.mark for h in a.hedges}, market.as_of.date()),
                    market, signals=SignalInputs())
    # the engine's forecast of the set against the book re-analysed with it done
    assert a.alvh.coverage_after == pytest.approx(after.alvh.ratio.current, rel=1e-9)
    assert a.alvh.drag_pct_after == pytest.approx(after.alvh.drag_pct, rel=1e-9)
    held = sum(max(h.value, 0.0) for h in after.hedges) / book.equity * 100
    # bought at the entry prices recorded, each leg rounded to 0.0001 point ($0.005 a contract)
    rounding = sum(t.contracts * len(t.legs) for x in a.alvh.layers for t in x.trades) * 0.005 / book.equity * 100
    assert a.alvh.premium_pct_after == pytest.approx(held, abs=rounding)


@sync
async def test_market_file_rewrite_reloads_and_bad_file_keeps_last_good(tmp_path):
    market = tmp_path / "market.toml"
    text = paths.DEMO_MARKET.read_text()
    market.write_text(text)
    app = make_cockpit(tmp_path, market_path=market, watch=True, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)  # the watcher starts
        market.write_text(text.replace("spx = 6850.0", "spx = 6900.0"))
        start = time.monotonic()
        while app.session.market.spx != 6900 and time.monotonic() - start < 1.0:
            await pilot.pause(0.05)
        assert app.session.market.spx == 6900 and app.session.live.at.spx == 6900
        assert "market reloaded" in text_of(app.query_one(HeaderBar))
        market.write_text("spx = \n")  # half-written
        start = time.monotonic()
        while "not taken" not in text_of(app.query_one(HeaderBar)) and time.monotonic() - start < 1.0:
            await pilot.pause(0.05)
        assert "keeping the last good market" in text_of(app.query_one(HeaderBar))
        assert app.session.market.spx == 6900
