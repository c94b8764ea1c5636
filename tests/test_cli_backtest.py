"""`alvh backtest` over a store of the real ../shared/data files: the tables, the JSON (equal to
the runner called directly), the CSV of the days, one program, the Monte Carlo, and every bad
input as one line and exit 2. Runs a few years (2018-2020) to stay quick; one full history."""
from __future__ import annotations

import io
import json
import os
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import refused, run, real_store
from cockpit.cli import backtest as cli_backtest
from core.backtest import runner
from core.backtest.config import DEFAULT
from core.backtest.tape import tape_from_series
from core.history.store import load_daily

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SPAN = ("--from", "2018-01-01", "--to", "2020-12-31")
PROGRAM_KEYS = {"cagr", "vol", "max_drawdown", "dd_peak", "dd_trough", "dd_recovery", "sharpe", "sortino",
                "worst_month", "worst_month_date", "theta_r2", "theta_slope", "trades", "hedge_trades", "costs"}
TOP_KEYS = {"period", "config", "unhedged", "hedged", "drawdown_reduction", "claims", "sensitivity", "spread",
            "models", "monte_carlo", "assumptions"}


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return real_store(tmp_path_factory)


@pytest.fixture(scope="module")
def tape(db):
    return tape_from_series(load_daily(db), date(2018, 1, 1), date(2020, 12, 31))


@pytest.fixture(scope="module")
def direct(tape):
    """The runner called directly with what `alvh backtest --from/--to SPAN --shifts 1` passes."""
    return runner.backtest(tape, DEFAULT, shifts=1)


def strict(text: str):
    """json.loads refusing NaN and Infinity, as allow_nan=False would have written them."""
    def refuse(token):
        raise ValueError(f"{token} in the JSON")
    return json.loads(text, parse_constant=refuse)


def backtest_json(capsys, *argv) -> dict:
    assert run("backtest", *argv, "--json") == 0
    out = capsys.readouterr()
    assert out.err == ""
    return strict(out.out)


