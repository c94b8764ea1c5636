"""core/backtest/simulate: the day-step against references written here, leg by leg with
vollib (the project's reference pricer) and by hand: a few weeks of hand-made history
with two condors and one hedge (P&L, drawdown, R² and Sharpe worked out in the test),
settlement at intrinsic on the right print, the three exits, the roll-date shifts, the
delta-struck strikes, no look-ahead on the real history, and the whole real history
run hedged and unhedged.

The hand-made tapes have no VIX9D, VIX3M, VVIX, SKEW or VX settlements, so the day's model
is simple enough to write down: ATM vol is atm_ratio x VIX at every tenor up to 30 days
(the 9- and 30-day nodes are both VIX), the skew slope is skew_slope as given, VIX
futures are the mean-reverting model's with long_vix and VIX option vol is vix_vol x
(30 / days) ** vix_vol_decay.
"""
from __future__ import annotations

import dataclasses
import math
import statistics
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq
from vollib.black import black
from vollib.black_scholes_merton import black_scholes_merton
from vollib.black_scholes_merton.greeks.analytical import delta as vollib_delta, theta as vollib_theta

from core.backtest import calendar, condors, hedging, metrics, model
from core.backtest.config import DEFAULT, Cash, Entry, Exit, Strikes
from core.backtest.simulate import run
from core.backtest.tape import Tape, tape_from_series
from core.market.marketgen import next_expiries, vix_expiry

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
M = DEFAULT.model
RATE = 0.03
FLAGS = ("p", "p", "c", "c")  # long put, short put, short call, long call
SIGNS = (1, -1, -1, 1)
OUTPUTS = ("equity", "theta", "hedge_pnl", "hedge_value", "open_condors", "cash_rate")


# ---- the references -------------------------------------------------------------------

def trading_days(first: date, n: int) -> list[date]:
    out, d = [], first
    while len(out) < n:
        if calendar.trading_day(d):
            out.append(d)
        d += timedelta(days=1)
    return out


def hand_tape(days, spx, vix, spx_open=None) -> Tape:
    """One path of hand-made history: SPX, its opens, VIX; nothing else stored."""
    D = len(days)
    nan = lambda: np.full((1, D), np.nan)  # noqa: E731
    spx = np.asarray(spx, float)[None]
    opens = nan() if spx_open is None else np.asarray(spx_open, float)[None]
    vx_days = np.array([[(e - d).days for e in next_expiries(d, 8)] for d in days], float)
    return Tape(dates=np.array(days, dtype="datetime64[D]"), spx=spx, spx_open=opens,
                vix=np.asarray(vix, float)[None], vix9d=nan(), vix3m=nan(), vvix=nan(), skew=nan(),
                vx=np.full((1, D, 8), np.nan), vx_days=vx_days[None], tbill=np.full((1, D), RATE),
                fomc=np.zeros(D, bool), cpi=np.zeros(D, bool))


def config(every=10, dte=4, exit=Exit(), **sections):
    return dataclasses.replace(DEFAULT, entry=Entry("every", every, dte), exit=exit,
                               cash=Cash(rate=RATE), **sections)


def smile(atm, slope, F, K, T):
    """The put skew the config describes: vol = atm (1 - slope z), z = ln(K/F) / (atm sqrt T),
    never below half the ATM vol."""
    z = math.log(K / F) / (atm * math.sqrt(T))
    return atm * max(1.0 - slope * z, 0.5)


def delta_strike(S, T, r, q, atm, slope, target, flag):
    """The strike whose vollib |delta| on the smile is `target`, by root finding (|delta| is
    monotone in K on this smile)."""
    F = S * math.exp((r - q) * T)
    f = lambda K: abs(vollib_delta(flag, S, K, T, r, smile(atm, slope, F, K, T), q)) - target  # noqa: E731
    return brentq(f, F * math.exp(-12 * atm * math.sqrt(T)), F * math.exp(12 * atm * math.sqrt(T)),
                  xtol=1e-13, rtol=1e-15, maxiter=500)


def leg_prices(S, Ks, T, r, q, atm, slope):
    """(price, theta per calendar day) of each leg, vollib on the smile vol at its strike."""
    F = S * math.exp((r - q) * T)
    out = []
    for flag, K in zip(FLAGS, Ks):
        s = smile(atm, slope, F, K, T)
        out.append((black_scholes_merton(flag, S, K, T, r, s, q), vollib_theta(flag, S, K, T, r, s, q)))
    return out


def buy_back(S, Ks, T, atm, slope=M.skew_slope, r=RATE, q=M.dividend_yield):
    """(points to buy the condor back: shorts less wings, theta of the held condor per day)."""
    legs = leg_prices(S, Ks, T, r, q, atm, slope)
    return -sum(s * p for s, (p, _) in zip(SIGNS, legs)), sum(s * t for s, (_, t) in zip(SIGNS, legs))


def payoff(S, Ks):
    """What the condor costs at settlement: the shorts' intrinsic less the wings'."""
    lp, sp, sc, lc = Ks
    return max(sp - S, 0.0) - max(lp - S, 0.0) + max(S - sc, 0.0) - max(S - lc, 0.0)


def years(day, expiry, am):
    """From a close to settlement: an AM root settles at the open, 6.5 hours earlier."""
    return ((expiry - day).days - (6.5 / 24 if am else 0.0)) / 365.0


def hand_strikes(S, T, vix, cfg):
    atm, st = M.atm_ratio * vix / 100, cfg.strikes
    sp = round(delta_strike(S, T, RATE, M.dividend_yield, atm, M.skew_slope, st.short_delta, "p") / st.step)
    sc = round(delta_strike(S, T, RATE, M.dividend_yield, atm, M.skew_slope, st.short_delta, "c") / st.step)
    sp, sc = sp * st.step, sc * st.step
    return (sp - st.wing_width, sp, sc, sc + st.wing_width)


