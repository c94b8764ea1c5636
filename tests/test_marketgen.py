"""Market files written from history, and VIX expiry dates."""
from __future__ import annotations

import argparse
import tomllib
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from cockpit.cli import data as cli_data
from core.history import store as history
from core.model.errors import InputError
from core.market.marketgen import market_from_history, next_expiries, vix_expiry

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    if not (DATA / "vix_daily.csv").exists():
        pytest.skip(f"real market data not found at {DATA}")
    path = tmp_path_factory.mktemp("marketgen") / "h.sqlite"
    for name, series in [("vix_daily.csv", "vix"), ("vix3m_daily.csv", "vix3m"),
                         ("spx_daily.csv", "spx"), ("spx_close_fred.csv", "spx"),
                         ("vix_futures_vx1_vx2.csv", "vx1"), ("vix_futures_vx1_vx2.csv", "vx2")]:
        history.import_file(DATA / name, series, path)
    return path


@pytest.fixture(scope="module")
def real(db) -> dict:
    return history.load_all(db)


@pytest.mark.parametrize("year, month, expiry", [
    (2017, 5, date(2017, 5, 17)), (2017, 6, date(2017, 6, 21)),
    (2026, 12, date(2026, 12, 16)), (2027, 1, date(2027, 1, 20)),
    (2008, 2, date(2008, 2, 19)),  # Good Friday 2008-03-21: Tuesday expiry
    (2014, 3, date(2014, 3, 18)), (2022, 3, date(2022, 3, 15)),
    (2024, 6, date(2024, 6, 18)),  # Juneteenth Wednesday
])
def test_vix_expiry_known_dates(year, month, expiry):
    assert vix_expiry(year, month) == expiry


def test_every_expiry_is_a_trading_day_of_the_futures(real):
    traded = set(np.asarray(real["vx1"].index.values, dtype="datetime64[D]").astype(object))
    expiries = [vix_expiry(y, m) for y in range(2006, 2017) for m in range(1, 13)]
    assert all(e in traded for e in expiries)
    assert sum(e.weekday() == 2 for e in expiries) == len(expiries) - 2  # 2008-02, 2014-03


def test_next_expiries():
    assert next_expiries(date(2026, 11, 20), 2) == [date(2026, 12, 16), date(2027, 1, 20)]
    assert next_expiries(date(2026, 12, 16), 1) == [date(2027, 1, 20)]


def test_real_day_with_futures(real):
    m = tomllib.loads(market_from_history(real, date(2016, 6, 1)))
    assert m["as_of"] == datetime(2016, 6, 1, 16, 15)
    assert (m["spx"], m["vix"], m["vix3m"]) == (2099.33, 14.2, 16.7)
    assert (m["rate"], m["dividend_yield"]) == (0.04, 0.013)
    assert m["spx_vol"] == {"atm": 0.142, "skew": -0.9}
    assert m["vix_futures"] == {"2016-06-15": 15.275, "2016-07-20": 17.525}
    assert m["vix_vol"] == {"atm": 0.85, "skew": 0.5}


def test_expiry_day_leaves_the_expired_future_out(real):
    text = market_from_history(real, date(2017, 5, 17))
    assert tomllib.loads(text)["vix_futures"] == {"2017-06-21": 14.225}


def test_weekend_uses_friday_and_far_dates_fail(real):
    m = tomllib.loads(market_from_history(real, date(2016, 6, 5)))
    assert m["as_of"] == datetime(2016, 6, 3, 16, 15)
    with pytest.raises(InputError, match="no SPX and VIX closes on or shortly before 1980"):
        market_from_history(real, date(1980, 1, 1))


def test_estimated_futures_without_stored_ones(real):
    text = market_from_history(real)  # last common close: 2026-02-11, no futures then
    m = tomllib.loads(text)
    assert m["as_of"] == datetime(2026, 2, 11, 16, 15) and m["vix"] == 17.65
    assert "ESTIMATED" in text
    # 30-day vol from each expiry, on the line from VIX (30 days) to VIX3M (93 days)
    vix, vix3m = m["vix"], m["vix3m"]
    assert m["vix_futures"] == {
        "2026-02-18": round(vix + (vix3m - vix) * 7 / 63, 2),
        "2026-03-18": round(vix + (vix3m - vix) * 35 / 63, 2)}
    no_vix3m = tomllib.loads(market_from_history(real, date(2003, 6, 2)))
    assert "vix3m" not in no_vix3m and set(no_vix3m["vix_futures"].values()) == {no_vix3m["vix"]}


def test_demo_market_matches_the_demo_day():
    text = market_from_history(history.demo_series())
    assert text.startswith("# DEMO")
    m = tomllib.loads(text)
    assert (m["as_of"], m["spx"], m["vix"], m["vix3m"]) == (
        datetime(2026, 11, 20, 16, 15), 6850.0, 16.5, 18.9)
    assert m["spx_vol"]["atm"] == 0.165
    assert m["vix_futures"] == {"2026-12-16": 17.49, "2027-01-20": 18.82}


def test_loads_with_the_market_file_reader(real):
    marketfile = pytest.importorskip("core.market.marketfile")
    market = marketfile.parse_market(market_from_history(real, date(2016, 6, 1)))
    assert market.as_of.utcoffset().total_seconds() == -4 * 3600  # EDT
    assert market.vix_futures == ((date(2016, 6, 15), 15.275), (date(2016, 7, 20), 17.525))
    assert market.spx_vol.atm == 0.142 and market.vix3m == 16.7


def test_empty_history_is_an_input_error():
    with pytest.raises(InputError, match="no SPX and VIX closes"):
        market_from_history({})


def run(*argv) -> int:
    parser = argparse.ArgumentParser(prog="alvh")
    cli_data.add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_from_history(db, tmp_path, capsys):
    assert run("market", "from-history", "--date", "2016-06-01", "--db", str(db)) == 0
    assert tomllib.loads(capsys.readouterr().out)["vix"] == 14.2
    out = tmp_path / "market.toml"
    assert run("market", "from-history", "--db", str(db), "-o", str(out)) == 0
    assert tomllib.loads(out.read_text())["spx"] == 6941.47
    assert run("market", "from-history", "--db", str(tmp_path / "none.sqlite")) == 2
    err = capsys.readouterr().err
    assert err.startswith("alvh: history: the history has no SPX") and "Traceback" not in err
