"""Sweeps: grid expansion checked as the config loader checks a file, the same rows whether
the combinations run here, in worker processes or on a Dask LocalCluster, and `alvh sweep`
(the table, --json, one-line refusals)."""
from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from cli_helpers import refused, run, real_store
from core.backtest.config import DEFAULT, parse_config
from core.backtest.sweep import grid, run_one, sweep
from core.backtest.tape import tape_from_series
from core.history import store
from core.model.errors import InputError

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
START, END = date(2019, 1, 1), date(2020, 12, 31)  # two years, the 2020 crash among them
AXES = {"entry.dte": [30, 45], "strikes.short_delta": [0.10, 0.16]}


def test_grid_is_every_combination_first_axis_slowest():
    base = parse_config("[hedge]\ndrag_budget_pct = 1.5\n", "base.toml")
    out = grid(base, {**AXES, "cash.rate": ["history"]})
    assert [p for p, _ in out] == [
        {"entry.dte": d, "strikes.short_delta": s, "cash.rate": "history"}
        for d in (30, 45) for s in (0.10, 0.16)]
    for params, cfg in out:
        assert cfg == replace(base, entry=replace(base.entry, dte=params["entry.dte"]),
                              strikes=replace(base.strikes, short_delta=params["strikes.short_delta"]),
                              cash=replace(base.cash, rate=None, history=True))
        assert cfg.source == "base.toml" and cfg.hedge.drag_budget_pct == 1.5


def test_a_swept_wing_replaces_the_other():
    (_, cfg), = grid(DEFAULT, {"strikes.wing_delta": [0.05]})
    assert (cfg.strikes.wing_width, cfg.strikes.wing_delta) == (None, 0.05)
    base = grid(DEFAULT, {"strikes.wing_delta": [0.05]})[0][1]
    (_, cfg), = grid(base, {"strikes.wing_width": [25]})
    assert (cfg.strikes.wing_width, cfg.strikes.wing_delta) == (25, None)
    (_, cfg), = grid(DEFAULT, {"hedge.layers": [[1, 3]]})
    assert cfg.hedge.layers == (1, 3)


@pytest.mark.parametrize("axes, said", [
    ({"strikes.short_delta": [0.16, 0.6]}, "--grid: strikes.short_delta: must be from 0.01 to 0.49, got 0.6"),
    ({"entry.dte": [0]}, "--grid: entry.dte: must be a whole number from 1 to 400, got 0"),
    ({"entry.dte": ["x"]}, "--grid: entry.dte: must be a whole number, got 'x' (1 to 400)"),
    ({"strikes.wing_width": [0]}, "--grid: strikes.wing_width: must be above zero and at most 1,000"),
    ({"hedge.drag_budget_pct": [-1]}, "--grid: hedge.drag_budget_pct: must not be negative (from 0 to 100)"),
    ({"hedge.drag_budget_pct": [True]}, "--grid: hedge.drag_budget_pct: must be a number, got True (0 to 100)"),
    ({"entry.dte": [30], "exit.close_dte": [30]}, "--grid: exit.close_dte: must be below entry.dte 30, got 30"),
    ({"strikes.wing_delta": [0.2]}, "--grid: strikes.wing_delta: must be at least 0.001 and below short_delta"),
    ({"strikes.wing_delta": [0.05], "strikes.wing_width": [50]}, "--grid: sweep strikes.wing_width or"),
    ({"entry.dtee": [30]}, "--grid: unknown key 'entry.dtee': did you mean entry.dte?"),
    ({"source": ["x"]}, "--grid: unknown key 'source': known: entry.schedule, entry.every_days"),
    ({"entry.dte": []}, "--grid entry.dte: no values to sweep"),
])
def test_grid_refuses_what_a_config_file_may_not_say(axes, said):
    with pytest.raises(InputError) as info:
        grid(DEFAULT, axes)
    assert str(info.value).startswith(said), str(info.value)
    assert "line" not in str(info.value)  # of the rendered text: meaningless to the user


def test_without_dask_one_line_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    with pytest.raises(InputError, match=r"pip install 'alvh-cockpit\[cluster\]'"):
        sweep(None, grid(DEFAULT, AXES), scheduler="tcp://127.0.0.1:8786")


