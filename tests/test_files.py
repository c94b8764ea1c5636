"""Book and market files: every bad input is one clear InputError line naming file, line
and field; the CLI turns it into exit code 2 without a traceback; saving round-trips,
keeps comments and a .bak, and never leaves a half-written file."""
from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from cockpit.cli.main import main
from core.book.bookfile import book_to_toml, load_book, parse_book, save_book
from core.engine import analyze
from core.model.errors import InputError
from core.market.marketfile import load_market, parse_market
from core.model.inputs import Book, Condor, ModelSettings
from core.io.paths import DEMO_BOOK

ROOT = Path(__file__).resolve().parents[1]

BOOK = """\
# my book
[account]
equity = 250000.0            # USD

[[condor]]                   # first condor
id = "IC-Dec18"
expiry = 2026-12-18
quantity = 2
long_put = 6350
short_put = 6450
short_call = 7150
long_call = 7250
credit = 19.40

[[hedge]]
id = "L2"
layer = 2
quantity = 10
[[hedge.leg]]
kind = "vix_call"
expiry = 2027-01-20
strike = 20
ratio = 1
price = 1.35
[[hedge.leg]]
kind = "vix_call"
expiry = 2027-01-20
strike = 30
ratio = -1
price = 0.55
"""

MARKET = """\
as_of = 2026-11-20T16:15:00
spx = 6850.0
vix = 16.5
rate = 0.04
dividend_yield = 0.013

[spx_vol]
atm = 0.155
skew = -0.8

[vix_futures]
2026-12-16 = 17.6
2027-01-20 = 18.7

[vix_vol]
atm = 0.85
skew = 0.5
"""


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line number of the nth line containing needle."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    return hits[nth - 1]


def edit(text: str, old: str, new: str, nth: int = 1) -> str:
    """Replace the nth occurrence of a whole line starting with `old`."""
    lines = text.splitlines()
    hits = [i for i, line in enumerate(lines) if line.startswith(old)]
    i = hits[nth - 1]
    lines[i:i + 1] = new.splitlines() if new else []
    return "\n".join(lines) + "\n"


def check(exc: InputError, file: str, line: int | None, field: str | None, *words: str) -> None:
    msg = str(exc)
    assert "\n" not in msg, msg
    assert exc.file == file and msg.startswith(file), msg
    if line is not None:
        assert exc.line == line, msg
        assert msg.startswith(f"{file}:{line}: "), msg
    if field is not None:
        assert exc.field == field, msg
        assert f" {field}: " in msg, msg
    for w in words:
        assert w.lower() in msg.lower(), (w, msg)


def book_error(text: str, file: str = "book.toml") -> InputError:
    with pytest.raises(InputError) as info:
        parse_book(text, file)
    return info.value


def market_error(text: str, file: str = "market.toml") -> InputError:
    with pytest.raises(InputError) as info:
        parse_market(text, file)
    return info.value


def test_the_fixtures_are_valid():
    b = parse_book(BOOK, "book.toml")
    m = parse_market(MARKET, "market.toml")
    assert len(b.condors) == 1 and len(b.hedges) == 1 and len(b.hedges[0].legs) == 2
    assert b.condors[0].line == line_of(BOOK, "[[condor]]")
    analyze(b, m)


# ---- book -------------------------------------------------------------------------------

@pytest.mark.parametrize("key,value,bad_field", [
    ("short_put", "7200", "short_call"),  # short put above the short call: crossed
    ("long_put", "6450", "short_put"),  # equal strikes
    ("long_call", "7150", "long_call"),
    ("short_call", "6300", "short_call"),
])
def test_crossed_or_equal_strikes(key, value, bad_field):
    text = edit(BOOK, key, f"{key} = {value}")
    e = book_error(text)
    check(e, "book.toml", line_of(text, bad_field + " ="), f"condor[1].{bad_field}", "strikes must rise")


