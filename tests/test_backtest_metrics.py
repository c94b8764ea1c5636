"""The backtest's figures against hand-worked series and independent formulas, and the
claims table's verdicts on crafted runs."""
import json
import math
import statistics
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from core.backtest import metrics
from core.backtest.metrics import (CLAIMS, FAILS, HOLDS, drawdown_reduction, claims,
                                   monte_carlo, summary)

NAT = np.datetime64("NaT")


def run(dates, equity, rate=0.0, theta=None, hedge=None, trades=0):
    """summary() of one path given as plain lists."""
    e = np.atleast_2d(np.asarray(equity, dtype=float))
    full = lambda v: np.broadcast_to(np.asarray(v, dtype=float), e.shape)  # noqa: E731
    return summary(np.array(dates, dtype="datetime64[D]"), e, full(rate),
                   full(0.0 if theta is None else theta), full(0.0 if hedge is None else hedge),
                   np.full(e.shape[0], trades))


def weekdays(n, start="2020-01-01"):
    d = np.arange(np.datetime64(start), np.datetime64(start) + 3 * n)
    return d[np.is_busday(d)][:n]


def test_hand_worked_six_days():
    # Returns +10 %, -10 %, +5 %, +10 %, -5 %; Friday to Monday is 3 calendar days.
    dates = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"]
    s = run(dates, [100, 110, 99, 103.95, 114.345, 108.62775], rate=0.0365, trades=2)
    # 7 calendar days; 108.62775 / 100 over 7 / 365.25 years.
    assert s.cagr[0] == pytest.approx(1.0862775 ** (365.25 / 7) - 1)
    assert s.years[0] == pytest.approx(7 / 365.25)
    # Peak 110 on the 3rd, trough 99 on the 4th (10 %), back above 110 on the 8th; the
    # later 114.345 -> 108.62775 is only 5 %.
    assert s.max_drawdown[0] == pytest.approx(0.10)
    assert (s.dd_peak[0], s.dd_trough[0], s.dd_recovery[0]) == (
        np.datetime64("2024-01-03"), np.datetime64("2024-01-04"), np.datetime64("2024-01-08"))
    # Cash: 3.65 % a year is exp(0.0001 * days) - 1 per row, 0.0001000050 for a day,
    # 0.0003000450 over the weekend.
    excess = [0.10 - 0.0001000050, -0.10 - 0.0001000050, 0.05 - 0.0001000050,
              0.10 - 0.0003000450, -0.05 - 0.0001000050]
    mean = sum(excess) / 5  # 0.0198599870
    sd = math.sqrt(sum((x - mean) ** 2 for x in excess) / 4)  # 0.0907854967
    assert s.sharpe[0] == pytest.approx(mean / sd * math.sqrt(252), rel=1e-8)  # 3.4727
    down = math.sqrt((0.1001000050 ** 2 + 0.0501000050 ** 2) / 5)  # 0.0500600070
    assert s.sortino[0] == pytest.approx(mean / down * math.sqrt(252), rel=1e-8)  # 6.2978
    assert s.sharpe[0] == pytest.approx(3.4726639, rel=1e-6)
    assert s.sortino[0] == pytest.approx(6.2977922, rel=1e-6)
    # One month: 108.62775 / 100 - 1.
    assert s.worst_month[0] == pytest.approx(0.0862775)
    assert s.trades[0] == 2
    row = s.row()
    assert row["dd_peak"] == "2024-01-03" and row["dd_recovery"] == "2024-01-08"
    assert row["worst_month_date"] == "2024-01" and row["trades"] == 2


def test_never_recovered_is_nat():
    s = run(weekdays(4), [100, 120, 90, 100])
    assert s.max_drawdown[0] == pytest.approx(0.25)
    assert s.dd_peak[0] == weekdays(4)[1] and s.dd_trough[0] == weekdays(4)[2]
    assert np.isnat(s.dd_recovery[0]) and s.row()["dd_recovery"] is None


