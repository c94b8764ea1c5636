"""`alvh report`: the JSON contract of issue 2, strict JSON, what-if flags moving the
numbers the right way, and the human tables' labels and units."""
from __future__ import annotations

import json
import math

import pytest

from cockpit.cli.main import main
from core.book.bookfile import load_book
from core.engine import analyze
from core.market.marketfile import load_market
from core.model.inputs import WhatIf
from core.io.paths import DEMO_BOOK, DEMO_MARKET

GREEKS = ("delta", "gamma", "theta", "vega")


@pytest.fixture(autouse=True)
def no_user_config(tmp_path, monkeypatch):
    """Never pick up a real user's book or market."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


def _reject(name):
    raise AssertionError(f"non-standard JSON constant {name}")


def run_json(capsys, *args) -> dict:
    code = main(["report", "--json", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""
    return json.loads(out, parse_constant=_reject)  # strict: NaN / Infinity refused


def is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def numbers(xs) -> bool:
    return isinstance(xs, list) and all(is_number(x) for x in xs)


@pytest.fixture
def demo_json(capsys):
    return run_json(capsys)


def test_json_has_every_field_of_the_issue(demo_json):
    d = demo_json
    demo_book = load_book(DEMO_BOOK)
    assert [c["id"] for c in d["condors"]] == [c.id for c in demo_book.condors]
    assert [h["id"] for h in d["hedges"]] == [h.id for h in demo_book.hedges]
    for c in d["condors"]:
        assert isinstance(c["id"], str) and isinstance(c["expiry"], str)
        assert isinstance(c["quantity"], int) and not isinstance(c["quantity"], bool)
        for k in ("mark", "pnl", "max_profit", "max_loss"):
            assert is_number(c[k]), k
        assert numbers(c["breakevens"]["expiry"]) and numbers(c["breakevens"]["t0"])
        assert all(is_number(c["greeks"][g]) for g in GREEKS)
    for h in d["hedges"]:
        assert isinstance(h["id"], str) and h["layer"] in (1, 2, 3)
        assert is_number(h["mark"]) and is_number(h["pnl"])
        assert all(is_number(h["greeks"][g]) for g in GREEKS)
    b = d["book"]
    assert all(is_number(b["greeks"][g]) for g in GREEKS)
    assert is_number(b["beta_weighted_delta"])
    assert numbers(b["breakevens"]["expiry"]) and numbers(b["breakevens"]["t0"])
    assert d["demo"] is True


def test_json_values_are_the_engine_values_in_the_stated_units(demo_json):
    d = demo_json
    a = analyze(load_book(DEMO_BOOK), load_market(DEMO_MARKET))
    for c, r in zip(d["condors"], a.condors):
        assert c["expiry"] == r.condor.expiry.isoformat()
        assert c["quantity"] == r.condor.quantity
        assert c["mark"] == pytest.approx(r.mark, rel=1e-12)  # points per condor
        assert c["pnl"] == pytest.approx(r.pnl, rel=1e-12)  # $
        assert c["max_profit"] == pytest.approx(r.condor.credit * r.condor.quantity * 100)
        assert c["max_loss"] == pytest.approx(r.max_loss, rel=1e-12)
        assert c["breakevens"]["expiry"] == pytest.approx(list(r.breakevens_expiry))
        assert c["breakevens"]["t0"] == pytest.approx(list(r.breakevens_t0))
        for g in GREEKS:
            assert c["greeks"][g] == pytest.approx(getattr(r.greeks, g), rel=1e-12)
        # P&L in $ is credit minus the debit to close, x quantity x 100
        assert c["pnl"] == pytest.approx((r.condor.credit - c["mark"]) * c["quantity"] * 100, rel=1e-9)
    for h, r in zip(d["hedges"], a.hedges):
        assert h["mark"] == pytest.approx(r.mark, rel=1e-12)  # per unit of the position
        entry = sum(leg.ratio * leg.price for leg in r.hedge.legs)
        assert h["pnl"] == pytest.approx((h["mark"] - entry) * r.hedge.quantity * 100, rel=1e-9)
    t = a.totals
    assert d["book"]["beta_weighted_delta"] == pytest.approx(t.beta_weighted_delta, rel=1e-12)
    assert d["book"]["breakevens"]["t0"] == pytest.approx(list(t.breakevens_t0))
    assert d["book"]["breakevens"]["expiry"] == pytest.approx(list(t.breakevens_expiry))
    assert d["book"]["pnl"] == pytest.approx(sum(c["pnl"] for c in d["condors"]) +
                                             sum(h["pnl"] for h in d["hedges"]), rel=1e-12)


def test_demo_sanity(demo_json):
    """Plain facts of the demo a trader would check first."""
    d = demo_json
    for c in d["condors"]:
        lo, hi = c["breakevens"]["expiry"]
        assert lo < 6850 < hi
        assert c["max_loss"] > 0 and c["max_profit"] > 0
        assert c["greeks"]["theta"] > 0 and c["greeks"]["vega"] < 0 and c["greeks"]["gamma"] < 0
    for h in d["hedges"]:
        assert h["greeks"]["delta"] > 0  # long VIX calls: long their futures
        assert h["beta_weighted_delta"] < 0  # ... which is short SPX through the spot-vol map


def test_what_if_flags_are_percent_points_and_days(capsys):
    d = run_json(capsys, "--spx-move", "-2", "--vol-move", "1.5", "--days", "3")
    assert d["whatif"] == {"spx_move": pytest.approx(-0.02), "vix_move": 1.5, "days": 3.0}
    a = analyze(load_book(DEMO_BOOK), load_market(DEMO_MARKET),
                WhatIf(spx_move=-0.02, vix_move=1.5, days=3))
    assert d["market"]["spx"] == pytest.approx(6850 * 0.98)
    assert d["market"]["vix"] == pytest.approx(16.5 * 0.98 ** -4 + 1.5)  # demo beta -4
    assert d["book"]["pnl"] == pytest.approx(a.totals.pnl, rel=1e-12)
    assert [c["pnl"] for c in d["condors"]] == pytest.approx([r.pnl for r in a.condors], rel=1e-12)


def test_spx_moves_change_pnl_in_the_right_direction(capsys):
    live = run_json(capsys)
    down = run_json(capsys, "--spx-move", "-2")
    up = run_json(capsys, "--spx-move", "2")
    small_dn = run_json(capsys, "--spx-move", "-0.1")
    small_up = run_json(capsys, "--spx-move", "0.1")
    # long VIX calls (and a call spread) gain when SPX falls: VIX rises on the spot-vol map
    for h0, hd, hu in zip(live["hedges"], down["hedges"], up["hedges"]):
        assert hd["pnl"] > h0["pnl"] > hu["pnl"], h0["id"]
    # small moves: each position moves by its SPX-equivalent delta (hedges: beta-weighted)
    dS = 6850 * 0.001
    for h0, hd, hu in zip(live["hedges"], small_dn["hedges"], small_up["hedges"]):
        assert (hu["pnl"] - hd["pnl"]) / (2 * dS) == pytest.approx(h0["beta_weighted_delta"], rel=0.02)
    # the demo condors all sit nearer their short call (negative delta), so a small drop
    # helps each one; a 2% rally runs them into their short calls and every one loses
    for c0, cd, cu, big in zip(live["condors"], small_dn["condors"], small_up["condors"], up["condors"]):
        assert c0["greeks"]["delta"] < 0
        assert cd["pnl"] > c0["pnl"] > cu["pnl"], c0["id"]
        assert big["pnl"] < c0["pnl"]
    # a 2% drop with VIX up ~8.4% costs the condor book (short gamma and short vega)
    assert down["book"]["condor_pnl"] < live["book"]["condor_pnl"]
    # the book is net short SPX delta: a small drop helps, a small rally hurts
    assert live["book"]["beta_weighted_delta"] < 0
    assert small_dn["book"]["pnl"] > live["book"]["pnl"] > small_up["book"]["pnl"]
    # expiry break-evens and max loss do not depend on the what-if
    for c0, cd in zip(live["condors"], down["condors"]):
        assert c0["breakevens"]["expiry"] == cd["breakevens"]["expiry"]
        assert c0["max_loss"] == cd["max_loss"]


def test_vol_move_hurts_condors_and_helps_hedges(capsys):
    live, up = run_json(capsys), run_json(capsys, "--vol-move", "3")
    for c0, c1 in zip(live["condors"], up["condors"]):
        assert c1["pnl"] < c0["pnl"]  # short vega
    for h0, h1 in zip(live["hedges"], up["hedges"]):
        assert h1["pnl"] > h0["pnl"]  # the futures rise, long calls gain
    down = run_json(capsys, "--vol-move", "-3")
    for c0, c1 in zip(live["condors"], down["condors"]):
        assert c1["pnl"] > c0["pnl"]


def test_days_forward_follow_theta(capsys):
    live, fwd = run_json(capsys), run_json(capsys, "--days", "2")
    for p0, p1 in zip(live["condors"] + live["hedges"], fwd["condors"] + fwd["hedges"]):
        change, theta = p1["pnl"] - p0["pnl"], p0["greeks"]["theta"]
        assert math.copysign(1, change) == math.copysign(1, theta), p0["id"]
        assert change == pytest.approx(2 * theta, rel=0.25), p0["id"]
    for c0, c1 in zip(live["condors"], fwd["condors"]):
        assert c1["pnl"] > c0["pnl"]
        assert c1["dte"] == pytest.approx(c0["dte"] - 2)


def test_own_files_are_not_labelled_demo(capsys, no_user_config):
    b, m = no_user_config / "b.toml", no_user_config / "m.toml"
    b.write_text(DEMO_BOOK.read_text().replace("DEMO book", "my book"))
    m.write_text(DEMO_MARKET.read_text())
    d = run_json(capsys, "--book", str(b), "--market", str(m))
    assert d["demo"] is False
    assert main(["report", "--book", str(b), "--market", str(m)]) == 0
    out = capsys.readouterr().out
    assert "DEMO" not in out


def test_saved_user_book_is_used_before_the_demo(capsys, no_user_config):
    """The user's saved book (config folder) is picked when no --book is given."""
    folder = no_user_config / "config" / "alvh-cockpit"
    folder.mkdir(parents=True)
    text = DEMO_BOOK.read_text()
    text = text[:text.index("[[condor]]\nid = \"IC-Dec18\"")]  # only the first condor
    (folder / "book.toml").write_text(text)
    d = run_json(capsys)
    assert [c["id"] for c in d["condors"]] == ["IC-Dec04"]
    assert d["demo"] is True  # the market is still the demo's


