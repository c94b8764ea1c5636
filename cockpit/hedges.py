"""Pane 2: the hedges held, and the hedge engine's three layers (target, trade, stress, drag, rolls)."""
from __future__ import annotations

from rich.console import Group
from rich.text import Text

from cockpit import fmt
from cockpit.keymap import bindings
from cockpit.pane import Grid, Palette, Pane, grid
from core.model.results import AlvhResult, Analysis


def held_table(live: Analysis, view: Analysis, pal: Palette, selected: int, broken=()):
    if not view.hedges and not broken:
        return Text("no hedges held", style=pal.off)
    moved = fmt.moved(live, view)
    cols = [("ID", "l"), ("L", "r"), ("Qty", "r"), ("Legs", "l"), ("DTE", "r"), ("Mark", "r"),
            ("P&L $", "r")] + ([("vs live", "r")] if moved else [])
    cols += [("Real $", "r"), ("Life $", "r")]  # realized by closes of this id; lifetime = both
    cols += [("Δ $/SPX", "r"), ("Θ $/d", "r"), ("V $/vp", "r")]
    rows = []
    for i, (h, was) in enumerate(zip(view.hedges, live.hedges)):
        row = [h.hedge.id, str(h.hedge.layer), str(h.hedge.quantity), fmt.legs_short(h),
               fmt.dte(h.days_left), fmt.num(h.mark, ".2f"), Text(fmt.money(h.pnl), style=pal.pnl(h.pnl))]
        if moved:
            row.append(Text(fmt.chg(h.pnl, was.pnl), style=pal.pnl(h.pnl - was.pnl)))
        life = h.pnl_lifetime
        row += [fmt.money(h.pnl_realized), Text(fmt.money(life), style=pal.pnl(life))]
        row += [fmt.num(h.beta_delta, "+,.1f"), fmt.money(h.greeks.theta), fmt.money(h.greeks.vega)]
        rows.append((row, "reverse" if i == selected else None))
    for h, _ in broken:  # set aside by the engine: listed last, the reason under the tables
        rows.append(([f"✗{h.id}", str(h.layer), str(h.quantity), "not priced"] + [""] * (len(cols) - 4),
                     f"{pal.alert} reverse".strip() if len(rows) == selected else pal.alert or None))
    return grid(cols, rows)


def layers_table(a: AlvhResult, was: AlvhResult | None, pal: Palette):
    # held against target in stress dollars: contracts of different instruments do not compare
    cols = [("L", "l"), ("Trade", "l"), ("Cost $", "r"), ("Held $", "r"),
            ("Target $", "r"), ("Cover", "r")] + ([("vs live", "r")] if was else []) + \
        [("Θ $/d", "r"), ("Drag %/yr", "r")]
    rows, trades = [], []
    for i, x in enumerate(a.layers):
        trades += [Text(f"L{x.layer} trade: {fmt.trade(t)}", style="bold") for t in x.trades]
        row = [f"L{x.layer}", fmt.trades_short(x.trades),
               fmt.num(sum(t.cost for t in x.trades), ",.0f") if x.trades else "",
               Text(fmt.money(x.stress_pnl_held), style=pal.pnl(x.stress_pnl_held)),
               fmt.money(x.stress_pnl_target), fmt.coverage(x)]
        if was:
            row.append(fmt.chg(x.stress_pnl_held, was.layers[i].stress_pnl_held))
        row += [fmt.money(x.theta), fmt.num(x.drag_pct, ".2f")]
        rows.append((row, pal.warn if x.dormant else None))
    return grid(cols, rows, title="Layers: stress P&L $ held and at target, each in its own stress"), trades


def body(live: Analysis, view: Analysis, pal: Palette, selected: int, broken=()) -> Group:
    parts = [held_table(live, view, pal, selected, broken)]
    parts += [Text(f"✗ {h.id} not priced: {why} (e edits, x deletes)", style=pal.alert) for h, why in broken]
    t = view.totals
    parts.append(Text(f"Hedge P&L $: unrealized {fmt.money(t.hedge_pnl)} · realized {fmt.money(t.hedge_realized)}"
                      f" · total {fmt.money(t.hedge_pnl_total)}", style=pal.off))
    a = view.alvh
    held = len(parts)  # the held table (and its notes) go after the layers, the pane's point
    if isinstance(parts[0], Grid):
        parts[0].selectable = True  # ↑ ↓ still scroll its rows into view
    if a is None:
        parts.append(Text("hedge engine: n/a", style=pal.off))
        return Group(*parts)
    layers, trades = layers_table(a, live.alvh if fmt.moved(live, view) else None, pal)
    parts += [layers, *trades]
    parts += [Text(f"L{x.layer} {x.note}", style=pal.warn if x.dormant else "")
              for x in a.layers if x.note]
    parts += [Text(f"L{x.layer} {'chosen' if i == 0 else 'next'}: {fmt.candidate(c)}", style="" if i == 0 else pal.off)
              for x in a.layers for i, c in enumerate(x.candidates)]
    if a.budget_line:
        parts.append(Text(a.budget_line, style=pal.warn))
    parts.append(Text.assemble(f"Hedge drag {a.drag_pct:.2f} %/yr of equity",
                               ("  " + a.drag_warning if a.drag_warning else "", pal.warn)))
    if a.upside_note:
        parts.append(Text(a.upside_note, style=pal.warn))
    for r in a.rolls:
        parts.append(Text(f"ROLL {r.hedge_id} (L{r.layer}): leg {r.expiry} has {fmt.dte(r.days_left)} d left;"
                          f" roll to {r.roll_to}, about ${r.cost:,.0f}", style=pal.warn))
    return Group(*parts[held:], *parts[:held])


class HedgesPane(Pane):
    BINDINGS = bindings("list")
    number, title = 2, "Hedge layers"

    def refresh_from(self, live: Analysis, view: Analysis, pal: Palette, selected: int, broken=()) -> None:
        self.show((live, view, pal, selected, str(broken)), lambda: body(live, view, pal, selected, broken))
