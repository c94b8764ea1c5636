"""core/backtest/tape and calendar: the real history aligned into day arrays (values read
straight from the CSVs of ../shared/data), the carry and look-ahead rules on hand-made
series, and the SPX expiry calendar against the real SPX trading days."""
from __future__ import annotations

import csv
import math
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import real_store
from core.backtest import calendar
from core.backtest.calendar import monthly_expiry_days, nearest_expiry, spx_expiries
from core.backtest.tape import Tape, day_index, tape_from_series
from core.history import store
from core.history.daily import Daily
from core.history.recognise import recognise
from core.model.errors import InputError

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SPX_FILES = ("spx_daily.csv", "spx_daily_2023_2026.csv", "spx_close_fred.csv")
FIELDS = ("spx", "spx_open", "vix", "vix9d", "vix3m", "vvix", "skew", "vx", "vx_days", "tbill")


def need_data():
    if not (DATA / "vix_daily.csv").exists():
        pytest.skip(f"real market data not found at {DATA}")


def rows(name: str) -> dict[str, dict]:
    with open(DATA / name, encoding="utf-8") as fh:
        return {r["date"]: r for r in csv.DictReader(fh)}


def store_of(tmp, *files) -> dict:
    db = tmp / "h.sqlite"
    for f in files:
        store.import_series(DATA / f, recognise(DATA / f).series, db,
                            keep_stored=recognise(DATA / f).keep_stored)
    return store.load_daily(db)


@pytest.fixture(scope="module")
def series(tmp_path_factory) -> dict:
    return store.load_daily(real_store(tmp_path_factory, "tape"))


@pytest.fixture(scope="module")
def tape(series) -> Tape:
    return tape_from_series(series)


def at(tape: Tape, field: str, day: str):
    return getattr(tape, field)[0, day_index(tape, date.fromisoformat(day))]


def same(a, b) -> bool:
    return np.array_equal(a, b, equal_nan=True)


# ---- the real history ------------------------------------------------------------------

def test_the_tape_is_every_spx_trading_day_with_closes_from_the_files(tape):
    # ... that has a VIX: after VIX's last close it is carried five trading days, then SPX goes on alone
    every = sorted(set().union(*(rows(f) for f in SPX_FILES)))
    last_vix = max(rows("vix_daily.csv"))
    days = every[:every.index(last_vix) + 6]
    assert [str(d) for d in tape.dates] == days and tape.paths == 1 and every[-1] > days[-1]
    spx, fred, vix = rows("spx_daily.csv"), rows("spx_close_fred.csv"), rows("vix_daily.csv")
    assert at(tape, "spx", "2008-10-10") == float(spx["2008-10-10"]["close"]) == 899.22
    assert at(tape, "vix", "2008-10-10") == float(vix["2008-10-10"]["close"]) == 69.95
    assert at(tape, "spx", "2020-03-16") == float(fred["2020-03-16"]["close"]) == 2386.13
    assert at(tape, "vix", "2020-03-16") == float(vix["2020-03-16"]["close"]) == 82.69
    for name, field in (("vvix_daily.csv", "vvix"), ("skew_daily.csv", "skew"),
                        ("vix3m_daily.csv", "vix3m"), ("vix9d_daily.csv", "vix9d")):
        assert at(tape, field, "2020-03-16") == float(rows(name)["2020-03-16"]["close"]), field
    assert tape.fomc[day_index(tape, date(2020, 3, 16))]  # the emergency cut, dated Monday
    assert tape.cpi[day_index(tape, date(2023, 9, 13))] and not tape.cpi[day_index(tape, date(2023, 9, 14))]
    assert tape.fomc.sum() == 226  # of 229: three 2026 meetings fall after the last SPX day
    assert tape.vx.shape == tape.vx_days.shape == (1, len(days), 8)


