"""`alvh close|settle|ledger|journal|snapshot`: the position lifecycle from the command line.

Each command that changes the book writes it atomically (the previous version kept as
`.bak`), appends one journal record to the history store and prints what changed.
The demo book is never written over: its edits go to your own book file.
"""
from __future__ import annotations

import json
import sys

from cockpit.cli.args import number_type, whole_number
from cockpit.cli.blas import one_blas_thread
from cockpit.cli.inputs import Loaded, load, settle_loaded
from cockpit.cli.output import say_done
from core.model.errors import InputError, printable
from core.model.inputs import Book


def add_parsers(sub, files) -> None:
    p = sub.add_parser("close", parents=[files], help="close a position (or part of it) at a fill")
    p.add_argument("id", help="the condor or hedge id")
    p.add_argument("--price", type=number_type("a fill price"), required=True,
                   help="fill: per condor the debit paid to buy it back; per hedge unit the price received (points)")
    p.add_argument("--quantity", type=whole_number, default=None, help="how many to close (default: all)")
    p.add_argument("--commission", type=number_type("a commission"), default=0.0,
                   help="$ for the whole close (default 0)")
    p.set_defaults(func=cmd_close)

    p = sub.add_parser("settle", parents=[files], help="settle every expired position")
    p.set_defaults(func=cmd_settle)

    for name, func, what in (("ledger", cmd_ledger, "the realized ledger"),
                             ("journal", cmd_journal, "the journal of book edits")):
        p = sub.add_parser(name, parents=[files], help=what)
        p.add_argument("--json", action="store_true", help="one JSON object on stdout")
        p.set_defaults(func=func)

    p = sub.add_parser("snapshot", parents=[files], help="store today's book snapshot in the history store")
    p.set_defaults(func=cmd_snapshot)


def write(x: Loaded, after: Book, action: str, label: str) -> None:
    """Save the book, then journal the edit. The book is the record: a journal that cannot
    be written now is said (exit 0: the edit is done, do not repeat it) and re-syncs later."""
    from core.history import journal
    from core.io.atomic import describe_save
    from core.book.bookfile import save_book

    existed = x.path.exists()
    try:
        x.path.parent.mkdir(parents=True, exist_ok=True)
        save_book(after, x.path)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", file=str(x.path)) from None
    behind = None  # journaled before anything is printed: a reader gone mid-way loses no record
    try:
        journal.record(x.db, journal.book_key(x.path), action, x.book, after, label=label)
    except InputError as exc:
        behind = exc
    say_done(f"wrote {describe_save(x.path, existed)}", label)
    if behind is not None:
        print(f"alvh: warning: the book is written, the journal is not (it re-syncs at the first edit"
              f" it can record): {behind}", file=sys.stderr)


def cmd_close(args) -> int:
    from core.book.lifecycle import close_position

    x = load(args)
    pos = next((p for p in x.book.condors + x.book.hedges if p.id == args.id), None)
    if pos is None:
        raise InputError(f"no open position with id {args.id!r}", file=x.book.source, field="id")
    done = settle_loaded(x)
    if pos.id in {r.id for r in done.records} | {w.id for w in done.awaiting}:
        raise InputError(f"{pos.id} has expired: it settles at its settlement price (alvh settle),"
                         " not at a fill", file=x.book.source, line=pos.line, field="id")
    qty = pos.quantity if args.quantity is None else args.quantity
    after, rec = close_position(x.book, args.id, qty, args.price, args.commission, x.market.as_of.date())
    write(x, after, "close", f"closed {qty} of {pos.id} ({rec.description}) at {rec.close_price:.2f}"
                             f" (opened at {rec.open_price:.2f}): realized {rec.realized:+,.2f} $"
                             f" after {rec.commission:,.2f} $ commission; {pos.quantity - qty} left")
    return 0


def cmd_settle(args) -> int:
    x = load(args)
    s = settle_loaded(x)
    where = "the market file (the cockpit's S enters it)" if x.market.demo else x.market.source
    for a in s.awaiting:
        store = "" if a.underlying == "VXX" else ", or import the day into the history store"
        print(f"{a.id}: {a.label}: add a [[settlement]] for {a.underlying} {a.day} {a.style} to {where}{store}")
    if not s.records:
        print("nothing to settle" + (f"; {len(s.awaiting)} awaiting a settlement price" if s.awaiting else ""))
        return 0
    write(x, s.book, "settle", "\n".join(
        f"settled {r.id} ({r.description}) x{r.quantity}: {r.close_price:.2f} against"
        f" {r.open_price:.2f} → {r.realized:+,.2f} $ — {r.how}" for r in s.records))
    return 0


def cmd_ledger(args) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    x = load(args)
    if args.json:
        from core.export import realized_to_dict
        json.dump(realized_to_dict(x.book), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
        return 0
    t = Table(title=escape(printable(f"Realized ledger — {x.book.source}")), title_justify="left")
    for col in ("Closed", "ID", "What", "Qty", "Open", "Close", "Comm $", "Realized $", "How"):
        t.add_column(col, justify="right" if col in ("Qty", "Open", "Close", "Comm $", "Realized $") else "left")
    for c in x.book.closed:
        t.add_row(*(escape(v) for v in (str(c.closed), c.id, c.description, str(c.quantity), f"{c.open_price:.2f}",
                                        f"{c.close_price:.2f}", f"{c.commission:,.2f}", f"{c.realized:+,.2f}", c.how)))
    t.caption = f"total realized {sum(c.realized for c in x.book.closed):+,.2f} $"
    Console(width=None if sys.stdout.isatty() else 160).print(t)
    return 0


def cmd_journal(args) -> int:
    from core.history import journal

    x = load(args)
    items = journal.entries(x.db, journal.book_key(x.path))
    if args.json:
        out = [{"id": e.id, "time": e.time.isoformat(), "action": e.action, "label": e.label,
                "changes": list(e.changes),
                "fill": list(e.fill), "removed": e.removed} for e in items]
        json.dump({"book": str(x.path), "entries": out}, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
        return 0
    if not items:
        print(f"no journal for {x.path} yet")
    for e in items:
        what = ", ".join(f"{'add' if c['before'] is None else 'remove' if c['after'] is None else 'change'}"
                         f" {c['kind']} {c['id']}" for c in e.changes)
        fill = "".join(f"; realized {f['realized']:+,.2f} $ ({f['how']})" for f in e.fill)
        print(printable(f"{e.id:>5} {e.time:%Y-%m-%d %H:%M} {e.action:<8} {e.label}"))
        print(printable(f"      {what or '-'}{fill}"))
    return 0


def cmd_snapshot(args) -> int:
    one_blas_thread()
    from core.history import journal
    from core.engine import analyze
    from core.export import snapshot_numbers

    x = load(args)
    s = settle_loaded(x)
    a = analyze(s.priceable, x.market)
    totals, positions = snapshot_numbers(a)
    journal.write_snapshot(x.db, journal.book_key(x.path), x.market.as_of.date(), totals, positions)
    say_done(f"snapshot {x.market.as_of.date()}: P&L {totals['pnl']:+,.0f} $ (realized {totals['pnl_realized']:+,.0f}),"
             f" theta {totals['theta']:+,.0f} $/day, delta {totals['delta']:+,.1f} $/SPX pt,"
             f" vega {totals['vega']:+,.0f} $ per +1 VIX pt; {len(positions)} positions")
    return 0
