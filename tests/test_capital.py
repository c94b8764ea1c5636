"""The capital calculator against hand-worked figures and closed forms written here."""
from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from scipy.stats import norm

from core.capital import margin, rules
from core.capital.finance import (WaccPart, box_rate, capm, condor_payoff, expected_payoff, irr, wacc)
from core.io import paths
from core.book.bookfile import load_book, parse_book
from core.market.marketfile import load_market
from core.model.inputs import Book, Hedge, HedgeLeg, WhatIf
from core.model.instruments import SPX, settle_time
from core.pricing.legs import Legs, YEAR


def test_capm_by_hand():
    assert capm(0.04, 0.4, 0.055) == pytest.approx(0.04 + 0.022, abs=1e-15)
    assert capm(0.03, 0.0, 0.055) == 0.03


def test_box_rate_by_hand():
    # a 1,000-wide box bought at 960 for a year lends at ln(1000/960) = 4.0822 %
    assert box_rate(1000, 960, 365) == pytest.approx(0.040821994520255, abs=1e-12)
    assert box_rate(1000, 960, 182.5) == pytest.approx(2 * 0.040821994520255, abs=1e-12)


def test_wacc_by_hand():
    parts = (WaccPart("margin loan", 0.2, 0.06 * (1 - 0.25), ""), WaccPart("box financing", 0.3, 0.04, ""),
             WaccPart("collateral", 0.1, 0.05, ""), WaccPart("equity", 0.4, 0.062, ""))
    # 0.2 x 4.5 % + 0.3 x 4 % + 0.1 x 5 % + 0.4 x 6.2 % = 0.9 + 1.2 + 0.5 + 2.48 = 5.08 %
    assert wacc(parts) == pytest.approx(0.0508, abs=1e-15)


def test_irr_is_the_root_of_the_npv_polynomial():
    flows = [(date(2025, 1, 1), -100.0), (date(2026, 1, 1), 60.0), (date(2027, 1, 1), 60.0)]  # 365 days apart
    # -100 + 60 x + 60 x^2 = 0 with x = 1 / (1 + r): the positive root
    x = max(r.real for r in np.roots([60.0, 60.0, -100.0]) if r.real > 0)
    assert irr(flows) == pytest.approx(1 / x - 1, abs=1e-10)


def test_irr_of_a_short_trade_annualizes_and_no_sign_change_has_none():
    flows = [(date(2026, 1, 1), -1000.0), (date(2026, 1, 31), 1010.0)]
    assert irr(flows) == pytest.approx(1.01 ** (365 / 30) - 1, rel=1e-10)
    assert irr([(date(2026, 1, 1), 5.0), (date(2026, 2, 1), 5.0)]) is None


def _bs_put(F, K, sd):  # E[(K - S)+] with ln S ~ N(ln F - sd^2/2, sd^2)
    d1 = (math.log(F / K) + sd * sd / 2) / sd
    return K * norm.cdf(-(d1 - sd)) - F * norm.cdf(-d1)


def _bs_call(F, K, sd):
    d1 = (math.log(F / K) + sd * sd / 2) / sd
    return F * norm.cdf(d1) - K * norm.cdf(d1 - sd)


def test_expected_settlement_is_the_lognormal_closed_form():
    S, T, mu, q, vol = 6850.0, 40 / 365, 0.07, 0.013, 0.16
    F, sd = S * math.exp((mu - q) * T), vol * math.sqrt(T)
    K = (6300.0, 6400.0, 7200.0, 7300.0)
    closed = (_bs_put(F, K[1], sd) - _bs_put(F, K[0], sd)) + (_bs_call(F, K[2], sd) - _bs_call(F, K[3], sd))
    got = expected_payoff(lambda s: condor_payoff(s, *K), S, T, mu, q, vol)
    assert got == pytest.approx(closed, rel=1e-6)
    assert condor_payoff(np.array([6000.0, 6350.0, 6850.0, 7250.0, 8000.0]), *K).tolist() == [100, 50, 0, 50, 100]


