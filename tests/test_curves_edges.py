"""Edge cases of the one-pass break-even scan (core.risk.curves + core.risk.breakevens), checked
against the plain leg pricer (core.pricing.legs.leg_prices + market_state) on dense scans."""
from __future__ import annotations

import sys
from dataclasses import replace
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pytest

from core.risk.breakevens import TOLERANCE
from core.engine import analyze
from core.pricing.legs import build_legs, leg_prices, market_state
from core.market.marketfile import NEW_YORK
from core.model.inputs import WhatIf

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from books import demo  # noqa: E402
from test_engine import book, condor, market, vix_hedge  # noqa: E402


def _ts(d: date, hh: int, mm: int) -> float:
    return datetime.combine(d, time(hh, mm), NEW_YORK).timestamp()


def _condor_pnl(bk, m, w, S, which):
    """Condor `which` (an index) or the whole condor book (None), vols held per strike."""
    legs = build_legs(bk, m)
    nc = len(bk.condors)
    v = leg_prices(legs, market_state(m, bk.model, w), spx=np.asarray(S, float)[:, None]) * legs.units * legs.mult
    if which is None:
        return v[:, :4 * nc].sum(axis=1) - legs.entry[:nc].sum()
    return v[:, 4 * which:4 * which + 4].sum(axis=1) - legs.entry[which]


def _package_pnl(bk, m, w, S, days):
    legs = build_legs(bk, m)
    spx = float(market_state(m, bk.model, w).spx)
    st = market_state(m, bk.model, w, spx_move=np.asarray(S, float) / spx - 1, days=days)
    return leg_prices(legs, st) @ (legs.units * legs.mult) - legs.entry.sum()


def _dense_roots(S, pnl):
    cells = np.nonzero(pnl[:-1] * pnl[1:] < 0)[0]
    return S[cells]


def _horizon_days(bk, m, w):
    """First condor expiry at 16:00 (else nearest hedge settlement) after the what-if time."""
    now = m.as_of.timestamp() + w.days * 86400
    if bk.condors:
        t = [_ts(c.expiry, 16, 0) for c in bk.condors]
    else:
        t = [_ts(x.expiry, *((9, 30) if x.kind.startswith("vix") else (16, 0))) for h in bk.hedges for x in h.legs]
    ahead = [x for x in t if x > now]
    return (min(ahead) - now) / 86400 if ahead else 0.0


# ---- bugs ------------------------------------------------------------------------------

def test_roots_meet_the_tolerance_close_to_expiry_with_large_quantity():
    """500 lots, one hour before the first condor settles: f''' is large, and a quadratic
    step accepted inside the stencil (without pricing it) leaves |P&L| of cents."""
    b, m = demo()
    b = replace(b, condors=tuple(replace(c, quantity=500) for c in b.condors), hedges=())
    days = (_ts(date(2026, 12, 4), 16, 0) - m.as_of.timestamp()) / 86400 - 1 / 24
    w = WhatIf(days=days)
    a = analyze(b, m, w)
    for i, r in enumerate(a.condors):
        assert len(r.breakevens_t0) == 2
        assert np.all(np.abs(_condor_pnl(b, m, w, r.breakevens_t0, i)) < TOLERANCE), (r.condor.id, r.breakevens_t0)
    assert np.all(np.abs(_condor_pnl(b, m, w, a.totals.breakevens_t0, None)) < TOLERANCE)


def test_zero_dte_condor_roots_meet_the_tolerance():
    m = market(as_of=datetime(2026, 12, 4, 15, 30, tzinfo=NEW_YORK))
    bk = book([condor(expiry=date(2026, 12, 4), quantity=500, strikes=(6720, 6770, 6895, 6945), credit=10.06)])
    r = analyze(bk, m).condors[0]
    assert len(r.breakevens_t0) == 2
    assert np.all(np.abs(_condor_pnl(bk, m, WhatIf(), r.breakevens_t0, 0)) < TOLERANCE)


def test_book_roots_around_an_expired_condors_kink():
    """What-if days past A's expiry: the book curve is B (live) + A's payoff, with a kink at
    A's short put (6800) where the book peaks at about +$500. The book grid is smooth-only."""
    A = condor("A", expiry=date(2026, 11, 27), quantity=10, strikes=(6700, 6800, 6900, 7000), credit=5.0)
    B = condor("B", expiry=date(2027, 1, 15), quantity=10, strikes=(6300, 6400, 6800, 6900), credit=64.2)
    bk, m, w = book([A, B]), market(), WhatIf(days=8)
    S = np.linspace(6000, 7600, 160001)
    expected = _dense_roots(S, _condor_pnl(bk, m, w, S, None))
    assert len(expected) == 2  # about 6799.5 and 6807.6
    got = analyze(bk, m, w).totals.breakevens_t0
    assert got == pytest.approx(tuple(expected), abs=0.05)


