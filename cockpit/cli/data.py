"""`alvh data import|status|calibrate` and `alvh market from-history`.

`add_parsers(subparsers)` registers the commands; each sets `args.func(args)`,
which returns the exit code (2 for bad input, printed as one line).
"""
from __future__ import annotations

import argparse
import math
import sys
from datetime import date
from pathlib import Path

from cockpit.cli.args import number_type, path_arg
from cockpit.cli.output import say_done
from core.history import store as history
from core.io.atomic import atomic_write_text
from core.model.errors import InputError, printable


def add_parsers(subparsers) -> None:
    data = subparsers.add_parser("data", help="the market history store")
    sub = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")

    p = sub.add_parser("import", help="import CSV files (one transaction each)")
    p.add_argument("files", nargs="+", type=path_arg, metavar="FILE",
                   help="history CSVs, e.g. ../shared/data/*.csv (an option chain is skipped)")
    p.add_argument("--series", choices=history.SERIES, default=None, metavar="NAME",
                   help="the series of every FILE, one of %(choices)s (default: each file's,"
                        " recognised from its name and header)")
    p.add_argument("--force", action="store_true",
                   help="import even when the levels contradict the series (dates are checked)")
    _db_option(p)
    p.set_defaults(func=_guarded(cmd_import))

    p = sub.add_parser("status", help="stored series, their dates and last import")
    _db_option(p)
    p.set_defaults(func=_guarded(cmd_status))

    p = sub.add_parser("calibrate", help="spot-vol beta of VIX to SPX from the store")
    p.add_argument("--window", type=_years, default=None, metavar="YEARS",
                   help="years of history ending at the last close (default 5)")
    p.add_argument("--save", action="store_true", help="write beta into the book's [model]")
    p.add_argument("--book", type=path_arg, default=argparse.SUPPRESS,
                   help="book file (default: your saved book)")
    _db_option(p)
    p.set_defaults(func=_guarded(cmd_calibrate))

    market = subparsers.add_parser("market", help="the market file")
    sub = market.add_subparsers(dest="market_command", required=True, metavar="COMMAND")
    p = sub.add_parser("from-history", help="market file from the store's closes")
    p.add_argument("--date", type=_iso_date, default=None, help="closes of this day (YYYY-MM-DD)")
    p.add_argument("-o", "--output", type=path_arg, default=None, help="write here (default stdout)")
    _db_option(p)
    p.set_defaults(func=_guarded(cmd_from_history))


def _db_option(p: argparse.ArgumentParser) -> None:
    # SUPPRESS keeps a --db given before the command (`alvh --db X data status`)
    p.add_argument("--db", type=path_arg, default=argparse.SUPPRESS,
                   help=f"history database (default {history.default_db()})")


def _db(args) -> Path | None:
    db = getattr(args, "db", None)
    return Path(db) if db else None


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None


def _years(text: str) -> float:
    years = number_type("a window")(text)
    if not 0 < years <= 100:
        raise argparse.ArgumentTypeError(f"a window is 0 to 100 years, not {text[:20]!r}")
    return years


def _guarded(command):
    def run(args) -> int:
        try:
            return command(args)
        except InputError as exc:
            print(f"alvh: {exc}", file=sys.stderr)
            return 2
    return run


def cmd_import(args) -> int:
    """Each file in its own transaction: a refused file (one stderr line) leaves the others
    imported, and the exit code 2 says one was refused."""
    from core.history.recognise import recognise

    planned, refused = [], 0
    for file in args.files:
        try:
            planned.append((file, None if args.series else recognise(file)))
        except InputError as exc:
            refused += _refuse(exc)
    # the better sources first, so a lesser one (keep_stored) then fills only what they lack
    planned.sort(key=lambda p: p[1] is not None and p[1].keep_stored)
    for file, kind in planned:
        try:
            if kind is None:
                _say_imported(history.import_file(file, args.series, _db(args), force=args.force))
            elif not kind.series:
                say_done(f"{printable(str(file))}: skipped: {kind.what}")
            else:
                results = history.import_series(file, kind.series, _db(args), force=args.force,
                                                keep_stored=kind.keep_stored)
                say_done(f"{printable(str(file))}: {kind.what}: " + "; ".join(
                    _counts(c) for r in results for c in (r, *r.companions)))
        except InputError as exc:
            refused += _refuse(exc)
    return 2 if refused else 0


def _refuse(exc: InputError) -> int:
    print(f"alvh: {exc}", file=sys.stderr)
    return 1