@pytest.fixture(scope="module")
def demo():
    return load_book(paths.DEMO_BOOK, demo=True), load_market(paths.DEMO_MARKET, demo=True)


def test_scenario_beta_of_a_long_future_is_its_notional_over_equity(demo):
    """A long call and a short put at one strike and expiry: C - P = S e^(-qT) - K e^(-rT)
    whatever their one vol (both take the map's vol scale), so 1 % of SPX is 1 % of its notional."""
    _, market = demo
    equity, K = 500_000.0, 6850.0
    settle = settle_time(date(2027, 3, 19), SPX)
    T = (settle - market.as_of.timestamp()) / YEAR
    legs = Legs(underlying=np.array([SPX, SPX]), is_call=np.array([True, False]), strike=np.array([K, K]),
                settle=np.array([settle, settle]), units=np.array([1.0, -1.0]), mult=np.array([100.0, 100.0]),
                owner=np.array([0, 0]), vol=np.array([0.22, 0.22]), fut=np.full(2, np.nan),
                fut_decay=np.zeros(2), entry=np.array([0.0]), n_condors=0, notes=())
    book = Book(equity=equity)
    beta = margin.scenario_beta(legs, market, book, WhatIf())
    notional = 100 * market.spx * math.exp(-market.dividend_yield * T)
    assert beta[0] == pytest.approx(notional / equity, rel=1e-9)
    value = margin.position_values(legs, market, book, WhatIf(), [0.0])[0]  # parity: a forward
    assert value[0] == pytest.approx(notional - 100 * K * math.exp(-market.rate * T), rel=1e-9)


def test_reg_t_by_hand():
    # wider side 100 (the call side), credit 19.40, 2 condors: (100 - 19.40) x 100 x 2
    assert margin.reg_t_condor(100.0, 19.40, 2) == pytest.approx(16_120.0)
    spread = Hedge("L2", 2, 10, (HedgeLeg("vix_call", date(2027, 1, 20), 20, 1, 1.35),
                                 HedgeLeg("vix_call", date(2027, 1, 20), 30, -1, 0.55)))
    assert margin.reg_t_hedge(spread, 10_000) == pytest.approx(10 * (1.35 - 0.55) * 100)
    future = Hedge("F", 1, 2, (HedgeLeg("vix_future", date(2027, 1, 20), None, 1, 18.0),))
    assert margin.reg_t_hedge(future, 9_000) == pytest.approx(2 * 9_000)


def test_the_demo_book_condor_reg_t_is_width_less_credit(demo):
    from core.capital.calculator import capital
    from core.engine import analyze
    book, market = demo
    c = capital(analyze(book, market))
    by_hand = sum((x.max_width - x.credit) * 100 * x.quantity for x in book.condors)
    assert c.reg_t_condors == pytest.approx(by_hand) == pytest.approx(3 * 37.4 * 100 + 2 * 80.6 * 100 + 2 * 77.2 * 100)
    assert c.reg_t_hedges == pytest.approx(4 * 0.45 * 100 + 10 * 0.80 * 100 + 5 * 1.60 * 100)
    assert [t.notional_pct for t in c.tranches] == pytest.approx([11_220 / 2500, 16_120 / 2500, 15_440 / 2500])
    # the book's beta is its positions'; the cost of equity is CAPM at it (rf: the market's 4 %)
    assert c.beta == pytest.approx(sum(t.beta for t in c.tranches) + c.hedge_beta)
    assert c.cost_of_equity == pytest.approx(0.04 + c.beta * 0.055) == pytest.approx(c.wacc)
    assert c.vol == pytest.approx(market.vix / 100)  # no closes given: VIX / 100, said so
    assert "VIX / 100" in c.vol_source