def reference(days, spx, vix, spx_open, cfg, entries, equity0=1_000_000.0):
    """The condor program by the issue's rules, day by day, written out plainly: `entries`
    maps an entry day's index to (expiry, AM-settled). At each close: cash earns the rate
    since the last close; a condor due settles at its intrinsic on the open (AM; the close
    when no open is stored) or the close (PM); a new one is struck (16-delta shorts on the
    smile rounded to the step, wings wing_width out), sold at mid less 4 x slippage, sized
    so its max loss is max_loss_pct of the last close's equity, 4 x commission paid; an
    older one exits at the close (take profit, stop, close_dte) paying mid plus slippage
    and commissions; equity is cash less the buy-back value of the open condors."""
    ex, c = cfg.exit, cfg.costs
    cash, eq_prev, book = equity0, equity0, []
    equity, theta, held = [], [], []
    for d, day in enumerate(days):
        if d:
            cash *= math.exp(RATE * (day - days[d - 1]).days / 365)
        atm = M.atm_ratio * vix[d] / 100
        for k in book:
            if k["open"] and k["expiry"] <= day:
                print_ = spx_open[d] if k["am"] and not math.isnan(spx_open[d]) else spx[d]
                cash -= payoff(print_, k["K"]) * 100 * k["n"]
                k.update(open=False, settled=day, print=print_)
        if d in entries:
            expiry, am = entries[d]
            T = years(day, expiry, am)
            assert T <= 30 / 365  # where ATM vol is atm_ratio x VIX
            K = hand_strikes(spx[d], T, vix[d], cfg)
            credit = buy_back(spx[d], K, T, atm)[0] - 4 * c.slippage
            n = math.floor(cfg.size.max_loss_pct / 100 * eq_prev / ((cfg.strikes.wing_width - credit) * 100))
            cash += credit * 100 * n - 4 * c.commission * n
            book.append(dict(K=K, n=n, credit=credit, entered=d, expiry=expiry, am=am, open=n > 0))
        marks = th = 0.0
        for k in book:
            if not k["open"]:
                continue
            cost, t = buy_back(spx[d], k["K"], years(day, k["expiry"], k["am"]), atm)
            if k["entered"] < d and ((ex.take_profit_pct and k["credit"] - cost >= ex.take_profit_pct / 100 * k["credit"])
                                     or (ex.stop_multiple and cost - k["credit"] >= ex.stop_multiple * k["credit"])
                                     or (ex.close_dte and (k["expiry"] - day).days <= ex.close_dte)):
                cash -= (cost + 4 * c.slippage) * 100 * k["n"] + 4 * c.commission * k["n"]
                k.update(open=False, exited=d, exit_cost=cost)
                continue
            marks -= cost * 100 * k["n"]
            th += t * 100 * k["n"]
        eq_prev = cash + marks
        equity.append(eq_prev)
        theta.append(th)
        held.append(sum(k["n"] for k in book if k["open"]))
    return np.array(equity), np.array(theta), np.array(held), book


def l2_price(vix, days, k1=None):
    """One L2 call spread (long k1, short k1 + 10, k1 = 1.1 x the future) in VIX points:
    Black-76 on the modelled future, vol vix_vol x (30/days)^decay; and its k1."""
    F = float(model.model_future(np.float64(vix), np.float64((M.long_vix / 100) ** 2), M.kappa, np.float64(days)))
    k1 = round(F * 1.1) if k1 is None else k1
    s, T = M.vix_vol * (30 / days) ** M.vix_vol_decay, days / 365
    return black("c", F, k1, T, RATE, s) - black("c", F, k1 + 10, T, RATE, s), k1


def summary_of(r):
    return metrics.summary(r.dates, r.equity, r.cash_rate, r.theta, r.hedge_pnl, r.trades)


# ---- the hand-made history ----------------------------------------------------------------
# April 2024 (no holiday): 20 trading days, Mon 1st to Fri 26th. An entry every 10 days at
# 4 days to expiry: Mon 1st -> Fri 5th (a PM weekly), Mon 15th -> Fri 19th, the third Friday:
# the AM monthly (on a date with both roots the monthly is taken). SPX falls through the
# first condor's put wing by its expiry close, and opens inside the second one's call wing
# on the 19th, but closes between the shorts: only the open settles it at a loss.

DAYS = trading_days(date(2024, 4, 1), 20)
SPX = [5000, 5010, 4990, 4950, 4850, 4860, 4900, 4950, 4980, 5000,
       5000, 5020, 5040, 5030, 5000, 4995, 5010, 5005, 5000, 5000]
OPEN = [s + 3.0 for s in SPX]
OPEN[14] = 5100.0  # the 19th's opening print
VIX = [15, 15.5, 16, 18, 22, 21, 19, 18, 17, 16, 15, 15, 14.5, 14.8, 15, 15.2, 15, 15.1, 15, 15]
ENTRIES = {0: (date(2024, 4, 5), False), 10: (date(2024, 4, 19), True)}


def test_the_hand_history_is_as_designed():
    assert DAYS[0] == date(2024, 4, 1) and DAYS[-1] == date(2024, 4, 26) and DAYS[14] == date(2024, 4, 19)
    assert calendar.nearest_expiry(DAYS[0], 4) == (date(2024, 4, 5), False)
    assert calendar.nearest_expiry(DAYS[10], 4) == (date(2024, 4, 19), True)
    assert calendar.monthly_expiry(2024, 4) == date(2024, 4, 19)