def test_package_t0_hidden_pair_beside_a_horizon_kink():
    """Condors at about their marks. C0's short put 6830 (a horizon kink) is put on the
    package grid 1.97 points from the sample 6831.97: the uneven spacing fools the
    hidden-pair test (second difference of values, not of slopes), and the T+0 profit
    window 6853.3-6858.0 (peak about +$1.9) is lost."""
    cs = [condor("C0", date(2026, 11, 23), 3, (6780, 6830, 6890, 6940), 28.3),
          condor("C1", date(2026, 12, 11), 1, (6825, 6850, 6920, 6945), 21.08),
          condor("C2", date(2026, 11, 27), 1, (6820, 6870, 6930, 6980), 34.8)]
    bk, m = book(cs), market()
    S = np.linspace(6700, 7000, 60001)
    expected = _dense_roots(S, _package_pnl(bk, m, WhatIf(), S, 0.0))
    assert len(expected) == 2
    got = analyze(bk, m).alvh.breakevens_t0
    assert got == pytest.approx(tuple(expected), abs=0.05)


def test_a_curve_flat_at_zero_is_not_a_root_at_every_sample():
    """A VIX future bought at its listed price with beta 0: the package P&L is 0 at every
    SPX level, so no level is a break-even. Every grid sample used to come back as one."""
    bk = book([], [vix_hedge("F", legs=((None, 1, 17.6),), expiry=date(2026, 12, 16), kind="vix_future")], beta=0.0)
    a = analyze(bk, market())
    assert a.alvh.breakevens_t0 == () and a.alvh.breakevens_horizon == ()


# ---- edge cases that hold -------------------------------------------------------------

C1 = condor()  # 2026-12-18
C2 = condor("IC2", date(2027, 1, 15), 2, (6200, 6300, 7250, 7350), 22.8)
C0 = condor("IC0", date(2026, 12, 4), 3, (6550, 6600, 7050, 7100), 12.6)
H = vix_hedge()
H_SHORT = vix_hedge("Hs", 1, 20, ((18.0, 1, 0.9),), date(2026, 12, 2))  # settles before the horizon
H_PUT = vix_hedge("Hp", 1, 20, ((17.0, 1, 0.9),), date(2026, 11, 25), kind="vix_put")
FUT = vix_hedge("F", 3, 2, ((None, 1, 18.7),), date(2027, 1, 20), kind="vix_future")
VXX = vix_hedge("V", 2, 30, ((50.0, 1, 1.2),), date(2027, 1, 15), kind="vxx_call")
VXX_SHORT = vix_hedge("Vs", 1, 30, ((45.0, 1, 0.6),), date(2026, 12, 4), kind="vxx_call")
BOOKS = {
    "hedges only": book([], [H_SHORT, H]),
    "vxx hedges only": book([], [VXX, VXX_SHORT]),
    "condors only": book([C0, C1, C2]),
    "hedge kinks before the horizon": book([C1], [H_SHORT, H_PUT, VXX_SHORT, FUT]),
    "later condors": book([C0, C1, C2], [H_SHORT, H, VXX]),
    "beta 0": book([C0, C1, C2], [H_SHORT, H, VXX, VXX_SHORT], beta=0.0),
    "repeated condors": book([C1, replace(C1, id="b"), replace(C1, id="c")], [H, replace(H, id="H2")]),
}
WHATIFS = [WhatIf(), WhatIf(spx_move=-0.05), WhatIf(spx_move=0.03, vix_move=2.0), WhatIf(days=5)]


@pytest.mark.parametrize("w", WHATIFS, ids=str)
@pytest.mark.parametrize("name", list(BOOKS))
def test_edge_books_roots_match_a_dense_scan(name, w):
    bk, m = BOOKS[name], market()
    a = analyze(bk, m, w)
    S = np.linspace(4000, 9500, 20001)
    for i, r in enumerate(a.condors):
        assert r.breakevens_t0 == pytest.approx(tuple(_dense_roots(S, _condor_pnl(bk, m, w, S, i))), abs=0.5)
        assert np.all(np.abs(_condor_pnl(bk, m, w, r.breakevens_t0, i)) < TOLERANCE)
    if bk.condors:
        assert a.totals.breakevens_t0 == pytest.approx(tuple(_dense_roots(S, _condor_pnl(bk, m, w, S, None))), abs=0.5)
    g = a.alvh.curve.spx
    S = np.linspace(g[0], g[-1], 20001)
    hz = _horizon_days(bk, m, w)
    for days, roots in ((0.0, a.alvh.breakevens_t0), (hz, a.alvh.breakevens_horizon)):
        assert roots == pytest.approx(tuple(_dense_roots(S, _package_pnl(bk, m, w, S, days))), abs=0.5)
        assert np.all(np.abs(_package_pnl(bk, m, w, roots, days)) < TOLERANCE)
    # the risk curve at its own points
    assert a.alvh.curve.t0 == pytest.approx(_package_pnl(bk, m, w, a.alvh.curve.t0_spx, 0.0), abs=1e-3)
    assert a.alvh.curve.horizon == pytest.approx(_package_pnl(bk, m, w, g, hz), abs=1e-3)


def test_t0_curve_leaves_out_the_horizons_kinks():
    """The demo's horizon (the Dec 4 condor's expiry) kinks the horizon curve at that condor's
    strikes; T+0, all options live, is priced on the package grid alone, and equals the
    package P&L there."""
    from core.risk.curves import GRID_PACKAGE
    book, market = demo()
    c = analyze(book, market).alvh.curve
    assert np.array_equal(c.t0_spx, market.spx * GRID_PACKAGE)
    assert len(c.spx) > len(c.t0_spx) and np.all(np.isin(c.t0_spx, c.spx))
    assert c.t0 == pytest.approx(_package_pnl(book, market, WhatIf(), c.t0_spx, 0.0), abs=1e-3)
