"""Display polish found by driving the cockpit and the report: round axis ticks, no -0 or
negative DTE, thousands separators, gauge states that agree with their thresholds, the
report's two betas, --version and refused what-if arguments, the hedge layers table in
view at 120x40, tables that re-fold on a resize. References are hand-worked values."""
from __future__ import annotations

import json
import re
from datetime import date
from importlib.metadata import version

import pytest

from cockpit import fmt
from cockpit.cli.main import main
from cockpit.gauges import body as gauges_body, shown_value
from cockpit.pane import Palette
from cockpit.riskgraph import money_tick, nice_ticks
from core.history.signals import Signal, SignalSet
from cockpit_helpers import make_cockpit, settle, sync, text_of


@pytest.fixture(autouse=True)
def _user_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


PAL = Palette("green", "red", "yellow", "red", "green", "dim", "reverse")


# ---- fmt -----------------------------------------------------------------------------

@pytest.mark.parametrize("x,spec,out", [
    (-0.0, ".2f", "0.00"), (-0.004, ".2f", "0.00"), (-0.4, "+.0f", "0"), (0.0, "+,.0f", "0"),
    (-0.006, ".2f", "-0.01"), (-1746.2, "+,.0f", "-1,746"), (12345.0, "+,.0f", "+12,345"), (0.6, "+.0f", "+1"),
])
def test_num_never_prints_a_negative_zero(x, spec, out):
    assert fmt.num(x, spec) == out


def test_money_has_thousands_separators_and_dte_is_never_negative():
    assert fmt.money(-1746.4) == "-1,746" and fmt.money(-0.3) == "0"
    assert fmt.dte(28.04) == "28.0" and fmt.dte(0.0) == "0.0" and fmt.dte(-0.0) == "0.0"
    assert fmt.dte(-28.0) == "expired" and fmt.dte(-0.01) == "expired"


# ---- risk graph ticks --------------------------------------------------------------------

def test_ticks_are_round_and_include_zero():
    assert nice_ticks(-42_400, 14_900) == [-40_000, -30_000, -20_000, -10_000, 0, 10_000]
    assert nice_ticks(6020.8, 7553.0, 4) == [6500, 7000, 7500]
    assert nice_ticks(-3.2, 7.9) == [-2, 0, 2, 4, 6]
    assert nice_ticks(1.0, 1.0) == [1.0]
    assert money_tick(0.0) == "0" and money_tick(-20_000) == "-20k" and money_tick(2_500) == "+2.5k"
    assert money_tick(-500) == "-500"


# ---- gauges ------------------------------------------------------------------------------

def _sset(*signals):
    return SignalSet(tuple(signals), "normal", "test", None, date(2026, 11, 20))


def _row(text: str, label: str) -> list[str]:
    return next(line for line in text.splitlines() if line.startswith(label)).split()


def test_gauge_shows_the_threshold_its_state_comes_from():
    """core.history.signals: RSI oversold at <= 30, overbought at >= 70; percentile low <= 20, high >= 80."""
    t = text_of_group(gauges_body(_sset(
        Signal("vix_rsi", 28.0, 70.0, "oversold", date(2026, 11, 20)),
        Signal("vix_percentile", 17.0, 80.0, "low", date(2026, 11, 20)),
        Signal("term_structure", 0.873, 1.0, "contango", date(2026, 11, 20))), None, PAL))
    assert _row(t, "VIX RSI")[-3:] == ["28", "30/70", "oversold"]
    assert _row(t, "VIX pct")[-3:] == ["17", "20/80", "low"]
    assert _row(t, "VIX/VIX3M")[-3:] == ["0.873", "1.000", "contango"]


@pytest.mark.parametrize("value", [69.6, 69.96, 30.4, 70.0, 30.0, 50.0, 29.5, 70.49])
def test_shown_rsi_value_agrees_with_its_state(value):
    """The state as signals.py decides it (>= 70 overbought, <= 30 oversold) must follow from
    the number on screen too: rounding may not carry 69.6 to "70"."""
    state = "overbought" if value >= 70 else "oversold" if value <= 30 else "neutral"
    shown = float(shown_value(value, ".0f", (30.0, 70.0)))
    seen = "overbought" if shown >= 70 else "oversold" if shown <= 30 else "neutral"
    assert seen == state


def test_shown_value_keeps_its_format_away_from_thresholds():
    assert shown_value(55.4, ".0f", (30.0, 70.0)) == "55"
    assert shown_value(0.04, "+.1f", (0.0,)) == "+0.04"
    assert shown_value(1.0004, ".3f", (1.0,)) == "1.0004"


