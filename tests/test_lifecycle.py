"""Settlement, closes at a fill, the realized ledger and the journal, against
hand-worked dollars and independent pricers."""
from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import pytest
from vollib.black_scholes_merton import black_scholes_merton as bsm_ref

from cockpit.cli.main import main
from core.history import journal
from core.book.bookfile import load_book, parse_book, save_book
from core.engine import analyze
from core.model.errors import InputError
from core.history.store import settlement_lookup
from core.book.lifecycle import close_position, market_file_lookup, settle
from core.market.marketfile import NEW_YORK, load_market, parse_market
from core.model.inputs import Book, Condor, Hedge, HedgeLeg

DEMO = Path(__file__).parents[1] / "core" / "demo"


def market_text(as_of="2026-12-07T10:00:00", extra=""):
    text = (DEMO / "market.toml").read_text()
    return text.replace("as_of = 2026-11-20T16:15:00", f"as_of = {as_of}") + "\n" + extra


def settlement(underlying, day, style, value):
    return f'\n[[settlement]]\nunderlying = "{underlying}"\ndate = {day}\nstyle = "{style}"\nvalue = {value}\n'


def ic(cid="IC", expiry=date(2026, 12, 18), quantity=3, strikes=(6550, 6600, 7050, 7100), credit=12.60, root="SPXW"):
    return Condor(cid, expiry, quantity, *map(float, strikes), credit=credit, root=root)


def no_history(*_):
    return None


# ---- settlement, by hand ------------------------------------------------------

def test_pm_condor_settles_on_the_close_by_hand():
    """SPX closes at 6590.50: the 6600/6550 put spread is worth 9.50, the calls nothing.
    Realized = (12.60 - 9.50) x 3 x 100 = $930."""
    m = parse_market(market_text(extra=settlement("SPX", "2026-12-04", "PM", 6590.5)))
    b = Book(250_000.0, condors=(ic(expiry=date(2026, 12, 4)),))
    s = settle(b, m, market_file_lookup(m))
    assert s.book.condors == () and s.awaiting == ()
    (r,) = s.records
    assert (r.close_price, r.realized) == (9.5, 930.0)
    assert "PM 6590.5" in r.how and "market file" in r.how


def test_am_condor_settles_on_the_opening_quotation_not_the_close():
    """A third-Friday SPX (AM) condor uses the AM value; a PM value for the same day is ignored.
    SOQ 7080: call spread 7050/7100 worth 30 -> (12.60 - 30) x 2 x 100 = -$3,480."""
    extra = settlement("SPX", "2026-12-18", "PM", 6900) + settlement("SPX", "2026-12-18", "AM", 7080)
    m = parse_market(market_text("2026-12-18T12:00:00", extra))
    am, pm = ic("AM", quantity=2, root="SPX"), ic("PM", quantity=2)
    s = settle(Book(250_000.0, condors=(am, pm)), m, market_file_lookup(m))
    # at noon only the AM condor has settled; the PM one still trades
    assert [r.id for r in s.records] == ["AM"] and [c.id for c in s.book.condors] == ["PM"]
    assert s.records[0].realized == pytest.approx(-3480.0)


def test_vix_call_and_future_settle_at_the_soq_by_hand():
    """VIX SOQ 23.40 on 2026-12-16: a 20 call pays 3.40, entry 1.35, 10 units -> +$2,050;
    a 20/30 call spread pays 3.40 against 0.80 -> +$2,600 on 10; a future bought at 17.60
    settles at 23.40 -> 5.80 x 1000 x 2 = +$11,600."""
    leg = lambda k, s, r, p: HedgeLeg(k, date(2026, 12, 16), s, r, p)  # noqa: E731
    hedges = (Hedge("C", 1, 10, (leg("vix_call", 20.0, 1, 1.35),)),
              Hedge("S", 2, 10, (leg("vix_call", 20.0, 1, 1.35), leg("vix_call", 30.0, -1, 0.55))),
              Hedge("F", 1, 2, (leg("vix_future", None, 1, 17.60),)))
    m = parse_market(market_text("2026-12-16T12:00:00", settlement("VIX", "2026-12-16", "AM", 23.4)))
    s = settle(Book(250_000.0, hedges=hedges), m, market_file_lookup(m))
    assert {r.id: r.realized for r in s.records} == {"C": 2050.0, "S": 2600.0, "F": 11600.0}


