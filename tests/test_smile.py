"""SPX legs priced on fitted SVI smiles from the market file, against SVI and vollib by hand;
marks with bid, ask and root."""
from __future__ import annotations

import math
from datetime import date, datetime, time

import pytest
from vollib.black_scholes_merton import black_scholes_merton as v_bsm

from core.book.bookfile import load_book
from core.engine import analyze
from core.io.paths import DEMO_BOOK, DEMO_MARKET
from core.market.marketfile import NEW_YORK, parse_market
from core.model.errors import InputError
from core.pricing.legs import build_legs

BOOK = load_book(DEMO_BOOK)
NEAR = (0.0004, 0.004, -0.7, 0.0, 0.05)
FAR = (0.002, 0.01, -0.6, 0.01, 0.08)
SMILES = f'''
[[spx_smile]]
expiry = 2026-12-04
root = "SPXW"
forward = 6853.0
discount = 0.9985
svi = {list(NEAR)}
rmse_vol = 0.002

[[spx_smile]]
expiry = 2027-01-15
root = "SPXW"
forward = 6870.0
discount = 0.993
svi = {list(FAR)}
'''


def market(extra: str = SMILES):
    return parse_market(DEMO_MARKET.read_text() + extra, "m.toml")


def svi(p, k):
    a, b, rho, m, s = p
    return a + b * (rho * (k - m) + math.sqrt((k - m) ** 2 + s * s))


def years(m, expiry: date) -> float:
    return (datetime.combine(expiry, time(16), NEW_YORK).timestamp() - m.as_of.timestamp()) / (365 * 86400)


def strikes(c):
    return (c.long_put, c.short_put, c.short_call, c.long_call)


def test_a_condor_on_its_own_slice_is_priced_at_the_svi_vol():
    m = market()
    c = BOOK.condors[0]  # SPXW 2026-12-04
    T = years(m, c.expiry)
    legs = build_legs(BOOK, m)
    want = [math.sqrt(svi(NEAR, math.log(K / 6853.0)) / T) for K in strikes(c)]
    assert legs.vol[:4].tolist() == pytest.approx(want, rel=1e-12)
    flags = ("p", "p", "c", "c")
    price = sum(u * v_bsm(f, m.spx, K, T, m.rate, v, m.dividend_yield)
                for u, f, K, v in zip((1, -1, -1, 1), flags, strikes(c), want))
    mark = analyze(BOOK, m).condors[0].mark
    assert mark == pytest.approx(-price, abs=1e-8)  # a short condor's mark: what closing costs


def test_between_slices_total_variance_is_linear_in_time_at_fixed_log_moneyness():
    m = market()
    c = BOOK.condors[1]  # SPXW 2026-12-18, between the two slices
    T0, T1, T = years(m, date(2026, 12, 4)), years(m, date(2027, 1, 15)), years(m, c.expiry)
    x = (T - T0) / (T1 - T0)
    fwd = math.exp((1 - x) * math.log(6853.0) + x * math.log(6870.0))
    want = [math.sqrt(((1 - x) * svi(NEAR, math.log(K / fwd)) + x * svi(FAR, math.log(K / fwd))) / T)
            for K in strikes(c)]
    assert build_legs(BOOK, m).vol[4:8].tolist() == pytest.approx(want, rel=1e-12)


def test_beyond_the_slices_the_vol_is_held_flat_and_said():
    one = SMILES.split("[[spx_smile]]")[1]
    m = market("[[spx_smile]]" + one)  # only the Dec-04 slice
    a = analyze(BOOK, m)
    c = BOOK.condors[2]
    T, T0 = years(m, c.expiry), years(m, date(2026, 12, 4))
    want = [math.sqrt(svi(NEAR, math.log(K / 6853.0)) / T0) for K in strikes(c)]
    assert build_legs(BOOK, m).vol[8:12].tolist() == pytest.approx(want, rel=1e-12)
    assert any("vol held flat from SPXW 2026-12-04" in n for n in a.assumptions)
    assert any(n.startswith("SPX vols: fitted SVI smiles, 1 expiries") for n in a.assumptions)


@pytest.mark.parametrize("change, field", [
    ("svi = [0.0004, -0.004, -0.7, 0.0, 0.05]", "svi"),  # b < 0
    ("svi = [0.0004, 0.004, 1.0, 0.0, 0.05]", "svi"),  # |rho| = 1
    ("svi = [-0.01, 0.004, -0.7, 0.0, 0.05]", "svi"),  # negative total variance
    ("svi = [0.0004, 0.004, -0.7]", "svi"),
    ('svi = [0.0004, 0.004, -0.7, 0.0, "x"]', "svi"),
    ("forward = 0", "forward"),
    ("expiry = 2026-11-01", "expiry"),
    ('root = "SPY"', "root"),
])
def test_bad_smiles_are_refused_with_their_line(change, field):
    key = change.split(" =")[0]
    lines = [change if line.startswith(key + " =") else line for line in SMILES.splitlines()]
    text = "\n".join(lines[:9])  # the first slice only
    with pytest.raises(InputError) as e:
        market(text)
    assert e.value.field.endswith(field) and e.value.line is not None


def test_a_second_smile_for_the_same_expiry_and_root_is_refused():
    first = "[[spx_smile]]" + SMILES.split("[[spx_smile]]")[1]
    with pytest.raises(InputError, match="has a smile already"):
        market(first + first)