def _counts(r: history.ImportResult) -> str:
    parts = [(r.inserted, "new"), (r.updated, "updated"), (r.unchanged, "unchanged"),
             (r.kept, "kept as stored")]
    return f"{r.series} " + ", ".join(f"{n} {what}" for n, what in parts if n)


def _say_imported(r: history.ImportResult) -> None:
    same = "" if r.changed or any(c.changed for c in r.companions) else " (store not changed)"
    say_done(f"{r.series}: {r.inserted} inserted, {r.updated} updated, {r.unchanged} unchanged"
             f" from {printable(str(r.file))}{same}",
             *(f"{c.series}: {c.inserted} inserted, {c.updated} updated, {c.unchanged} unchanged"
               " (the file's open column)" for c in r.companions))


def cmd_status(args) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    db = _db(args) or history.default_db()
    rows = history.status(db)
    console = Console()
    if not rows:
        print(f"{printable(str(db))}: empty. The cockpit shows the DEMO history until you import"
              " data with `alvh data import FILE...`.")
        return 0
    table = Table(title=escape(printable(str(db))))  # a `[` in a path is not markup
    for col in ("series", "first", "last", "rows", "last import"):
        table.add_column(col, justify="right" if col == "rows" else "left")
    for s in rows:
        last = "-"
        if s.last_import:
            r = s.last_import
            when = s.imported_at.astimezone().strftime("%Y-%m-%d %H:%M")
            last = f"{when} {Path(r.file).name} ({r.inserted} new, {r.updated} updated)"
        table.add_row(*(Text(printable(x)) for x in (s.series, str(s.first), str(s.last),
                                                      str(s.rows), last)))
    console.print(table)
    return 0


def cmd_calibrate(args) -> int:
    from core.history.calibrate import DEFAULT_YEARS, calibrate

    series = history.load_all(_db(args))
    if "vix" not in series or "spx" not in series:
        raise InputError("the history has no VIX and SPX closes; import them first",
                         field="history")
    years = args.window if args.window is not None else DEFAULT_YEARS
    book = Path(args.book) if getattr(args, "book", None) else None  # `alvh --book X data ...` too
    if args.save and book is None:
        book = _user_book()
        if not book.exists():
            raise InputError(f"no saved book at {book} to write beta into; "
                             "name one with --book FILE", field="--save")
    text = None
    if args.save:  # a book the cockpit would refuse is refused before the calibration
        from core.book.bookfile import parse_book
        from core.io.tomlsrc import read_text
        text = read_text(book)
        parse_book(text, str(book))
    c = calibrate(series["vix"], series["spx"], years=years, vx1=series.get("vx1"))
    print(f"beta (d ln VIX / d ln SPX) {c.beta:.2f}  R² {c.r2:.2f}  "
          f"{c.n} days {c.start} to {c.end}")
    print(f"  down days {c.beta_down:.2f}, up days {c.beta_up:.2f}")
    if c.front_beta is not None:
        print(f"  front future VX1 to VIX {c.front_beta:.2f} over {c.front_n} days"
              " (days next to an expiry left out)")
    else:
        print("  front future: no VX1 settles in the window")
    if args.save:
        save_beta(book, text, c.beta, f"calibrated {years:g}y to {c.end}")
        say_done(f"saved beta {round(c.beta, 3)} to {book}")
    return 0


def _user_book() -> Path:
    from core.io.paths import user_book
    return user_book()


def save_beta(book: Path, text: str, beta: float, source: str) -> None:
    """Set [model] beta and beta_source in the book's `text` (already parsed as a book),
    keeping the rest of the file as written."""
    import tomlkit

    from core.book.bookfile import BETA, parse_book

    if not (math.isfinite(beta) and BETA[0] <= beta <= BETA[1]):
        raise InputError(f"the calibrated beta {beta:.3g} is outside what a book accepts"
                         f" ({BETA[0]:g} to {BETA[1]:g}): not saved", field="--save")
    doc = tomlkit.parse(text.removeprefix("\ufeff"))
    if "model" not in doc:
        doc["model"] = tomlkit.table()
    doc["model"]["beta"] = round(beta, 3)
    doc["model"]["beta_source"] = source
    text = tomlkit.dumps(doc)
    parse_book(text, str(book))  # never write a file that could not be read back
    _write(book, text)


def _write(path: Path, text: str) -> None:
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", file=str(path)) from None


def cmd_from_history(args) -> int:
    from core.market.marketgen import market_from_history

    series = history.load_all(_db(args))
    text = market_from_history(series, args.date)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    _write(args.output, text)
    say_done(f"wrote {args.output}")
    return 0