def test_two_condors_by_hand():
    cfg = config()
    tape = hand_tape(DAYS, SPX, VIX, OPEN)
    r = run(tape, cfg, [False], [0], [0])
    eq, th, held, book = reference(DAYS, SPX, VIX, OPEN, cfg, ENTRIES)
    one, two = book
    # strikes: 16-delta shorts on the smile, rounded to 5; 50-point wings
    assert one["K"] == (4870, 4920, 5065, 5115) and two["K"] == (4870, 4920, 5060, 5110)
    # sized at 2 % of the last close's equity over (50 - credit) x 100 of max loss
    assert one["n"] == two["n"] == 4 and 8 < one["credit"] < two["credit"] < 9
    # the 5th closes at 4850, beyond the 4870 wing: the whole 50; the 19th opens at 5100, 40
    # into the 5060/5110 call spread (its close, 5000, would have cost nothing)
    assert (one["print"], payoff(one["print"], one["K"])) == (4850, 50)
    assert (two["print"], payoff(two["print"], two["K"])) == (5100, 40)
    assert payoff(SPX[14], two["K"]) == 0
    assert r.trades[0] == 2 and r.skipped[0] == 0
    assert r.open_condors[0].tolist() == held.tolist() == [4] * 4 + [0] * 6 + [4] * 4 + [0] * 6
    assert np.abs(r.equity[0] - eq).max() < 1e-6
    assert np.abs(r.theta[0] - th).max() < 1e-6
    # on an entry day the book is marked at mid: the day costs exactly slippage and commission
    c = cfg.costs
    assert r.equity[0, 0] == pytest.approx(1e6 - 4 * (c.slippage * 100 + c.commission) * 4, abs=1e-6)
    # the settlement: yesterday's cash grown a day (three over the weekend), less 50 x 100 x 4
    assert eq[4] == pytest.approx((eq[3] + buy_back(SPX[3], one["K"], years(DAYS[3], one["expiry"], False),
                                                    M.atm_ratio * VIX[3] / 100)[0] * 400)
                                  * math.exp(RATE / 365) - 50 * 400, abs=1e-6)
    # with nothing open the account only earns its rate
    for d in list(range(5, 10)) + list(range(15, 20)):
        assert r.equity[0, d] == pytest.approx(r.equity[0, d - 1] * math.exp(RATE * (DAYS[d] - DAYS[d - 1]).days / 365),
                                               rel=1e-14)
    assert r.costs[0] == pytest.approx(2 * 4 * 4 * (c.commission + c.slippage * 100))
    # the same run reading the T-bill series (held at the same rate) is the same run
    rh = run(tape, dataclasses.replace(cfg, cash=Cash(rate=None, history=True)), [False], [0], [0])
    assert np.array_equal(rh.equity, r.equity)


def test_drawdown_r2_and_sharpe_of_the_hand_history():
    cfg = config()
    r = run(hand_tape(DAYS, SPX, VIX, OPEN), cfg, [False], [0], [0])
    eq, th, _, _ = reference(DAYS, SPX, VIX, OPEN, cfg, ENTRIES)
    s = summary_of(r)
    # drawdown: the deepest fall from a running high
    high, worst, peak, trough, at = eq[0], 0.0, None, None, 0
    for d, e in enumerate(eq):
        if e >= high:
            high, at = e, d
        if 1 - e / high > worst:
            worst, peak, trough = 1 - e / high, at, d
    assert (peak, trough) == (2, 14)  # the high before the first condor's loss; the second's settlement
    assert s.max_drawdown[0] == pytest.approx(worst, rel=1e-12)
    assert s.dd_peak[0] == np.datetime64(DAYS[peak]) and s.dd_trough[0] == np.datetime64(DAYS[trough])
    assert np.isnat(s.dd_recovery[0])
    # theta R²: the day's P&L less the interest on the account, on the prior close's theta
    gap = [(b - a).days for a, b in zip(DAYS, DAYS[1:])]
    pnl = [eq[t + 1] - eq[t] * math.exp(RATE * gap[t] / 365) for t in range(len(gap))]
    x = list(th[:-1])
    assert s.theta_r2[0] == pytest.approx(statistics.correlation(x, pnl) ** 2, rel=1e-9)
    assert s.theta_slope[0] == pytest.approx(statistics.linear_regression(x, pnl).slope, rel=1e-9)
    # Sharpe: mean daily return over the cash return, over its sample stdev, x sqrt(252)
    excess = [eq[t + 1] / eq[t] - 1 - math.expm1(RATE * gap[t] / 365) for t in range(len(gap))]
    assert s.sharpe[0] == pytest.approx(statistics.mean(excess) / statistics.stdev(excess) * math.sqrt(252),
                                        rel=1e-9)


# ---- the one hedge ---------------------------------------------------------------------------
# The same history hedged by L2 alone, its premium capped at 0.2 % of equity so that the cap
# is what sizes it. L2 is a 30-60 day VIX call spread: on April 1st the listed VIX expiries
# are 16, 51, 78... days out, and 51 (May 22nd) is nearest the window's middle.

CAP = 0.2
HEDGE_LEG = DEFAULT.costs.vix_slippage * 100 + DEFAULT.costs.commission  # $ per VIX leg traded


def hedged_pair():
    cfg = config(hedge=dataclasses.replace(DEFAULT.hedge, layers=(2,), premium_cap_pct=CAP))
    return run(hand_tape(DAYS, SPX, VIX, OPEN), cfg, [False, True], [0, 0], [0, 0]), cfg


def hedge_cash(r, p=1):
    """The layers' cash flow each day: their P&L less the change in their marks."""
    return r.hedge_pnl[p] - np.diff(np.r_[0.0, r.hedge_value[p]])