def test_human_report_labels_and_units(capsys):
    assert main(["report"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "DEMO" in out
    for unit in ("$/day", "$/SPX vol pt", "$/VIX-opt vol pt", "$ per +1 VIX pt (spot-vol map)", "P&L $",
                 "points", "BE at expiry", "BE T+0"):
        assert unit in out, unit
    for cid in ("IC-Dec04", "IC-Dec18", "IC-Jan15", "L1-Nov25-19C", "L2-Jan-20/30", "L3-Jul-30C"):
        assert cid in out
    assert "6,587.4" in out  # IC-Dec04 put-side expiry break-even: 6600 - 12.60
    assert "live" in out


def test_human_report_shows_the_what_if(capsys):
    assert main(["report", "--spx-move", "-2", "--days", "1"]) == 0
    out = capsys.readouterr().out
    assert "WHAT-IF" in out and "SPX -2.0%" in out
    assert "6,713.00" in out  # the SPX the report valued at


def test_days_past_an_expiry_value_it_at_its_payoff(capsys):
    """30 days on, IC-Dec04 (Dec 4) has settled with SPX 6850 inside its shorts: max profit;
    its T+0 break-evens are then its expiry break-evens. Strict JSON still (no inf / NaN)."""
    d = run_json(capsys, "--days", "30")
    c = next(c for c in d["condors"] if c["id"] == "IC-Dec04")
    assert c["pnl"] == pytest.approx(c["max_profit"])
    assert c["mark"] == pytest.approx(0, abs=1e-12)
    assert c["breakevens"]["t0"] == pytest.approx(c["breakevens"]["expiry"])
    assert all(c["greeks"][g] == 0 for g in GREEKS)
    l1 = next(h for h in d["hedges"] if h["id"].startswith("L1"))  # VIX Nov 25 19 call, F 16.9
    assert l1["mark"] == 0 and l1["pnl"] == pytest.approx(-0.45 * 4 * 100)


def test_an_expired_condor_reads_expired_not_infinite_sigmas(capsys):
    assert main(["report", "--days", "30"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "IC-Dec04" in line and "%" in line)
    assert "expired" in row and "inf" not in row


@pytest.mark.parametrize("args", [["--spx-move", "-100"], ["--spx-move", "-150"], ["--spx-move", "nan"]])
def test_impossible_what_if_is_a_clean_error(capsys, args):
    code = main(["report", "--json", *args])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("alvh: ") and "what-if" in err
