"""`alvh backtest`: the condor program with and without the ALVH layers over the history
store, the seeds' claims re-measured; printed as tables and charts, one JSON object
(--json) and the daily series (--csv FILE)."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
from cockpit.cli.output import progress_bar
from datetime import date
from pathlib import Path

from cockpit.cli.args import path_arg
from core.model.errors import InputError

IMPORT_HINT = "alvh data import ../shared/data/*.csv"
SHIFTS = 10  # runner.SHIFTS, not imported: every alvh command builds this parser
MAX_PATHS = 100_000  # the config's own bound on bootstrap.paths
KEYS = ("cagr", "vol", "max_drawdown", "dd_peak", "dd_trough", "dd_recovery", "sharpe", "sortino",
        "worst_month", "worst_month_date", "theta_r2", "theta_slope", "trades", "hedge_trades",
        "costs", "skipped")


def add_parsers(sub) -> None:
    p = sub.add_parser("backtest", help="the condor program hedged and unhedged over the history store")
    p.add_argument("--config", metavar="FILE", type=path_arg, default=None,
                   help="backtest TOML (default: the defaults of core/demo/backtest.toml)")
    p.add_argument("--from", dest="start", type=_iso_date, default=None, metavar="YYYY-MM-DD",
                   help="first day (default: the store's first)")
    p.add_argument("--to", dest="end", type=_iso_date, default=None, metavar="YYYY-MM-DD",
                   help="last day (default: the store's last)")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--csv", metavar="FILE", type=path_arg, default=None,
                   help="write the daily series here, one row per trading day")
    # SUPPRESS keeps a --db given before the command (`alvh --db X backtest`)
    p.add_argument("--db", metavar="PATH", type=path_arg, default=argparse.SUPPRESS,
                   help="history database (default: the user data folder)")
    one = p.add_mutually_exclusive_group()
    one.add_argument("--hedged", action="store_true", help="run the hedged program only")
    one.add_argument("--unhedged", action="store_true", help="run the unhedged program only")
    p.add_argument("--shifts", type=_whole(0, SHIFTS), default=SHIFTS, metavar="N",
                   help=f"roll-date sensitivity: entries moved by -N..+N trading days (0 to {SHIFTS}, default {SHIFTS})")
    p.add_argument("--monte-carlo", nargs="?", const=0, default=None, metavar="PATHS",
                   type=_whole(1, MAX_PATHS),
                   help="also run the block bootstrap, with PATHS paths (default: the config's [bootstrap] paths)")
    p.add_argument("--workers", metavar="N", type=_whole(1, 1024), default=None,
                   help="the Monte Carlo's worker processes (default: one a core; 1 runs in this process;"
                        " each takes 100 paths at least, so under 200 paths it runs in this process)")
    p.set_defaults(func=cmd_backtest)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text[:20]!r}") from None


def _whole(lo: int, hi: int):
    def parse(text: str) -> int:
        if not re.fullmatch(r"[0-9]+", text) or not lo <= int(text) <= hi:
            raise argparse.ArgumentTypeError(f"needs a whole number from {lo:,} to {hi:,}, not {text[:20]!r}")
        return int(text)
    return parse


def cmd_backtest(args) -> int:
    from core.backtest.config import DEFAULT, load_config

    if args.start and args.end and args.start > args.end:
        raise InputError(f"--from {args.start} is after --to {args.end}")
    cfg = load_config(args.config) if args.config else DEFAULT
    csv = _csv_target(args.csv) if args.csv else None  # refused before the run, not after it
    tape = load_tape(getattr(args, "db", None), args.start, args.end)
    paths = None if args.monte_carlo is None else args.monte_carlo or cfg.bootstrap.paths
    with progress_bar("stepping the days") as progress:
        b = run(tape, cfg, hedged=not args.unhedged, unhedged=not args.hedged, shifts=args.shifts,
                mc_paths=paths or 0, workers=args.workers, progress=progress)
    if csv is not None:
        write_csv(csv, b.daily)
    if args.json:
        text = json.dumps(to_json(b), indent=2, allow_nan=False)  # whole before the first byte
        sys.stdout.write(text + "\n")
        return 0
    from cockpit.cli.backtest_report import print_backtest, console
    print_backtest(b, console())
    return 0


def load_tape(db, start, end):
    from core.backtest.tape import tape_from_series
    from core.history.store import default_db, load_daily

    series = load_daily(db)
    missing = [name.upper() for name in ("spx", "vix") if not len(series.get(name, ()))]
    if missing:
        raise InputError(f"the history store has no {' or '.join(missing)} closes; import them"
                         f" first: {IMPORT_HINT}", file=str(db or default_db()))
    tape = tape_from_series(series, start, end)
    if tape.days < 2:
        raise InputError(f"only one trading day ({tape.dates[0]}) from {start or 'the start'} to"
                         f" {end or 'the end'}: a backtest needs two at least", field="--from/--to")
    return tape


def run(tape, cfg, *, hedged, unhedged, shifts, mc_paths, progress, workers=None):
    from core.backtest import runner
    return runner.backtest(tape, cfg, hedged=hedged, unhedged=unhedged, shifts=shifts, mc_paths=mc_paths,
                           workers=workers, progress=progress)


# ---- JSON -------------------------------------------------------------------------------

def to_json(b) -> dict:
    from core.backtest.metrics import drawdown_reduction, plain
    from core.backtest.runner import MODEL_NAMES
    from core.export import clean

    rows = {n: b.rows.get(n) for n in ("unhedged", "hedged")}
    progs = {n: None if r is None else {k: r[k] for k in KEYS + (("drag_pct",) if n == "hedged" else ())}
             for n, r in rows.items()}
    u, h = (rows[n] and rows[n]["max_drawdown"] for n in ("unhedged", "hedged"))
    days = len(b.dates)
    out = {
        "period": {"from": str(b.dates[0]), "to": str(b.dates[-1]), "days": days,
                   "years": next(iter(b.rows.values()))["years"]},
        "config": _config(b.config),
        **progs,
        "drawdown_reduction": None if u is None or h is None else plain(drawdown_reduction(u, h)),
        "claims": b.claims,
        "sensitivity": b.sensitivity,
        "spread": {n: {f: {"min": lo, "max": hi} for f, (lo, hi) in figs.items()} for n, figs in b.spread.items()},
        "models": {k: {"real": n, "modelled": days - n, "source": MODEL_NAMES[k][0],
                       "stand_in": MODEL_NAMES[k][1]} for k, n in b.models.items()},
        "monte_carlo": b.monte_carlo,
        "assumptions": list(b.assumptions),
    }
    return clean(out)


def _config(cfg) -> dict:
    out = dataclasses.asdict(cfg)
    out["hedge"]["layers"] = list(out["hedge"]["layers"])
    return out


# ---- CSV --------------------------------------------------------------------------------

def _csv_target(path: str) -> Path:
    """Where the CSV goes, refused now if it cannot be: a folder, a device, no such folder."""
    from core.io.atomic import regular_target
    try:
        target = regular_target(path)
        if not target.parent.is_dir():
            raise OSError(f"no folder {target.parent}")
        if not os.access(target.parent, os.W_OK):
            raise OSError(f"the folder {target.parent} is not writable")
        return target
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot write the CSV: {getattr(exc, 'strerror', None) or exc}", file=path) from None


def write_csv(path: Path, daily: dict) -> None:
    """One row per day, header first: dates ISO, numbers as repr (they read back exactly),
    a column of whole numbers (the counts) as integers, NaN as an empty cell."""
    from core.io.atomic import atomic_write_text

    cols = [_cells(v) for v in daily.values()]
    text = ",".join(daily) + "\n" + "".join(",".join(row) + "\n" for row in zip(*cols))
    try:
        atomic_write_text(path, text, backup=False)  # an output, not a user's file: no .bak
    except OSError as exc:
        raise InputError(f"cannot write the CSV: {exc.strerror or exc}", file=str(path)) from None


def _cells(values) -> list[str]:
    import math

    import numpy as np

    a = np.asarray(values)
    if a.dtype.kind != "f":
        return [str(x) for x in a.tolist()]  # dates (ISO), counts, the model flags
    whole = np.array_equal(a[np.isfinite(a)], np.round(a[np.isfinite(a)]))
    form = (lambda x: str(int(x))) if whole else repr
    return [form(x) if math.isfinite(x) else "" for x in a.tolist()]