def test_the_hedge_by_hand():
    r, cfg = hedged_pair()
    assert vix_expiry(2024, 5) == date(2024, 5, 22) and (date(2024, 5, 22) - DAYS[0]).days == 51
    assert next_expiries(DAYS[0], 3) == [date(2024, 4, 17), date(2024, 5, 22), date(2024, 6, 18)]
    # the condors are the same in both programs, so the hedge is the whole difference
    assert np.array_equal(r.open_condors[0], r.open_condors[1]) and r.trades.tolist() == [2, 2]
    assert np.array_equal(r.hedge_value[0], np.zeros(len(DAYS))) and r.hedge_trades[0] == 0
    # day 0: bought n spreads (two legs each) at their Black-76 price
    n = -r.hedge_pnl[1, 0] / (2 * HEDGE_LEG)
    assert n == pytest.approx(round(n), abs=1e-9) and n >= 1
    n = round(n)
    price, k1 = l2_price(VIX[0], 51)
    assert k1 == 18  # 1.1 x the 16.67 modelled future
    assert r.hedge_value[1, 0] / (n * 100) == pytest.approx(price, abs=1e-10)
    # the premium cap is what sized it: as many as 0.2 % of the million buys
    assert n == math.floor(CAP / 100 * 1e6 / (price * 100))
    # the drag budget would have allowed more: the layer's theta is the books' difference
    drag = -(r.theta[1, 0] - r.theta[0, 0]) * 365
    assert 0 < drag * (n + 1) / n <= cfg.hedge.drag_budget_pct / 100 * 1e6
    # held and marked on the same strikes; the cap binds, so each day's target is what 0.2 % of
    # the previous close buys; the layer trades to it when it is more than the rebalance band
    # off it, or when what is held is worth more than the cap (VIX 18 on the 4th lifts the
    # price to 2.16: 15 spreads would be 3,234 $ against a 2,004 $ cap)
    prices = [l2_price(VIX[d], (date(2024, 5, 22) - DAYS[d]).days, k1)[0] for d in range(5)]
    assert (date(2024, 5, 22) - DAYS[4]).days == 47
    band = cfg.hedge.rebalance_band
    held, pnl, trades = n, -n * (prices[0] * 100 + 2 * HEDGE_LEG), 1
    for d in range(1, 4):
        cap = CAP / 100 * r.equity[1, d - 1]
        target = math.floor(cap / (prices[d] * 100))
        if held * prices[d] * 100 > cap * (1 + 1e-9) or abs(target - held) > band * max(target, held):
            pnl -= (target - held) * prices[d] * 100 + abs(target - held) * 2 * HEDGE_LEG
            held, trades = target, trades + 1
        assert r.hedge_value[1, d] == pytest.approx(held * 100 * prices[d], abs=1e-7)
    assert held == 9 and r.hedge_value[1, 3] <= CAP / 100 * r.equity[1, 2]
    # the 5th: the condor settles, nothing is left to hedge, the 9 are sold at 47 days
    assert r.hedge_value[1, 4] == 0 and r.open_condors[1, 4] == 0
    assert hedge_cash(r)[4] == pytest.approx(held * (prices[4] * 100 - 2 * HEDGE_LEG), abs=1e-7)
    # the hedge's P&L over its life, by hand
    pnl += held * (prices[4] * 100 - 2 * HEDGE_LEG)
    assert r.hedge_pnl[1, :5].sum() == pytest.approx(pnl, abs=1e-7) and pnl > 0  # VIX 15 -> 22: it paid
    # with no condor open there is no hedge
    assert not r.hedge_value[1, 5:10].any() and not r.hedge_pnl[1, 5:10].any()
    # the second condor is hedged again on the 15th (June 18th, 64 days, is outside 30-60;
    # May 22nd's 37 days is nearest 45), and unhedged once it settles on the 19th
    assert r.hedge_value[1, 10:14].all() and not r.hedge_value[1, 14:].any()
    n2 = round(-r.hedge_pnl[1, 10] / (2 * HEDGE_LEG))
    price2, _ = l2_price(VIX[10], 37)
    assert r.hedge_value[1, 10] == pytest.approx(n2 * 100 * price2, abs=1e-7)
    assert n2 == math.floor(CAP / 100 * r.equity[1, 9] / (price2 * 100))
    # one trade a day at most (one layer): the trades are the days with hedge cash
    traded = np.abs(hedge_cash(r)) > 1e-9
    assert traded[:5].sum() == trades + 1 and r.hedge_trades[1] == traded.sum()


def test_hedged_equity_is_unhedged_plus_the_hedge():
    r, _ = hedged_pair()
    # hedged - unhedged = the layers' marks + their cash flows, each earning the cash rate
    grow = np.exp(RATE * np.array([(d - DAYS[0]).days for d in DAYS]) / 365)
    flow = hedge_cash(r)
    carried = np.array([(flow[:t + 1] * grow[t] / grow[:t + 1]).sum() for t in range(len(DAYS))])
    assert np.abs(r.equity[1] - r.equity[0] - (carried + r.hedge_value[1])).max() < 1e-6
    # and the day's hedge P&L is the day's change in that difference, less a day's interest on it
    diff = r.equity[1] - r.equity[0] - r.hedge_value[1]
    for t in range(1, len(DAYS)):
        assert r.hedge_pnl[1, t] == pytest.approx(
            diff[t] + r.hedge_value[1, t] - diff[t - 1] * grow[t] / grow[t - 1] - r.hedge_value[1, t - 1], abs=1e-6)


def test_the_premium_never_exceeds_the_cap():
    # the band lets a holding drift off its target, never past the cap
    r, _ = hedged_pair()
    eq_prev = np.r_[1e6, r.equity[1, :-1]]
    assert (r.hedge_value[1] <= CAP / 100 * eq_prev + 1e-9).all()
    assert (r.hedge_value[1] > 0.5 * CAP / 100 * eq_prev).sum() >= 5  # and the cap is what binds


def engine_wants(loss, gain, price, target, equity, dormant):
    """core/hedge/alvh.py's split for one path (L2 from its budget, up to the target; L1 and
    L3 their shares of what L2 at its want leaves in their stresses; when R3 finds the
    regime dormant L1 gets nothing and L3 the whole rest: w1, w3 = 0, 1)."""
    w1, w3 = (0.0, 1.0) if dormant else hedging.SETTINGS.weights
    budget = hedging.SETTINGS.l2_budget_pct / 100 * equity
    want2 = min(math.floor(budget / (price[1] * 100)) * gain[1][1], target * loss[1])
    there = [want2 * gain[row][1] / gain[1][1] for row in range(3)]  # L2's gain in each stress
    return [max(target * loss[0] - there[0], 0) * w1, want2, max(target * loss[2] - there[2], 0) * w3]


WANTS_CASE = dict(loss=[4000.0, 9000.0, 30000.0], price=[0.4, 1.3, 2.5],
                  gain=[[90.0, 60.0, 20.0], [300.0, 250.0, 90.0], [900.0, 700.0, 800.0]])  # [stress][layer]


def call_wants(dormant):
    c = WANTS_CASE
    return hedging.wants(np.array([c["loss"]]), np.array([c["gain"]]), np.array([c["price"]]), 0.5,
                         np.array([1e6]), np.array([dormant]))[0]


def test_the_layers_want_the_engines_split():
    c = WANTS_CASE
    assert call_wants(False) == pytest.approx(engine_wants(c["loss"], c["gain"], c["price"], 0.5, 1e6, False))
    assert call_wants(True)[:2] == pytest.approx(engine_wants(c["loss"], c["gain"], c["price"], 0.5, 1e6, True)[:2])


def test_a_dormant_regime_gives_l3_the_whole_rest_as_the_engine_does():
    c = WANTS_CASE
    assert call_wants(True)[2] == pytest.approx(engine_wants(c["loss"], c["gain"], c["price"], 0.5, 1e6, True)[2])


def test_l3_alone_hedges_what_no_l2_covers():
    cfg = config(hedge=dataclasses.replace(DEFAULT.hedge, layers=(3,)))
    r = run(hand_tape(DAYS, SPX, VIX, OPEN), cfg, [False, True], [0, 0], [0, 0])
    assert (r.hedge_value[1, :4] > 0).all()


