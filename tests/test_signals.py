"""Signals on real and hand-made series, checked against textbook loops."""
from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from core.history import store as history

from core.history import signals
from core.history.signals import Thresholds, compute_signals

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL = [("vix_daily.csv", "vix"), ("vix3m_daily.csv", "vix3m"), ("spx_daily.csv", "spx"),
        ("spx_close_fred.csv", "spx"), ("vix_futures_vx1_vx2.csv", "vx1"),
        ("vix_futures_vx1_vx2.csv", "vx2"), ("fomc_dates.csv", "fomc"),
        ("cpi_release_dates.csv", "cpi")]


@pytest.fixture(scope="module")
def real_db(tmp_path_factory) -> Path:
    if not (DATA / "vix_daily.csv").exists():
        pytest.skip(f"real market data not found at {DATA}")
    db = tmp_path_factory.mktemp("signals") / "h.sqlite"
    for name, series in REAL:
        history.import_file(DATA / name, series, db)
    return db


@pytest.fixture(scope="module")
def real(real_db) -> dict:
    return history.load_all(real_db)


# ---- textbook definitions, plain loops -----------------------------------------

def rsi_textbook(closes: list[float], n: int = 14) -> list[float]:
    """Wilder: first averages are plain means of n changes, then avg = (avg*(n-1) + x)/n.
    Element k belongs to closes[n + k]."""
    gains = [max(b - a, 0.0) for a, b in zip(closes, closes[1:])]
    losses = [max(a - b, 0.0) for a, b in zip(closes, closes[1:])]
    avg_gain, avg_loss = sum(gains[:n]) / n, sum(losses[:n]) / n
    out = []
    for i in range(n, len(gains) + 1):
        if i > n:
            avg_gain = (avg_gain * (n - 1) + gains[i - 1]) / n
            avg_loss = (avg_loss * (n - 1) + losses[i - 1]) / n
        out.append(100.0 if avg_loss == 0 else 100 - 100 / (1 + avg_gain / avg_loss))
    return out


def ema_textbook(xs: list[float], n: int) -> list[float]:
    """EMA seeded with the mean of the first n values; element k belongs to xs[n - 1 + k]."""
    k = 2 / (n + 1)
    e = sum(xs[:n]) / n
    out = [e]
    for x in xs[n:]:
        e = x * k + e * (1 - k)
        out.append(e)
    return out


def macd_textbook(closes: list[float]) -> tuple[list[float], list[float]]:
    """MACD line from closes[25] on, signal line from closes[33] on."""
    fast, slow = ema_textbook(closes, 12), ema_textbook(closes, 26)
    line = [fast[i - 11] - slow[i - 25] for i in range(25, len(closes))]
    return line, ema_textbook(line, 9)


# ---- indicators on real data ---------------------------------------------------

@pytest.mark.parametrize("name", ["vix", "spx"])
def test_rsi_matches_textbook_on_real_data(real, name):
    closes = real[name]
    got = signals.rsi(closes)
    want = rsi_textbook(closes.tolist())
    assert len(got) == len(want) == len(closes) - 14
    assert got.days[0] == closes.index[14]
    assert max(abs(a - b) for a, b in zip(got.values.tolist(), want)) < 1e-9
    assert 0 < got.values.min() < 30 < 70 < got.values.max() < 100


@pytest.mark.parametrize("name", ["vix", "spx"])
def test_macd_matches_textbook_on_real_data(real, name):
    closes = real[name]
    line, sig = signals.macd(closes)
    want_line, want_sig = macd_textbook(closes.tolist())
    assert line.days[0] == closes.index[25] and sig.days[0] == closes.index[33]
    assert len(line) == len(want_line) and len(sig) == len(want_sig)
    scale = max(abs(x) for x in want_line)
    assert max(abs(a - b) for a, b in zip(line.values.tolist(), want_line)) < 1e-9 * scale
    assert max(abs(a - b) for a, b in zip(sig.values.tolist(), want_sig)) < 1e-9 * scale


def test_realized_vol_and_percentile_by_hand(real):
    spx = real["spx"].loc[:"2020-03-16"]
    closes = spx.tolist()[-21:]
    r = [math.log(b / a) for a, b in zip(closes, closes[1:])]
    assert signals.realized_vol(spx) == pytest.approx(math.sqrt(252 * sum(x * x for x in r) / 20) * 100)
    s = pd.Series([1.0, 5.0, 3.0, 2.0, 4.0], index=pd.date_range("2024-01-01", periods=5))
    assert signals.percentile_rank(s) == 80.0  # 1, 2, 3, 4 of 5 are <= 4


