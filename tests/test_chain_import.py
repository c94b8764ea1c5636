"""`alvh chain import` on the real Cboe chain: the market file it writes, the marks of the
book's legs, and the engine pricing on the imported smiles."""
from __future__ import annotations

import math
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pytest
from vollib.black_scholes_merton import black_scholes_merton as v_bsm

from cli_helpers import refused, run
from core.book.bookfile import load_book
from core.engine import analyze
from core.market.chain import read_chain
from core.market.marketfile import NEW_YORK, load_market
from core.pricing.legs import build_legs

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CHAIN = DATA / "spx_chain_2023-09-14.csv"
pytestmark = pytest.mark.skipif(not CHAIN.exists(), reason=f"the real Cboe chain is not at {CHAIN}")

BOOK = '''[account]
equity = 250000

[[condor]]
id = "IC-Oct20"
expiry = 2023-10-20
root = "SPXW"
quantity = 2
long_put = 4300
short_put = 4350
short_call = 4650
long_call = 4700
credit = 6.50

[[condor]]
id = "IC-Nov17-AM"
expiry = 2023-11-17
root = "SPX"
quantity = 1
long_put = 4200
short_put = 4250
short_call = 4750
long_call = 4800
credit = 5.00
'''


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    d = tmp_path_factory.mktemp("chain")
    (d / "book.toml").write_text(BOOK)
    (d / "market.toml").write_text(Path(__file__).resolve().parents[1].joinpath("core/demo/market.toml").read_text())
    assert run("--book", d / "book.toml", "--market", d / "market.toml", "chain", "import", CHAIN) == 0
    return d, read_chain(CHAIN)


def test_the_market_file_takes_the_chain(imported):
    d, chain = imported
    m = load_market(d / "market.toml")
    assert m.as_of == datetime(2023, 9, 14, 16, 31, tzinfo=NEW_YORK) and m.spx == pytest.approx(4505.1001)
    assert (d / "market.toml.bak").exists() and "# DEMO market" in (d / "market.toml").read_text()  # comments kept
    fitted = [e for e in chain.expiries if e.svi is not None and e.t > 0]
    assert len(m.spx_smiles) == len(fitted) > 40
    carry = [e.rate for e in chain.expiries if e.rate is not None and 7 <= e.t * 365 <= 120]
    assert m.rate == pytest.approx(float(np.median(carry)))
    assert 0.04 < m.rate < 0.07  # a box rate in September 2023 (T-bills ~5.3%)


def test_each_leg_is_marked_at_the_chain_bid_and_ask_of_its_root(imported):
    d, chain = imported
    m = load_market(d / "market.toml")
    assert len(m.marks) == 8
    for mk in m.marks:
        q = chain.quote(mk.root, mk.expiry, mk.kind[4:], mk.strike)
        assert (mk.bid, mk.ask, mk.price) == (q.bid, q.ask, pytest.approx(q.mid))
    am = [mk for mk in m.marks if mk.expiry == date(2023, 11, 17)]
    assert {mk.root for mk in am} == {"SPX"}  # the AM monthly, not the SPXW weekly of that Friday


def test_a_condor_marked_from_the_chain_is_the_sum_of_its_legs_mids(imported):
    d, chain = imported
    a = analyze(load_book(d / "book.toml"), load_market(d / "market.toml"))
    for c in a.condors:
        x = c.condor
        mids = [chain.quote(x.root, x.expiry, kind, k).mid for kind, k in
                (("put", x.long_put), ("put", x.short_put), ("call", x.short_call), ("call", x.long_call))]
        want = mids[1] - mids[0] + mids[2] - mids[3]  # the debit to close: buy the shorts, sell the wings
        assert c.mark == pytest.approx(want, abs=1e-8) and c.close_mid == pytest.approx(want, abs=1e-12)
        assert c.close_natural > c.close_mid and c.slippage > 0