@pytest.mark.parametrize("key,value", [
    ("quantity", "0"), ("quantity", "-2"), ("credit", "0"), ("credit", "-1.5"),
    ("long_put", "-6350"), ("equity", "0"),
])
def test_non_positive_book_numbers(key, value):
    text = edit(BOOK, key, f"{key} = {value}")
    e = book_error(text)
    field = "account.equity" if key == "equity" else f"condor[1].{key}"
    check(e, "book.toml", line_of(text, f"{key} ="), field, "above zero")


def test_credit_at_or_above_the_wing_width():
    text = edit(BOOK, "credit", "credit = 100")
    check(book_error(text), "book.toml", line_of(text, "credit ="), "condor[1].credit", "wing width")


@pytest.mark.parametrize("value", ["0", "-0.5"])
def test_non_positive_hedge_leg_price(value):
    text = edit(BOOK, "price", f"price = {value}", nth=2)
    e = book_error(text)
    check(e, "book.toml", line_of(text, "price =", 2), "hedge[1].leg[2].price", "above zero")


def test_quantity_must_be_whole():
    text = edit(BOOK, "quantity", "quantity = 1.5")
    check(book_error(text), "book.toml", line_of(text, "quantity = 1.5"), "condor[1].quantity",
          "whole number")


def test_unknown_hedge_kind():
    text = edit(BOOK, 'kind = "vix_call"', 'kind = "vix_cal"', nth=2)
    e = book_error(text)
    check(e, "book.toml", line_of(text, "vix_cal\""), "hedge[1].leg[2].kind", "vix_call", "vix_future")


def test_unknown_field_is_a_typo():
    text = edit(BOOK, "short_call", "short_cal = 7150")
    e = book_error(text)
    # the missing real key is reported first or the typo is: either names the condor and a line
    assert e.field in ("condor[1].short_call", "condor[1].short_cal")
    check(e, "book.toml", None, None)
    assert e.line in (line_of(BOOK, "[[condor]]"), line_of(text, "short_cal ="))
    # a pure typo (extra key) names that key and its line
    text = edit(BOOK, "credit", "credit = 19.40\nquantitty = 3")
    check(book_error(text), "book.toml", line_of(text, "quantitty"), "condor[1].quantitty", "unknown field")


@pytest.mark.parametrize("key", ["id", "expiry", "quantity", "long_put", "credit"])
def test_missing_condor_fields(key):
    text = edit(BOOK, key + " ", "")
    e = book_error(text)
    check(e, "book.toml", line_of(text, "[[condor]]"), f"condor[1].{key}", "missing")


def test_missing_account_and_leg_fields():
    text = BOOK.replace("[account]\nequity = 250000.0            # USD\n", "")
    check(book_error(text), "book.toml", None, "account", "missing")
    text = edit(BOOK, "price", "", nth=1)
    check(book_error(text), "book.toml", line_of(text, "[[hedge.leg]]", 1), "hedge[1].leg[1].price", "missing")
    no_legs = BOOK[:BOOK.index("[[hedge.leg]]")]
    check(book_error(no_legs), "book.toml", line_of(no_legs, "[[hedge]]"), "hedge[1].leg", "leg")


def test_strike_on_a_future_and_missing_strike_on_an_option():
    text = edit(BOOK, 'kind = "vix_call"', 'kind = "vix_future"')
    check(book_error(text), "book.toml", line_of(text, "strike = 20"), "hedge[1].leg[1].strike", "no strike")
    text = edit(BOOK, "strike = 20", "")
    check(book_error(text), "book.toml", None, "hedge[1].leg[1].strike", "missing")