def drawdown_loop(equity):
    """Max drawdown, peak, trough and recovery indices by walking the curve once."""
    high, high_at, mdd, peak, trough = equity[0], 0, 0.0, None, None
    for i, x in enumerate(equity):
        if x >= high:
            high, high_at = x, i
        if 1 - x / high > mdd:
            mdd, peak, trough = 1 - x / high, high_at, i
    recovery = None
    if trough is not None:
        recovery = next((i for i in range(trough + 1, len(equity))
                         if equity[i] >= equity[peak]), None)
    return mdd, peak, trough, recovery


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(1.0, 1000.0), min_size=2, max_size=60))
def test_drawdown_against_a_loop(equity):
    dates = np.arange(np.datetime64("2001-01-01"), np.datetime64("2001-01-01") + len(equity))
    s = run(dates, equity)
    mdd, peak, trough, recovery = drawdown_loop(equity)
    assert s.max_drawdown[0] == pytest.approx(mdd, abs=1e-15)
    at = lambda i: NAT if i is None else dates[i]  # noqa: E731
    for got, want in ((s.dd_peak, peak), (s.dd_trough, trough), (s.dd_recovery, recovery)):
        assert (np.isnat(got[0]) and np.isnat(at(want))) or got[0] == at(want)


def random_run(rng, days, paths=1):
    dates = weekdays(days, "2015-03-02")
    r = rng.normal(0.0004, 0.012, (paths, days))
    r[:, 0] = 0
    equity = 1e5 * np.cumprod(1 + r, axis=1)
    rate = rng.uniform(0.0, 0.06, (paths, days))
    theta = rng.normal(50, 20, (paths, days))
    hedge = rng.normal(-3, 10, (paths, days))
    return dates, equity, rate, theta, hedge


@pytest.mark.parametrize("seed", range(5))
def test_sharpe_against_statistics(seed):
    dates, equity, rate, theta, hedge = random_run(np.random.default_rng(seed), 80)
    e, q = equity[0].tolist(), rate[0].tolist()
    excess, rets = [], []
    for t in range(1, len(e)):
        days = int((dates[t] - dates[t - 1]).astype(int))
        rets.append(e[t] / e[t - 1] - 1)
        excess.append(rets[-1] - (math.exp(q[t - 1] * days / 365) - 1))
    s = summary(dates, equity, rate, theta, hedge, [0])
    assert s.sharpe[0] == pytest.approx(
        statistics.mean(excess) / statistics.stdev(excess) * math.sqrt(252), rel=1e-9)
    assert s.vol[0] == pytest.approx(statistics.stdev(rets) * math.sqrt(252), rel=1e-9)
    down = math.sqrt(sum(min(x, 0) ** 2 for x in excess) / len(excess))
    assert s.sortino[0] == pytest.approx(statistics.mean(excess) / down * math.sqrt(252), rel=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_theta_r2_against_linregress_and_polyfit(seed):
    from scipy.stats import linregress
    rng = np.random.default_rng(seed)
    dates, _, rate, theta, hedge = random_run(rng, 60)
    # P&L that follows the prior theta loosely, plus the cash interest on top.
    pnl = 0.8 * theta[0, :-1] + rng.normal(0, 15, 59)
    e = [1e5]
    for t in range(1, 60):
        days = int((dates[t] - dates[t - 1]).astype(int))
        e.append(e[-1] * math.exp(rate[0, t - 1] * days / 365) + pnl[t - 1])
    s = summary(dates, np.array([e]), rate, theta, hedge, [0])
    fit = linregress(theta[0, :-1], pnl)
    assert s.theta_r2[0] == pytest.approx(fit.rvalue ** 2, rel=1e-6)
    assert s.theta_slope[0] == pytest.approx(np.polyfit(theta[0, :-1], pnl, 1)[0], rel=1e-6)
    assert s.theta_slope[0] == pytest.approx(fit.slope, rel=1e-6)


def test_theta_r2_is_one_on_a_line():
    # Integer P&L = 3 x prior theta + 5 at a zero rate: the arithmetic is exact.
    theta = [4, 1, 7, 2, 9, 5, 0]
    pnl = [3 * x + 5 for x in theta[:-1]]
    equity = [1000]
    for p in pnl:
        equity.append(equity[-1] + p)
    s = run(weekdays(7), equity, theta=theta)
    assert s.theta_r2[0] == 1.0 and s.theta_slope[0] == 3.0


def test_worst_month_over_three_months():
    dates = ["2024-01-30", "2024-01-31", "2024-02-01", "2024-02-29", "2024-03-01", "2024-03-04"]
    # January +5 % (from the start), February 94.5 / 105 = -10 %, March 103.95 / 94.5 = +10 %
    # despite its dip to 80 inside the month.
    s = run(dates, [100, 105, 95, 94.5, 80, 103.95])
    assert s.worst_month[0] == pytest.approx(-0.10)
    assert s.worst_month_date[0] == np.datetime64("2024-02")
    assert s.row()["worst_month_date"] == "2024-02"


def test_drag():
    # $200 of hedge cost over a year (2023-01-02 .. 2024-01-02 is 365 days) on equity ~$10,000.
    dates = np.array(["2023-01-02", "2023-07-03", "2024-01-02"], dtype="datetime64[D]")
    s = run(dates, [10000, 9900, 10100], hedge=[0, -150, -50])
    assert s.drag_pct[0] == pytest.approx(200 / (365 / 365.25) / 10000)
    assert run(dates, [10000, 9900, 10100], hedge=[0, 300, 0]).drag_pct[0] < 0  # it paid


def test_paths_vectorized_equal_each_path_alone():
    dates, equity, rate, theta, hedge = random_run(np.random.default_rng(7), 300, paths=6)
    trades = np.arange(6)
    whole = summary(dates, equity, rate, theta, hedge, trades)
    for p in range(6):
        one = summary(dates, equity[p:p + 1], rate[p:p + 1], theta[p:p + 1], hedge[p:p + 1],
                      trades[p:p + 1])
        assert whole.row(p) == one.row(0)
    assert len({whole.row(p)["dd_trough"] for p in range(6)}) > 1  # the paths differ


def test_flat_equity_is_nan_not_an_error():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = run(weekdays(30), [5000] * 30, theta=10)
        both = summary(weekdays(3), np.array([[1.0, 1.0, 1.0], [1.0, 1.1, 1.0]]),
                       np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 3)), [0, 0])
    assert s.vol[0] == 0 and s.cagr[0] == 0 and s.max_drawdown[0] == 0
    assert np.isnan(s.sharpe[0]) and np.isnan(s.sortino[0])
    assert np.isnan(s.theta_r2[0]) and np.isnan(s.theta_slope[0])
    assert np.isnat(s.dd_peak[0]) and np.isnat(s.dd_trough[0]) and np.isnat(s.dd_recovery[0])
    row = s.row()
    assert row["sharpe"] is None and row["dd_peak"] is None
    json.dumps(row, allow_nan=False)
    assert np.isnan(both.sharpe[0]) and np.isfinite(both.sharpe[1])


