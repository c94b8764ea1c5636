"""The Monte Carlo: the bootstrap's paths stepped by simulate.run, both programs on each, in
this process or split over worker processes. A path's figures are the same either way
(paths never mix: each one's book, layers and sums are its own), so the split only changes
how fast they come."""
from __future__ import annotations

import queue
from concurrent.futures import FIRST_EXCEPTION, wait

import numpy as np

from core.backtest import bootstrap, metrics
from core.backtest import workers as procs
from core.backtest.simulate import run
from core.model.errors import InputError

MIN_PATHS = 100  # a worker's share of paths below which the pool's start-up costs more than it saves


def monte_carlo(tape, cfg, names, paths: int, progress=None, workers: int | None = None) -> dict:
    """Median and 5th-95th percentiles per program (metrics.monte_carlo) over `paths` bootstrap
    paths of the config's length. `workers`: processes (default one a core; 1 runs here).
    `progress(done, total)`: called as days are stepped, total = the paths' length."""
    b = cfg.bootstrap
    days = min(int(round(b.years * 252)), tape.days)
    try:
        idx = bootstrap.indices(tape, paths, days, b.block_days, b.seed)
        n = min(workers or procs.cores(), max(paths // MIN_PATHS, 1))
        if n <= 1:
            parts = [_summaries(tape, cfg, names, idx, progress)]
        else:
            parts = _in_pool(tape, cfg, names, np.array_split(idx, n), days, progress)
    except MemoryError:  # here or in a worker: each holds its paths' whole tape (~8 bytes a path-day a field)
        raise InputError(f"not enough memory for {paths:,} paths of {days:,} days: fewer paths"
                         " (--monte-carlo PATHS) or shorter ones ([bootstrap] years)",
                         field="--monte-carlo") from None
    s = [_joined([p[j] for p in parts]) for j in range(len(names))]
    if len(names) < 2:
        return {"paths": paths, "days": days, "block_days": b.block_days, "seed": b.seed,
                names[0]: _spread(s[0])}
    out = metrics.monte_carlo(s[0], s[1])
    out.update(days=days, block_days=b.block_days, seed=b.seed)
    return out


def _summaries(tape, cfg, names, idx, progress=None) -> list:
    """Each program's Summary over the paths drawn at `idx` (paths, days)."""
    m = len(idx)
    hedge_flag = np.array([n == "hedged" for n in names for _ in range(m)])
    r = run(bootstrap.take(tape, idx), cfg, hedge_flag, np.zeros(len(hedge_flag), int),
            np.tile(np.arange(m), len(names)), progress=progress)
    s = metrics.summary(r.dates, r.equity, r.cash_rate, r.theta, r.hedge_pnl, r.trades)
    return [_rows(s, slice(j * m, (j + 1) * m)) for j in range(len(names))]


def _rows(s, sl):
    return metrics.Summary(**{f: getattr(s, f)[sl] for f in metrics.Summary.__dataclass_fields__})


def _joined(parts):
    return metrics.Summary(**{f: np.concatenate([getattr(p, f) for p in parts])
                              for f in metrics.Summary.__dataclass_fields__})


def _task(cfg, names, idx, part, told):
    return _summaries(procs.tape(), cfg, names, idx, None if told is None else _teller(told, part))


def _teller(told, part):
    """A worker's progress put on the queue while the queue's helper process answers; the
    progress is only shown, so once it is gone (killed) the worker goes on without it."""
    gone = False

    def tell(done, _days):
        nonlocal gone
        if not gone:
            try:
                told.put((part, done))
            except (EOFError, OSError):
                gone = True
    return tell


def _in_pool(tape, cfg, names, chunks, days, progress):
    """Each chunk of paths in a worker; their days stepped reach `progress` through a queue."""
    import multiprocessing
    manager = multiprocessing.get_context("spawn").Manager() if progress else None
    told = manager.Queue() if manager else None
    try:
        with procs.pool(len(chunks), tape) as pool:
            futures = [pool.submit(_task, cfg, names, c, i, told) for i, c in enumerate(chunks)]
            if progress:
                _relay(told, futures, len(chunks), days, progress)
            wait(futures, return_when=FIRST_EXCEPTION)  # at once after the relay, unless it lost its queue
            failed = next((f for f in futures if f.done() and f.exception() is not None), None)
            if failed is not None:  # its error, raised now: the pool stops the others
                failed.result()
            return [f.result() for f in futures]
    finally:
        if manager:
            manager.shutdown()


def _relay(told, futures, parts, days, progress):
    """Pass on the workers' progress until every chunk is done, or one has failed."""
    done = [0] * parts
    while not all(f.done() for f in futures):
        if any(f.done() and f.exception() is not None for f in futures):
            return
        try:
            part, d = told.get(timeout=0.2)
        except queue.Empty:
            continue
        except (EOFError, OSError):  # the queue's helper process is gone: no more progress, the run goes on
            return
        done[part] = d
        progress(sum(done) // parts, days)
    progress(days, days)


def _spread(s):
    return {f: {"median": metrics.plain(np.nanmedian(getattr(s, f))),
                "p5": metrics.plain(np.nanpercentile(getattr(s, f), 5)),
                "p95": metrics.plain(np.nanpercentile(getattr(s, f), 95))}
            for f in ("max_drawdown", "sharpe", "drag_pct")}