# ---- divergence on hand-made series --------------------------------------------

def days(n: int) -> pd.DatetimeIndex:
    return pd.bdate_range("2024-01-01", periods=n)


def test_bearish_divergence_spx_high_ad_line_lower():
    idx = days(30)
    spx = pd.Series([100 + i for i in range(30)], index=idx, dtype=float)  # new high every day
    net = pd.Series([50] * 20 + [-10] * 10, index=idx, dtype=float)  # A/D line peaked on day 20
    assert signals.ad_divergence(spx, net) == "bearish"
    assert signals.ad_divergence(spx, pd.Series(50.0, index=idx)) == "none"


def test_bullish_divergence_spx_low_ad_line_higher():
    idx = days(30)
    spx = pd.Series([200 - i for i in range(30)], index=idx, dtype=float)  # new low every day
    net = pd.Series([-50] * 20 + [10] * 10, index=idx, dtype=float)  # A/D line bottomed on day 20
    assert signals.ad_divergence(spx, net) == "bullish"
    assert signals.ad_divergence(spx, net.iloc[:15]) is None  # too few common days


def test_divergence_flows_into_signal_set_and_is_never_faked():
    idx = days(60)
    spx = pd.Series([100 + i for i in range(60)], index=idx, dtype=float)
    vix = pd.Series(15.0, index=idx)
    net = pd.Series([50] * 45 + [-10] * 15, index=idx, dtype=float)
    with_breadth = compute_signals({"spx": spx, "vix": vix, "breadth": net})
    assert with_breadth["ad_divergence"].value == "bearish"
    assert with_breadth.to_inputs().ad_divergence == "bearish"
    assert "A/D line" in with_breadth["macd"].note
    without = compute_signals({"spx": spx, "vix": vix})
    assert without["ad_divergence"].state == "unknown"
    assert without.to_inputs().ad_divergence is None
    assert "of SPX (no breadth data)" in without["macd"].note


# ---- events --------------------------------------------------------------------

def test_events_inside_each_condor_life(real):
    as_of = date(2026, 11, 20)
    events = signals.upcoming_events(real, as_of)
    assert events[:2] == (("FOMC", date(2026, 12, 9)), ("CPI", date(2026, 12, 10)))
    inside = signals.events_inside([date(2026, 12, 4), date(2026, 12, 9), date(2027, 1, 15)],
                                   events, as_of)
    assert inside[date(2026, 12, 4)] == ()
    assert inside[date(2026, 12, 9)] == (("FOMC", date(2026, 12, 9)),)
    assert inside[date(2027, 1, 15)] == (("FOMC", date(2026, 12, 9)), ("CPI", date(2026, 12, 10)))
    s = compute_signals(real, as_of)
    assert (s["next_fomc"].value, s["next_fomc"].state) == (19.0, "clear")
    assert s["next_ppi"].state == "unknown"  # no PPI dates stored


def test_event_after_close_on_as_of_counts_as_past(real):
    s = compute_signals(real, date(2026, 12, 8))
    assert (s["next_fomc"].value, s["next_fomc"].state) == (1.0, "imminent")
    s = compute_signals(real, date(2026, 12, 9))
    assert s["next_fomc"].state == "unknown"  # 2026-12-09 is the last stored meeting


# ---- the whole set on real days ------------------------------------------------

def test_covid_peak(real):
    s = compute_signals(real, date(2020, 3, 16))
    assert s.as_of == date(2020, 3, 16) and s.regime == "crisis"
    term = s["term_structure"]
    assert term.value == pytest.approx(82.69 / real["vix3m"]["2020-03-16"])
    assert term.state == "backwardation" and term.value > 1.2
    assert s["vix_percentile"].value == 100.0  # the all-time high close
    inputs = s.to_inputs()
    assert inputs.contango is False and inputs.term_rsi_source == "VIX/VIX3M"
    assert inputs.term_rsi == pytest.approx(signals.rsi(
        (real["vix"] / real["vix3m"]).dropna().loc[:"2020-03-16"]).values[-1])
    assert -7 < s.beta < -3