def test_wrong_types():
    text = edit(BOOK, "expiry", 'expiry = "Dec 18"')
    check(book_error(text), "book.toml", line_of(text, 'expiry = "Dec 18"'), "condor[1].expiry", "date")
    text = edit(BOOK, "expiry", "expiry = 2026-12-18T16:00:00")
    check(book_error(text), "book.toml", line_of(text, "expiry = 2026-12-18T"), "condor[1].expiry", "date")
    text = edit(BOOK, "layer", "layer = 4")
    check(book_error(text), "book.toml", line_of(text, "layer = 4"), "hedge[1].layer", "1, 2 or 3")


@pytest.mark.parametrize("broken,where", [
    ("[[condor]\n", "[[condor]"),
    ('id = "IC-Dec18\n', 'id = "IC-Dec18'),
    ("quantity = = 2\n", "quantity = = 2"),
    ("long_put = 6350\nlong_put = 6360\n", "long_put = 6360"),  # duplicate key
])
def test_malformed_toml_gives_the_parser_line(broken, where):
    first = broken.splitlines()[0]
    key = first.split("=")[0].strip().split("[")[0] or "[[condor]"
    lines = BOOK.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith(key if key else first))
    lines[i:i + 1] = broken.splitlines()
    text = "\n".join(lines) + "\n"
    e = book_error(text)
    check(e, "book.toml", line_of(text, where), None, "malformed TOML")
    assert "(at line" not in str(e)  # the parser's position moved into the prefix


def test_duplicate_ids():
    text = BOOK + BOOK[BOOK.index("[[condor]]"):BOOK.index("[[hedge]]")]
    e = book_error(text)
    check(e, "book.toml", line_of(text, 'id = "IC-Dec18"', 2), "condor[2].id", "duplicate", "IC-Dec18")
    # a hedge may not reuse a condor's id either
    text = BOOK.replace('id = "L2"', 'id = "IC-Dec18"')
    check(book_error(text), "book.toml", line_of(text, 'id = "IC-Dec18"', 2), "hedge[1].id", "duplicate")


@pytest.mark.parametrize("extra,field,words", [
    ("[model]\nbeta = 1.5\n", "model.beta", ("negative",)),
    ("[model]\nkappa = -1\n", "model.kappa", ("negative",)),
    ("[model]\nbeta = -4\nbetta = -3\n", "model.betta", ("unknown field",)),
    ("[alvh]\nweights = [0.5, 0.6]\n", "alvh.weights", ("sum to 1",)),
    ("[alvh]\nweights = [0.4]\n", "alvh.weights", ("two shares",)),
    ("[alvh]\nmacro_strength = 2.0\n", "alvh.macro_strength", ("1.15",)),
    ("[alvh]\nreference_stress = \"nope\"\n", "alvh.reference_stress", ("nope",)),
    ("[alvh.layer4]\ninstrument = \"vix_call\"\n", "alvh.layer4", ("unknown layer",)),
    ("[alvh.layer2]\ninstrument = \"vix_straddle\"\n", "alvh.layer2.instrument", ("vix_call_spread",)),
    ("[alvh.layer2]\nmin_days = 60\nmax_days = 30\n", "alvh.layer2.max_days", ("min_days",)),
    ("[[stress]]\nname = \"x\"\nspx_move = -1.5\n", "stress[1].spx_move", ("fraction",)),
    ("[[stress]]\nspx_move = -0.1\n", "stress[1].name", ("missing",)),
    ("[[stress]]\nname = \"x\"\nspx_move = -0.1\ndays = -2\n", "stress[1].days", ("negative",)),
])
def test_bad_settings(extra, field, words):
    text = BOOK + "\n" + extra
    e = book_error(text)
    key = field.split(".")[-1]
    key = key.split("[")[0]
    if key.startswith("layer") or key in ("name",):
        line = None  # a table-level error names the table's line
    else:
        line = line_of(text, key + " =", text.count(key + " =")) if f"{key} =" in text else None
    check(e, "book.toml", line, field, *words)