def test_drawdown_reduction():
    assert drawdown_reduction(0.22, 0.143) == pytest.approx(0.35)
    assert drawdown_reduction(0.10, 0.12) == pytest.approx(-0.2)
    assert np.isnan(drawdown_reduction(0.0, 0.05))
    assert drawdown_reduction(np.array([0.2, 0.4]), np.array([0.1, 0.1])) == pytest.approx([0.5, 0.75])


def test_monte_carlo_percentiles():
    dates, equity, rate, theta, hedge = random_run(np.random.default_rng(3), 120, paths=40)
    un = summary(dates, equity, rate, theta, np.zeros_like(hedge), np.zeros(40))
    he = summary(dates, equity * 1.0005 ** np.arange(120), rate, theta, hedge, np.zeros(40))
    mc = monte_carlo(un, he)
    assert mc["paths"] == 40
    diff = he.sharpe - un.sharpe
    assert mc["sharpe_diff"]["median"] == pytest.approx(np.median(diff))
    assert mc["sharpe_diff"]["p5"] == pytest.approx(np.percentile(diff, 5))
    assert mc["hedged"]["max_drawdown"]["p95"] == pytest.approx(np.percentile(he.max_drawdown, 95))
    assert mc["unhedged"]["drag_pct"]["median"] == 0
    json.dumps(mc, allow_nan=False)


def test_monte_carlo_leaves_out_nan_paths():
    flat = np.ones((3, 4))
    flat[1] = [1.0, 1.1, 1.05, 1.2]
    s = summary(weekdays(4), flat, np.zeros((3, 4)), np.zeros((3, 4)), np.zeros((3, 4)), [0] * 3)
    mc = monte_carlo(s, s)
    assert mc["unhedged"]["sharpe"]["median"] == pytest.approx(s.sharpe[1])
    assert mc["sharpe_diff"] == {"median": 0.0, "p5": 0.0, "p95": 0.0}


def claimed(un, he, mc=None):
    return {c["claim"]: c for c in claims(un, he, mc)}


def mc_with(median):
    if median is None:  # no path had a Sharpe
        return {"paths": 1000, "sharpe_diff": {"median": None, "p5": None, "p95": None}}
    return {"paths": 1000, "sharpe_diff": {"median": median, "p5": median - 0.3,
                                           "p95": median + 0.3}}