def test_spx_opens_are_nan_where_they_are_no_real_print(tape):
    spx = rows("spx_daily.csv")
    opens = tape.spx_open[0]
    assert np.isnan(opens[tape.dates < np.datetime64("1992-01-01")]).all()
    # the README's three bad opens are VIX's; SPX's opens those days repeat the prior close
    # (1094.81 after 1094.80; 1166.17 and 1254.78 exactly), so they are NaN too
    for day in ("2004-10-26", "2004-11-08", "2006-02-08"):
        assert math.isnan(at(tape, "spx_open", day)), day
    assert at(tape, "spx_open", "2020-03-16") == float(spx["2020-03-16"]["open"])
    assert at(tape, "spx_open", "2008-10-10") == float(spx["2008-10-10"]["open"]) == 902.31
    # Yahoo's open is the prior close repeated on nearly every day of 1996-2005
    era = (tape.dates >= np.datetime64("1996-01-01")) & (tape.dates < np.datetime64("2006-01-01"))
    assert np.isnan(opens[era]).mean() > 0.95
    recent = tape.dates >= np.datetime64("2018-01-01")
    assert np.isnan(opens[recent]).sum() == 4  # opens within a cent of the close before, by chance


def test_futures_in_2010_are_the_wide_files_columns_on_their_expiries(tape):
    wide = rows("vix_futures_vx1_vx8.csv")

    def expiry(y, m):  # the Wednesday 30 days before the third Friday of the next month
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        first = date(y, m, 1)
        return first + timedelta(days=(4 - first.weekday()) % 7 + 14 - 30)
    expiries = [expiry(y, m) for y in (2009, 2010, 2011) for m in range(1, 13)]
    days = [d for d in wide if d.startswith("2010")]
    assert len(days) == 252
    for day in days:
        d = date.fromisoformat(day)
        want = [float(wide[day][f"vx{n}"]) for n in range(1, 9)]
        assert list(at(tape, "vx", day)) == want, day
        after = [e for e in expiries if e > d][:8]
        assert list(at(tape, "vx_days", day)) == [(e - d).days for e in after], day
    assert list(at(tape, "vx_days", "2010-06-16")) [:2] == [35, 63]  # an expiry day: July next


def test_the_2005_2007_long_file_is_shifted_on_expiry_days(tape):
    # vix_futures_vx1_vx2.csv: 2006-10-18 is an expiry day, vx1 11.434 (the October
    # contract's final settlement), vx2 12.59 (November's); the day before, 11.23 / 12.65
    assert at(tape, "vx", "2006-10-17")[0] == 11.23 and at(tape, "vx", "2006-10-17")[1] == 12.65
    assert list(at(tape, "vx_days", "2006-10-17")[:2]) == [1, 29]
    front = at(tape, "vx", "2006-10-18")
    assert front[0] == 12.59 and np.isnan(front[1:]).all()
    assert list(at(tape, "vx_days", "2006-10-18")[:2]) == [28, 63]  # 2006-11-15, 2006-12-20
    # 2005-2006: a vx2 that is vx1 copied (same settle and volume) is no second contract
    assert at(tape, "vx", "2006-02-14")[0] == 11.95 and np.isnan(at(tape, "vx", "2006-02-14")[1])
    assert np.isnan(at(tape, "vx", "2006-02-15")[0])  # expiry day; its vx2 is a copy too
    assert np.isnan(at(tape, "vx", "2005-06-17")).all()  # before the first row


