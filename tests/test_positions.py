"""`alvh positions import`: OCC symbols in every form, legs grouped back into the condors
and hedges a file was built from, leftovers with their reasons, and the book written once."""
from __future__ import annotations

import csv
import re
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest

from cli_helpers import refused, run
from core.book.bookfile import load_book, parse_book
from core.book.positions import Leg, parse_positions, parse_symbol, plan_import
from core.market.marketgen import vix_expiry
from core.model.inputs import Condor, Hedge, HedgeLeg
from core.model.instruments import NEW_YORK

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "core" / "demo"
CHAIN = ROOT.parent / "shared" / "data" / "spx_chain_2023-09-14.csv"
AS_OF = datetime(2026, 11, 20, 16, 15, tzinfo=NEW_YORK)  # the demo market's
BOOK = parse_book("[account]\nequity = 250000.0\n")


def occ(root: str, expiry: date, right: str, strike: float, form: str = "padded") -> str:
    ymd = expiry.strftime("%y%m%d")
    if form == "dotted":
        return f".{root}{ymd}{right}{strike:g}"
    return f"{root:<6}{ymd}{right}{round(strike * 1000):08d}" if form == "padded" else \
        f"{root}{ymd}{right}{round(strike * 1000):08d}"


def price(right: str, strike: float) -> float:
    """A leg's entry price, points: whole cents, so the file's text is the number."""
    return round((strike - 5800) / 40 if right == "P" else (7800 - strike) / 40, 2)


def credit(lp, sp, sc, lc) -> float:
    return round(price("P", sp) + price("C", sc) - price("P", lp) - price("C", lc), 6)


def condor(cid, expiry, qty, strikes, root="SPXW") -> Condor:
    return Condor(cid, expiry, qty, *map(float, strikes), credit=credit(*strikes), root=root)


def legs_of(condors: list[Condor]) -> dict[tuple, int]:
    """The net contracts a broker shows for these condors, by (root, expiry, right, strike)."""
    net: dict[tuple, int] = {}
    for c in condors:
        for right, strike, sign in (("P", c.long_put, 1), ("P", c.short_put, -1),
                                    ("C", c.short_call, -1), ("C", c.long_call, 1)):
            key = (c.root, c.expiry, right, strike)
            net[key] = net.get(key, 0) + sign * c.quantity
    return net


def position_file(path: Path, legs: dict[tuple, int], header=("Symbol", "Qty", "Trade Price"),
                  forms=("padded", "compact", "dotted"), total_cost=False) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Positions for account ...1234 as of 11/20/2026"])  # a broker's title line
        w.writerow([header[0], "Description", header[1], header[2]])
        for i, ((root, expiry, right, strike), qty) in enumerate(legs.items()):
            p = price(right, strike) if right in "CP" else 17.5
            w.writerow([occ(root, expiry, right, strike, forms[i % len(forms)]), "", qty,
                        f"{p * abs(qty) * 100:,.2f}" if total_cost else f"{p:.2f}"])
    return path


DEC18, JAN15, DEC04 = date(2026, 12, 18), date(2027, 1, 15), date(2026, 12, 4)
KNOWN = [  # as the import names and orders them: root, expiry, strikes
    condor("IC-2027-01-15-6300", JAN15, 1, (6200, 6300, 7250, 7350), root="SPX"),
    condor("IC-2026-12-04-6600", DEC04, 4, (6550, 6600, 7050, 7100)),
    # one block of 5 short 6450 puts with wings 3 + 2: two condors
    condor("IC-2026-12-18-6450", DEC18, 3, (6350, 6450, 7150, 7250)),
    condor("IC-2026-12-18-6450-2", DEC18, 2, (6400, 6450, 7150, 7250)),
]
STRAY = ("SPXW", DEC18, "P", 6300.0)  # a long put below every wing


# ---- symbols ----------------------------------------------------------------------

def test_every_symbol_form_parses_to_the_same_leg():
    want = Leg("SPXW", DEC18, "P", 6450.0)
    for text in ("SPXW  261218P06450000", "SPXW261218P06450000", ".SPXW261218P6450",
                 " spxw261218p06450000 ", ".SPXW261218P6450.0"):
        assert parse_symbol(text) == want, text
    assert parse_symbol("VIX   270120C00022500") == parse_symbol(".VIX270120C22.5") == \
        Leg("VIX", date(2027, 1, 20), "C", 22.5)
    assert parse_symbol("VIXW261125C00018000") == Leg("VIXW", date(2026, 11, 25), "C", 18.0)
    assert parse_symbol(".VXX270115P40") == Leg("VXX", date(2027, 1, 15), "P", 40.0)
    for text in ("/VXZ26", "VX/Z26", "VXZ26"):
        assert parse_symbol(text, vix_expiry) == Leg("VX", date(2026, 12, 16), "F", None), text
    for text in ("AAPL", "", "Account Total", "/ESZ26", "/VXZ26"):  # no resolver: futures unread
        assert parse_symbol(text) is None, text
    for text in ("SPXW  261332P06450000", "SPXW261218P00000000"):
        with pytest.raises(ValueError):
            parse_symbol(text)