def test_tables_fit_80_columns_with_every_section_and_no_progress_bar(db, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert run("backtest", "--db", db, *SPAN, "--shifts", "1") == 0
    out = capsys.readouterr()
    assert out.err == ""  # stderr is not a terminal here: no progress bar
    lines = out.out.splitlines()
    assert max(len(line) for line in lines) <= 80
    text = out.out
    assert lines[0] == "Backtest 2018-01-02 → 2020-12-31: 756 trading days (3.0 years)"
    for want in ("unhedged", "hedged", "CAGR", "Annual volatility", "Max drawdown", "peak → trough",
                 "Sharpe", "Sortino", "Worst month", "Hedge drag", "%/yr", "Drawdown reduction", "Theta R²",
                 "Theta slope", "Condors opened", "Hedge trades", "Costs", "End equity",
                 "Equity, $ millions, log scale", "Drawdown, % below the high",
                 "The seeds' claims", "Seed says", "Measured", "Verdict", "costs 1–2 % of",
                 "Roll-date sensitivity", "unhedged over 3 entry dates: CAGR", "hedged over 3 entry dates",
                 "Model coverage", "real VX settlements on all 756 days", "Assumptions", "  • Hedge: "):
        assert want in text, want
    assert "Monte Carlo:" not in text  # not asked for
    assert "Traceback" not in text


def test_json_is_strict_has_the_keys_and_equals_the_runner(db, tape, direct, capsys):
    d = backtest_json(capsys, "--db", db, *SPAN, "--shifts", "1")
    assert set(d) == TOP_KEYS
    assert d["period"] == {"from": "2018-01-02", "to": "2020-12-31", "days": tape.days,
                           "years": direct.rows["hedged"]["years"]}
    assert PROGRAM_KEYS <= set(d["unhedged"]) and "drag_pct" not in d["unhedged"]
    assert PROGRAM_KEYS | {"drag_pct"} <= set(d["hedged"])
    for n in ("unhedged", "hedged"):
        for k, v in d[n].items():
            assert v == direct.rows[n][k], (n, k)
    assert 0 < d["hedged"]["max_drawdown"] < 1 and d["hedged"]["trades"] > 100  # fractions, counts
    assert d["claims"] == direct.claims and len(d["claims"]) == 4
    assert {"claim", "seed", "measured", "verdict", "why"} <= set(d["claims"][0])
    assert d["sensitivity"] == direct.sensitivity and [s["shift"] for s in d["sensitivity"]] == [-1, 0, 1]
    assert d["spread"]["hedged"]["sharpe"] == dict(zip(("min", "max"), direct.spread["hedged"]["sharpe"]))
    assert {k: v["real"] for k, v in d["models"].items()} == direct.models
    assert all(v["real"] + v["modelled"] == tape.days for v in d["models"].values())
    assert d["monte_carlo"] is None
    assert d["assumptions"] == list(direct.assumptions)
    assert d["config"]["entry"] == {"schedule": "every", "every_days": 5, "dte": 45}
    assert d["config"]["hedge"]["layers"] == [1, 2, 3]
    u, h = direct.rows["unhedged"]["max_drawdown"], direct.rows["hedged"]["max_drawdown"]
    assert d["drawdown_reduction"] == pytest.approx(1 - h / u, rel=1e-12)


def test_csv_is_one_row_per_tape_day_with_the_runner_columns(db, tape, direct, capsys, tmp_path):
    path = tmp_path / "days.csv"
    assert run("backtest", "--db", db, *SPAN, "--shifts", "1", "--csv", path) == 0  # as `direct`
    capsys.readouterr()
    header, *rows = path.read_text().splitlines()
    assert header.split(",") == list(direct.daily)
    assert header.split(",")[:4] == ["date", "spx", "vix", "equity_unhedged"]
    assert len(rows) == tape.days
    cols = list(zip(*(r.split(",") for r in rows)))
    assert list(cols[0]) == [str(d) for d in tape.dates]  # ISO dates
    for name, cells in zip(direct.daily, cols):
        want = direct.daily[name]
        if want.dtype.kind == "f":
            got = np.array([float(c) if c else np.nan for c in cells])
            assert np.array_equal(got, want, equal_nan=True), name  # every digit kept
        elif want.dtype.kind == "U":
            assert set(cells) <= {"real", "model"} and list(cells) == want.tolist(), name
    assert all("." not in c for c in cols[header.split(",").index("open_condors_hedged")])  # counts
    assert not list(tmp_path.glob("*.bak"))  # an output, not a saved file


def test_hedged_only_leaves_unhedged_null(db, capsys):
    d = backtest_json(capsys, "--db", db, *SPAN, "--shifts", "0", "--hedged")
    assert d["unhedged"] is None and d["hedged"]["drag_pct"] is not None
    assert d["drawdown_reduction"] is None
    assert set(d["sensitivity"][0]) == {"shift", "hedged"} and set(d["spread"]) == {"hedged"}
    assert "not measurable" in d["claims"][1]["verdict"]


def test_monte_carlo_paths_given_or_from_the_config(db, capsys, tmp_path):
    d = backtest_json(capsys, "--db", db, "--from", "2019-01-01", "--to", "2020-12-31", "--shifts", "0",
                      "--monte-carlo", "6")
    mc = d["monte_carlo"]
    assert mc["paths"] == 6 and mc["days"] == 505
    for n in ("unhedged", "hedged"):
        assert set(mc[n]) == {"max_drawdown", "sharpe", "drag_pct"}
        assert mc[n]["sharpe"]["p5"] <= mc[n]["sharpe"]["median"] <= mc[n]["sharpe"]["p95"]
    assert "median over 6 paths" in d["claims"][2]["measured"]
    cfg = tmp_path / "bt.toml"
    cfg.write_text("[bootstrap]\npaths = 3\nyears = 1\nseed = 7\n")
    d = backtest_json(capsys, "--db", db, "--config", cfg, *SPAN, "--shifts", "0", "--unhedged", "--monte-carlo")
    mc = d["monte_carlo"]
    assert (mc["paths"], mc["days"], mc["seed"]) == (3, 252, 7) and "hedged" not in mc
    assert d["hedged"] is None and d["config"]["bootstrap"]["paths"] == 3
    assert d["claims"][2]["verdict"].startswith("not measurable")
    assert run("backtest", "--db", db, *SPAN, "--shifts", "0", "--monte-carlo", "4", "--hedged") == 0
    assert "Monte Carlo: 4 bootstrap paths" in capsys.readouterr().out


def test_progress_bar_only_on_a_terminal(db, capsys, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True
    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    assert run("backtest", "--db", db, "--from", "2020-01-01", "--to", "2020-03-31", "--shifts", "0",
               "--json") == 0
    assert "stepping the days" in err.getvalue()
    strict(capsys.readouterr().out)  # stdout holds the JSON alone


def test_full_history_finite_for_both_programs(db, capsys):
    d = backtest_json(capsys, "--db", db, "--shifts", "0")
    assert d["period"]["from"] == "1990-01-02" and d["period"]["days"] > 9000
    for n in ("unhedged", "hedged"):
        assert all(d[n][k] is not None for k in ("cagr", "vol", "max_drawdown", "sharpe", "sortino",
                                                 "worst_month", "theta_r2"))
    m = d["models"]["futures"]
    assert 4000 < m["real"] < m["real"] + m["modelled"] == d["period"]["days"]  # VX files 2005-2021


# ---- refusals: one line on stderr, exit 2, nothing on stdout --------------------------------

def test_an_empty_or_partial_store_names_the_import(tmp_path, capsys, db):
    msg = refused(capsys, run("backtest", "--db", tmp_path / "none.sqlite"))
    assert "no SPX or VIX closes" in msg and "alvh data import ../shared/data/*.csv" in msg
    partial = tmp_path / "vix.sqlite"
    assert run("data", "import", DATA / "vix_daily.csv", "--db", partial) == 0
    capsys.readouterr()
    msg = refused(capsys, run("backtest", "--db", partial))
    assert "no SPX closes" in msg and "alvh data import ../shared/data/*.csv" in msg


@pytest.mark.parametrize("argv, says", [
    (("--config", "/no/such/bt.toml"), "file not found"),
    (("--from", "2020-02-30"), "not a YYYY-MM-DD date"),
    (("--to", "yesterday"), "not a YYYY-MM-DD date"),
    (("--from", "2021-01-01", "--to", "2020-01-01"), "--from 2021-01-01 is after --to 2020-01-01"),
    (("--from", "2020-03-02", "--to", "2020-03-02"), "a backtest needs two at least"),
    (("--from", "2040-01-01"), "no SPX trading day"),
    (("--shifts", "11"), "0 to 10"),
    (("--monte-carlo", "0"), "1 to 100,000"),
    (("--hedged", "--unhedged"), "not allowed with"),
    (("--csv", "/dev/full"), "not a regular file"),
    (("--csv", "/no/such/folder/days.csv"), "no folder"),
    (("--csv", "x" * 300 + "/days.csv"), "cannot write the CSV"),
])
def test_bad_input_is_one_line(db, capsys, argv, says):
    assert says in refused(capsys, run("backtest", "--db", db, *argv))


def test_bad_config_csv_folder_and_unwritable_folder(db, capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[entry]\ndte = 45.5\n")
    assert "bad.toml:2: entry.dte" in refused(capsys, run("backtest", "--db", db, "--config", bad))
    assert "a folder" in refused(capsys, run("backtest", "--db", db, "--config", tmp_path))
    assert "a folder" in refused(capsys, run("backtest", "--db", db, "--csv", tmp_path))
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert "not writable" in refused(capsys, run("backtest", "--db", db, "--csv", locked / "d.csv"))


def test_the_parser_shift_bound_is_the_runners():
    assert cli_backtest.SHIFTS == runner.SHIFTS


def test_the_monte_carlo_split_over_workers_gives_the_same_figures(tape):
    """Paths never mix, so two worker processes give what one process gives, to the bit, and
    their progress reaches the end."""
    from dataclasses import replace
    from core.backtest.montecarlo import MIN_PATHS, monte_carlo
    cfg = replace(DEFAULT, bootstrap=replace(DEFAULT.bootstrap, years=0.25))
    names = ("unhedged", "hedged")
    seen = []
    alone = monte_carlo(tape, cfg, names, 2 * MIN_PATHS, workers=1)
    split = monte_carlo(tape, cfg, names, 2 * MIN_PATHS, workers=2, progress=lambda d, t: seen.append((d, t)))
    assert split == alone and alone["paths"] == 2 * MIN_PATHS
    assert seen[-1] == (63, 63) and all(a <= b for (a, _), (b, _) in zip(seen, seen[1:]))
