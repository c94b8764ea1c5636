"""The new-tranche helper (core.capital.suggest, `alvh suggest`): the listed expiry nearest the
DTE, short strikes within one 5-point step of the target delta by vollib's delta at the
smile's vol (worked here from the surface or the SVI slice, not from the engine), the quantity
cap by hand, the book with the condor, and the command line's output and refusals."""
from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import date, datetime, time

import pytest
from vollib.black_scholes_merton.greeks.analytical import delta as vollib_delta

from cli_helpers import refused, run
from core.backtest.calendar import nearest_expiry
from core.book.bookfile import load_book
from core.capital.suggest import STEP, suggest
from core.io.paths import DEMO_BOOK, DEMO_MARKET
from core.market.marketfile import load_market
from core.model.errors import InputError
from core.model.inputs import Smile
from core.model.instruments import NEW_YORK


@pytest.fixture(autouse=True)
def no_user_config(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


@pytest.fixture(scope="module")
def demo():
    return load_book(DEMO_BOOK, demo=True), load_market(DEMO_MARKET, demo=True)


def years(market, expiry: date, am: bool) -> float:
    settle = datetime.combine(expiry, time(9, 30) if am else time(16, 0), NEW_YORK)
    return (settle - market.as_of).total_seconds() / (365 * 86400)


def surface_vol(market, K: float, T: float) -> float:
    F = market.spx * math.exp((market.rate - market.dividend_yield) * T)
    return market.spx_vol.atm + market.spx_vol.skew * math.log(K / F)


def abs_delta(market, flag: str, K: float, T: float, vol) -> float:
    return abs(vollib_delta(flag, market.spx, K, T, market.rate, vol(K), market.dividend_yield))


def assert_nearest_step(market, flag: str, K: float, T: float, target: float, vol) -> None:
    """The target lies between the deltas one step either side, and K's delta is the nearest."""
    d = {k: abs_delta(market, flag, k, T, vol) for k in (K - STEP, K, K + STEP)}
    lo, hi = sorted((d[K - STEP], d[K + STEP]))
    assert lo <= target <= hi, (flag, K, d)
    assert abs(d[K] - target) <= min(abs(d[K - STEP] - target), abs(d[K + STEP] - target)) + 1e-12


def test_a_45_dte_16_delta_condor_on_the_demo_surface(demo):
    book, market = demo
    s = suggest(book, market, 45, 0.16, 50, calendar=nearest_expiry)
    c = s.condor
    assert c.expiry == date(2027, 1, 4) and c.root == "SPXW"  # a Monday weekly, 45 days on
    assert "calendar" in s.expiry_from
    T = years(market, c.expiry, am=False)

    def vol(K):
        return surface_vol(market, K, T)
    assert_nearest_step(market, "p", c.short_put, T, 0.16, vol)
    assert_nearest_step(market, "c", c.short_call, T, 0.16, vol)
    assert (c.short_put - c.long_put, c.long_call - c.short_call) == (50, 50)
    assert c.short_put % 5 == 0 and c.short_call % 5 == 0
    assert s.deltas[0] == pytest.approx(abs_delta(market, "p", c.short_put, T, vol), abs=1e-12)
    assert s.vols[1] == pytest.approx(vol(c.short_put), abs=1e-12)


def test_the_credit_is_the_engine_s_mid_and_the_book_takes_the_condor(demo):
    book, market = demo
    s = suggest(book, market, 45, 0.16, 50, quantity=2, calendar=nearest_expiry)
    assert abs(s.result.mark - s.condor.credit) <= 0.005  # the model's mid, to the cent
    assert s.result.max_loss == pytest.approx((50 - s.condor.credit) * 100 * 2)
    assert len(s.after.condors) == len(book.condors) + 1
    before, after = s.before.totals.greeks, s.after.totals.greeks
    assert after.theta - before.theta == pytest.approx(s.result.greeks.theta, rel=1e-9)
    assert s.before.alvh.ratio.current != s.after.alvh.ratio.current


@pytest.mark.parametrize("pct", [2.0, 10.0, 0.5])
def test_the_quantity_is_the_largest_whose_max_loss_is_within_the_cap(demo, pct):
    book, market = demo
    s = suggest(book, market, 45, 0.16, 50, max_loss_pct=pct, calendar=nearest_expiry)
    each = (50 - s.condor.credit) * 100
    cap = math.floor(book.equity * pct / 100 / each)  # 250,000 x pct % / one condor's max loss
    assert s.quantity_cap == cap
    assert s.condor.quantity == max(cap, 1) and s.fits == (cap >= 1)


def test_the_cap_counts_what_the_tranche_holds_at_that_expiry(demo):
    book, market = demo
    first = suggest(book, market, 45, 0.16, 50, max_loss_pct=10, calendar=nearest_expiry).condor
    held = replace(first, id="held", quantity=2)
    s = suggest(replace(book, condors=book.condors + (held,)), market, 45, 0.16, 50, max_loss_pct=10,
                calendar=nearest_expiry)
    assert s.condor.expiry == held.expiry and s.condor.id != "held"
    each = (50 - s.condor.credit) * 100
    assert s.held == pytest.approx((50 - held.credit) * 100 * 2)
    assert s.quantity_cap == math.floor((25_000 - s.held) / each)  # 10 % of 250,000 less what is held


def test_the_capital_tranche_cap_binds_when_wacc_is_above_its_trigger(demo):
    book, market = demo  # all margin loan at 12 %: WACC 12 % > the 7 % trigger, the 4 % cap in force
    dear = replace(book, capital=replace(book.capital, weights=(1.0, 0.0, 0.0, 0.0), margin_rate_pct=12.0))
    s = suggest(dear, market, 45, 0.16, 50, max_loss_pct=10, calendar=nearest_expiry)
    assert s.capital_before.wacc == pytest.approx(0.12)
    assert s.max_loss_pct == 4.0 and "tranche cap 4%" in s.cap_source
    assert s.quantity_cap == math.floor(250_000 * 0.04 / ((50 - s.condor.credit) * 100))
    cheap = suggest(book, market, 45, 0.16, 50, max_loss_pct=10, calendar=nearest_expiry)
    assert cheap.max_loss_pct == 10 and "not in force" in cheap.cap_source


def test_the_capital_figures_and_odds_are_the_calculator_s_on_the_book_with_it(demo):
    from core.capital.calculator import capital
    from core.capital.probability import odds
    s = suggest(*demo, 45, 0.16, 50, calendar=nearest_expiry)
    assert s.reg_t == pytest.approx((50 - s.condor.credit) * 100 * s.condor.quantity)  # Reg-T by hand
    assert s.capital_after.reg_t - s.capital_before.reg_t == pytest.approx(s.reg_t)
    assert s.capital_after.rules == capital(s.after).rules
    assert s.odds == odds(s.after).condors[-1] and 0 < s.odds.pop < 1


def test_a_quantity_over_the_cap_is_kept_and_flagged(demo):
    s = suggest(*demo, 45, 0.16, 50, quantity=9, calendar=nearest_expiry)
    assert s.condor.quantity == 9 and not s.fits


def test_an_expiry_of_both_roots_takes_the_am_monthly(demo):
    s = suggest(*demo, 28, 0.10, 25, calendar=nearest_expiry)
    assert (s.condor.expiry, s.condor.root) == (date(2026, 12, 18), "SPX")


def test_strikes_on_a_fitted_smile_at_its_listed_expiry(demo):
    book, market = demo
    expiry = date(2027, 1, 15)  # the AM monthly; the market lists it by its smile
    T = years(market, expiry, am=True)
    F = market.spx * math.exp((market.rate - market.dividend_yield) * T)
    svi = (0.0015, 0.02, -0.7, 0.02, 0.08)
    smile = Smile(expiry, "SPX", F, math.exp(-market.rate * T), svi)
    market = replace(market, spx_smiles=(smile,))

    def vol(K):
        a, b, rho, m, sig = svi
        k = math.log(K / F)
        return math.sqrt((a + b * (rho * (k - m) + math.sqrt((k - m) ** 2 + sig * sig))) / T)
    s = suggest(book, market, 45, 0.16, 50)  # no calendar: the market lists its expiry
    assert (s.condor.expiry, s.condor.root) == (expiry, "SPX") and "market file" in s.expiry_from
    assert_nearest_step(market, "p", s.condor.short_put, T, 0.16, vol)
    assert_nearest_step(market, "c", s.condor.short_call, T, 0.16, vol)


@pytest.mark.parametrize("kw,field", [({"delta": 0.7}, "--delta"), ({"dte": 0}, "--dte"),
                                      ({"wings": -5}, "--wings"), ({"wings": 7}, "--wings"),
                                      ({"quantity": 0}, "--quantity")])
def test_bad_arguments_name_their_field(demo, kw, field):
    args = {"dte": 45, "delta": 0.16, "wings": 50} | kw
    quantity = args.pop("quantity", None)
    with pytest.raises(InputError) as e:
        suggest(*demo, quantity=quantity, calendar=nearest_expiry, **args)
    assert e.value.field == field


def test_no_listed_expiry_and_no_calendar_is_an_error(demo):
    with pytest.raises(InputError, match="no SPX expiry"):
        suggest(*demo, 45, 0.16, 50)


# ---- the command line ---------------------------------------------------------------

def test_cli_prints_the_suggestion(capsys):
    assert run("suggest", "--dte", 45, "--delta", 0.16, "--wings", 50) == 0
    out = capsys.readouterr()
    assert out.err == ""
    for text in ("SPXW 2027-01-04", "Credit", "pts at mid", "Break-evens", "$/SPX pt", "Book after",
                 "Hedge ratio", "largest within 2% of equity", "PoP at expiry", "Reg-T", "Beta",
                 "After: PASS expirations"):
        assert text in out.out, text


def test_cli_json_has_the_keys(capsys):
    assert run("suggest", "--dte", 45, "--delta", 0.16, "--wings", 50, "--quantity", 2, "--json") == 0
    d = json.loads(capsys.readouterr().out)
    for key in ("expiry", "root", "strikes", "deltas", "credit", "max_loss", "breakevens", "greeks",
                "quantity", "quantity_cap", "cap_source", "pop", "pop_real", "touch_put", "touch_call",
                "expected_move", "reg_t", "book_before", "book_after", "units"):
        assert key in d, key
    assert d["quantity"] == 2 and d["book_after"]["hedge_ratio"] is not None
    for key in ("beta", "reg_t", "portfolio_margin", "rules"):
        assert key in d["book_after"], key
    assert {r["status"] for r in d["book_after"]["rules"]} <= {"pass", "warn", "fail"}


@pytest.mark.parametrize("argv,field", [(("--delta", "0.7"), "--delta"), (("--dte", "0"), "--dte"),
                                        (("--wings", "-5"), "--wings"), (("--wings", "x"), "--wings"),
                                        (("--dte", "4.5"), "--dte")])
def test_cli_bad_arguments_are_one_line_exit_2(capsys, argv, field):
    line = refused(capsys, run("suggest", *argv))
    assert field in line
