"""`alvh sweep`: one backtest, hedged and unhedged, for every combination of a config grid,
in worker processes or on a Dask cluster; a table of one row per combination, or --json."""
from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from cockpit.cli.output import progress_bar
from datetime import date

from cockpit.cli.args import nonempty, path_arg, whole_number
from core.model.errors import InputError

MAX_SHIFTS = 10  # runner.SHIFTS, not imported: every alvh command builds this parser


def add_parsers(sub) -> None:
    p = sub.add_parser("sweep", help="backtest every combination of a config grid, in parallel")
    p.add_argument("--config", metavar="FILE", type=path_arg, default=None,
                   help="backtest TOML the grid varies (default: the defaults)")
    p.add_argument("--grid", metavar="KEY=V1,V2", type=_axis, action="append", required=True,
                   help="a config field and its values, e.g. entry.dte=30,45 strikes.short_delta=0.1,0.16"
                        " (repeat for more axes; every combination runs)")
    p.add_argument("--from", dest="start", type=_iso_date, default=None, metavar="YYYY-MM-DD",
                   help="first day (default: the store's first)")
    p.add_argument("--to", dest="end", type=_iso_date, default=None, metavar="YYYY-MM-DD",
                   help="last day (default: the store's last)")
    # SUPPRESS keeps a --db given before the command (`alvh --db X sweep`)
    p.add_argument("--db", metavar="PATH", type=path_arg, default=argparse.SUPPRESS,
                   help="history database (default: the user data folder)")
    p.add_argument("--workers", metavar="N", type=whole_number, default=None,
                   help="worker processes (default: one a core; 1 runs in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS", type=nonempty("scheduler"), default=None,
                   help="run on this Dask scheduler instead, e.g. tcp://10.0.0.5:8786"
                        " (pip install 'alvh-cockpit[cluster]')")
    p.add_argument("--shifts", metavar="N", type=whole_number, default=0,
                   help=f"also move entries by -N..+N trading days; --json gives each figure's range"
                        f" (0 to {MAX_SHIFTS}, default 0)")
    p.add_argument("--json", action="store_true", help="one JSON list on stdout, a row per combination")
    p.set_defaults(func=cmd_sweep)


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text[:20]!r}") from None


def _axis(text: str) -> tuple[str, list]:
    key, eq, values = text.partition("=")
    if not eq or not key.strip() or not values.strip():
        raise argparse.ArgumentTypeError(f"needs KEY=V1,V2,..., not {text[:40]!r}")
    # a comma inside [...] belongs to a list value: hedge.layers=[1,2],[1,2,3]
    return key.strip(), [_value(v.strip()) for v in re.split(r",(?![^\[]*\])", values)]


def _value(text: str):
    """A value as a config file writes it (30, 0.16, true, [1, 2]); a bare word is a string
    (every, history), so it need not be quoted in the shell."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def cmd_sweep(args) -> int:
    from cockpit.cli.backtest import load_tape
    from core.backtest.config import DEFAULT, load_config
    from core.backtest.sweep import grid, sweep

    axes = dict(args.grid)
    keys = [k for k, _ in args.grid]
    twice = next((k for k in keys if keys.count(k) > 1), None)
    if twice:
        raise InputError(f"{twice} is given twice; give its values once: {twice}=V1,V2", field="--grid")
    if args.workers is not None and args.workers < 1:
        raise InputError(f"needs 1 worker at least, not {args.workers}", field="--workers")
    if not 0 <= args.shifts <= MAX_SHIFTS:
        raise InputError(f"must be from 0 to {MAX_SHIFTS}, not {args.shifts}", field="--shifts")
    if args.start and args.end and args.start > args.end:
        raise InputError(f"--from {args.start} is after --to {args.end}")
    configs = grid(load_config(args.config) if args.config else DEFAULT, axes)  # refused before the store is read
    tape = load_tape(getattr(args, "db", None), args.start, args.end)
    with progress_bar("sweep", counted=True) as progress:
        rows = sweep(tape, configs, workers=args.workers, scheduler=args.scheduler, shifts=args.shifts,
                     progress=progress)
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=2, allow_nan=False) + "\n")
        return 0
    _print_table(rows, list(axes), f"Sweep {tape.dates[0]} → {tape.dates[-1]}: {len(rows)} combinations")
    return 0


def _print_table(rows: list[dict], keys: list[str], title: str) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, caption="Sharpe over the cash rate; DD reduction = 1 - hedged / unhedged max DD")
    for key in keys:
        table.add_column(key)
    for head in ("unhedged\nCAGR", "unhedged\nmax DD", "unhedged\nSharpe", "hedged\nCAGR",
                 "hedged\nmax DD", "hedged\nSharpe", "hedge\ndrag/yr", "DD\nreduction"):
        table.add_column(head, justify="right")
    for r in rows:
        u, h = r["unhedged"], r["hedged"]
        table.add_row(*(Text(_shown(r["params"][k])) for k in keys),
                      _pct(u["cagr"]), _pct(u["max_drawdown"]), _num(u["sharpe"]),
                      _pct(h["cagr"]), _pct(h["max_drawdown"]), _num(h["sharpe"]),
                      _pct(h["drag_pct"]), _pct(r["drawdown_reduction"]))
    console = Console() if sys.stdout.isatty() else Console(width=150)  # a pipe gets whole rows

    def broken_pipe():  # rich would exit 1 itself; main() ends a closed pipe as 141
        raise BrokenPipeError("stdout closed")
    console.on_broken_pipe = broken_pipe
    console.print(table)


def _shown(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(map(_shown, value)) + "]"
    return value if isinstance(value, str) else f"{value:g}"


def _pct(x) -> str:
    return "—" if x is None else f"{x:.2%}"


def _num(x) -> str:
    return "—" if x is None else f"{x:.2f}"