# ---- pricing and settlement ------------------------------------------------------------------

@pytest.mark.parametrize("S,days,vix,slope", [(5000, 4, 15, 0.15), (2500, 45, 30, 0.3), (1200, 1, 60, 0.0),
                                              (4000, 90, 12, 0.15)])
def test_a_condor_is_the_sum_of_its_legs_priced_by_vollib(S, days, vix, slope):
    T, atm, r, q = days / 365, 0.9 * vix / 100, 0.04, 0.015
    F = S * math.exp((r - q) * T)
    K = np.array([F * 0.9, F * 0.97, F * 1.02, F * 1.06])
    price, theta = condors.legs(np.array([[S]]), K[None], np.array([[T]]), np.array([[r]]), q,
                                np.array([[atm]]), np.array([[slope]]))
    ref = leg_prices(S, K, T, r, q, atm, slope)
    for j, (p, t) in enumerate(ref):
        assert price[0, j] == pytest.approx(p, abs=1e-8)
        assert theta[0, j] == pytest.approx(t, abs=1e-8)
    assert condors.close_cost(price)[0] == pytest.approx(buy_back(S, K, T, atm, slope, r, q)[0], abs=1e-8)
    # put-call parity at one strike, whose call and put share the smile's vol
    price, _ = condors.legs(np.array([[S]]), np.array([[K[1], K[1], K[1], K[2]]]), np.array([[T]]),
                            np.array([[r]]), q, np.array([[atm]]), np.array([[slope]]))
    assert price[0, 2] - price[0, 1] == pytest.approx(S * math.exp(-q * T) - K[1] * math.exp(-r * T),
                                                          abs=1e-9)


@pytest.mark.parametrize("close,pays", [(5000, 0), (4920, 0), (4900, 20), (4870, 50), (4800, 50),
                                        (5065, 0), (5090, 25), (5115, 50), (5300, 50)])
def test_a_condor_held_to_expiry_settles_at_its_intrinsic(close, pays):
    # the first condor of the hand history, (4870, 4920, 5065, 5115), expiring at the close
    # of Friday the 5th: everything before is the same, so the day's equity differs from
    # the between-the-shorts run by exactly the payoff
    cfg = config(every=250)
    days, vix = DAYS[:8], VIX[:8]
    flat = [5000.0] * 8
    moved = flat[:4] + [float(close)] + flat[5:]
    base = run(hand_tape(days, flat, vix), cfg, [False], [0], [0])
    r = run(hand_tape(days, moved, vix), cfg, [False], [0], [0])
    eq, _, _, (k,) = reference(days, moved, vix, [math.nan] * 8, cfg, {0: ENTRIES[0]})
    assert k["K"] == (4870, 4920, 5065, 5115) and payoff(close, k["K"]) == pays
    assert np.array_equal(r.equity[0, :4], base.equity[0, :4])
    assert r.equity[0, 4] - base.equity[0, 4] == pytest.approx(-pays * 100 * k["n"], abs=1e-6)
    assert np.abs(r.equity[0] - eq).max() < 1e-6
    assert r.open_condors[0].tolist() == [k["n"]] * 4 + [0] * 4
    for d in (5, 6, 7):  # settled: cash only
        assert r.equity[0, d] == pytest.approx(r.equity[0, d - 1] * math.exp(RATE * (days[d] - days[d - 1]).days / 365),
                                               rel=1e-14)


@pytest.mark.parametrize("opening,settles_at", [(5100.0, 5100.0), (math.nan, 5000.0)])
def test_an_am_condor_settles_on_the_open_or_the_close_when_no_open_is_stored(opening, settles_at):
    # the second condor of the hand history alone: entered on the 15th, the 19th's AM monthly
    cfg = config(every=250)
    days, spx, vix = DAYS[10:], SPX[10:], VIX[10:]
    opens = [s + 3.0 for s in spx]
    opens[4] = opening
    r = run(hand_tape(days, spx, vix, opens), cfg, [False], [0], [0])
    eq, _, _, (k,) = reference(days, spx, vix, opens, cfg, {0: ENTRIES[10]})
    assert k["print"] == settles_at
    assert np.abs(r.equity[0] - eq).max() < 1e-6


# The exits: one condor entered on Mon April 1st, 14 days out (Mon the 15th, a PM weekly)
EXIT_DAYS = trading_days(date(2024, 4, 1), 12)  # to Tue the 16th


def exit_run(ex, spx, vix):
    cfg = config(every=250, dte=14, exit=ex)
    assert calendar.nearest_expiry(EXIT_DAYS[0], 14) == (date(2024, 4, 15), False)
    r = run(hand_tape(EXIT_DAYS, spx, vix), cfg, [False], [0], [0])
    eq, _, held, (k,) = reference(EXIT_DAYS, spx, vix, [math.nan] * 12, cfg, {0: (date(2024, 4, 15), False)})
    assert np.abs(r.equity[0] - eq).max() < 1e-6
    assert r.open_condors[0].tolist() == held.tolist()
    return r, k


def mark(k, d, spx, vix):
    """Points to buy the exits' condor back at day d's close."""
    return buy_back(spx[d], k["K"], years(EXIT_DAYS[d], k["expiry"], False), M.atm_ratio * vix[d] / 100)[0]


def check_exit(ex, spx, vix, day):
    """The condor exits at the close of `day`: yesterday's cash grown a night, less its mid
    plus 4 x slippage and 4 x commission; cash only afterwards."""
    r, k = exit_run(ex, spx, vix)
    c = DEFAULT.costs
    assert k.get("exited") == day
    assert r.open_condors[0, day - 1] == k["n"] > 0 and r.open_condors[0, day:].sum() == 0
    cash = (r.equity[0, day - 1] + k["n"] * 100 * mark(k, day - 1, spx, vix)) * math.exp(
        RATE * (EXIT_DAYS[day] - EXIT_DAYS[day - 1]).days / 365)
    assert k["exit_cost"] == mark(k, day, spx, vix)
    assert r.equity[0, day] == pytest.approx(
        cash - (k["exit_cost"] + 4 * c.slippage) * 100 * k["n"] - 4 * c.commission * k["n"], abs=1e-6)
    for d in range(day + 1, 12):
        assert r.equity[0, d] == pytest.approx(r.equity[0, d - 1] * math.exp(
            RATE * (EXIT_DAYS[d] - EXIT_DAYS[d - 1]).days / 365), rel=1e-14)
    assert r.costs[0] == pytest.approx(2 * 4 * k["n"] * (c.commission + c.slippage * 100))
    return k