def test_settings_round_trip_through_the_parser():
    text = BOOK + "\n[model]\nbeta = -3.5\nkappa = 1.0\n\n[alvh]\nweights = [0.3, 0.7]\n" \
                  "[alvh.layer3]\nmin_days = 150\n"
    b = parse_book(text, "book.toml")
    assert b.model == ModelSettings(beta=-3.5, kappa=1.0, beta_source="book")
    assert b.alvh.weights == (0.3, 0.7)
    assert b.alvh.layers[3].min_days == 150 and b.alvh.layers[3].instrument == "vix_call"


# ---- market -----------------------------------------------------------------------------

@pytest.mark.parametrize("old,new,field,words", [
    ("spx", "spx = 0", "spx", ("above zero",)),
    ("vix", "vix = -16.5", "vix", ("above zero",)),
    ("atm = 0.155", "atm = 0", "spx_vol.atm", ("above zero",)),
    ("atm = 0.85", "atm = -0.2", "vix_vol.atm", ("above zero",)),
    ("atm = 0.155", "atm = 15.5", "spx_vol.atm", ("fraction",)),
    ("2026-12-16", "2026-12-16 = 0", "vix_futures.2026-12-16", ("above zero",)),
    ("2026-12-16", "Dec16 = 17.6", "vix_futures.Dec16", ("expiry dates",)),
    ("rate", "rate = 4", "rate", ("fraction",)),
    ("as_of", "as_of = 2026-11-20", "as_of", ("date-time",)),
    ("skew", "skwe = -0.8", "spx_vol.skwe", ("unknown field",)),
])
def test_bad_market_values(old, new, field, words):
    text = edit(MARKET, old, new)
    e = market_error(text)
    check(e, "market.toml", line_of(text, new), field, *words)


def test_missing_market_fields():
    text = edit(MARKET, "as_of", "")
    check(market_error(text), "market.toml", None, "as_of", "missing")
    text = edit(MARKET, "spx", "")
    check(market_error(text), "market.toml", None, "spx", "missing")


def test_bad_marks():
    text = MARKET + '\n[[mark]]\nkind = "spx_straddle"\nexpiry = 2026-12-18\nstrike = 6500\nprice = 5\n'
    check(market_error(text), "market.toml", line_of(text, "spx_straddle"), "mark[1].kind", "spx_call")
    text = MARKET + '\n[[mark]]\nkind = "spx_put"\nexpiry = 2026-12-18\nstrike = 6500\nprice = 0\n'
    check(market_error(text), "market.toml", line_of(text, "price = 0"), "mark[1].price", "above zero")


def test_override_keys_must_be_strikes():
    text = MARKET.replace("skew = -0.8\n", "skew = -0.8\n[spx_vol.overrides]\nATM = 0.2\n", 1)
    check(market_error(text), "market.toml", line_of(text, "ATM ="), "spx_vol.overrides.ATM", "strikes")
    text = MARKET.replace("skew = -0.8\n", "skew = -0.8\n[spx_vol.overrides]\n\"6400\" = 0\n", 1)
    check(market_error(text), "market.toml", line_of(text, '"6400" ='), "spx_vol.overrides.6400", "above zero")


def test_malformed_market_toml():
    text = MARKET.replace("[vix_vol]", "[vix_vol", 1)
    check(market_error(text), "market.toml", line_of(text, "[vix_vol"), None, "malformed TOML")


def test_as_of_with_an_offset_is_converted_to_new_york():
    m = parse_market(edit(MARKET, "as_of", "as_of = 2026-11-20T21:15:00Z"), "m")
    n = parse_market(MARKET, "m")
    assert m.as_of == n.as_of and str(m.as_of.tzinfo) == "America/New_York"
    assert m.as_of.hour == 16 and m.as_of.minute == 15


# ---- errors found when book meets market -------------------------------------------------

def write(tmp_path: Path, book: str = BOOK, market: str = MARKET) -> tuple[Path, Path]:
    b, m = tmp_path / "book.toml", tmp_path / "market.toml"
    b.write_text(book, encoding="utf-8")
    m.write_text(market, encoding="utf-8")
    return b, m