def text_of_group(group) -> str:
    from rich.console import Console
    console = Console(width=200, record=True, file=open("/dev/null", "w"))
    console.print(group)
    return console.export_text()


# ---- CLI and report --------------------------------------------------------------------------

def test_version_comes_from_package_metadata(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"alvh {version('alvh-cockpit')}"


@pytest.mark.parametrize("args", [["--days", "4000"], ["--days", "-366"], ["--days", "nan"], ["--days", "inf"],
                                  ["--spx-move", "inf"], ["--spx-move", "-inf"], ["--vol-move", "nan"],
                                  ["--vol-move", "abc"]])
def test_report_refuses_bad_whatif_numbers_in_one_line(capsys, args):
    assert main(["report", *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("alvh: report: argument " + args[0])


@pytest.mark.parametrize("days", ["-365", "3650", "0.5"])
def test_report_takes_days_inside_the_range(capsys, days):
    assert main(["report", "--json", "--days", days]) == 0
    assert json.loads(capsys.readouterr().out)["whatif"]["days"] == float(days)


def test_report_explains_both_betas(capsys):
    assert main(["report"]) == 0
    out = capsys.readouterr().out
    used = next(line for line in out.splitlines() if line.startswith("β in use"))
    fitted = next(line for line in out.splitlines() if line.startswith("β calibrated"))
    assert "-4.00" in used and "spot-vol map" in used  # the demo book's beta is the default -4
    assert "fitted to the stored VIX and SPX closes" in fitted


def test_report_expired_rows_read_expired_never_negative_or_minus_zero(capsys):
    assert main(["report", "--days", "30"]) == 0
    out = capsys.readouterr().out
    condor = next(line for line in out.splitlines() if line.lstrip().startswith("IC-Dec04  2026"))
    hedge = next(line for line in out.splitlines() if line.lstrip().startswith("L1-Nov25-19C"))
    for row in (condor, hedge):
        assert "expired" in row and not re.search(r"-0(\.0+)?\b", row), row
        assert not re.search(r"\s-\d+\.\d\s", row.split("expired")[0])  # no negative DTE before it
    assert not any(line.startswith("ROLL L1") for line in out.splitlines())  # expired: settles, no roll


def test_report_vega_split_and_vix_point_with_separators(capsys):
    from core.book.bookfile import load_book
    from core.engine import analyze
    from core.market.marketfile import load_market
    from core.io.paths import DEMO_BOOK, DEMO_MARKET
    t = analyze(load_book(DEMO_BOOK, demo=True), load_market(DEMO_MARKET, demo=True)).totals
    assert main(["report"]) == 0
    out = capsys.readouterr().out
    net = next(line for line in out.splitlines() if line.lstrip().startswith("Net "))
    assert f"{t.spx_vega:+,.0f}" in net and "," in f"{t.spx_vega:+,.0f}"  # -1,746 in the demo
    assert net.split()[-1] == f"{t.vix_point:+,.0f}"
    assert main(["report", "--json"]) == 0
    b = json.loads(capsys.readouterr().out)["book"]
    assert b["vix_point"]["book"] == pytest.approx(t.vix_point)
    assert b["spx_vega"] == pytest.approx(t.spx_vega) and b["vix_option_vega"] == pytest.approx(t.vix_vega)


# ---- the cockpit -------------------------------------------------------------------------

def screen_lines(app) -> list[str]:
    return ["".join(seg.text for seg in strip) for strip in app.screen._compositor.render_strips()]


def pane_lines(app, pane_id: str) -> list[str]:
    r = app.query_one(f"#{pane_id}").region
    return [line[r.x:r.right] for line in screen_lines(app)[r.y:r.bottom]]


@sync
async def test_layers_table_fully_in_view_at_120x40(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        shown = "\n".join(pane_lines(app, "hedges"))
        for x in app.session.live.alvh.layers:
            row = next((line for line in shown.splitlines() if line.startswith(f"│L{x.layer} ")), None)
            assert row is not None, shown
            assert fmt.money(x.stress_pnl_held) in row and fmt.num(x.drag_pct, ".2f") in row
        assert "Drag %/yr" in shown
        # ↓ still selects held hedges: the selected row scrolls into view
        await pilot.press("2", "down", "down")
        await pilot.pause(0.3)
        h = app.session.live.hedges[2].hedge.id
        assert any(h in line for line in pane_lines(app, "hedges")), pane_lines(app, "hedges")


@sync
async def test_condor_table_refolds_when_the_terminal_shrinks(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        wide = pane_lines(app, "condors")
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.3)
        shown = "\n".join(pane_lines(app, "condors"))
        c = app.session.live.condors[0]
        assert "Θ $/d" in shown and fmt.money(c.greeks.theta) in shown, shown  # theta kept at 80 columns
        await pilot.resize_terminal(120, 40)
        await pilot.pause(0.3)
        assert pane_lines(app, "condors") == wide  # folded back as it was at 120 columns


@pytest.mark.parametrize("size, shown, hidden", [
    ((120, 40), ["DTE", "Strikes", "Credit", "Mark", "P&L $", "BE expiry", "BE T+0", "PoP %", "±1σ pts",
                 "Δ $/pt", "Θ $/d"], ["Exp", "Real $", "Life $"]),
    ((80, 24), ["DTE", "Strikes", "Qty", "P&L $", "To short", "PoP %", "±1σ pts", "Θ $/d"],
     ["Exp", "Credit", "Mark", "BE T+0", "Δ $/pt"]),
])
@sync
async def test_a_condor_is_one_line_of_the_pane_with_units_in_the_headers(tmp_path, size, shown, hidden):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        lines = pane_lines(app, "condors")
        head = next(line for line in lines if line.startswith("│ID "))
        for h in shown:
            assert f" {h} " in head or head.rstrip(" │").endswith(f" {h}"), (h, head)
        for h in hidden:
            assert f" {h} " not in head, (h, head)
        rule = lines[lines.index(head) + 1]
        assert "not shown at this width" in rule  # the pane says it left columns out
        from core.capital.probability import odds
        for c, p in zip(app.session.live.condors, odds(app.session.live).condors):
            row = next(line for line in lines if line.startswith(f"│{c.condor.id} "))
            i = lines.index(row)
            # the row holds its PoP and ends in theta; the next line is the next condor or the total
            assert f" {100 * p.pop:.0f} " in row and row.rstrip(" │").endswith(f" {fmt.money(c.greeks.theta)}"), row
            assert lines[i + 1].startswith(("│IC-", "│Condor P&L")), lines[i + 1]


@sync
async def test_greeks_pane_vega_by_unit_and_vix_point(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        t = app.session.live.totals
        text = text_of(app.query_one("#greeks"))
        for unit in ("$/SPX vol pt", "$/VIX-opt vol pt", "$ per +1 VIX pt (spot-vol map)"):
            assert unit in text
        assert _row(text, "V SPX")[-1] == f"{t.spx_vega:+,.0f}" == "-1,746"
        assert _row(text, "V VIX-opt")[-1] == f"{t.vix_vega:+,.0f}"
        assert _row(text, "+1 VIX $")[-3:] == [f"{x:+,.0f}" for x in (t.condor_vix_point, t.hedge_vix_point,
                                                                      t.vix_point)]
        # the +1 VIX key moves the book by that figure (VIX 16.5 is far from the 0.01 floor)
        await pilot.press("+")
        await pilot.pause()
        assert app.session.view.totals.pnl - app.session.live.totals.pnl == pytest.approx(t.vix_point)


@sync
async def test_expired_hedge_reads_expired_and_zero_plots_as_0(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        risk = pane_lines(app, "risk")
        assert any(re.match(r"│\s*0├", line) for line in risk), "\n".join(risk)  # the zero line is labelled 0
        labels = [m.group(1) for line in risk for m in [re.match(r"│\s*([-+0-9.,k]+)[├┤]", line)] if m]
        assert labels and all(re.fullmatch(r"0|[-+]\d+k", x) for x in labels), labels  # round: 0, -20k, ...
        await pilot.press(">")  # 7 days on: L1 (4.7 days) has settled
        await pilot.pause(0.3)
        text = text_of(app.query_one("#hedges"))
        row = next(line for line in text.splitlines() if line.startswith("L1-Nov25-19C"))
        assert "expired" in row and "-2.3" not in row and not re.search(r"\s-0(\.0+)?\s", row), row
        assert "DTE" in text and "Days" not in text


# ---- CI --------------------------------------------------------------------------------------

def test_ci_run_stops_without_the_data_folder_under_ci(tmp_path):
    """.ci/run copied into a project with no ../shared/data: under CI=true it fails, saying where."""
    import os
    import shutil
    import subprocess
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    project = tmp_path / "proj"
    (project / ".ci").mkdir(parents=True)
    shutil.copy(root / ".ci" / "run", project / ".ci" / "run")
    env = {**os.environ, "CI": "true"}
    done = subprocess.run(["bash", str(project / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and done.stdout == ""
    assert "no test data" in done.stderr and str(tmp_path / "shared" / "data") in done.stderr
    script = (root / ".ci" / "run").read_text()
    assert "pip install -e '.[test]' && python -m pytest -q -rs" in script  # the README's command, with -rs