def test_every_option_symbol_of_the_real_chain_parses():
    if not CHAIN.exists():
        pytest.skip(f"the real Cboe chain is not at {CHAIN}")
    with open(CHAIN, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    rows = rows[[r[:1] for r in rows].index(["Expiration Date"]) + 1:]  # after the header, line 4
    assert len(rows) == 9960
    for row in rows:
        expiry = datetime.strptime(row[0], "%a %b %d %Y").date()
        for col, right in ((1, "C"), (12, "P")):  # columns 2 and 13
            leg = parse_symbol(row[col])
            assert leg is not None and leg.root in ("SPX", "SPXW"), row[col]
            assert (leg.expiry, leg.right, leg.strike) == (expiry, right, float(row[11])), row[col]


# ---- grouping -------------------------------------------------------------------------

def plan_of(path: Path, book=BOOK, **kw):
    rows, left = parse_positions(path.read_text(encoding="utf-8"), str(path), future_expiry=vix_expiry)
    return plan_import(book, rows, left, AS_OF, **kw)


def test_a_file_built_from_condors_groups_back_into_them(tmp_path):
    legs = legs_of(KNOWN)
    assert legs["SPXW", DEC18, "P", 6450.0] == -5  # the block the wings split
    legs[STRAY] = 1
    plan = plan_of(position_file(tmp_path / "pos.csv", legs))
    assert list(plan.condors) == KNOWN
    assert plan.hedges == () and plan.existing == ()
    (stray,) = plan.leftovers
    assert stray.reason == "stray leg: no unpaired short put above it"
    assert stray.what.endswith("261218P06300000 x+1") and len(stray.lines) == 1


def test_leftovers_say_why_and_nothing_partial_is_added(tmp_path):
    legs = legs_of([condor("a", DEC18, 5, (6350, 6450, 7150, 7250)), condor("b", DEC04, 1, (6550, 6600, 7050, 7100))])
    legs |= {("SPXW", DEC18, "C", 7150.0): -4, ("SPXW", DEC18, "C", 7250.0): 4}  # 5 put spreads, 4 call
    del legs["SPXW", DEC04, "C", 7100.0]  # a wing missing: the 7050 call naked, the put spread alone
    legs |= {("SPY", DEC18, "P", 600.0): 1, ("SPXW", date(2026, 11, 13), "P", 6500.0): -1}
    plan = plan_of(position_file(tmp_path / "pos.csv", legs))
    assert [(c.quantity, c.short_put) for c in plan.condors] == [(4, 6450.0)]
    reasons = sorted(o.reason.split(":")[0] for o in plan.leftovers)
    assert reasons == ["expired", "missing wing", "unequal quantities", "unequal quantities", "unknown root SPY"]
    put_spread = next(o for o in plan.leftovers if o.what.startswith("SPXW 2026-12-18 put spread"))
    assert put_spread.what.endswith("x1") and "5 put spreads against 4 call spreads" in put_spread.reason


def test_vix_legs_become_hedges_in_the_layer_of_their_tenor(tmp_path):
    nov25, jan06, jul21 = date(2026, 11, 25), date(2027, 1, 6), date(2027, 7, 21)
    legs = {("VIXW", nov25, "C", 18.0): 4, ("VIXW", nov25, "C", 20.0): -8, ("VIXW", nov25, "C", 22.0): 4,
            ("VIX", jan06, "C", 20.0): 10, ("VIX", jan06, "C", 30.0): -10,
            ("VIX", jul21, "C", 30.0): 3,
            ("VIX", date(2027, 2, 17), "C", 20.0): 10, ("VIX", date(2027, 2, 17), "C", 30.0): -8}
    path = position_file(tmp_path / "pos.csv", legs, forms=("padded", "dotted"))
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("/VXF27,,-2,18.70\n")
    plan = plan_of(path)
    got = {h.id: h for h in plan.hedges}
    fly = got["L1-VIX-2026-11-25-18/20/22C"]  # 5 days: L1's 1-7
    assert fly == Hedge(fly.id, 1, 4, tuple(HedgeLeg("vix_call", nov25, k, r, price("C", k))
                                             for k, r in ((18.0, 1.0), (20.0, -2.0), (22.0, 1.0))))
    assert plan.why[fly.id].startswith("call butterfly; 5 days to expiry, in the L1 window")
    spread = got["L2-VIX-2027-01-06-20/30C"]  # 47 days: L2's 30-60
    assert (spread.layer, spread.quantity, [x.ratio for x in spread.legs]) == (2, 10, [1.0, -1.0])
    assert got["L3-VIX-2027-07-21-30C"].quantity == 3  # 243 days: L3's 120+
    future = got["L2-VX-2027-01-20"]  # 61 days: nearest L2 (60) not L3 (120)
    assert future.legs == (HedgeLeg("vix_future", date(2027, 1, 20), None, -1.0, 18.7),) and future.quantity == 2
    assert "nearest the L2 window" in plan.why[future.id]
    (unequal,) = plan.leftovers
    assert unequal.reason.startswith("unequal quantities") and len(unequal.lines) == 2
    assert {h.layer for h in plan_of(path, layer=3).hedges} == {3}
    wide_l1 = parse_book("[account]\nequity = 250000.0\n[alvh.layer1]\nmax_days = 90\n")  # the book's windows
    assert {h.id[:2] for h in plan_of(path, wide_l1).hedges if "2027-01" in h.id} == {"L1"}


def test_a_position_in_the_book_is_reported_not_repeated_and_ids_stay_unique(tmp_path):
    demo = load_book(DEMO / "book.toml")
    dec18 = next(c for c in demo.condors if c.id == "IC-Dec18")
    taken = replace(dec18, id="IC-2026-12-18-6450", long_put=6300.0, credit=19.0)
    book = replace(demo, condors=demo.condors + (taken,))
    plan = plan_of(position_file(tmp_path / "pos.csv", legs_of(KNOWN[2:])), book)  # 6350 wings: IC-Dec18's
    assert plan.existing == (("IC-Dec18", 2, 3),)
    assert [c.id for c in plan.condors] == ["IC-2026-12-18-6450-2"]


@pytest.mark.parametrize("header,total", [
    (("Symbol", "Qty", "Price"), False),
    ((" SYMBOL", "quantity ", "Trade  Price"), False),
    (("symbol", "Position", "Avg Price"), False),
    (("Symbol", "Quantity", "Cost Basis"), True),  # the line's total $, sign as the broker likes
])
def test_header_variants(tmp_path, header, total):
    plan = plan_of(position_file(tmp_path / "pos.csv", legs_of(KNOWN), header, total_cost=total))
    assert list(plan.condors) == KNOWN


def test_an_entry_price_column_wins_over_price_and_flags_name_others(tmp_path, capsys):
    text = "Instrument,Net Pos,Entry,Price\n" + "".join(
        f"{occ(*k)},{q},{price(k[2], k[3]):.2f},99.99\n" for k, q in legs_of(KNOWN[:1]).items())
    path = tmp_path / "pos.csv"
    path.write_text(text.replace("Entry", "Trade Price").replace("Instrument", "Symbol").replace("Net Pos", "Qty"))
    assert list(plan_of(path).condors) == KNOWN[:1]  # Trade Price, not Price (a mark)
    path.write_text(text)
    book = tmp_path / "book.toml"
    book.write_text("[account]\nequity = 250000.0\n")
    args = ["positions", "import", path, "--book", book, "--market", DEMO / "market.toml",
            "--db", tmp_path / "h.sqlite", "--dry-run"]
    assert refused(capsys, run(*args)) == (f"alvh: {path}:1: header: no header line with a 'Symbol' column"
                                           " (--symbol-col names another)")
    assert run(*args, "--symbol-col", "instrument", "--qty-col", "NET POS", "--price-col", "entry") == 0
    assert "add condor IC-2027-01-15-6300" in capsys.readouterr().out


# ---- the command ------------------------------------------------------------------------

@pytest.fixture
def files(tmp_path):
    book = tmp_path / "book.toml"
    book.write_text((DEMO / "book.toml").read_text(encoding="utf-8"), encoding="utf-8")
    legs = legs_of(KNOWN)
    legs[STRAY] = 1
    pos = position_file(tmp_path / "pos.csv", legs)
    return pos, book, ["--book", book, "--market", DEMO / "market.toml", "--db", tmp_path / "h.sqlite"]


def test_dry_run_prints_the_plan_and_writes_nothing(files, capsys):
    pos, book, args = files
    before = book.read_bytes()
    assert run("positions", "import", pos, "--dry-run", *args) == 0
    out = capsys.readouterr().out
    assert "add condor IC-2027-01-15-6300: SPX 2027-01-15 6200/6300/7250/7350 x1" in out
    assert "in the book already: IC-Dec18 x2 (the file holds 3: left as it is)" in out
    assert "stray leg" in out and out.rstrip().endswith("dry run: nothing written")
    assert book.read_bytes() == before and not book.with_name("book.toml.bak").exists()


def test_the_written_book_reloads_equal_with_a_bak_of_the_old_one(files, capsys):
    pos, book, args = files
    before_text, before = book.read_text(encoding="utf-8"), load_book(book)
    assert run("positions", "import", pos, *args) == 0
    out = capsys.readouterr().out
    assert "previous version kept as book.toml.bak" in out and "imported 2 condors and 0 hedges" in out
    after = load_book(book)  # the demo holds KNOWN[1] (IC-Dec04) and KNOWN[2] (IC-Dec18): their ids are free
    assert after.condors == before.condors + (KNOWN[0], replace(KNOWN[3], id="IC-2026-12-18-6450"))
    assert after.hedges == before.hedges
    assert book.with_name("book.toml.bak").read_text(encoding="utf-8") == before_text
    assert "# net credit per condor at entry, index points" in book.read_text(encoding="utf-8")
    written = book.read_bytes()
    assert run("positions", "import", pos, *args) == 0  # again: all in the book, nothing written
    assert "nothing to add: the book is unchanged" in capsys.readouterr().out
    assert book.read_bytes() == written


@pytest.mark.parametrize("line,where", [
    ("SPXW  261218P06450000,,-5x,15.00", "3: Qty: a quantity is a signed whole number"),
    ("SPXW  261218P06450000,,-5,abc", "3: Trade Price: a price is a number"),
    ("SPXW  261318P06450000,,-5,15.00", "3: Symbol: 'SPXW  261318P06450000': 261318 is no YYMMDD"),
    ("SPXW  261218P06450000,,-5,15.00,extra", "3: 5 fields, the header has 4"),
    ("SPXW  261218P06450000,,-5,\"15.00", "3: bad CSV: unexpected end of data"),
    ("SPXW  261218P06450000,,-5,1\x005", "3: Trade Price: a price is a number"),
])
def test_a_bad_line_names_file_line_and_field_and_exits_2(files, capsys, line, where):
    pos, book, args = files
    pos.write_text(f"Symbol,Description,Qty,Trade Price\nSPXW  261218P06350000,,3,11.25\n{line}\n",
                   encoding="utf-8")
    before = book.read_bytes()
    assert refused(capsys, run("positions", "import", pos, *args)).startswith(f"alvh: {pos}:{where}")
    assert book.read_bytes() == before


@pytest.mark.parametrize("data,where", [
    (b"Symbol,Qty,Price\nSPXW  261218P06350000,3,\xff\n", ":2: not UTF-8 text"),
    (b"Sym,Qty,Price\n", ":1: header: no header line with a 'Symbol' column"),
    (b"Symbol,Amount,Price\n", ":1: header: no Qty, Quantity or Position column"),
    (b"", ":1: header: no header line"),
])
def test_a_file_that_is_no_position_file_exits_2(files, capsys, data, where):
    pos, book, args = files
    pos.write_bytes(data)
    assert refused(capsys, run("positions", "import", pos, *args)).startswith(f"alvh: {pos}{where}")
    assert refused(capsys, run("positions", "import", pos.with_name("absent.csv"), *args)).endswith(
        "absent.csv: file not found")


def test_the_readme_example_imports_as_it_says(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"```csv\n(.*?)```", readme, re.S)
    path = tmp_path / "pos.csv"
    path.write_text(example, encoding="utf-8")
    plan = plan_of(path)
    assert [(c.id, c.quantity, c.credit) for c in plan.condors] == [("IC-2026-12-18-6450", 3, 5.0)]
    assert [h.id for h in plan.hedges] == ["L2-VX-2027-01-20"] and plan.leftovers == ()


def test_a_signed_quantity_in_parentheses_is_refused(tmp_path, capsys):
    from cli_helpers import refused, run
    f = tmp_path / "p.csv"
    f.write_text("Symbol,Qty,Trade Price\nSPXW261218P06450000,(-3),2.5\n")
    book = tmp_path / "b.toml"
    book.write_text("[account]\nequity = 100000\n")
    err = refused(capsys, run("positions", "import", f, "--book", book, "--dry-run"))
    assert f"{f}:2: Qty:" in err
