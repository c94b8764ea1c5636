"""Sweeps: one backtest per combination of a config grid, in worker processes on this
machine or on a Dask cluster, one row of figures per combination in grid order."""
from __future__ import annotations

import difflib
import itertools
import re
from concurrent.futures import as_completed
from dataclasses import replace

from core.backtest import metrics
from core.backtest import workers as procs
from core.backtest.config import _NOTES, KEYS, SECTIONS, BacktestConfig, config_text, parse_config
from core.backtest.runner import backtest
from core.model.errors import InputError

FIGURES = {"unhedged": ("cagr", "max_drawdown", "sharpe"),
           "hedged": ("cagr", "max_drawdown", "sharpe", "drag_pct")}
CLUSTER_EXTRA = "pip install 'alvh-cockpit[cluster]'"
WINGS = ("wing_width", "wing_delta")


def grid(base: BacktestConfig, axes: dict[str, list]) -> list[tuple[dict, BacktestConfig]]:
    """Every combination of the axes' values (the first axis varies slowest) on top of `base`,
    each checked as the config loader checks a file. An axis key is "section.field"; sweeping
    one wing (wing_width or wing_delta) drops the other from `base`."""
    known = [f"{s}.{k}" for s in SECTIONS for k in KEYS[s]]
    for key, values in axes.items():
        if key not in known:
            near = difflib.get_close_matches(key, known, 1, 0.6)
            hint = f"did you mean {near[0]}?" if near else "known: " + ", ".join(known)
            raise InputError(f"unknown key {key!r}: {hint}", field="--grid")
        if not values:
            raise InputError("no values to sweep", field=f"--grid {key}")
    if all(f"strikes.{w}" in axes for w in WINGS):
        raise InputError("sweep strikes.wing_width or strikes.wing_delta, not both", field="--grid")
    out = []
    for combo in itertools.product(*axes.values()):
        params = dict(zip(axes, combo))
        out.append((params, _checked(_with(base, params))))
    return out


def _with(base: BacktestConfig, params: dict) -> BacktestConfig:
    """`base` with the params set, not yet checked (replace() checks nothing)."""
    sections = {}
    for key, value in params.items():
        section, _, name = key.partition(".")
        sections.setdefault(section, {})[name] = value
    wings = sections.get("strikes", {})
    given = [w for w in WINGS if w in wings]
    if given:  # the wing swept is the wing used (sweeping both is refused above)
        wings[WINGS[1 - WINGS.index(given[0])]] = None
    return replace(base, **{s: replace(getattr(base, s), **v) for s, v in sections.items()})


def _checked(cfg: BacktestConfig) -> BacktestConfig:
    """Read back through the loader, so a sweep takes exactly what a config file may say.
    The line of the rendered text means nothing to the user: the field and range do."""
    try:
        return replace(parse_config(config_text(cfg), "--grid"), source=cfg.source)
    except InputError as exc:
        raise InputError(exc.message + _allowed(exc), file="--grid", field=exc.field) from None


def _allowed(exc: InputError) -> str:
    """The loader names the range of a value out of it, not of a wrong type ('abc' for a
    number): add the range the template's note gives."""
    said = exc.message.rpartition(", got")[0]
    section, _, key = (exc.field or "").partition(".")
    found = re.search(r"\(([^()]*\d[^()]*)\)$", _NOTES.get(section, {}).get(key, ""))
    return f" ({found[1]})" if found and not re.search(r"\d", said) else ""


def run_one(tape, params: dict, cfg: BacktestConfig, shifts: int = 0) -> dict:
    """One combination's row: both programs' figures at shift 0, the drawdown reduction, and
    with shifts the range of each figure over the shifted entries."""
    b = backtest(tape, cfg, shifts=shifts)
    u, h = b.rows["unhedged"], b.rows["hedged"]
    row = {"params": params,
           **{p: {f: b.rows[p][f] for f in fs} for p, fs in FIGURES.items()},
           "drawdown_reduction": metrics.plain(metrics.drawdown_reduction(
               _nan(u["max_drawdown"]), _nan(h["max_drawdown"])))}
    if shifts:
        row["spread"] = {p: {f: list(r) for f, r in s.items()} for p, s in b.spread.items()}
    return row


def _nan(x):
    return float("nan") if x is None else x


def sweep(tape, configs, *, workers: int | None = None, scheduler: str | None = None,
          shifts: int = 0, progress=None) -> list[dict]:
    """run_one for each (params, config) of `configs`, rows in their order. In worker processes
    (`workers`, default one a core; 1 runs here), or on the Dask scheduler at `scheduler`.
    `progress(done, total)` is called as combinations finish."""
    configs = list(configs)
    if scheduler is not None:
        return _on_dask(tape, configs, scheduler, shifts, progress)
    workers = min(workers or procs.cores(), len(configs))
    if workers <= 1:
        from threadpoolctl import threadpool_limits
        rows = []
        with threadpool_limits(limits=1, user_api="blas"):  # as in the workers: the same sums
            for params, cfg in configs:
                rows.append(run_one(tape, params, cfg, shifts))
                _tell(progress, len(rows), len(configs))
        return rows
    return _in_pool(tape, configs, workers, shifts, progress)


def _tell(progress, done, total):
    if progress is not None:
        progress(done, total)


# ---- worker processes on this machine ---------------------------------------

def _pool_task(params: dict, cfg: BacktestConfig, shifts: int) -> dict:
    return run_one(procs.tape(), params, cfg, shifts)


def _in_pool(tape, configs, n, shifts, progress):
    with procs.pool(n, tape) as pool:
        futures = {pool.submit(_pool_task, params, cfg, shifts): i for i, (params, cfg) in enumerate(configs)}
        rows = [None] * len(configs)
        for done, f in enumerate(as_completed(futures), 1):
            rows[futures[f]] = f.result()
            _tell(progress, done, len(configs))
        return rows


# ---- a Dask cluster -----------------------------------------------------------

_PINNED = False


def _dask_task(params: dict, cfg: BacktestConfig, shifts: int, tape) -> dict:
    global _PINNED
    if not _PINNED:  # once per worker process
        procs.one_blas_thread()
        _PINNED = True
    return run_one(tape, params, cfg, shifts)


def _on_dask(tape, configs, address, shifts, progress):
    try:
        from distributed import Client, as_completed as dask_completed
    except ImportError:
        raise InputError(f"--scheduler needs Dask, not installed here: {CLUSTER_EXTRA}") from None
    try:
        client = Client(address)
    except (OSError, ValueError) as exc:  # unreachable, timed out, or not an address
        raise InputError(f"cannot reach the Dask scheduler at {address}: {exc}",
                         field="--scheduler") from None
    with client:
        shared = client.scatter(tape, broadcast=True)  # once to every worker, not once a task
        futures = client.map(_dask_task, [p for p, _ in configs], [c for _, c in configs],
                             shifts=shifts, tape=shared, pure=False)
        for done, _ in enumerate(dask_completed(futures), 1):
            _tell(progress, done, len(configs))
        return client.gather(futures)
