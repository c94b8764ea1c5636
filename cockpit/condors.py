"""Pane 1: the open condors, one row each; rows turn amber/red as SPX nears a short strike."""
from __future__ import annotations

from rich.console import Group
from rich.text import Text

from cockpit import fmt
from cockpit.keymap import bindings
from cockpit.pane import Palette, Pane, grid
from core.capital.probability import odds
from core.model.results import Analysis, CondorResult

NEAR_SD = 1.0  # amber inside one standard deviation of the nearest short strike
NEAR_PCT = 1.0  # ... or inside 1% of it
# what a narrow pane leaves out, the least worth first, so a condor stays one line: realized
# and lifetime P&L (the pane's total line keeps them), the expiry date (DTE and the id say
# it), the break-evens (To short says how far), credit, quotes and mark, then delta and the
# expected move; P&L, distance, PoP and theta stay (any overflow still folds under the row)
DROP = ("Real $", "Life $", "Exp", "BE T+0", "Slip $", "BE expiry", "Credit", "Natural", "Mark", "Δ $/pt",
        "±1σ pts")


def alert_level(c: CondorResult) -> int:
    """0 calm, 1 near the short strike (amber), 2 at or through it (red)."""
    if c.distance_pct <= 0:
        return 2
    return 1 if c.distance_sd < NEAR_SD or c.distance_pct < NEAR_PCT else 0


def condor_table(live: Analysis, view: Analysis, pal: Palette, selected: int | None, broken=()):
    """broken: (condor, reason) for those the engine cannot price, listed after the book's with
    the reason; a proposed condor (n: in the view, not the book) last, as +ID."""
    moved = fmt.moved(live, view)
    if not view.condors and not broken:
        return Text("no condors: press a to add one", style=pal.off)
    quoted = any(c.close_natural is not None for c in view.condors)  # bid/ask marks on every leg
    cols = [("ID", "l"), ("Exp", "r"), ("DTE", "r"), ("Strikes", "l"), ("Qty", "r"), ("Credit", "r"),
            ("Mark", "r")] + ([("Natural", "r"), ("Slip $", "r")] if quoted else []) + \
        [("P&L $", "r")] + ([("vs live", "r")] if moved else [])
    cols += [("Real $", "r"), ("Life $", "r")]  # realized by closes of this id; lifetime = both
    cols += [("BE expiry", "r"), ("BE T+0", "r"), ("To short", "l"), ("PoP %", "r"), ("±1σ pts", "r"),
             ("Δ $/pt", "r"), ("Θ $/d", "r")]
    # risk-neutral, at expiry, from where the view values; the report adds the real world
    chances = odds(view).condors
    rows, new = [], []
    was_by_id = {c.condor.id: c for c in live.condors}
    for i, (c, p) in enumerate(zip(view.condors, chances)):
        x = c.condor
        was = was_by_id.get(x.id)
        level = alert_level(c)
        flag = ("", "!", "!!")[level]  # readable without colour too
        row = [f"{flag}{'' if was else '+'}{x.id}", f"{x.expiry:%b%d}", fmt.dte(c.dte), fmt.strikes(x),
               str(x.quantity), f"{x.credit:.2f}", fmt.num(c.mark, ".2f")]
        if quoted:
            row += ["" if c.close_natural is None else fmt.num(c.close_natural, ".2f"),
                    "" if c.slippage is None else fmt.money(-c.slippage)]
        row.append(Text(fmt.money(c.pnl), style=pal.pnl(c.pnl)))
        if moved:  # a proposed condor's all of it: live does not hold it
            then = was.pnl if was else 0.0
            row.append(Text(fmt.chg(c.pnl, then), style=pal.pnl(c.pnl - then)))
        life = c.pnl_lifetime
        row += [fmt.money(c.pnl_realized), Text(fmt.money(life), style=pal.pnl(life))]
        row += [fmt.pair(c.breakevens_expiry), fmt.pair(c.breakevens_t0),
                f"{c.nearest_short[0].upper()} {c.distance_pct:+.1f}% {fmt.sigmas(c)}",
                f"{100 * p.pop:.0f}", f"{p.move:,.0f}", fmt.num(c.greeks.delta, "+,.1f"), fmt.money(c.greeks.theta)]
        style = (None, pal.warn, pal.alert)[level] or ""
        if was is None:  # never selected: e, c and x act on the book
            new.append((row, (style + " italic").strip()))
            continue
        if i == selected:
            style += " reverse"
        rows.append((row, style.strip() or None))
    for x, _ in broken:  # the row keeps the selection in step with the book; the reason goes below
        row = [f"✗{x.id}", f"{x.expiry:%b%d}", "", fmt.strikes(x), str(x.quantity), f"{x.credit:.2f}",
               ""] + [""] * (2 if quoted else 0) + ["not priced"]
        row += [""] * (len(cols) - len(row))
        rows.append((row, f"{pal.alert} reverse".strip() if len(rows) == selected else pal.alert or None))
    rows += new
    t = view.totals
    # one flat Group: the pane folds only a table at its top level
    return Group(grid(cols, rows, drop=DROP), *(Text(f"✗ {x.id} not priced: {why} (e edits, x deletes)", style=pal.alert)
                                     for x, why in broken),
                 *(Text(f"+{c.condor.id} proposed: a what-if, not in the book (N adds it, X drops it)",
                        style=pal.warn) for c in fmt.proposed(live, view)),
                 *([Text("Mark: the quotes' mid where every leg is quoted; Natural: the debit to close at"
                         " the shorts' asks and the wings' bids; Slip $: what that costs over the mid",
                         style=pal.off)] if quoted else []),
                 Text(f"Condor P&L $: unrealized {fmt.money(t.condor_pnl)} · realized {fmt.money(t.condor_realized)}"
                      f" · total {fmt.money(t.condor_pnl_total)}", style=pal.off))


class CondorsPane(Pane):
    BINDINGS = bindings("list")
    number, title = 1, "Condors"

    def refresh_from(self, live: Analysis, view: Analysis, pal: Palette, selected: int, broken=()) -> None:
        self.show((live, view, pal, selected, str(broken)),
                  lambda: condor_table(live, view, pal, selected, broken))