# ---- on the real history --------------------------------------------------------------------

@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return real_store(tmp_path_factory, "sweep")


@pytest.fixture(scope="module")
def tape(db):
    return tape_from_series(store.load_daily(db), START, END)


@pytest.fixture(scope="module")
def serial(tape) -> list[dict]:
    return [run_one(tape, params, cfg) for params, cfg in grid(DEFAULT, AXES)]


def test_a_row_holds_both_programs_and_the_reduction(serial):
    row = serial[0]
    assert set(row) == {"params", "unhedged", "hedged", "drawdown_reduction"}
    assert set(row["unhedged"]) == {"cagr", "max_drawdown", "sharpe"}
    assert set(row["hedged"]) == {"cagr", "max_drawdown", "sharpe", "drag_pct"}
    for r in serial:
        assert r["drawdown_reduction"] == pytest.approx(
            1 - r["hedged"]["max_drawdown"] / r["unhedged"]["max_drawdown"])
        assert 0 < r["unhedged"]["max_drawdown"] < 1 and r["hedged"]["drag_pct"] > 0


def test_worker_processes_give_the_serial_rows(tape, serial):
    seen = []
    rows = sweep(tape, grid(DEFAULT, AXES), workers=2, progress=lambda done, total: seen.append((done, total)))
    assert rows == serial
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_shifts_add_each_figures_range(tape):
    (params, cfg), = grid(DEFAULT, {"entry.dte": [30]})
    row, = sweep(tape, [(params, cfg)], workers=1, shifts=1)
    for program, figures in row["spread"].items():
        lo, hi = figures["max_drawdown"]
        assert lo <= row[program]["max_drawdown"] <= hi


def test_a_dask_local_cluster_gives_the_serial_rows(tape, serial):
    pytest.importorskip("distributed", reason="dask[distributed] is not installed (the [cluster] extra)")
    from distributed import LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        rows = sweep(tape, grid(DEFAULT, AXES), scheduler=cluster.scheduler_address)
    assert rows == serial


# ---- alvh sweep -------------------------------------------------------------------------------

def sweep_args(db, *more):
    return ("sweep", "--db", db, "--from", START, "--to", END, "--workers", 1, *more)


def test_the_command_prints_a_row_per_combination(db, capsys):
    assert run(*sweep_args(db, "--grid", "entry.dte=30,45")) == 0
    out = capsys.readouterr().out
    assert "Sweep 2019-01-02 → 2020-12-31: 2 combinations" in out
    lines = [line for line in out.splitlines() if line.startswith("│")]
    assert [line.split("│")[1].strip() for line in lines] == ["30", "45"]
    assert all(line.count("%") == 6 for line in lines)


def test_json_is_the_core_rows(db, serial, capsys):
    assert run(*sweep_args(db, "--grid", "entry.dte=30", "--grid", "strikes.short_delta=0.1", "--json")) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == serial[:1]


@pytest.mark.parametrize("grid_arg, said", [
    ("strikes.short_delta=0.1,0.6", "alvh: --grid: strikes.short_delta: must be from 0.01 to 0.49, got 0.6"),
    ("entry.dte=30,abc", "alvh: --grid: entry.dte: must be a whole number, got 'abc' (1 to 400)"),
    ("strike.short_delta=0.1", "alvh: --grid: unknown key 'strike.short_delta': did you mean strikes.short_delta?"),
    ("entry.dte", "alvh: sweep: argument --grid: needs KEY=V1,V2,..., not 'entry.dte'"),
])
def test_a_bad_grid_is_one_line_and_exit_2(tmp_path, capsys, grid_arg, said):
    # refused before the store is read: an empty one would not be reached
    assert refused(capsys, run("sweep", "--db", tmp_path / "none.sqlite", "--grid", grid_arg)) == said


def test_an_empty_store_says_what_to_import(tmp_path, capsys):
    said = refused(capsys, run("sweep", "--db", tmp_path / "none.sqlite", "--grid", "entry.dte=30"))
    assert "import them first: alvh data import ../shared/data/*.csv" in said