def test_condor_expired_before_as_of(tmp_path):
    b, m = write(tmp_path, edit(BOOK, "expiry", "expiry = 2026-11-20"))  # 16:00 < as_of 16:15
    with pytest.raises(InputError) as info:
        analyze(load_book(b), load_market(m))
    check(info.value, str(b), line_of(BOOK, "[[condor]]"), None, "expiry", "2026-11-20", "not after")
    assert "condor IC-Dec18" in str(info.value)


def test_hedge_leg_expired_before_as_of(tmp_path):
    b, m = write(tmp_path, edit(BOOK, "expiry", "expiry = 2026-11-18", nth=3))
    with pytest.raises(InputError) as info:
        analyze(load_book(b), load_market(m))
    check(info.value, str(b), line_of(BOOK, "[[hedge]]"), None, "hedge L2 leg 2", "expiry")


@pytest.mark.parametrize("futures", ["", "[vix_futures]\n2026-12-16 = 17.6\n"])
def test_vix_leg_with_no_future_to_price_on(tmp_path, futures):
    """No future listed at all, or the leg expires after the last listed one (Jan 20 > Dec 16)."""
    market = MARKET.replace("[vix_futures]\n2026-12-16 = 17.6\n2027-01-20 = 18.7\n", futures)
    b, m = write(tmp_path, market=market)
    with pytest.raises(InputError) as info:
        analyze(load_book(b), load_market(m))
    check(info.value, str(b), line_of(BOOK, "[[hedge]]"), None, "no VIX future", "2027-01-20",
          "[vix_futures]")
    assert str(m) in str(info.value)  # says which file to fix


def test_vix_options_without_a_vix_vol_surface(tmp_path):
    b, m = write(tmp_path, market=MARKET.replace("[vix_vol]\natm = 0.85\nskew = 0.5\n", ""))
    with pytest.raises(InputError) as info:
        analyze(load_book(b), load_market(m))
    check(info.value, str(m), None, "vix_vol.atm", "[vix_vol]")


def test_skew_that_gives_a_negative_vol(tmp_path):
    b, m = write(tmp_path, market=MARKET.replace("skew = -0.8", "skew = -3.0"))
    with pytest.raises(InputError) as info:
        analyze(load_book(b), load_market(m))
    check(info.value, str(m), None, "spx_vol.skew", "vol")