def test_portfolio_margin_is_the_worst_loss_of_the_scan(demo):
    from core.pricing.legs import build_legs
    book, market = demo
    legs = build_legs(book, market)
    pm, move, contracts = margin.portfolio_margin(legs, market, book, WhatIf(), (-8.0, 6.0))
    moves = np.linspace(-0.08, 0.06, 11)
    v = margin.position_values(legs, market, book, WhatIf(), moves).sum(axis=1)
    now = margin.position_values(legs, market, book, WhatIf(), [0.0]).sum()
    assert pm == pytest.approx(max(now - v.min(), 37.5 * contracts)) and move in moves
    assert contracts == 4 * (3 + 2 + 2)
    # 20 days on (Dec 10): IC-Dec04 has settled, so its 3 x 4 contracts count for nothing
    assert margin.portfolio_margin(legs, market, book, WhatIf(days=20), (-8.0, 6.0))[2] == 4 * (2 + 2)
    assert margin.portfolio_margin(legs, market, book, WhatIf(days=13.9), (-8.0, 6.0))[2] == 4 * (3 + 2 + 2)


WACC_BOOK = """[account]
equity = 250000.0
[capital]
rf_pct = 4
margin_rate_pct = 6
tax_pct = 25
box_width = 1000
box_price = 960
box_days = 365
collateral_yield_pct = 5
weights = { margin = 0.2, box = 0.3, collateral = 0.1, equity = 0.4 }
"""


def test_wacc_of_a_book_from_its_capital_table(demo):
    from core.capital.calculator import capital
    from core.engine import analyze
    _, market = demo
    book = parse_book(WACC_BOOK, "w.toml")
    c = capital(analyze(book, market))
    assert c.beta == 0 and c.cost_of_equity == pytest.approx(0.04)
    assert c.wacc == pytest.approx(0.2 * 0.045 + 0.3 * math.log(1000 / 960) + 0.1 * 0.05 + 0.4 * 0.04, abs=1e-15)


@pytest.mark.parametrize("count, status", [(2, "warn"), (3, "pass"), (4, "pass"), (5, "pass"), (6, "warn")])
def test_expirations_rule_at_its_thresholds(count, status):
    assert rules.expirations(count, (3, 5)).status == status


@pytest.mark.parametrize("pct, status", [(3.99, "pass"), (4.0, "pass"), (4.01, "warn"), (5.99, "warn"),
                                         (6.0, "warn"), (6.01, "fail")])
def test_tranche_cap_at_its_thresholds_when_wacc_is_above_7(pct, status):
    r = rules.tranche_cap([("2026-12-18", pct), ("2027-01-15", 1.0)], 7.01, 7.0, (4.0, 6.0))
    assert r.status == status and "2026-12-18" in r.line and "in force" in r.line


@pytest.mark.parametrize("wacc_pct, status", [(6.99, "pass"), (7.0, "pass"), (7.01, "fail")])
def test_tranche_cap_applies_only_above_the_wacc_trigger(wacc_pct, status):
    assert rules.tranche_cap([("x", 9.0)], wacc_pct, 7.0, (4.0, 6.0)).status == status


@pytest.mark.parametrize("beta, status", [(0.19, "warn"), (0.2, "pass"), (0.21, "pass"), (0.59, "pass"),
                                          (0.6, "pass"), (0.61, "warn")])
def test_beta_band_at_its_thresholds(beta, status):
    assert rules.beta_band(beta, (0.2, 0.6)).status == status


@pytest.mark.parametrize("drag, status", [(1.99, "pass"), (2.0, "pass"), (2.01, "fail")])
def test_drag_rule_at_its_budget(drag, status):
    assert rules.drag(drag, 2.0).status == status


@pytest.mark.parametrize("bp, status", [(-1, "fail"), (0, "warn"), (399, "warn"), (400, "pass"), (401, "pass"),
                                        (None, "warn")])
def test_spread_rule_at_its_thresholds(bp, status):
    assert rules.spread(bp, (400, 600)).status == status


