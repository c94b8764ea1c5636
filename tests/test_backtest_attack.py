"""`alvh backtest --monte-carlo` over worker processes, attacked: a worker killed mid-run, the
progress relay's helper process gone. Each ends as one line (or not at all), never a traceback
or a hang. Short spans and [bootstrap] years = 0.25 keep the pooled runs quick."""
from __future__ import annotations

import os
import signal
from datetime import date

import pytest

from cli_helpers import real_store, refused, run
from core.backtest import montecarlo
from core.backtest.tape import tape_from_series
from core.history.store import load_daily

SPAN = ("--from", "2019-01-01", "--to", "2019-06-30")


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return real_store(tmp_path_factory, "attack")


@pytest.fixture(scope="module")
def short(tmp_path_factory):
    cfg = tmp_path_factory.mktemp("cfg") / "short.toml"
    cfg.write_text("[bootstrap]\nyears = 0.25\n")
    return cfg


def _killed(cfg, names, idx, part, told):
    """A worker's task that dies as a worker killed with kill -9 (or by the OOM killer) does."""
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_killed_mid_run_is_one_line_not_a_traceback(db, short, capsys, monkeypatch):
    monkeypatch.setattr(montecarlo, "_task", _killed)
    code = run("backtest", "--db", db, "--config", short, *SPAN, "--shifts", "0",
               "--monte-carlo", 2 * montecarlo.MIN_PATHS, "--workers", 2)
    err = refused(capsys, code)
    assert "worker" in err and "--workers 1" in err


def test_the_progress_relay_gone_does_not_stop_the_run(db, monkeypatch):
    """The progress queue lives in a helper process; killed, the Monte Carlo still finishes
    (the progress is only shown, never a figure) with the figures of one process."""
    from dataclasses import replace
    from core.backtest.config import DEFAULT

    tape = tape_from_series(load_daily(db), date(2019, 1, 1), date(2019, 6, 30))
    cfg = replace(DEFAULT, bootstrap=replace(DEFAULT.bootstrap, years=0.25))
    names = ("unhedged", "hedged")
    alone = montecarlo.monte_carlo(tape, cfg, names, 2 * montecarlo.MIN_PATHS, workers=1)
    real_relay = montecarlo._relay

    def relay_whose_manager_dies(told, futures, parts, days, progress):
        def kill_the_manager_once(done, total):  # mid-run: the workers are telling by now
            if told._manager._process.is_alive():
                os.kill(told._manager._process.pid, signal.SIGKILL)
                told._manager._process.join()
            progress(done, total)
        return real_relay(told, futures, parts, days, kill_the_manager_once)

    monkeypatch.setattr(montecarlo, "_relay", relay_whose_manager_dies)
    seen = []
    split = montecarlo.monte_carlo(tape, cfg, names, 2 * montecarlo.MIN_PATHS, workers=2,
                                   progress=lambda d, t: seen.append((d, t)))
    assert split == alone and seen


def _no_memory(*_args, **_kw):
    raise MemoryError("Unable to allocate 1.88 GiB for an array with shape (100000, 2519)")


def test_paths_beyond_the_memory_are_one_line_naming_the_flag(db, short, capsys, monkeypatch):
    """--monte-carlo 100000 (in bounds) over ten years is ~2 GB an array: numpy's MemoryError
    is a refusal saying what to lower, not a traceback."""
    monkeypatch.setattr(montecarlo.bootstrap, "take", _no_memory)
    code = run("backtest", "--db", db, "--config", short, *SPAN, "--shifts", "0",
               "--monte-carlo", 50, "--workers", 1)
    err = refused(capsys, code)
    assert "memory" in err and "--monte-carlo" in err and "50 paths" in err