def test_an_unmarked_leg_is_priced_on_its_expiry_smile(imported):
    """With the marks taken out, a leg's vol is its own slice's SVI vol: sqrt(w(k) / T)."""
    d, chain = imported
    from dataclasses import replace
    m = load_market(d / "market.toml")
    m = replace(m, marks=())
    book = load_book(d / "book.toml")
    legs = build_legs(book, m)
    e = chain.expiry("SPXW", date(2023, 10, 20))
    T = (datetime.combine(e.expiry, time(16), NEW_YORK).timestamp() - m.as_of.timestamp()) / (365 * 86400)
    s = e.svi
    for K, vol in zip((4300, 4350, 4650, 4700), legs.vol[:4]):
        k = math.log(K / e.forward)
        w = s.a + s.b * (s.rho * (k - s.m) + math.sqrt((k - s.m) ** 2 + s.sigma ** 2))
        assert vol == pytest.approx(math.sqrt(w / T), rel=1e-12)
    # and that vol prices the put near the chain's mid (the smile fits within its spread)
    q = chain.quote("SPXW", e.expiry, "put", 4350)
    price = v_bsm("p", m.spx, 4350, T, m.rate, float(legs.vol[1]), m.dividend_yield)
    assert q.bid - 0.5 <= price <= q.ask + 0.5


def test_a_file_that_is_not_a_chain_is_refused(tmp_path, capsys):
    bad = tmp_path / "x.csv"
    bad.write_text("Symbol,Qty\nSPXW  261218P06450000,1\n")
    err = refused(capsys, run("chain", "import", bad, "-o", tmp_path / "m.toml"))
    assert str(bad) in err and not (tmp_path / "m.toml").exists()


def test_a_vix_chain_sets_each_expiry_future_from_parity_and_marks_the_hedges(tmp_path):
    """SYNTHETIC chain (tests/chain_fixtures.py: Black-76 on known futures): the import puts
    those futures in [vix_futures], a VIX smile per expiry, and marks the hedge's legs."""
    from chain_fixtures import VIX_FUTURES, vix_chain
    (tmp_path / "vix.csv").write_text(vix_chain())
    (tmp_path / "book.toml").write_text('''[account]
equity = 250000

[[hedge]]
id = "L2-Oct"
layer = 2
quantity = 3
[[hedge.leg]]
kind = "vix_call"
expiry = 2023-10-18
strike = 18.0
ratio = 1
price = 1.2
[[hedge.leg]]
kind = "vix_call"
expiry = 2023-10-18
strike = 25.0
ratio = -1
price = 0.4
''')
    market = tmp_path / "market.toml"
    market.write_text(Path(__file__).resolve().parents[1].joinpath("core/demo/market.toml").read_text())
    assert run("--book", tmp_path / "book.toml", "--market", market, "chain", "import", tmp_path / "vix.csv") == 0
    m = load_market(market)
    futures = dict(m.vix_futures)
    for (root, day), f in VIX_FUTURES.items():
        if root == "VIX":
            assert futures[day] == pytest.approx(f, abs=1e-6)
    assert m.vix == pytest.approx(13.79) and {s.root for s in m.vix_smiles} == {"VIX", "VIXW"}
    assert {(mk.kind, mk.strike) for mk in m.marks} == {("vix_call", 18.0), ("vix_call", 25.0)}


def test_a_chain_cut_to_a_few_strikes_imports_without_a_traceback(tmp_path, capsys):
    """Found by attack: 15 strikes of one expiry drove the SVI fit's wing slope to 0 (exp overflow)."""
    lines = CHAIN.read_text().splitlines()
    head = lines[:4]
    rows = [x for x in lines[4:] if x.startswith("Thu Mar 28 2024") and 4300 < float(x.split(",")[11]) < 4700]
    (tmp_path / "c.csv").write_text("\n".join(head + rows) + "\n")
    (tmp_path / "book.toml").write_text(BOOK)
    code = run("--book", tmp_path / "book.toml", "chain", "import", tmp_path / "c.csv", "-o", tmp_path / "m.toml")
    out = capsys.readouterr()
    assert "Traceback" not in out.err and code in (0, 2)
    if code == 0:
        load_market(tmp_path / "m.toml")


def test_an_unwritable_output_path_is_one_line(tmp_path, capsys):
    (tmp_path / "book.toml").write_text(BOOK)
    long = tmp_path / ("a" * 300 + ".toml")
    err = refused(capsys, run("--book", tmp_path / "book.toml", "chain", "import", CHAIN, "-o", long))
    assert "cannot write" in err