def test_missing_price_leaves_the_position_awaiting_and_the_rest_prices():
    m = parse_market(market_text())
    b = load_book(DEMO / "book.toml")
    s = settle(b, m, no_history)
    assert {(a.id, a.underlying, a.style) for a in s.awaiting} == {("IC-Dec04", "SPX", "PM"), ("L1-Nov25-19C", "VIX", "AM")}
    assert s.records == () and len(s.book.condors) == 3  # nothing lost: still in the book
    a = analyze(s.priceable, m)
    assert [c.condor.id for c in a.condors] == ["IC-Dec18", "IC-Jan15"]
    assert "awaiting settlement price" in s.awaiting[0].label


def test_history_store_settles_when_the_market_file_is_silent(tmp_path):
    """The store's SPX close for the day settles a PM condor (an import of a plain date,close file)."""
    csv = tmp_path / "spx.csv"
    csv.write_text("date,open,high,low,close\n2026-12-03,6600,6610,6590,6605\n2026-12-04,6601,6650,6580,6640.25\n")
    db = tmp_path / "h.sqlite"
    assert main(["data", "import", str(csv), "--series", "spx", "--db", str(db)]) == 0
    m = parse_market(market_text())
    b = Book(250_000.0, condors=(ic(expiry=date(2026, 12, 4)),))
    (r,) = settle(b, m, settlement_lookup(m, db)).records
    assert r.close_price == 0.0 and r.realized == pytest.approx(12.60 * 3 * 100)
    assert "close 2026-12-04" in r.how


def test_am_settled_time_to_expiry_is_six_and_a_half_hours_shorter():
    """Same strikes and date: the AM condor's DTE is 6.5 h less, and its mark is vollib's BSM
    with T from as_of to 09:30 New York on the expiry (worked out here, not read back)."""
    import math
    m = load_market(DEMO / "market.toml")
    b = Book(250_000.0, condors=(ic("AM", root="SPX"), ic("PM")))
    am, pm = analyze(b, m).condors
    assert pm.dte - am.dte == pytest.approx(6.5 / 24, abs=1e-9)
    T = (datetime(2026, 12, 18, 9, 30, tzinfo=NEW_YORK).timestamp() - m.as_of.timestamp()) / (365 * 86400)
    F = m.spx * math.exp((m.rate - m.dividend_yield) * T)
    vol = {k: m.spx_vol.atm + m.spx_vol.skew * math.log(k / F) for k in (6550, 6600, 7050, 7100)}
    ref = sum(sign * bsm_ref(flag, m.spx, k, T, m.rate, vol[k], m.dividend_yield)
              for sign, flag, k in ((-1, "p", 6550), (1, "p", 6600), (1, "c", 7050), (-1, "c", 7100)))
    assert am.mark == pytest.approx(ref, abs=1e-8)


def test_settlement_caps_each_spread_at_its_width():
    """SPX 6400 settles below the long put: the put spread pays its 50-point width, not 200.
    SPX 7300 above the long call: the call spread pays 50. (12.60 - 50) x 3 x 100 = -$11,220."""
    for level in (6400.0, 7300.0):
        m = parse_market(market_text(extra=settlement("SPX", "2026-12-04", "PM", level)))
        (r,) = settle(Book(250_000.0, condors=(ic(expiry=date(2026, 12, 4)),)), m, market_file_lookup(m)).records
        assert (r.close_price, r.realized) == (50.0, -11220.0)


def test_vix_put_and_vxx_call_settle_by_hand():
    """VIX SOQ 14.20: a 16 put pays 1.80 (entry 0.60, 5 units: +$600). VXX closes at 47.30:
    a 45 call pays 2.30 (entry 1.10, 2 units: +$240)."""
    put = Hedge("P", 1, 5, (HedgeLeg("vix_put", date(2026, 12, 16), 16.0, 1, 0.60),))
    call = Hedge("X", 3, 2, (HedgeLeg("vxx_call", date(2026, 12, 18), 45.0, 1, 1.10),))
    extra = settlement("VIX", "2026-12-16", "AM", 14.2) + settlement("VXX", "2026-12-18", "PM", 47.3)
    m = parse_market(market_text("2026-12-18T17:00:00", extra))
    got = {r.id: r.realized for r in settle(Book(250_000.0, hedges=(put, call)), m, market_file_lookup(m)).records}
    assert got == {"P": 600.0, "X": 240.0}