def test_a_quote_marks_at_its_mid_and_a_root_keeps_am_and_pm_apart():
    quote = '''
[[mark]]
kind = "spx_put"
expiry = 2026-12-04
strike = 6600
bid = 18.1
ask = 18.9
root = "SPXW"
'''
    m = market(quote)  # no smiles: the demo surface prices the other legs
    (mk,) = m.marks
    assert (mk.price, mk.bid, mk.ask, mk.root) == (pytest.approx(18.5), 18.1, 18.9, "SPXW")
    T = years(m, date(2026, 12, 4))
    legs = build_legs(BOOK, m)
    price = v_bsm("p", m.spx, 6600, T, m.rate, float(legs.vol[1]), m.dividend_yield)
    assert price == pytest.approx(18.5, abs=1e-8)  # the SPXW leg takes the mark
    am = market(quote.replace('"SPXW"', '"SPX"'))  # an AM mark does not price the PM leg
    assert build_legs(BOOK, am).vol[1] != pytest.approx(float(legs.vol[1]))


@pytest.mark.parametrize("body, field", [
    ("bid = 11.6\nask = 11.0", "ask"),
    ("bid = 11.0", "ask"),
    ("ask = 11.0", "bid"),
    ('bid = 11.0\nask = 11.6\nroot = "XSP"', "root"),
])
def test_bad_quotes_are_refused(body, field):
    text = f'\n[[mark]]\nkind = "spx_put"\nexpiry = 2026-12-04\nstrike = 6600\n{body}\n'
    with pytest.raises(InputError) as e:
        market(text)
    assert e.value.field.endswith(field)


def test_a_fully_quoted_condor_closes_at_its_mids_and_costs_the_spread_at_natural():
    """IC-Dec04, 3 lots: 6550 P, 6600 P, 7050 C, 7100 C quoted 0.6 wide around the surface."""
    mids = {("spx_put", 6550): 13.5, ("spx_put", 6600): 18.4, ("spx_call", 7050): 13.2, ("spx_call", 7100): 6.4}
    text = "".join(f'\n[[mark]]\nkind = "{k}"\nexpiry = 2026-12-04\nstrike = {K}\nbid = {p - 0.3:.2f}\n'
                   f'ask = {p + 0.3:.2f}\n' for (k, K), p in mids.items())
    c = analyze(BOOK, market(text)).condors[0]
    mid = 18.4 + 13.2 - 13.5 - 6.4  # buy back the shorts, sell the longs
    natural = (18.4 + 0.3) + (13.2 + 0.3) - (13.5 - 0.3) - (6.4 - 0.3)
    assert c.close_mid == pytest.approx(mid, abs=1e-12) and c.mark == pytest.approx(mid, abs=1e-8)
    assert c.close_natural == pytest.approx(natural, abs=1e-12)
    assert c.slippage == pytest.approx(4 * 0.3 * 3 * 100, abs=1e-9)  # four half-spreads, 3 lots
    other = analyze(BOOK, market(text)).condors[1]
    assert other.close_natural is None and other.slippage is None  # its legs have no quotes


def test_smiles_and_quotes_are_written_back_and_a_file_that_says_the_same_is_kept():
    from dataclasses import replace
    from core.market.marketfile import market_to_toml
    quote = '\n[[mark]]\nkind = "spx_put"\nexpiry = 2026-12-04\nstrike = 6600\nbid = 18.1\nask = 18.9\nroot = "SPXW"\n'
    text = DEMO_MARKET.read_text() + SMILES + quote
    m = market(SMILES + quote)

    def same(t):
        return replace(parse_market(t, "m.toml"), source=None) == replace(m, source=None)
    assert same(market_to_toml(m, None)) and same(market_to_toml(m, DEMO_MARKET.read_text()))
    assert market_to_toml(m, text) == text  # comments, order and layout as the user left them
    moved = replace(m, spx_smiles=(replace(m.spx_smiles[0], forward=6860.0),) + m.spx_smiles[1:])
    again = parse_market(market_to_toml(moved, text), "m.toml")
    assert again.spx_smiles[0].forward == 6860.0 and "# DEMO market" in market_to_toml(moved, text)


def test_a_mark_left_as_it_was_keeps_its_comments_when_others_are_added_or_taken():
    from dataclasses import replace
    from core.market.marketfile import market_to_toml
    from core.model.inputs import Mark
    text = DEMO_MARKET.read_text() + ('\n[[mark]]   # my own mark\nkind = "vix_call"\nexpiry = 2026-12-16\n'
                                      'strike = 20\nprice = 0.9   # from the broker\n'
                                      '\n[[mark]]\nkind = "vix_call"\nexpiry = 2026-12-16\nstrike = 25\nprice = 0.3\n')
    m = parse_market(text, "m.toml")
    new = Mark("spx_put", date(2026, 12, 4), 6600.0, 18.5, root="SPXW", bid=18.1, ask=18.9)
    out = market_to_toml(replace(m, marks=(m.marks[0], new)), text)  # 25 taken out, a quote added
    assert "# my own mark" in out and "# from the broker" in out and "strike = 25" not in out
    again = parse_market(out, "m.toml")
    assert [(x.kind, x.strike) for x in again.marks] == [("vix_call", 20.0), ("spx_put", 6600.0)]