UN = {"max_drawdown": 0.22, "theta_r2": 0.70, "drag_pct": 0.0}
HE = {"max_drawdown": 0.135, "theta_r2": 0.90, "drag_pct": 0.015}


def test_claims_hold():
    got = claimed(UN, HE, mc_with(0.5))
    assert [c.claim for c in CLAIMS] == list(got)
    assert all(c["verdict"] == HOLDS for c in got.values())
    assert got["Drawdown cut"]["measured"] == "22.0 % → 13.5 % (38.6 % less)"
    assert "levels match" in got["Drawdown cut"]["why"]
    assert got["Hedge drag"]["measured"] == "1.5 %/yr"
    assert got["Theta R²"]["measured"] == "0.70 → 0.90"
    assert got["Sharpe gain"]["measured"].startswith("+0.50 median over 1000 paths")
    for c, row in zip(CLAIMS, claims(UN, HE, None)):
        assert row["seed"] == c.seed and set(row) == {"claim", "seed", "measured", "verdict", "why"}


def test_claims_beyond_the_range_in_favour_hold():
    got = claimed({**UN, "max_drawdown": 0.40, "theta_r2": 0.5},
                  {**HE, "drag_pct": -0.01, "max_drawdown": 0.10, "theta_r2": 0.97}, mc_with(1.2))
    assert all(c["verdict"] == HOLDS for c in got.values())
    assert "levels differ" in got["Drawdown cut"]["why"]
    assert "outside 0.65–0.75" in got["Theta R²"]["why"]


def test_claims_do_not_hold():
    got = claimed(UN, {"max_drawdown": 0.18, "theta_r2": 0.80, "drag_pct": 0.031}, mc_with(0.1))
    assert all(c["verdict"] == FAILS for c in got.values())
    assert got["Drawdown cut"]["measured"] == "22.0 % → 18.0 % (18.2 % less)"
    # A hedged R² above 0.88 that is still below the unhedged one is no lift.
    low = claimed({**UN, "theta_r2": 0.95}, HE)["Theta R²"]
    assert low["verdict"] == FAILS and "lowers" in low["why"]


def test_claims_not_measurable():
    got = claimed(UN, HE, None)
    assert got["Sharpe gain"]["verdict"] == "not measurable (no Monte Carlo run)"
    assert sum(c["verdict"] == HOLDS for c in got.values()) == 3
    nan = claimed({**UN, "max_drawdown": 0.0, "theta_r2": None},
                  {**HE, "drag_pct": float("nan")}, mc_with(None))
    for c in nan.values():
        assert c["verdict"].startswith("not measurable (") and c["verdict"].endswith(")")
    assert "never drew down" in nan["Drawdown cut"]["verdict"]
    none = claimed(UN, None, None)
    assert none["Hedge drag"]["verdict"] == "not measurable (no hedged run)"
    one = claimed(UN, None, {"paths": 10, "unhedged": {}})  # a Monte Carlo of one program
    assert one["Sharpe gain"]["verdict"] == "not measurable (the Monte Carlo ran one program)"


def test_a_deeper_hedged_drawdown_says_deeper():
    got = claimed(UN, {**HE, "max_drawdown": 0.242})["Drawdown cut"]
    assert got["measured"] == "22.0 % → 24.2 % (10.0 % deeper)" and got["verdict"] == FAILS


def test_claims_from_a_real_summary():
    dates, equity, rate, theta, hedge = random_run(np.random.default_rng(11), 200)
    un = summary(dates, equity, rate, theta, np.zeros_like(hedge), [10])
    he = summary(dates, 1e5 + (equity - 1e5) * 0.6, rate, theta, hedge, [10])
    rows = claims(un.row(), he.row(), None)
    json.dumps(rows, allow_nan=False)
    assert {r["verdict"] for r in rows} <= {HOLDS, FAILS, "not measurable (no Monte Carlo run)"}


def test_the_drawdown_curve_is_the_fall_below_the_running_high():
    e = np.array([[100.0, 110.0, 99.0, 121.0, 108.9, 130.0]])
    want = [0.0, 0.0, 0.1, 0.0, 0.1, 0.0]  # 99 is 10 % below 110, 108.9 10 % below 121
    assert metrics.drawdown_curve(e)[0] == pytest.approx(want, abs=1e-12)
    dates = np.datetime64("2024-01-01") + np.arange(6)
    assert metrics.drawdown_curve(e).max() == pytest.approx(summary(dates, e, np.zeros((1, 6)), np.zeros((1, 6)),
                                                                    np.zeros((1, 6)), [0]).max_drawdown[0])