def test_market_file_settlement_wins_over_the_history_store(tmp_path):
    """The store says 6640.25 for the day; the market file says 6590.50: the file is used."""
    csv = tmp_path / "spx.csv"
    csv.write_text("date,open,high,low,close\n2026-12-03,6600,6610,6590,6605\n2026-12-04,6601,6650,6580,6640.25\n")
    db = tmp_path / "h.sqlite"
    assert main(["data", "import", str(csv), "--series", "spx", "--db", str(db)]) == 0
    m = parse_market(market_text(extra=settlement("SPX", "2026-12-04", "PM", 6590.5)))
    (r,) = settle(Book(250_000.0, condors=(ic(expiry=date(2026, 12, 4)),)), m, settlement_lookup(m, db)).records
    assert r.close_price == 9.5 and "market file" in r.how


def test_hedge_fill_outside_what_a_unit_can_be_worth_is_refused():
    """A 20/30 call spread is worth 0 to 10 points a unit: 10.5 and -0.5 are refused."""
    b = load_book(DEMO / "book.toml")
    for price in (10.5, -0.5):
        with pytest.raises(InputError) as info:
            close_position(b, "L2-Jan-20/30", 1, price, 0.0, date(2026, 11, 20))
        assert info.value.field == "price" and "0 to 10" in info.value.message
    _, rec = close_position(b, "L2-Jan-20/30", 2, 0.6, 2.604, date(2026, 11, 20))  # cents kept: 2.60
    assert (rec.commission, rec.realized) == (2.6, round((0.6 - 0.8) * 2 * 100 - 2.6, 2))


def test_am_root_only_on_monthly_expiries():
    text = (DEMO / "book.toml").read_text().replace('id = "IC-Dec04"', 'id = "IC-Dec04"\nroot = "SPX"', 1)
    with pytest.raises(InputError) as info:
        parse_book(text, "book.toml")
    assert "book.toml:" in str(info.value) and "root" in str(info.value) and "third Friday" in str(info.value)


# ---- closes at a fill -----------------------------------------------------------

def test_partial_and_full_close_with_commission_by_hand():
    b = Book(250_000.0, condors=(ic(),), hedges=(Hedge("H", 2, 10, (HedgeLeg("vix_call", date(2027, 1, 20), 20.0, 1, 1.35),
                                                                       HedgeLeg("vix_call", date(2027, 1, 20), 30.0, -1, 0.55))),))
    b1, r1 = close_position(b, "IC", 1, 3.20, 2.60, date(2026, 12, 1))
    assert r1.realized == pytest.approx((12.60 - 3.20) * 100 - 2.60)  # 937.40
    assert b1.condors[0].quantity == 2
    b2, r2 = close_position(b1, "IC", 2, 15.00, 5.20, date(2026, 12, 2))
    assert r2.realized == pytest.approx((12.60 - 15.00) * 2 * 100 - 5.20)  # -485.20
    assert b2.condors == ()
    b3, r3 = close_position(b2, "H", 4, 2.10, 5.20, date(2026, 12, 2))  # unit entry 1.35 - 0.55 = 0.80
    assert r3.realized == pytest.approx((2.10 - 0.80) * 4 * 100 - 5.20)  # 514.80
    assert b3.hedges[0].quantity == 6 and len(b3.closed) == 3
    assert analyze(b3, load_market(DEMO / "market.toml")).totals.realized == pytest.approx(937.40 - 485.20 + 514.80)


@pytest.mark.parametrize("qty, price, commission, field", [
    (0, 3.0, 0.0, "quantity"), (4, 3.0, 0.0, "quantity"), (1, -1.0, 0.0, "price"),
    (1, 60.0, 0.0, "price"), (1, float("nan"), 0.0, "price"), (1, 3.0, -1.0, "commission")])
def test_close_refuses_nonsense(qty, price, commission, field):
    with pytest.raises(InputError) as info:
        close_position(Book(1e5, condors=(ic(),)), "IC", qty, price, commission, date(2026, 12, 1))
    assert info.value.field == field


# ---- through the CLI and the report ---------------------------------------------

@pytest.fixture
def files(tmp_path):
    book, market = tmp_path / "book.toml", tmp_path / "market.toml"
    book.write_text((DEMO / "book.toml").read_text())
    market.write_text(market_text(extra=settlement("SPX", "2026-12-04", "PM", 6590.5)))
    return ["--book", str(book), "--market", str(market), "--db", str(tmp_path / "h.sqlite")], book