def test_the_long_and_wide_files_agree_once_shifted(tmp_path):
    need_data()
    base = ("spx_daily.csv", "vix_daily.csv")
    (tmp_path / "long").mkdir()
    (tmp_path / "wide").mkdir()
    long = tape_from_series(store_of(tmp_path / "long", *base, "vix_futures_vx1_vx2.csv"))
    wide = tape_from_series(store_of(tmp_path / "wide", *base, "vix_futures_vx1_vx8.csv"))
    a, b = long.vx[0], wide.vx[0]
    both = ~np.isnan(a[:, 0]) & ~np.isnan(b[:, 0])
    assert both.sum() == 2551
    differ = both & (np.abs(a[:, 0] - b[:, 0]) > 0.011)  # the long file's half-cents: rounded
    # From December 2014 the long file has already rolled on an expiry day (contrary to
    # the README), so shifting it is wrong on these 29 days; a full store reads the wide
    # file on them (it wins where both are stored), so only a store without it is affected.
    expiry_days = [str(d) for d in long.dates[differ]]
    assert len(expiry_days) == 29 and expiry_days[0] == "2014-12-17" and expiry_days[-1] == "2017-04-19"
    assert all(date.fromisoformat(d) in _vix_expiries() for d in expiry_days)
    second = ~np.isnan(a[:, 1]) & ~np.isnan(b[:, 1]) & (long.dates < np.datetime64("2017-05-18"))
    assert (np.abs(a[second, 1] - b[second, 1]) <= 0.011).all()


def _vix_expiries():
    from core.market.marketgen import vix_expiry
    return {vix_expiry(y, m) for y in range(2004, 2023) for m in range(1, 13)}


def test_tbill_is_last_months_average_as_a_continuous_rate(tape):
    tb = rows("tbill_3m_monthly.csv")
    dr = float(tb["2008-02-01"]["rate_pct"]) / 100  # 2.12
    assert dr == 0.0212
    bey = 365 * dr / (360 - 91 * dr)  # bond-equivalent yield of a 91-day bill: 2.1610 %
    r = math.log(1 + bey * 91 / 365) * 365 / 91  # continuous: 2.1552 %
    assert abs(bey - 0.021610) < 1e-6 and abs(r - 0.021552) < 1e-6
    assert at(tape, "tbill", "2008-03-14") == pytest.approx(r, abs=1e-12)
    assert at(tape, "tbill", "2008-03-03") == at(tape, "tbill", "2008-03-31")  # all March
    assert at(tape, "tbill", "2008-02-29") > at(tape, "tbill", "2008-03-03")  # January's 2.75
    assert np.isnan(tape.tbill[0, tape.dates < np.datetime64("1990-02-01")]).all()
    last = tape.tbill[0, day_index(tape, date(2023, 12, 1))]  # November 2023, the last month
    assert (tape.tbill[0, tape.dates >= np.datetime64("2023-12-01")] == last).all()


def test_real_tape_timing(series):
    best = min(_timed(lambda: tape_from_series(series)) for _ in range(3))
    assert best < 0.2, f"{best:.3f} s"


def _timed(f) -> float:
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def test_a_tape_cut_at_a_date_is_the_start_of_the_whole_one(series, tape):
    # no look-ahead: rows after X cannot change anything on or before X
    for end in ("1991-06-28", "2000-09-25", "2006-10-18", "2014-12-17", "2023-12-29"):
        cut = tape_from_series(series, end=date.fromisoformat(end))
        n = cut.days
        assert str(cut.dates[-1]) == end and same(cut.dates, tape.dates[:n])
        for f in FIELDS:
            assert same(getattr(cut, f), getattr(tape, f)[:, :n]), (end, f)
        assert same(cut.fomc, tape.fomc[:n]) and same(cut.cpi, tape.cpi[:n])
    later = tape_from_series(series, start=date(2000, 9, 23))  # a Saturday, in SKEW's gap
    k = day_index(tape, date(2000, 9, 25))
    assert later.dates[0] == tape.dates[k]
    for f in FIELDS:
        assert same(getattr(later, f), getattr(tape, f)[:, k:]), f


# ---- hand-made series ------------------------------------------------------------------

def daily(days, values, dtype=float) -> Daily:
    return Daily(np.array(days, dtype="datetime64[D]"), np.array(values, dtype=dtype))