def test_the_spx_drift_is_its_own_capm_return_whatever_the_book_beta(demo):
    """Two books holding the same condor, one with the demo's hedges (a different beta):
    one SPX drift, rf + 1 x MRP, and one expected settlement of that condor; the realized
    vol and the drift are the probabilities' (`real_world_for`)."""
    from core.capital.calculator import capital
    from core.capital.probability import real_world_for
    from core.engine import analyze
    from core.history.daily import Daily
    from dataclasses import replace
    book, market = demo
    rng = np.random.default_rng(7)
    days = np.arange(np.datetime64("2025-06-01"), np.datetime64("2025-06-01") + 600)
    closes = Daily(days, 6000 * np.exp(np.cumsum(rng.normal(0, 0.009, 600))))
    bare = replace(book, condors=book.condors[1:2], hedges=())
    hedged = replace(book, condors=book.condors[1:2])
    a, b = (capital(analyze(x, market), closes) for x in (bare, hedged))
    assert abs(a.beta - b.beta) > 0.05  # the hedges move the book's beta ...
    assert a.cost_of_equity != pytest.approx(b.cost_of_equity)  # ... and so its cost of equity
    assert a.drift == b.drift == pytest.approx(0.04 + 0.055, abs=1e-15)  # ... not SPX's drift
    assert a.tranches[0].expected_settlement == b.tranches[0].expected_settlement
    real = real_world_for(bare, market, closes)
    assert (a.vol, a.drift) == (real.vol, real.drift)
    x = bare.condors[0]
    T = (settle_time(x.expiry, SPX) - market.as_of.timestamp()) / YEAR
    by_hand = 200 * expected_payoff(lambda s: condor_payoff(s, x.long_put, x.short_put, x.short_call, x.long_call),
                                    market.spx, T, 0.095, market.dividend_yield, real.vol)
    assert a.tranches[0].expected_settlement == pytest.approx(by_hand, rel=1e-9)


def test_the_demo_condors_opened_on_days_the_demo_history_makes_plausible(demo):
    """Each opened date is a DEMO history day before the valuation with SPX between the
    shorts, and the engine's mid that day (the demo surface scaled by that day's VIX, no
    quotes) within 3 % of the book's credit."""
    from dataclasses import replace
    from datetime import datetime
    from core.engine import analyze
    from core.history.store import demo_daily
    from core.market.marketfile import NEW_YORK
    from core.model.inputs import VolSurface
    book, market = demo
    h = demo_daily()
    for c in book.condors:
        assert c.opened is not None and c.opened < market.as_of.date(), c.id
        day = np.datetime64(c.opened)
        spx, vix = (float(h[k].values[h[k].days == day][0]) for k in ("spx", "vix"))
        assert c.short_put < spx < c.short_call, (c.id, spx)
        then = replace(market, as_of=datetime(c.opened.year, c.opened.month, c.opened.day, 16, 15, tzinfo=NEW_YORK),
                       spx=spx, vix=vix, spx_vol=VolSurface(market.spx_vol.atm * vix / market.vix, market.spx_vol.skew),
                       marks=(), spx_smiles=())
        mid = analyze(replace(book, condors=(c,), hedges=()), then).condors[0].mark
        assert mid == pytest.approx(c.credit, rel=0.03), (c.id, mid)