def test_expired_book_through_report_settle_close_ledger_journal(files, capsys):
    args, book = files
    assert main(["report", "--json", *args]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["realized"]["total"] == 930.0 and out["settled_now"] == ["IC-Dec04"]
    assert [w["id"] for w in out["awaiting_settlement"]] == ["L1-Nov25-19C"]
    assert [c["id"] for c in out["condors"]] == ["IC-Dec18", "IC-Jan15"]
    assert main(["settle", *args]) == 0
    assert "settled IC-Dec04" in capsys.readouterr().out
    assert [c.id for c in load_book(book).condors] == ["IC-Dec18", "IC-Jan15"]
    assert main(["close", "IC-Jan15", "--price", "20", "--quantity", "1", "--commission", "2.6", *args]) == 0
    capsys.readouterr()
    assert main(["report", "--json", *args]) == 0
    out = json.loads(capsys.readouterr().out)
    jan = next(c for c in out["condors"] if c["id"] == "IC-Jan15")
    credit = load_book(book).condors[1].credit
    assert jan["pnl_realized"] == pytest.approx((credit - 20) * 100 - 2.6)
    assert jan["pnl_lifetime"] == pytest.approx(jan["pnl"] + jan["pnl_realized"])
    assert main(["ledger", "--json", *args]) == 0
    ledger = json.loads(capsys.readouterr().out)
    assert [c["id"] for c in ledger["closed"]] == ["IC-Dec04", "IC-Jan15"]
    assert main(["journal", "--json", *args]) == 0
    actions = [e["action"] for e in json.loads(capsys.readouterr().out)["entries"]]
    assert actions == ["sync", "settle", "close"]
    assert main(["close", "nope", "--price", "1", *args]) == 2
    assert "no open position" in capsys.readouterr().err


def test_snapshot_stores_the_day(files, capsys):
    args, book = files
    assert main(["snapshot", *args]) == 0
    rows = journal.snapshots(args[-1], journal.book_key(book))
    assert [r["date"] for r in rows] == ["2026-12-07"]
    assert rows[0]["pnl_realized"] == 930.0 and set(rows[0]["positions"]) == {
        "IC-Dec18", "IC-Jan15", "L2-Jan-20/30", "L3-Jul-30C"}


# ---- the journal ----------------------------------------------------------------

def test_journal_replay_reproduces_the_book(tmp_path):
    db, path = tmp_path / "h.sqlite", tmp_path / "book.toml"
    key = journal.book_key(path)
    m = parse_market(market_text(extra=settlement("SPX", "2026-12-04", "PM", 6590.5)
                                 + settlement("VIX", "2026-11-25", "AM", 19.7)))
    steps = []
    b0 = load_book(DEMO / "book.toml")
    b1 = settle(b0, m, market_file_lookup(m)).book
    steps.append(("settle", b0, b1))
    b2, _ = close_position(b1, "L3-Jul-30C", 2, 1.2, 2.6, date(2026, 12, 7))
    steps.append(("close", b1, b2))
    from dataclasses import replace
    b3 = replace(b2, condors=b2.condors + (ic("NEW"),))
    steps.append(("add", b2, b3))
    b4 = replace(b3, condors=tuple(replace(c, quantity=9) if c.id == "NEW" else c for c in b3.condors))
    steps.append(("edit", b3, b4))
    b5 = replace(b4, hedges=b4.hedges[1:])
    steps.append(("delete", b4, b5))
    for action, before, after in steps:
        journal.record(db, key, action, before, after)
    got = journal.replay(db, key)
    assert journal.same(got, b5) and len(got.closed) == 3
    # a hand edit of the file between two edits is caught by a sync record
    b6 = replace(b5, condors=b5.condors[:1])
    journal.record(db, key, "delete", b6, replace(b6, condors=()))
    assert [e.action for e in journal.entries(db, key)][-2:] == ["sync", "delete"]
    assert journal.same(journal.replay(db, key), replace(b6, condors=()))


def test_kill_9_during_close_leaves_the_old_or_the_new_book(tmp_path):
    """Killed at moments spread over one run of `alvh close`: the book is always one of the two,
    and both outcomes are seen (the kills do land inside the write)."""
    market = tmp_path / "market.toml"
    market.write_text(market_text("2026-11-20T16:15:00"))
    old = (DEMO / "book.toml").read_text()
    book = tmp_path / "book.toml"

    def run(delay=None):
        book.write_text(old)
        cmd = [sys.executable, "-m", "cockpit", "close", "IC-Dec18", "--price", "5", "--quantity", "1",
               "--book", str(book), "--market", str(market), "--db", str(tmp_path / "h.sqlite")]
        start = time.monotonic()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if delay is None:
            p.wait()
            return time.monotonic() - start
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()

    full = max(run() for _ in range(3))  # how long a whole close takes here (the slowest: load varies)
    rng = random.Random(7)
    seen = set()
    for trial in range(40):
        run(rng.uniform(0.3, 1.5) * full)  # before and after the write, wherever it falls
        text = book.read_text()
        b = parse_book(text, str(book))
        qty = next(c.quantity for c in b.condors if c.id == "IC-Dec18")
        assert (text == old and qty == 2) or (qty == 1 and len(b.closed) == 1)
        seen.add(qty)
        if seen == {1, 2} and trial >= 5:
            break
    assert seen == {1, 2}


def test_spot_vol_map_caps_vix_in_extreme_what_ifs():
    """At beta -4 a -90% SPX would put VIX at 16.5 x 10^4 = 165,000: the map stops at 150 and says so.
    A -20% move stays on the map exactly: 16.5 x 0.8^-4 = 40.28."""
    from core.model.inputs import WhatIf
    m, b = load_market(DEMO / "market.toml"), load_book(DEMO / "book.toml")
    far = analyze(b, m, WhatIf(spx_move=-0.9))
    assert far.at.vix == 150.0 and any("capped at 150" in n for n in far.assumptions)
    near = analyze(b, m, WhatIf(spx_move=-0.2))
    assert near.at.vix == pytest.approx(16.5 * 0.8 ** -4) and not any("capped" in n for n in near.assumptions)


def test_condor_losses_beyond_the_account_are_warned():
    """Demo IC-Dec18 has a 100-point wing and 19.40 credit: max loss (100 - 19.40) x 100 = $8,060
    a lot; 40 lots = $322,400 on $250,000 equity, 1.3x."""
    from dataclasses import replace
    b, m = load_book(DEMO / "book.toml"), load_market(DEMO / "market.toml")
    big = replace(b, condors=(replace(b.condors[1], quantity=40),))
    notes = analyze(big, m).assumptions
    assert "WARNING: the condors' max losses add up to $322,400, 1.3x the $250,000 equity" in notes
    assert not any(n.startswith("WARNING: the condors") for n in analyze(b, m).assumptions)


def test_saved_ledger_follows_undo_and_hand_deletes(tmp_path):
    """Close A, save; undo; close B, save: the file holds B's record, not A's. A record deleted
    by hand from the file is not duplicated on the next save."""
    path = tmp_path / "book.toml"
    b0 = save_book(load_book(DEMO / "book.toml"), path)
    a, _ = close_position(b0, "IC-Dec18", 1, 5.0, 0.0, date(2026, 11, 20))
    save_book(a, path)
    b, rec = close_position(b0, "IC-Jan15", 1, 6.0, 0.0, date(2026, 11, 20))  # the undo took `a` back
    saved = save_book(b, path)
    assert saved.closed == (rec,) and load_book(path).closed == (rec,)
    assert {c.id: c.quantity for c in load_book(path).condors}["IC-Dec18"] == 2
    c, rec2 = close_position(saved, "IC-Dec04", 1, 7.0, 0.0, date(2026, 11, 21))
    save_book(c, path)
    text = path.read_text()
    first = text.index("[[closed]]")
    second = text.index("[[closed]]", first + 1)
    path.write_text(text[:first] + text[second:])  # the user deletes the first record by hand
    d, rec3 = close_position(load_book(path), "IC-Dec04", 1, 8.0, 0.0, date(2026, 11, 22))
    save_book(d, path)
    assert load_book(path).closed == (rec2, rec3)


@pytest.mark.parametrize("edit, field", [
    (("realized = 930.0", "realized = 931.0"), "realized"),
    (("closed = 2026-12-04", "closed = 2026-12-04\nopened = 2026-12-05"), "opened"),
    (('how = "fill"', 'how = "fill"\nlayer = 2'), "layer"),
])
def test_a_condor_ledger_record_that_cannot_be_right_is_refused(tmp_path, capsys, edit, field):
    """(12.60 - 9.50) x 3 x 100 - 0 = 930: a record saying 931 is refused, as are dates out of order."""
    record = ('\n[[closed]]\nid = "IC-Old"\nwhat = "condor"\nquantity = 3\nopen_price = 12.6\nclose_price = 9.5\n'
              'closed = 2026-12-04\ncommission = 0.0\nrealized = 930.0\nhow = "fill"\n')
    book = tmp_path / "book.toml"
    book.write_text((DEMO / "book.toml").read_text() + record.replace(*edit))
    assert main(["report", "--book", str(book), "--market", str(DEMO / "market.toml")]) == 2
    assert f"closed[1].{field}" in capsys.readouterr().err
    book.write_text((DEMO / "book.toml").read_text() + record)
    assert load_book(book).closed[0].realized == 930.0