def test_gaps_carry_up_to_five_trading_days_then_the_day_is_skipped():
    days = np.datetime64("2024-01-02") + np.arange(20)  # every calendar day a trading day
    vix = np.arange(20, dtype=float) + 10
    keep = np.ones(20, bool)
    keep[3:8] = False  # a gap of 5: carried
    keep[10:17] = False  # a gap of 7: its first 5 days carried (a day cannot know the gap's length)
    s = {"spx": daily(days, np.full(20, 4000.0)), "vix": daily(days[keep], vix[keep]),
         "fomc": daily(["2024-01-05", "2024-02-03"], ["scheduled"] * 2, object)}
    t = tape_from_series(s)
    want = [10, 11, 12, 12, 12, 12, 12, 12, 18, 19, 19, 19, 19, 19, 19, 27, 28, 29]
    assert same(t.vix[0], np.array(want, float))  # the two days with no VIX, even carried, are not on the tape
    assert not any(str(d) in ("2024-01-17", "2024-01-18") for d in t.dates)
    assert np.isnan(t.vix9d).all() and np.isnan(t.vx).all() and np.isnan(t.tbill).all()
    assert np.isnan(t.spx_open).all() and not t.cpi.any()
    assert list(np.flatnonzero(t.fomc)) == [3]  # the other event is after the last day
    assert (t.vx_days[0, :, 0] == [15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 26, 25, 24]).all()
    # (2024-01-17 expires January's future; February's is 2024-02-14)


def test_a_value_on_a_non_trading_day_is_dropped_not_carried():
    spx = daily(["2022-05-27", "2022-05-31"], [4158.24, 4132.15])
    vix = daily(["2022-05-27", "2022-05-30"], [25.72, 26.1])  # Memorial Day: Cboe GTH print
    t = tape_from_series({"spx": spx, "vix": vix})
    assert list(t.vix[0]) == [25.72, 25.72]


def test_a_store_without_spx_or_vix_says_what_to_import():
    spx = daily(["2024-01-02"], [4742.83])
    with pytest.raises(InputError, match=r"no VIX closes; import them first: alvh data import FILE"):
        tape_from_series({"spx": spx})
    with pytest.raises(InputError, match=r"no SPX closes.*spx_daily.csv"):
        tape_from_series({"vix": spx})
    with pytest.raises(InputError, match="no SPX trading day with a VIX stored"):
        tape_from_series({"spx": spx, "vix": spx}, start=date(2025, 1, 1))
    with pytest.raises(KeyError):
        day_index(tape_from_series({"spx": spx, "vix": spx}), date(2024, 1, 3))


# ---- the expiry calendar ---------------------------------------------------------------

def test_holidays_are_exactly_the_weekdays_without_an_spx_close():
    need_data()
    traded = {date.fromisoformat(d) for f in SPX_FILES for d in rows(f)}
    first, last = min(traded), max(traded)
    weekdays = {first + timedelta(days=i) for i in range((last - first).days + 1)}
    weekdays = {d for d in weekdays if d.weekday() < 5}
    closed = {d for d in weekdays if not calendar.trading_day(d)}
    assert closed == weekdays - traded and len(closed) == 332
    assert calendar.CLOSURES <= closed


def test_every_listed_expiry_is_an_spx_trading_day():
    need_data()
    traded = {date.fromisoformat(d) for f in SPX_FILES for d in rows(f)}
    last = max(traded)
    listed = set()
    for y in range(1990, 2027):
        for m in range(1, 13):
            got = spx_expiries(date(y, m, 1))
            assert len(set(got)) == len(got) and got == sorted(got, key=lambda x: (x[0], not x[1]))
            listed |= {e for e, _ in got}
    listed = {e for e in listed if e <= last}
    assert listed <= traded and len(listed) == 2717


