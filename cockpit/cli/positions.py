"""`alvh positions import FILE`: a broker's position CSV (OCC symbols) into the book.

Prints the plan (the condors and hedges it adds, those the book holds already, and every
line it leaves out with the reason); unless --dry-run, writes the book once, atomically
with a `.bak`, and journals the import like every other book edit.
"""
from __future__ import annotations

from cockpit.cli.args import nonempty, path_arg
from cockpit.cli.book import write
from cockpit.cli.inputs import load
from cockpit.cli.output import say_done
from core.model.errors import printable


def add_parsers(sub, files) -> None:
    positions = sub.add_parser("positions", help="the broker's positions")
    psub = positions.add_subparsers(dest="positions_command", required=True, metavar="COMMAND")
    p = psub.add_parser("import", parents=[files], help="add a broker's position CSV to the book")
    p.add_argument("file", type=path_arg, help="CSV with OCC option symbols, signed quantities and prices")
    p.add_argument("--dry-run", action="store_true", help="print the plan; write nothing")
    p.add_argument("--layer", type=int, choices=(1, 2, 3), default=None,
                   help="put every hedge in this layer (default: by its days to expiry)")
    column = nonempty("column")
    p.add_argument("--symbol-col", metavar="NAME", type=column, help="the symbol column (default Symbol)")
    p.add_argument("--qty-col", metavar="NAME", type=column,
                   help="the signed quantity column (default Qty, Quantity or Position)")
    p.add_argument("--price-col", metavar="NAME", type=column,
                   help="the price column (default Trade Price, Avg Price, Cost Basis or Price)")
    p.set_defaults(func=cmd_import)


def cmd_import(args) -> int:
    from core.book.lifecycle import describe_condor, describe_legs
    from core.book.positions import Columns, plan_import, read_positions
    from core.market.marketgen import vix_expiry

    x = load(args)
    rows, leftovers = read_positions(args.file, Columns(args.symbol_col, args.qty_col, args.price_col),
                                     vix_expiry)
    plan = plan_import(x.book, rows, leftovers, x.market.as_of, args.layer)
    market = "the DEMO market" if x.market.demo else x.market.source
    lines = [f"{args.file}, as of {x.market.as_of:%Y-%m-%d %H:%M} (the as_of of {market}):"]
    lines += [f"add condor {c.id}: {describe_condor(c)} x{c.quantity}, credit {c.credit:.2f}" for c in plan.condors]
    lines += [f"add hedge {h.id}: {describe_legs(h)} x{h.quantity} ({plan.why[h.id]})" for h in plan.hedges]
    lines += [f"in the book already: {pid} x{held}" + ("" if held == found else
              f" (the file holds {found}: left as it is)") for pid, held, found in plan.existing]
    lines += [f"not imported{_where(o.lines)}: {o.what}: {o.reason}" for o in plan.leftovers]
    lines = [printable(line) for line in lines]  # symbols are the file's text
    added = len(plan.condors) + len(plan.hedges)
    if args.dry_run or not added:
        print("\n".join(lines))
        print("dry run: nothing written" if args.dry_run else "nothing to add: the book is unchanged")
        return 0
    write(x, plan.book, "import", printable(f"imported {len(plan.condors)} condors and {len(plan.hedges)}"
                                            f" hedges from {args.file}"))
    say_done(*lines)
    return 0


def _where(lines: tuple[int, ...]) -> str:
    return f", line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))}" if lines else ""