def test_file_not_found_and_unreadable(tmp_path):
    with pytest.raises(InputError) as info:
        load_book(tmp_path / "nope.toml")
    check(info.value, str(tmp_path / "nope.toml"), None, None, "not found")
    bad = tmp_path / "latin1.toml"
    bad.write_bytes("# caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError) as info:
        load_book(bad)
    check(info.value, str(bad), None, None, "cannot read")


# ---- through the CLI ----------------------------------------------------------------------

@pytest.fixture
def no_user_config(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


CLI_CASES = [
    ("crossed", edit(BOOK, "short_put", "short_put = 7200"), MARKET, "book", "short_call"),
    ("malformed", BOOK.replace("[[condor]]", "[[condor]", 1), MARKET, "book", "malformed TOML"),
    ("typo", edit(BOOK, "credit", "credit = 19.4\ncredti = 1"), MARKET, "book", "credti"),
    ("kind", BOOK.replace('"vix_call"', '"vix_cal"', 1), MARKET, "book", "kind"),
    ("no future", BOOK, MARKET.replace("2027-01-20 = 18.7\n", ""), "book", "no VIX future"),
    ("market", BOOK, edit(MARKET, "vix", "vix = 0"), "market", "vix"),
    ("beta", BOOK + "[model]\nbeta = 2\n", MARKET, "book", "model.beta"),
]


@pytest.mark.parametrize("name,book,market,culprit,word", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_bad_input_exit_2_one_line(no_user_config, capsys, name, book, market, culprit, word):
    b, m = write(no_user_config, book, market)
    for extra in ([], ["--json"]):
        code = main(["report", "--book", str(b), "--market", str(m), *extra])
        out, err = capsys.readouterr()
        assert code == 2
        assert out == ""
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith("alvh: ")
        assert str(b if culprit == "book" else m) in lines[0]
        assert word.lower() in lines[0].lower()
        assert "Traceback" not in err


def test_cli_missing_file(no_user_config, capsys):
    assert main(["report", "--book", str(no_user_config / "missing.toml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.toml" in err and "not found" in err


def test_cli_subprocess_no_traceback(no_user_config):
    b, m = write(no_user_config, BOOK.replace("[[condor]]", "[[condor]", 1))
    env = {**os.environ, "XDG_CONFIG_HOME": str(no_user_config / "config"),
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.run([sys.executable, "-m", "cockpit", "report", "--book", str(b), "--market", str(m)],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    assert re.match(rf"alvh: {re.escape(str(b))}:5: malformed TOML", p.stderr), p.stderr


# ---- saving ---------------------------------------------------------------------------------

def strip(book: Book) -> Book:
    """A book without where-it-came-from (line numbers, source)."""
    return dataclasses.replace(
        book, source=None,
        condors=tuple(dataclasses.replace(c, line=None) for c in book.condors),
        hedges=tuple(dataclasses.replace(h, line=None) for h in book.hedges))


@pytest.mark.parametrize("path", [DEMO_BOOK, None])
def test_book_to_toml_round_trip(path):
    text = path.read_text() if path else BOOK
    book = parse_book(text, "x")
    again = parse_book(book_to_toml(book), "x")
    assert strip(again) == strip(book)
    # with the previous text as well
    assert strip(parse_book(book_to_toml(book, text), "x")) == strip(book)


def test_round_trip_of_fractional_strikes_and_ratios():
    book = parse_book(BOOK.replace("strike = 20", "strike = 22.5").replace("ratio = -1", "ratio = -0.5")
                      .replace("long_put = 6350", "long_put = 6352.5"), "x")
    text = book_to_toml(book)
    assert "strike = 22.5" in text and "ratio = -0.5" in text and "long_put = 6352.5" in text
    assert "strike = 30\n" in text and "long_call = 7250\n" in text  # whole numbers stay whole
    assert strip(parse_book(text, "x")) == strip(book)


def test_round_trip_keeps_settings_without_previous_text():
    text = BOOK + "\n[model]\nbeta = -3.0\n\n[[stress]]\nname = \"gap\"\nspx_move = -0.05\n" \
                  "\n[alvh]\nreference_stress = \"gap\"\n"
    book = parse_book(text, "x")
    assert strip(parse_book(book_to_toml(book), "x")) == strip(book)


def test_save_keeps_comments_and_a_backup(tmp_path):
    path = tmp_path / "book.toml"
    text = BOOK + "\n[model]   # my beta\nbeta = -3.0   # calibrated by hand\n"
    path.write_text(text, encoding="utf-8")
    book = load_book(path)
    c = book.condors[0]
    new = dataclasses.replace(book, condors=(
        dataclasses.replace(c, quantity=3),
        Condor("IC-Jan15", date(2027, 1, 15), 1, 6200.0, 6300.0, 7250.0, 7350.0, 22.8)))
    saved = save_book(new, path)
    written = path.read_text(encoding="utf-8")
    assert path.with_name("book.toml.bak").read_text(encoding="utf-8") == text
    for comment in ("# my book", "# USD", "# my beta", "# calibrated by hand"):
        assert comment in written
    assert strip(load_book(path)) == strip(new)
    assert strip(saved) == strip(new) and saved.source == str(path)
    assert load_book(path).condors[0].quantity == 3
    assert strip(load_book(path)).hedges == strip(book).hedges


def test_unchanged_position_keeps_its_comment(tmp_path):
    path = tmp_path / "book.toml"
    text = BOOK.replace('id = "L2"', 'id = "L2"                    # the layer-2 spread')
    path.write_text(text, encoding="utf-8")
    book = load_book(path)
    c = book.condors[0]
    save_book(dataclasses.replace(book, condors=(dataclasses.replace(c, quantity=5),)), path)
    assert "# the layer-2 spread" in path.read_text(encoding="utf-8")


def test_repeated_saves_do_not_grow_the_file(tmp_path):
    path = tmp_path / "book.toml"
    path.write_text(BOOK, encoding="utf-8")
    save_book(load_book(path), path)
    once = path.read_text(encoding="utf-8")
    for _ in range(3):
        save_book(load_book(path), path)
    assert path.read_text(encoding="utf-8") == once


def test_save_of_an_unchanged_book_keeps_its_content(tmp_path):
    path = tmp_path / "book.toml"
    path.write_text(BOOK, encoding="utf-8")
    save_book(load_book(path), path)
    written = path.read_text(encoding="utf-8")
    assert [x for x in written.splitlines() if x.strip()] == [x for x in BOOK.splitlines() if x.strip()]


def test_failing_save_leaves_the_file_untouched(tmp_path, monkeypatch):
    path = tmp_path / "book.toml"
    path.write_text(BOOK, encoding="utf-8")
    book = load_book(path)
    changed = dataclasses.replace(book, equity=1.0)

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        save_book(changed, path)
    assert path.read_text(encoding="utf-8") == BOOK
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in ("book.toml", "book.toml.bak")]
    assert leftovers == []


def test_save_refuses_a_book_it_could_not_read_back(tmp_path):
    path = tmp_path / "book.toml"
    path.write_text(BOOK, encoding="utf-8")
    book = load_book(path)
    crossed = dataclasses.replace(book, condors=(dataclasses.replace(book.condors[0], short_put=7200.0),))
    with pytest.raises(InputError):
        save_book(crossed, path)
    assert path.read_text(encoding="utf-8") == BOOK
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.toml"]


def test_save_to_a_new_file(tmp_path):
    path = tmp_path / "new.toml"
    book = parse_book(BOOK, "x")
    save_book(book, path)
    assert strip(load_book(path)) == strip(book)
    assert not path.with_name("new.toml.bak").exists()


@pytest.mark.parametrize("prefix", ["", "[alvh]\nbase_ratio = 0.5\n"])
def test_unknown_layer_table_names_its_own_line(prefix):
    text = BOOK + "\n" + prefix + "[alvh.layer4]\ninstrument = \"vix_call\"\n"
    check(book_error(text), "book.toml", line_of(text, "[alvh.layer4]"), "alvh.layer4", "unknown layer")


def test_a_layer_sized_in_a_rise_is_refused(tmp_path):
    from core.book.bookfile import parse_book
    from core.io.paths import DEMO_BOOK
    text = DEMO_BOOK.read_text() + '\n[alvh.layer3]\nstress = "melt-up +5%"\n'
    with pytest.raises(InputError, match="not a fall"):
        parse_book(text, "b.toml")


def test_saving_keeps_the_comments_of_tables_that_spell_out_a_default(tmp_path):
    """The README's book writes root = "SPXW" (the default): an edit elsewhere keeps its comments."""
    from dataclasses import replace
    from core.book.bookfile import parse_book, save_book
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    text = readme.split("## Book file")[1].split("```toml\n")[1].split("```")[0]
    path = tmp_path / "book.toml"
    path.write_text(text)
    book = parse_book(text, str(path))
    save_book(replace(book, equity=book.equity + 1), path)
    kept = path.read_text()
    assert [line for line in text.splitlines() if "#" in line and "equity" not in line] == \
        [line for line in kept.splitlines() if "#" in line and "equity" not in line]