def test_take_profit_fires_on_the_first_close_at_half_the_credit():
    # VIX slides from 15 to 13, then drops to 9 on the 4th (day 3): half the credit is captured there
    spx, vix = [5000.0] * 12, [15, 14, 13, 9, 9, 9, 9, 9, 9, 9, 9, 9]
    k = check_exit(Exit(take_profit_pct=50), spx, vix, 3)
    assert k["credit"] - mark(k, 2, spx, vix) < 0.5 * k["credit"] <= k["credit"] - mark(k, 3, spx, vix)


def test_a_stop_fires_when_the_loss_reaches_the_multiple():
    # SPX slips to 4960, then falls to 4780 on the 3rd (day 2), through the 4805 wing: the
    # loss there is past 1 x the credit
    spx, vix = [5000.0, 4960, 4780] + [4780.0] * 9, [15, 16, 24] + [24] * 9
    k = check_exit(Exit(stop_multiple=1), spx, vix, 2)
    assert mark(k, 1, spx, vix) - k["credit"] < k["credit"] <= mark(k, 2, spx, vix) - k["credit"]


def test_close_dte_closes_that_many_days_before_expiry():
    # 3 days before Monday the 15th is Friday the 12th (day 9)
    spx, vix = [5000.0] * 12, [15.0] * 12
    assert EXIT_DAYS[9] == date(2024, 4, 12)
    check_exit(Exit(close_dte=3), spx, vix, 9)


def test_no_exit_fires_on_the_entry_day():
    # the entry's own slippage (4 x 0.05 points) is a loss of over 2 % of the credit at its
    # first mark: a stop at 0.01 x the credit would fire at once, but waits for day 1's
    # close (VIX up a point)
    spx, vix = [5000.0] * 12, [15.0] + [16.0] * 11
    k = check_exit(Exit(stop_multiple=0.01), spx, vix, 1)
    assert mark(k, 0, spx, vix) - k["credit"] == pytest.approx(4 * DEFAULT.costs.slippage)


def test_a_condor_whose_expiry_is_missing_from_the_tape_settles_on_the_next_day():
    # the hand history without Friday the 5th (a gap in the data): the first condor must
    # settle at the next print, Monday the 8th's close (4860, beyond the 4870 wing). The
    # second entry is then the tape's day 10, Tue the 16th, for the 19th's AM monthly.
    keep = [d for d in range(20) if d != 4]
    pick = lambda xs: [xs[d] for d in keep]  # noqa: E731
    days, spx, vix, opens = pick(DAYS), pick(SPX), pick(VIX), pick(OPEN)
    assert calendar.nearest_expiry(days[10], 4) == (date(2024, 4, 19), True)
    cfg = config()
    r = run(hand_tape(days, spx, vix, opens), cfg, [False], [0], [0])
    eq, _, held, (one, _) = reference(days, spx, vix, opens, cfg, {0: ENTRIES[0], 10: ENTRIES[10]})
    assert one["settled"] == date(2024, 4, 8) and payoff(one["print"], one["K"]) == 50
    assert np.abs(r.equity[0] - eq).max() < 1e-6  # off by the 50 x 100 x 4 never paid
    assert r.open_condors[0].tolist() == held.tolist()


# ---- roll-date shifts ------------------------------------------------------------------------

SHIFTED = {3: {3: (date(2024, 4, 8), False), 13: (date(2024, 4, 22), False)},
           -3: {7: (date(2024, 4, 15), False)}}


def test_shifted_paths_enter_that_many_trading_days_later():
    cfg = config()
    tape = hand_tape(DAYS, SPX, VIX, OPEN)
    r = run(tape, cfg, [False, False, False], [0, 3, -3], [0, 0, 0])
    alone = run(tape, cfg, [False], [0], [0])
    assert np.array_equal(r.equity[0], alone.equity[0]) and np.array_equal(r.theta[0], alone.theta[0])
    # +3: Thu the 4th -> Mon the 8th and Thu the 18th -> Mon the 22nd; -3: the first entry
    # falls before the tape, the second is Wed the 10th -> Mon the 15th (Sunday the 14th is
    # 4 days out; the 15th, 1 day past it, is nearer than Friday the 12th)
    assert r.trades.tolist() == [2, 2, 1]
    for p, shift in ((1, 3), (2, -3)):
        for d, x in SHIFTED[shift].items():
            assert calendar.nearest_expiry(DAYS[d], 4) == x
        eq, _, held, _ = reference(DAYS, SPX, VIX, OPEN, cfg, SHIFTED[shift])
        assert r.open_condors[p].tolist() == held.tolist()
        assert np.abs(r.equity[p] - eq).max() < 1e-6
        assert np.array_equal(run(tape, cfg, [False], [shift], [0]).equity[0], r.equity[p])
    first = [int(np.flatnonzero(r.open_condors[p])[0]) for p in range(3)]
    assert first == [0, 3, 7]


def test_each_path_has_its_own_theta():
    cfg = config()
    r = run(hand_tape(DAYS, SPX, VIX, OPEN), cfg, [False, False, False], [0, 3, -3], [0, 0, 0])
    for p, shift in ((1, 3), (2, -3)):
        _, th, _, _ = reference(DAYS, SPX, VIX, OPEN, cfg, SHIFTED[shift])
        assert np.abs(r.theta[p] - th).max() < 1e-6


# ---- the delta-struck strikes ----------------------------------------------------------------

CASES = [(S, T, r, q, atm)
         for S in (100.0, 4700.0) for T in (2 / 365, 45 / 365, 1.0) for r in (0.0, 0.05)
         for q in (0.0, 0.02) for atm in (0.08, 0.25, 0.7)]


