"""What a hostile user found by mutating the demo and README files: each root cause is now
one line `alvh: file:line: field: message`, exit 2, no traceback (tests/test_fuzz_files.py
and bench/fuzz_files.py fuzz the same ground)."""
from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.cli.main import main
from core.book.bookfile import parse_book
from core.market.marketfile import parse_market

ROOT = Path(__file__).resolve().parents[1]
BOOK = (ROOT / "core/demo/book.toml").read_text(encoding="utf-8")
MARKET = (ROOT / "core/demo/market.toml").read_text(encoding="utf-8")


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line containing needle; lines end only at \\n, as in TOML."""
    return [i + 1 for i, line in enumerate(text.split("\n")) if needle in line][nth - 1]


def sub(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def report(tmp_path, capsys, book: str = BOOK, market: str = MARKET) -> tuple[int, str]:
    b, m = tmp_path / "book.toml", tmp_path / "market.toml"
    b.write_text(book, encoding="utf-8")
    m.write_text(market, encoding="utf-8")
    rc = main(["report", "--book", str(b), "--market", str(m), "--db", str(tmp_path / "history.db")])
    err = capsys.readouterr().err
    return rc, err.replace(str(tmp_path) + "/", "")


def refused(tmp_path, capsys, expected: str, **files) -> None:
    rc, err = report(tmp_path, capsys, **files)
    assert "Traceback" not in err
    assert err == f"alvh: {expected}\n", err
    assert rc == 2


# ---- 1. deep nesting --------------------------------------------------------------------

def test_deep_nesting_is_refused_before_the_parser_recurses(tmp_path, capsys):
    deep = "[" * 500 + "1" + "]" * 500
    book = sub(BOOK, "ratio = 1\nprice = 0.45", f"ratio = {deep}\nprice = 0.45")
    refused(tmp_path, capsys, f"book.toml:{line_of(book, 'ratio = [[[')}: malformed TOML: arrays or inline"
                              " tables nested more than 32 levels deep", book=book)
    market = MARKET + "x = " + "{a = " * 400 + "1" + "}" * 400 + "\n"
    refused(tmp_path, capsys, f"market.toml:{line_of(market, 'x = {')}: malformed TOML: arrays or inline"
                              " tables nested more than 32 levels deep", market=market)


# ---- 2. a scalar or array where a table goes --------------------------------------------

@pytest.mark.parametrize("old,new,where,message", [
    ("rate = 0.04", "vix_futures = 1\nrate = 0.04", ("vix_futures = 1", "vix_futures"),
     "must be a table [vix_futures], got 1"),
    ("skew = -0.8", "overrides = [1,2,3]\nskew = -0.8", ("overrides =", "spx_vol.overrides"),
     "must be a table [spx_vol.overrides], got [1, 2, 3]"),
    ("[vix_vol]", "[[vix_vol]]", ("[[vix_vol]]", "vix_vol"), "must be a table [vix_vol], got [[vix_vol]] tables"),
])
def test_scalar_or_array_for_a_market_table(tmp_path, capsys, old, new, where, message):
    market = MARKET.replace("[vix_futures]", "[vix_futures_gone]").split("[vix_futures_gone]")[0] \
        + "[vix_futures]\n2026-11-25 = 16.9\n2027-01-20 = 18.7\n2027-07-21 = 21.0\n[vix_vol]\natm = 0.85\n" \
        if old == "rate = 0.04" else MARKET
    if old == "rate = 0.04":
        market = market.split("[vix_futures]")[0].replace(old, new)
    else:
        market = sub(market, old, new)
    refused(tmp_path, capsys, f"market.toml:{line_of(market, where[0])}: {where[1]}: {message}", market=market)


def test_a_scalar_spx_vol_and_a_scalar_layer(tmp_path, capsys):
    market = sub(MARKET, "[spx_vol]\natm = 0.155                    # implied vol at the forward\n"
                         "skew = -0.8                    # dIV per unit of ln(K/F): puts richer than calls\n", "")
    market = sub(market, "rate = 0.04", "spx_vol = 1\nrate = 0.04")
    refused(tmp_path, capsys, f"market.toml:{line_of(market, 'spx_vol = 1')}: spx_vol: must be a table"
                              " [spx_vol], got 1", market=market)
    book = BOOK + "\n[alvh]\nlayer1 = false\n"
    refused(tmp_path, capsys, f"book.toml:{line_of(book, 'layer1')}: alvh.layer1: must be a table"
                              " [alvh.layer1], got False", book=book)


# ---- 3. non-finite and extreme numbers ----------------------------------------------------

@pytest.mark.parametrize("old,new,field,message", [
    ("equity = 250000.0", "equity = inf", "account.equity", "must be a finite number, got inf"),
    ("equity = 250000.0", "equity = 0.5", "account.equity", "must be from 1 to 1e+10 (USD), got 0.5"),
    ("long_put = 6550", "long_put = 5e-324", "condor[1].long_put", "must be from 1 to 1,000,000, got 5e-324"),
    ("quantity = 3", "quantity = 2000000", "condor[1].quantity", "must be from 1 to 1,000,000, got 2000000"),
    ("strike = 30\nratio = -1", "strike = 30\nratio = -inf", "hedge[2].leg[2].ratio",
     "must be a finite number, got -inf"),
    ("strike = 30\nratio = -1", "strike = 30\nratio = -101", "hedge[2].leg[2].ratio",
     "must be nonzero and from -100 to 100, got -101.0"),
    ("price = 1.60", "price = 1e308", "hedge[3].leg[1].price", "must be above zero and at most 500, got 1e+308"),
])
def test_book_numbers_finite_and_in_range(tmp_path, capsys, old, new, field, message):
    book = sub(BOOK, old, new)
    line = line_of(book, new.split("\n")[-1])
    refused(tmp_path, capsys, f"book.toml:{line}: {field}: {message}", book=book)


def test_strike_mult_below_half_is_refused(tmp_path, capsys):
    book = BOOK + "\n[alvh.layer3]\nstrike_mult = 0.01\n"
    refused(tmp_path, capsys, f"book.toml:{line_of(book, 'strike_mult')}: alvh.layer3.strike_mult:"
                              " must be from 0.5 to 5, got 0.01", book=book)


@pytest.mark.parametrize("old,new,field,message", [
    ("spx = 6850.0", "spx = inf", "spx", "must be a finite number, got inf"),
    ("vix = 16.5", "vix = 1e308", "vix", "must be from 1 to 500, got 1e+308"),
    ("2027-01-20 = 18.7", "2027-01-20 = inf", "vix_futures.2027-01-20", "must be a finite number, got inf"),
    ("2027-01-20 = 18.7", "2027-01-20 = 0.001", "vix_futures.2027-01-20", "must be from 1 to 500, got 0.001"),
    ("rate = 0.04 ", "rate = nan ", "rate", "must be a finite number, got nan"),
])
def test_market_numbers_finite_and_in_range(tmp_path, capsys, old, new, field, message):
    market = sub(MARKET, old, new)
    refused(tmp_path, capsys, f"market.toml:{line_of(market, new.strip())}: {field}: {message}", market=market)


# ---- 4. as_of outside 1990..2100 ----------------------------------------------------------

@pytest.mark.parametrize("as_of,shown", [
    ("0001-01-01T00:00:00+05:00", "0001-01-01 00:00:00+05:00"),  # was an OverflowError
    ("1970-01-01T00:00:00", "1970-01-01 00:00:00"),  # was break-evens at 3.4e21
    ("2101-01-01T09:30:00", "2101-01-01 09:30:00"),
])
def test_as_of_outside_1990_to_2100(tmp_path, capsys, as_of, shown):
    market = sub(MARKET, "as_of = 2026-11-20T16:15:00", f"as_of = {as_of}")
    refused(tmp_path, capsys, f"market.toml:2: as_of: must be from 1990-01-01 to 2100-12-31, got {shown}",
            market=market)


# ---- text quirks: BOM, U+2028, blame ------------------------------------------------------

def test_a_utf8_bom_is_accepted(tmp_path, capsys):
    rc, err = report(tmp_path, capsys, book="\ufeff" + BOOK, market="\ufeff" + MARKET)
    assert rc == 0 and err == ""
    assert parse_book("\ufeff" + BOOK).condors[0].line == line_of(BOOK, "[[condor]]")


def test_line_numbers_do_not_drift_after_u2028_in_a_string(tmp_path, capsys):
    book = sub(BOOK, 'id = "IC-Dec04"', 'id = "IC-\u2028Dec04"')
    book = sub(book, "credit = 22.80", "credit = 222.80")
    assert len(book.splitlines()) == book.count("\n") + 1  # str.splitlines sees one line more
    refused(tmp_path, capsys, f"book.toml:{line_of(book, 'credit = 222.80')}: condor[3].credit:"
                              " credit 222.8 must be below the wing width 100", book=book)


def test_a_tiny_spx_is_blamed_on_spx_not_on_the_skew(tmp_path, capsys):
    market = sub(MARKET, "spx = 6850.0", "spx = 1e-300")
    refused(tmp_path, capsys, "market.toml:3: spx: must be from 1 to 1,000,000, got 1e-300", market=market)


# ---- nonsense: marks, default vols, skew, quantities -------------------------------------

MARK = '\n[[mark]]\nkind = "{kind}"\nexpiry = 2026-12-18\nstrike = {strike}\nprice = {price}\n'


def test_a_mistyped_mark_breaks_the_condor_spread_against_the_surface(tmp_path, capsys):
    market = MARKET + MARK.format(kind="spx_put", strike=6450, price=1.0)
    refused(tmp_path, capsys, f"market.toml:{line_of(market, '[[mark]]')}: mark[1].price: spx_put 6450"
                              " 2026-12-18 at 1 makes condor IC-Dec18's 6350/6450 put spread worth -17.26"
                              " (below 0) against the surface: a mistyped mark?", market=market)


def test_marks_of_one_kind_and_expiry_must_not_allow_a_vertical_arbitrage(tmp_path, capsys):
    market = MARKET + "".join(MARK.format(kind="spx_put", strike=k, price=p)
                              for k, p in ((6350, 22.0), (6450, 3.12), (6550, 45.0)))
    refused(tmp_path, capsys, f"market.toml:{line_of(market, 'price = 3.12')}: mark[2].price: the 6350/6450"
                              " put spread is worth -18.88, below zero (put prices must rise with strike)"
                              f" against the 6350 mark (line {line_of(market, '[[mark]]')}): a mistyped mark?",
            market=market)
    market = MARKET + "".join(MARK.format(kind="spx_call", strike=k, price=p)
                              for k, p in ((7150, 30.0), (7250, 160.0)))
    refused(tmp_path, capsys, f"market.toml:{line_of(market, 'price = 160.0')}: mark[2].price: the 7150/7250"
                              " call spread is worth -130.00, below zero (call prices must fall with strike)"
                              f" against the 7150 mark (line {line_of(market, '[[mark]]')}): a mistyped mark?",
            market=market)


def test_call_put_parity_between_marks(tmp_path, capsys):
    market = MARKET + MARK.format(kind="spx_put", strike=6850, price=120.0) \
        + MARK.format(kind="spx_call", strike=6850, price=12.0)
    refused(tmp_path, capsys, f"market.toml:{line_of(market, 'price = 12.0')}: mark[2].price: call - put at"
                              " 6850 2026-12-18 is -122.15 off parity (fair 14.15, more than 13.98) with the"
                              f" spx_put mark (line {line_of(market, '[[mark]]')}): a mistyped mark?",
            market=market)


def test_consistent_marks_are_accepted():
    from core.engine import analyze
    market = parse_market(MARKET + MARK.format(kind="spx_put", strike=6450, price=28.0)
                          + MARK.format(kind="spx_put", strike=6350, price=19.0), "market.toml")
    assert analyze(parse_book(BOOK, "book.toml"), market).condors[1].mark > 0


def test_one_vol_rule_for_the_default_and_an_explicit_atm(tmp_path, capsys):
    no_surface = sub(MARKET, "[spx_vol]\natm = 0.155                    # implied vol at the forward\n"
                             "skew = -0.8                    # dIV per unit of ln(K/F): puts richer than calls\n", "")
    refused(tmp_path, capsys, "market.toml:4: vix: must be from 1 to 500, got 5000.0",
            market=sub(no_surface, "vix = 16.5", "vix = 5000"))
    refused(tmp_path, capsys, "market.toml:11: spx_vol.atm: is an annual vol as a fraction (0.16 is 16%)"
                              " and must be from 0.01 to 5, got 50.0", market=sub(MARKET, "atm = 0.155", "atm = 50"))
    # the largest VIX gives exactly the largest vol an explicit atm may have
    assert parse_market(sub(no_surface, "vix = 16.5", "vix = 500"), "m").spx_vol.atm == 5.0


def test_vix_vol_skew_is_bounded(tmp_path, capsys):
    market = sub(MARKET, "skew = 0.5 ", "skew = 1e308 ")
    refused(tmp_path, capsys, f"market.toml:{line_of(market, 'skew = 1e308')}: vix_vol.skew:"
                              " must be from -5 to 5, got 1e+308", market=market)


def test_a_condor_that_can_lose_over_100x_the_account(tmp_path, capsys):
    book = sub(BOOK, "quantity = 3", "quantity = 100000")
    refused(tmp_path, capsys, f"book.toml:{line_of(book, 'quantity = 100000')}: condor[1].quantity: 100,000"
                              " condors can lose $374,000,000 at expiry, over 100x the equity $250,000", book=book)