def test_futures_slope_and_fallback_to_vix_rsi(real):
    s = compute_signals(real, date(2016, 6, 1))
    assert s["vx1_vx2"].value == pytest.approx(15.275 / 17.525)
    assert s["vx1_vx2"].state == "contango" and s.to_inputs().contango is True
    old = compute_signals(real, date(2008, 11, 20))  # before VIX3M existed
    assert old.term_rsi_source == "VIX" and old["term_structure"].state == "unknown"
    assert old.to_inputs().term_rsi == old["vix_rsi"].value
    assert old["vx1_vx2"].state == "backwardation"
    assert old.to_inputs().contango is False  # from VX1 > VX2


def test_stale_series_are_unknown_not_old_values(real):
    s = compute_signals(real)  # VIX runs to 2026-07-23, VIX3M to 2026-02, SPX to 2026-02
    assert s.as_of == date(2026, 7, 23)
    assert s["term_structure"].state == "unknown" and s["vrp"].state == "unknown"
    assert s["vx1_vx2"].state == "unknown"
    assert s["vix_rsi"].as_of == date(2026, 7, 23)


def test_no_look_ahead(real):
    as_of = date(2015, 8, 24)
    # event calendars are known ahead; prices after as_of must not matter
    cut = {k: v if k in ("fomc", "cpi") else v.loc[:pd.Timestamp(as_of)] for k, v in real.items()}
    assert compute_signals(real, as_of).to_json() == compute_signals(cut, as_of).to_json()


def test_thresholds_are_settable(real):
    day = date(2020, 3, 16)
    assert compute_signals(real, day, Thresholds(vix_crisis=90)).regime == "crisis"  # backwardation
    calm = Thresholds(vix_crisis=90, vix_elevated=90, backwardation=2, percentile_high=101)
    assert compute_signals(real, day, calm).regime == "normal"
    assert compute_signals(real, date(2017, 5, 1)).regime == "dormant"  # VIX 10.1


def test_regime_rules():
    t = Thresholds()
    assert signals.regime(35, 99, 0.9, t)[0] == "crisis"
    assert signals.regime(22, 90, 1.05, t)[0] == "crisis"
    assert signals.regime(18, 50, 1.05, t)[0] == "elevated"
    assert signals.regime(17, 85, 0.9, t)[0] == "elevated"
    assert signals.regime(16, 50, 0.9, t)[0] == "normal"
    assert signals.regime(12, 90, 0.9, t)[0] == "dormant"
    assert signals.regime(None, None, None, t)[0] == "unknown"


def test_demo_set_json_and_inputs():
    s = compute_signals(history.demo_series())
    assert s.demo and s.as_of == date(2026, 11, 20) and s.regime == "normal"
    j = s.to_json()
    json.dumps(j)  # plain JSON types only
    assert j["demo"] is True and j["regime"] == "normal" and isinstance(j["beta"], float)
    assert j["term_structure"] == {"value": pytest.approx(16.5 / 18.9), "threshold": 1.0,
                                   "state": "contango", "as_of": "2026-11-20",
                                   "note": "VIX/VIX3M; above 1 is backwardation"}
    for name in ("vix_rsi", "term_rsi", "vix_percentile", "vrp", "macd", "ad_divergence",
                 "vx1_vx2", "next_fomc", "next_cpi", "next_ppi"):
        assert set(j[name]) == {"value", "threshold", "state", "as_of", "note"}
    inputs = s.to_inputs()
    assert inputs.demo and inputs.contango is True and inputs.ad_divergence is None
    assert inputs.events[:2] == (("FOMC", date(2026, 12, 9)), ("CPI", date(2026, 12, 10)))


def test_store_read_as_arrays_gives_the_pandas_set(real_db, real):
    """The report reads the store without pandas (load_daily); load_all's Series give the same set."""
    daily = history.load_daily(real_db)
    for day in (None, date(2008, 11, 20), date(2020, 3, 16), date(2026, 12, 8)):
        assert compute_signals(daily, day).to_json() == compute_signals(real, day).to_json()
    assert compute_signals(history.demo_daily()).to_json() == compute_signals(history.demo_series()).to_json()


def test_empty_store_is_all_unknown():
    s = compute_signals({})
    assert s.as_of is None and s.regime == "unknown" and s.beta is None
    assert {x.state for x in s.signals} == {"unknown"}
    assert s.to_inputs().term_rsi is None


def test_short_history_is_unknown_not_an_error():
    idx = days(10)
    s = compute_signals({"vix": pd.Series(15.0, index=idx), "vix3m": pd.Series(17.0, index=idx),
                         "spx": pd.Series(5000.0, index=idx)})
    assert s["vix_rsi"].state == s["term_rsi"].state == s["macd"].state == "unknown"
    assert s["term_structure"].state == "contango" and s.beta is None