def strike_errors(slope, targets=(0.05, 0.16, 0.3)):
    worst = 0.0
    for S, T, r, q, atm in CASES:
        for target in targets:
            for call in (False, True):
                K = float(condors.strike_for_delta(np.array([S]), np.array([T]), r, q, target, call,
                                                   np.array([atm]), np.array([slope]))[0])
                sigma = float(model.smile_vol(atm, slope, S * math.exp((r - q) * T), K, T))
                got = vollib_delta("c" if call else "p", S, K, T, r, sigma, q)
                assert got > 0 if call else got < 0
                worst = max(worst, abs(abs(got) - target))
    return worst


def test_strike_for_delta_hits_vollibs_delta_on_a_flat_smile():
    assert strike_errors(0.0) < 1e-9


@pytest.mark.parametrize("slope", [0.15, 0.4, 0.8])
def test_strike_for_delta_hits_vollibs_delta_on_the_skew(slope):
    assert strike_errors(slope) < 1e-9


def test_strike_for_delta_solves_a_batch_in_a_handful_of_passes():
    """Solved together, strikes come in the passes the slowest needs alone (a few): a root
    once found stays found, where a Newton step of zero (the root hit exactly) used to count
    as leaving the bracket, bisect it and restart the search from mid-bracket, so every
    solved strike cost 40-odd more passes and 60 were barely enough. The config's whole
    range: |delta| 0.001-0.49, skew slope 0-3 (skew_slope x the SKEW scale), T 1 day to
    420, ATM vol 5-120 %."""
    rng = np.random.default_rng(11)
    n = 300
    S, T = rng.uniform(300, 6000, n), rng.choice([1.0, 2.0, 7.0, 45.0, 180.0, 420.0], n) / 365
    r, q = rng.uniform(0, 0.06, n), rng.uniform(0, 0.04, n)
    target = rng.choice([0.001, 0.01, 0.05, 0.16, 0.3, 0.49], n)
    call, atm = rng.random(n) < 0.5, rng.uniform(0.05, 1.2, n)
    slope = rng.choice([0.0, 0.15, 0.45, 1.0, 3.0], n)
    K = condors.strike_for_delta(S, T, r, q, target, call, atm, slope, iters=12)
    for i in range(n):
        sigma = float(model.smile_vol(atm[i], slope[i], S[i] * math.exp((r[i] - q[i]) * T[i]), K[i], T[i]))
        got = vollib_delta("c" if call[i] else "p", S[i], K[i], T[i], r[i], sigma, q[i])
        assert abs(abs(got) - target[i]) < 1e-9, i
    # a strike solved on the first pass (a flat smile) is the one it gets alone, to the bit
    alone = condors.strike_for_delta(S[:1], T[:1], r[:1], q[:1], target[:1], call[:1], atm[:1], np.zeros(1))
    both = condors.strike_for_delta(S[:2], T[:2], r[:2], q[:2], target[:2], call[:2], atm[:2],
                                    np.array([0.0, 3.0]))
    assert both[0] == alone[0]


@pytest.mark.parametrize("strikes", [Strikes(), Strikes(0.1, 25.0, None, 5.0), Strikes(0.2, 3.0, None, 1.0),
                                     Strikes(0.16, None, 0.05, 5.0), Strikes(0.3, None, 0.28, 25.0)])
def test_struck_strikes_are_listed_with_wings_outside_the_shorts(strikes):
    rng = np.random.default_rng(7)
    n = 400
    S = rng.uniform(300, 6000, n)
    T = rng.uniform(1, 120, n) / 365
    r, q = rng.uniform(0, 0.06, n), 0.018
    atm, slope = rng.uniform(0.06, 0.8, n), rng.choice([0.0, 0.15, 0.4], n)
    K = condors.struck(S, T, r, q, atm, slope, strikes)
    step = strikes.step
    assert K.shape == (n, 4)
    assert np.array_equal(K / step, np.round(K / step))
    lp, sp, sc, lc = K.T
    assert (lp < sp).all() and (sp < sc).all() and (sc < lc).all()
    assert (sp - lp >= step).all() and (lc - sc >= step).all()
    flat = slope == 0  # the shorts are the delta strikes rounded to the step
    for i in np.flatnonzero(flat)[:40]:
        ref_p = delta_strike(S[i], T[i], r[i], q, atm[i], 0.0, strikes.short_delta, "p")
        ref_c = delta_strike(S[i], T[i], r[i], q, atm[i], 0.0, strikes.short_delta, "c")
        assert abs(sp[i] - ref_p) <= step / 2 + 1e-6
        assert abs(sc[i] - ref_c) <= step / 2 + 1e-6 or sc[i] == sp[i] + step
        if strikes.wing_width is not None:
            assert lp[i] == min(round((sp[i] - strikes.wing_width) / step) * step, sp[i] - step)
            assert lc[i] == max(round((sc[i] + strikes.wing_width) / step) * step, sc[i] + step)
        else:  # the wings at their own delta, rounded, or a step outside the shorts
            ref_lp = delta_strike(S[i], T[i], r[i], q, atm[i], 0.0, strikes.wing_delta, "p")
            ref_lc = delta_strike(S[i], T[i], r[i], q, atm[i], 0.0, strikes.wing_delta, "c")
            assert abs(lp[i] - ref_lp) <= step / 2 + 1e-6 or lp[i] == sp[i] - step
            assert abs(lc[i] - ref_lc) <= step / 2 + 1e-6 or lc[i] == sc[i] + step


# ---- the real history ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def series(tmp_path_factory) -> dict:
    from cli_helpers import real_store
    from core.history import store
    return store.load_daily(real_store(tmp_path_factory, "simulate"))


FROM, TO = date(2007, 1, 1), date(2012, 12, 31)


@pytest.fixture(scope="module")
def six_years(series):
    tape = tape_from_series(series, start=FROM, end=TO)
    return tape, run(tape, DEFAULT, [False, True], [0, 0], [0, 0])


def same_until(a, b, n):
    """Every daily output of runs a and b, the model flags included, is the same on their
    first n days, bit for bit."""
    for k in OUTPUTS:
        assert np.array_equal(getattr(a, k)[:, :n], getattr(b, k)[:, :n]), k
    assert a.real.keys() == b.real.keys()
    for k in a.real:
        assert np.array_equal(a.real[k][:, :n], b.real[k][:, :n]), k