def test_expiries_on_hand_picked_dates():
    def on(day, horizon=10):
        return spx_expiries(date.fromisoformat(day), horizon)

    def d(s):
        return date.fromisoformat(s)
    # Good Friday 2008-03-21 was the third Friday: the monthly (and the weekly) on Thursday
    assert on("2008-03-19", 2) == [(d("2008-03-20"), True), (d("2008-03-20"), False)]
    assert nearest_expiry(d("2008-03-19"), 1) == (d("2008-03-20"), True)
    assert calendar.monthly_expiry(2014, 4) == d("2014-04-17")  # Good Friday again
    assert calendar.monthly_expiry(2026, 6) == d("2026-06-18")  # Juneteenth, a third Friday
    # before any weekly: monthlies only, the day's own expiry included
    assert on("2005-10-21", 40) == [(d("2005-10-21"), True), (d("2005-11-18"), True)]
    assert (d("2005-10-28"), False) in on("2005-10-28") and (d("2005-11-04"), False) in on("2005-10-28")
    # Wednesdays from 2016-02-23, Mondays from 2016-08-15 (not one listed the Friday before)
    assert not any(e.weekday() == 2 for e, _ in on("2016-02-22", 30))
    assert (d("2016-02-24"), False) in on("2016-02-23")
    assert not any(e.weekday() == 0 for e, _ in on("2016-08-12", 400))
    assert (d("2016-08-22"), False) in on("2016-08-15")
    assert {e.weekday() for e, _ in on("2022-04-15", 30)} == {0, 2, 4}
    assert {e.weekday() for e, _ in on("2022-04-18", 30)} == {0, 1, 2, 4}
    assert {e.weekday() for e, _ in on("2022-05-11", 30)} == {0, 1, 2, 3, 4}
    # a holiday weekly moves to the trading day before: Wednesday 2018-07-04 to Tuesday
    assert on("2018-07-02", 4) == [(d("2018-07-02"), False), (d("2018-07-03"), False),
                                   (d("2018-07-06"), False)]
    # across a year end, once each: Wednesday 2020-01-01's weekly expires Tuesday 2019-12-31
    assert on("2019-12-27", 7) == [(d(x), False) for x in (
        "2019-12-27", "2019-12-30", "2019-12-31", "2020-01-03")]
    assert on("2016-12-28", 7) == [(d(x), False) for x in ("2016-12-28", "2016-12-30", "2017-01-04")]
    # weeklies 42 days ahead before 2014, 400 after; monthlies as far as asked
    assert max(e for e, am in spx_expiries(d("2013-06-03")) if not am) == d("2013-07-12")
    # (Fridays only then; 2015-07-03 was the July 4 holiday, so Thursday's is the last)
    assert max(e for e, am in spx_expiries(d("2014-06-02")) if not am) == d("2015-07-02")
    assert max(e for e, am in spx_expiries(d("2013-06-03")) if am) == d("2014-06-20")
    # the nearest: a tie goes to the later; strictly after the day
    assert nearest_expiry(d("2017-03-06"), 3) == (d("2017-03-10"), False)  # Wed 2 / Fri 4
    assert nearest_expiry(d("2017-03-17"), 0) == (d("2017-03-20"), False)
    assert nearest_expiry(d("2010-02-01"), 40) == (d("2010-03-12"), False)  # 39 days beats 46
    assert nearest_expiry(d("2010-02-01"), 45) == (d("2010-03-19"), True)  # AM before PM
    assert nearest_expiry(d("2004-02-02"), 45) == (d("2004-03-19"), True)  # monthlies only


def test_nearest_expiry_is_the_nearest_of_the_full_list():
    rng = np.random.default_rng(7)
    for _ in range(400):
        day = date(1995, 1, 1) + timedelta(days=int(rng.integers(0, 12000)))
        dte = int(rng.integers(0, 300))
        listed = [x for x in spx_expiries(day) if x[0] > day]
        want = min(listed, key=lambda x: (abs((x[0] - day).days - dte), -x[0].toordinal(), not x[1]))
        assert nearest_expiry(day, dte) == want, (day, dte)


def test_monthly_expiry_days_index_the_tape(tape):
    k = monthly_expiry_days(tape.dates)
    days = [str(tape.dates[i]) for i in k if str(tape.dates[i]).startswith("2008")]
    assert len(days) == 12 and days[2] == "2008-03-20" and days[0] == "2008-01-18"
    assert len(k) == 439  # 1990-01 to 2026-07 (the tape ends 2026-07-29, with VIX)
