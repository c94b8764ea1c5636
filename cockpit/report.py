"""`alvh report`: the analysis as rich tables or one JSON object."""
from __future__ import annotations

import json
import sys

from rich import box
from rich.console import Console
from rich.table import Table

from cockpit import fmt
from core.results import Analysis


def load_analysis(args):
    """Read the files named on the command line (or the defaults) and analyze them."""
    from cockpit.cli import resolve_inputs
    from core.bookfile import load_book
    from core.engine import analyze
    from core.marketfile import load_market
    from core.model import WhatIf

    book_path, book_demo, market_path, market_demo = resolve_inputs(args.book, args.market)
    book = load_book(book_path, demo=book_demo)
    market = load_market(market_path, demo=market_demo)
    whatif = WhatIf(spx_move=args.spx_move / 100, vix_move=args.vol_move, days=args.days)
    return analyze(book, market, whatif)


def run_report(args) -> int:
    a = load_analysis(args)
    if args.json:
        from core.export import analysis_to_dict
        json.dump(analysis_to_dict(a), sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
        return 0
    # a pipe gets full rows rather than rich's 80-column default
    print_report(a, Console() if sys.stdout.isatty() else Console(width=150))
    return 0


def print_report(a: Analysis, console: Console) -> None:
    console.print(fmt.headline(a), highlight=False)
    console.print(condor_table(a))
    console.print(condor_risk_table(a))
    if a.hedges:
        console.print(hedge_table(a))
    console.print(book_table(a))
    console.print("[b]Assumptions[/b]")
    for line in a.assumptions:
        console.print(f"  • {line}", markup=False)


def _table(title: str) -> Table:
    # compact: an 80-column terminal over SSH is the common case
    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                 collapse_padding=True)


def condor_table(a: Analysis) -> Table:
    t = _table("Open condors (points per condor; $ for the position)")
    for col in ("ID", "Expiry", "DTE", "Strikes", "Qty", "Credit", "Mark", "P&L $", "Max P $", "Max L $"):
        t.add_column(col, justify="left" if col in ("ID", "Strikes") else "right")
    for c in a.condors:
        x = c.condor
        t.add_row(x.id, f"{x.expiry:%Y-%m-%d}", f"{c.dte:.1f}", fmt.strikes(x), str(x.quantity),
                  f"{x.credit:.2f}", f"{c.mark:.2f}", fmt.money(c.pnl), f"{c.max_profit:,.0f}",
                  f"{-c.max_loss:,.0f}")
    return t


def condor_risk_table(a: Analysis) -> Table:
    t = _table("Condor risk")
    for col in ("ID", "BE at expiry", "BE T+0", "To short", "Δ $/pt", "Θ $/day", "V $/vol-pt"):
        t.add_column(col, justify="left" if col in ("ID", "BE at expiry", "BE T+0") else "right")
    for c in a.condors:
        t.add_row(c.condor.id, fmt.levels(c.breakevens_expiry), fmt.levels(c.breakevens_t0),
                  fmt.distance(c), f"{c.greeks.delta:+.1f}", f"{c.greeks.theta:+.0f}",
                  f"{c.greeks.vega:+.0f}")
    return t


def hedge_table(a: Analysis) -> Table:
    t = _table("Hedges (VIX legs: Black-76 on the future of their expiry)")
    for col in ("ID", "L", "Qty", "Legs", "Days", "Entry", "Mark", "P&L $", "Δ own",
                "Δ β-wtd", "Θ $/day", "V $/vol-pt"):
        t.add_column(col, justify="left" if col in ("ID", "Legs") else "right")
    for h in a.hedges:
        t.add_row(h.hedge.id, str(h.hedge.layer), str(h.hedge.quantity), fmt.legs(h),
                  f"{h.days_left:.1f}", f"{h.entry:.2f}", f"{h.mark:.2f}", fmt.money(h.pnl),
                  f"{h.greeks.delta:+.1f}", f"{h.beta_delta:+.1f}", f"{h.greeks.theta:+.0f}",
                  f"{h.greeks.vega:+.0f}")
    return t


def book_table(a: Analysis) -> Table:
    t = a.totals
    table = _table("Book (Δ in SPX-equivalent $ per SPX point)")
    for col in ("", "P&L $", "Δ $/SPX pt", "Γ /pt", "Θ $/day", "V $/vol-pt"):
        table.add_column(col, justify="right" if col else "left")
    rows = (("Condors", t.condor_pnl, t.condor_greeks), ("Hedges", t.hedge_pnl, t.hedge_greeks))
    for name, pnl, g in rows:
        gamma = f"{g.gamma:+.3f}" if name == "Condors" else "—"  # VIX gamma is per VIX point
        table.add_row(name, fmt.money(pnl), f"{g.delta:+.1f}", gamma, f"{g.theta:+.0f}", f"{g.vega:+.0f}")
    table.add_row("[b]Net[/b]", fmt.money(t.pnl), f"{t.beta_weighted_delta:+.1f}", "",
                  f"{t.greeks.theta:+.0f}", f"{t.greeks.vega:+.0f}")
    table.caption = (f"Condor book break-evens — at expiry: {fmt.levels(t.breakevens_expiry)};"
                     f" T+0: {fmt.levels(t.breakevens_t0)}")
    return table