def scrambled_after(tape: Tape, X: date) -> Tape:
    """The tape with every market value after X replaced by other numbers (the calendar,
    FOMC and CPI days kept): a run that read any of them before X would change there."""
    after = tape.dates > np.datetime64(X)
    out = {}
    for f in ("spx", "spx_open", "vix", "vix9d", "vix3m", "vvix", "skew", "vx", "tbill"):
        x = getattr(tape, f).copy()
        x[:, after] = x[:, after] * (0.6 if f == "spx" else 1.7) + (0.0 if f == "tbill" else 1.0)
        out[f] = x
    return dataclasses.replace(tape, **out)


# X just before a VIX expiry, just before an SPX monthly, and the Friday before Lehman's
# bankruptcy (an FOMC day, the 16th, is 4 days on; it changes nothing here). The cut tapes
# (tape_from_series(end=X)) lose the FOMC/CPI days after X too: a tape has no row past its
# end to carry them, though schedules are published in advance. The scrambled tapes keep
# them. See the next test for an X where cutting them does change the hedge (R4 reads an
# event up to 7 days ahead).
NO_LOOK_AHEAD = [vix_expiry(2008, 10) - timedelta(days=1), calendar.monthly_expiry(2010, 5) - timedelta(days=1),
                 date(2008, 9, 12)]


@pytest.mark.parametrize("X", NO_LOOK_AHEAD, ids=str)
def test_no_look_ahead(series, six_years, X):
    tape, full = six_years
    assert X in (date(2008, 10, 21), date(2010, 5, 20), date(2008, 9, 12))
    cut = tape_from_series(series, start=FROM, end=X)
    n = cut.days
    assert cut.dates[-1] == np.datetime64(X) and np.array_equal(cut.dates, tape.dates[:n])
    assert full.open_condors[:, n - 1].all() and full.hedge_value[1, n - 1] > 0  # something is at stake
    same_until(full, run(cut, DEFAULT, [False, True], [0, 0], [0, 0]), n)
    other = run(scrambled_after(tape, X), DEFAULT, [False, True], [0, 0], [0, 0])
    same_until(full, other, n)
    assert not np.array_equal(full.equity[:, n:], other.equity[:, n:])  # the scramble did change what follows


EVENT_X = date(2011, 8, 5)  # a Friday; the FOMC announced on Tuesday the 9th


def test_market_rows_after_x_do_not_matter_where_an_event_follows(series, six_years):
    tape, full = six_years
    cut = tape_from_series(series, start=FROM, end=EVENT_X)
    n = cut.days
    assert tape.fomc[n + 1] and tape.dates[n + 1] == np.datetime64("2011-08-09")
    # the market after X scrambled, the event calendar kept: nothing on or before X moves
    other = run(scrambled_after(tape, EVENT_X), DEFAULT, [False, True], [0, 0], [0, 0])
    same_until(full, other, n)



def test_no_look_ahead_with_a_tape_cut_just_before_an_event(series, six_years):
    # FOMC and CPI dates are published ahead: a tape cut on Fri 2011-08-05 still knows the
    # FOMC of Tue the 9th (R4 reads 7 days ahead), from the store's event series
    tape, full = six_years
    cut = tape_from_series(series, start=FROM, end=EVENT_X)
    assert cut.next_event[-1] == 4
    same_until(full, run(cut, DEFAULT, [False, True], [0, 0], [0, 0]), cut.days)


def test_a_path_is_the_same_whichever_paths_are_stepped_with_it(series):
    """The Monte Carlo splits its paths over workers and claims the figures of one process:
    every daily output of a path must not depend on how many paths run beside it. The marks
    are priced a block of days at a time, the block's length set by the path count (600
    bootstrap paths: one day a block, 300: three), so a leg sum whose rounding follows the
    array's shape (a matmul: one cell alone is summed in another order) broke it, in theta."""
    from core.backtest import bootstrap
    tape = tape_from_series(series, start=date(2018, 1, 1), end=date(2020, 12, 31))
    idx = bootstrap.indices(tape, 600, 40, 10.0, 1)

    def stepped(ix):
        m = len(ix)
        return run(bootstrap.take(tape, ix), DEFAULT, np.repeat([False, True], m), np.zeros(2 * m, int),
                   np.tile(np.arange(m), 2))

    every, half = stepped(idx), stepped(idx[:300])
    rows = np.r_[0:300, 600:900]
    for k in OUTPUTS:
        assert np.array_equal(getattr(every, k)[rows], getattr(half, k)), k


def test_the_whole_real_history_hedged_and_unhedged(series):
    tape = tape_from_series(series)
    r = run(tape, DEFAULT, [False, True], [0, 0], [0, 0])
    assert tape.dates[0] == np.datetime64("1990-01-02") and tape.days > 9000
    assert np.isfinite(r.equity).all() and (r.equity > 0).all()
    for k in ("theta", "hedge_pnl", "hedge_value", "open_condors"):
        assert np.isfinite(getattr(r, k)).all(), k
    assert not np.array_equal(r.equity[0], r.equity[1])
    assert r.hedge_trades.tolist()[0] == 0 and r.hedge_trades[1] > 100
    assert not r.hedge_value[0].any() and r.hedge_value[1].any()
    assert r.trades[0] == r.trades[1] > 1500 and not r.skipped.any()
    assert (r.open_condors > 0).mean() > 0.95
    # model coverage: what the files hold, day by day
    year = tape.dates.astype("datetime64[Y]").astype(int) + 1970

    def coverage(flag, first, last=2026):
        real = r.real[flag][0]
        inside = (year >= first) & (year <= last)
        assert not real[~inside].any(), flag  # never outside the years the files cover
        return real[inside].mean()

    def every_day(flag, first, last):
        return r.real[flag][0][(year >= first) & (year <= last)].all()

    # VX1/VX2 from mid-2005 (VIX expiry days of 2005-2006 missing), VX1-VX8 2007-2021
    assert coverage("futures", 2005, 2021) > 0.9 and every_day("futures", 2007, 2020)
    assert r.real["futures"][0][year == 2006].mean() > 0.95
    assert coverage("vvix", 2007) > 0.99 and every_day("vvix", 2007, 2025)
    assert coverage("vix9d", 2011) > 0.99 and every_day("vix9d", 2012, 2025)
    assert coverage("vix3m", 2009) > 0.9 and every_day("vix3m", 2010, 2025)  # from September 2009
    assert coverage("skew", 1990) > 0.99
    assert coverage("open", 1992) > 0.5  # real prints only: not the repeated closes