def test_the_irr_starts_on_each_opened_date_and_says_when_it_has_none(demo):
    """IC-Dec04's IRR is the root of its own flows by hand from its opened date; without an
    opened date the same condor's flows start at the valuation and the result names it."""
    from dataclasses import replace
    from cockpit.capital import capital_lines
    from core.capital.calculator import capital
    from core.engine import analyze
    from core.history.store import demo_daily
    book, market = demo
    x = book.condors[0]
    closes = demo_daily()["spx"]  # the report's realized vol: an expected gain
    c = capital(analyze(book, market), closes)
    t = c.tranches[0]
    assert (t.ids, t.start, t.undated) == (("IC-Dec04",), date(2026, 11, 19), ())
    req, credit = (x.max_width - x.credit) * 300, x.credit * 300
    assert t.irr == irr([(x.opened, -req), (x.expiry, req + credit - t.expected_settlement)])
    assert t.irr_max_profit == irr([(x.opened, -req), (x.expiry, req + credit)])
    assert c.undated == tuple(h.id for h in book.hedges)  # the demo hedges have no opened date
    bare = replace(book, condors=(replace(x, opened=None),) + book.condors[1:])
    u = capital(analyze(bare, market), closes)
    assert (u.tranches[0].start, u.tranches[0].undated) == (date(2026, 11, 20), ("IC-Dec04",))
    assert u.tranches[0].irr == irr([(date(2026, 11, 20), -req), (x.expiry, req + credit - t.expected_settlement)])
    assert u.tranches[0].irr > t.irr > 0  # the same expected gain over one day less
    assert u.undated[0] == "IC-Dec04" and u.tranches[1].undated == ()
    text = "\n".join(line for line, _ in capital_lines(u))
    assert "IRR 7,227.1%/yr from 2026-11-19" in "\n".join(line for line, _ in capital_lines(c))
    assert "/yr from 2026-11-20, the valuation (no opened date)" in text
    assert "no opened date, so their flows start at the valuation 2026-11-20: IC-Dec04, L1-Nov25-19C" in text


def test_a_short_condor_s_scenario_beta_counts_the_vol_the_map_moves(demo):
    """One condor on a flat 18 % surface, priced here by vollib at SPX (1 +- 1 %) and vol
    0.18 (1 +- 1 %)^beta (the map's VIX' / VIX): (V+ - V-) / (2 % x equity). The vol term
    is most of it: at the vol held the beta is another number."""
    from dataclasses import replace
    from vollib.black_scholes_merton import black_scholes_merton
    from core.model.inputs import Condor, VolSurface
    from core.pricing.legs import build_legs
    book, market = demo
    c = Condor("A", date(2026, 12, 18), 2, 6500, 6600, 7050, 7150, 20.0)
    book = replace(book, condors=(c,), hedges=())
    m = replace(market, spx_vol=VolSurface(0.18), marks=(), spx_smiles=())
    T = (settle_time(c.expiry, SPX) - m.as_of.timestamp()) / YEAR

    def value(move, vol_moves=True):
        S, vol = m.spx * (1 + move), 0.18 * ((1 + move) ** book.model.beta if vol_moves else 1.0)
        legs = (("p", c.long_put, 1), ("p", c.short_put, -1), ("c", c.short_call, -1), ("c", c.long_call, 1))
        return 200 * sum(u * black_scholes_merton(f, S, K, T, m.rate, vol, m.dividend_yield) for f, K, u in legs)
    want = (value(0.01) - value(-0.01)) / (0.02 * book.equity)
    beta = margin.scenario_beta(build_legs(book, m), m, book, WhatIf())
    assert beta[0] == pytest.approx(want, rel=1e-9)
    held = (value(0.01, False) - value(-0.01, False)) / (0.02 * book.equity)
    assert want > 0 > held  # short vol: the condor gains as SPX rises and VIX falls


def test_a_tranche_settled_by_a_what_if_holds_no_buying_power_and_is_not_concurrent(demo):
    """20 days on, IC-Dec04 (Dec 04) has settled: two expirations are concurrent (warn, band
    3-5), its Reg-T leaves the book's, its max loss leaves the tranche cap; its IRR stays."""
    from core.capital.calculator import capital, capital_to_dict
    from core.engine import analyze
    book, market = demo
    now, later = capital(analyze(book, market)), capital(analyze(book, market, WhatIf(days=20)))
    assert [t.live for t in now.tranches] == [True, True, True]
    assert [t.live for t in later.tranches] == [False, True, True]
    rule = {r.name: r for r in later.rules}
    assert rule["expirations"].status == "warn" and rule["expirations"].line.startswith("2 concurrent")
    assert later.reg_t_condors == pytest.approx(now.reg_t_condors - (50 - 12.6) * 300)
    assert later.tranches[0].irr == later.tranches[0].irr_max_profit is not None  # settled worthless: max profit
    assert [t["live"] for t in capital_to_dict(later)[1]] == [False, True, True]
