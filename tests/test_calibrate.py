"""Spot-vol calibration on real history and on series with a known answer."""
from __future__ import annotations

import argparse
import tomllib
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cockpit.cli import data as cli_data
from core.history import store as history
from core.io import paths
from core.history.calibrate import _roll_days, calibrate
from core.model.errors import InputError

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    if not (DATA / "vix_daily.csv").exists():
        pytest.skip(f"real market data not found at {DATA}")
    path = tmp_path_factory.mktemp("calibrate") / "h.sqlite"
    for name, series in [("vix_daily.csv", "vix"), ("spx_daily.csv", "spx"),
                         ("vix_futures_vx1_vx2.csv", "vx1")]:
        history.import_file(DATA / name, series, path)
    return path


@pytest.fixture(scope="module")
def real(db) -> dict:
    return history.load_all(db)


def test_beta_1990_2022(real):
    c = calibrate(real["vix"], real["spx"], years=33, end=date(2022, 12, 31))
    assert (c.start, c.end) == (date(1990, 1, 2), date(2022, 12, 30))
    assert -6 < c.beta < -3
    assert c.beta_down < c.beta_up < 0  # VIX reacts more to falls than to rises
    assert 0.3 < c.r2 < 0.8
    # the same regression done another way: pandas alignment and numpy polyfit
    both = pd.concat([real["vix"], real["spx"]], axis=1, join="inner").loc[:"2022-12-31"]
    r = np.log(both).diff().dropna()
    slope = np.polyfit(r["spx"], r["vix"], 1)[0]
    assert c.n == len(r) and c.beta == pytest.approx(slope, rel=1e-9)
    down = r[r["spx"] < 0]
    assert c.beta_down == pytest.approx(np.polyfit(down["spx"], down["vix"], 1)[0], rel=1e-9)


def test_front_future_beta_leaves_roll_days_out(real):
    c = calibrate(real["vix"], real["spx"], years=33, end=date(2022, 12, 31), vx1=real["vx1"])
    assert 0.4 < c.front_beta < 0.8  # the front future moves less than spot VIX
    days = np.asarray(real["vx1"].index.values, dtype="datetime64[D]")
    roll = _roll_days(days)
    # ~12 expiries a year, two changes next to each: about 2 in 21 changes are dropped
    assert 0.07 < roll.mean() < 0.12
    assert c.front_n == (~roll).sum()
    for d in ("2016-04-20", "2016-04-21", "2017-05-17", "2012-06-21"):  # jumps in the source
        assert roll[np.searchsorted(days, np.datetime64(d)) - 1]
    assert not roll[np.searchsorted(days, np.datetime64("2016-06-01")) - 1]


def test_default_window_is_five_years(real):
    c = calibrate(real["vix"], real["spx"])
    assert c.end == date(2022, 12, 30) and c.years == 5
    assert date(2017, 12, 28) <= c.start <= date(2018, 1, 3)
    assert c.front_beta is None  # VX1 data ends in 2017


def test_known_slopes_on_made_up_series():
    idx = pd.bdate_range("2020-01-01", periods=400)
    x = np.random.default_rng(1).normal(0, 0.01, 400)
    x[0] = 0
    y = np.where(x < 0, -5 * x, -2 * x)
    spx = pd.Series(100 * np.exp(np.cumsum(x)), index=idx)
    vix = pd.Series(20 * np.exp(np.cumsum(y)), index=idx)
    c = calibrate(vix, spx, years=10)
    assert c.beta_down == pytest.approx(-5) and c.beta_up == pytest.approx(-2)
    assert c.n == 399


def test_too_little_data_is_an_input_error():
    idx = pd.bdate_range("2020-01-01", periods=10)
    s = pd.Series(np.linspace(10, 20, 10), index=idx)
    with pytest.raises(InputError, match="only 10 common"):
        calibrate(s, s)


def run(*argv) -> int:
    parser = argparse.ArgumentParser(prog="alvh")
    cli_data.add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


BOOK = """# my book
[account]
equity = 100000.0   # USD

[model]
kappa = 2.5         # my own mean reversion
beta = -4.0         # old guess
"""


def test_cli_calibrate_saves_beta_keeping_comments(db, tmp_path, capsys):
    book = tmp_path / "book.toml"
    book.write_text(BOOK)
    assert run("data", "calibrate", "--window", "33", "--db", str(db), "--save",
               "--book", str(book)) == 0
    out = capsys.readouterr().out
    assert "beta" in out and "front future VX1" in out
    text = book.read_text()
    assert "# my book" in text and "# my own mean reversion" in text and "# USD" in text
    model = tomllib.loads(text)["model"]
    assert -6 < model["beta"] < -3 and model["kappa"] == 2.5
    assert model["beta_source"] == "calibrated 33y to 2022-12-30"
    assert (tmp_path / "book.toml.bak").read_text() == BOOK


def test_cli_calibrate_adds_model_table(db, tmp_path):
    book = tmp_path / "book.toml"
    book.write_text("[account]\nequity = 1.0\n")
    assert run("data", "calibrate", "--db", str(db), "--save", "--book", str(book)) == 0
    assert tomllib.loads(book.read_text())["model"]["beta_source"].startswith("calibrated 5y")


def test_cli_calibrate_errors_exit_2(tmp_path, capsys):
    assert run("data", "calibrate", "--db", str(tmp_path / "empty.sqlite")) == 2
    assert "no VIX and SPX closes" in capsys.readouterr().err


def test_saved_demo_book_loads_with_the_calibrated_beta(db, tmp_path):
    bookfile = pytest.importorskip("core.book.bookfile")
    book = tmp_path / "book.toml"
    book.write_text((paths.DEMO_DIR / "book.toml").read_text())
    assert run("data", "calibrate", "--db", str(db), "--window", "33", "--save",
               "--book", str(book)) == 0
    model = bookfile.load_book(book).model
    assert -6 < model.beta < -3 and model.beta_source == "calibrated 33y to 2022-12-30"
