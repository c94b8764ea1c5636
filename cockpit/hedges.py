"""Pane 2: the hedges held, and the hedge engine's three layers (target, trade, stress, drag, rolls)."""
from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from cockpit import fmt
from cockpit.keymap import bindings
from cockpit.pane import Palette, Pane, table
from core.results import AlvhResult, Analysis


def heldtable(live: Analysis, view: Analysis, pal: Palette, selected: int) -> Table:
    moved = not view.whatif.is_live
    t = table(None if view.hedges else "no hedges held")
    cols = ["ID", "L", "Qty", "Legs", "Days", "Mark", "P&L $"] + (["vs live"] if moved else [])
    cols += ["Δ $/SPX", "Θ $/d", "V $/vp"]
    for col in cols:
        t.add_column(col, justify="left" if col in ("ID", "Legs") else "right", no_wrap=True)
    for i, (h, was) in enumerate(zip(view.hedges, live.hedges)):
        row = [h.hedge.id, str(h.hedge.layer), str(h.hedge.quantity), fmt.legs_short(h),
               f"{h.days_left:.1f}", f"{h.mark:.2f}", Text(fmt.money(h.pnl), style=pal.pnl(h.pnl))]
        if moved:
            row.append(Text(fmt.chg(h.pnl, was.pnl), style=pal.pnl(h.pnl - was.pnl)))
        row += [f"{h.beta_delta:+.1f}", f"{h.greeks.theta:+.0f}", f"{h.greeks.vega:+.0f}"]
        t.add_row(*row, style="reverse" if i == selected else None)
    return t


def layerstable(a: AlvhResult, was: AlvhResult | None, pal: Palette) -> Table:
    t = table(None)
    t.title, t.title_justify = f"Layers (stress P&L $ held and at target in {a.ratio.reference})", "left"
    cols = ["L", "Held/Tgt", "Trade", "Cost $", "Stress", "Target"]
    cols += (["vs live"] if was else []) + ["Θ $/d", "Drag %/yr"]
    for col in cols:
        t.add_column(col, justify="left" if col in ("L", "Trade") else "right",
                     no_wrap=col != "Trade", max_width=24 if col == "Trade" else None)
    for i, x in enumerate(a.layers):
        tr = x.trade
        acts = tr.action != "hold" and tr.contracts > 0
        trade = f"{tr.action} {tr.contracts} {tr.instrument}" if acts else "hold"
        row = [f"L{x.layer}", f"{x.held:g}/{x.target}",
               Text(trade, style="bold" if acts else ""), f"{tr.cost:,.0f}" if acts else "",
               Text(fmt.money(x.stress_pnl_held), style=pal.pnl(x.stress_pnl_held)),
               fmt.money(x.stress_pnl_target)]
        if was:
            row.append(fmt.chg(x.stress_pnl_held, was.layers[i].stress_pnl_held))
        row += [f"{x.theta:+,.0f}", f"{x.drag_pct:.2f}"]
        t.add_row(*row, style=pal.warn if x.dormant else None)
    return t


def body(live: Analysis, view: Analysis, pal: Palette, selected: int) -> Group:
    parts = [heldtable(live, view, pal, selected)]
    a = view.alvh
    if a is None:
        parts.append(Text("hedge engine: n/a", style=pal.off))
        return Group(*parts)
    parts.append(layerstable(a, live.alvh if not view.whatif.is_live else None, pal))
    parts += [Text(f"L{x.layer} {'DORMANT: ' if x.dormant else ''}{x.note}", style=pal.warn if x.dormant else "")
              for x in a.layers if x.note]
    parts.append(Text.assemble(f"Hedge drag {a.drag_pct:.2f} %/yr of equity",
                               ("  " + a.drag_warning if a.drag_warning else "", pal.warn)))
    for r in a.rolls:
        parts.append(Text(f"ROLL {r.hedge_id} (L{r.layer}): leg {r.expiry} has {r.days_left:.1f} d left;"
                          f" roll to {r.roll_to}, about ${r.cost:,.0f}", style=pal.warn))
    return Group(*parts)


class HedgesPane(Pane):
    BINDINGS = bindings("list")
    number, title = 2, "Hedge layers"

    def refresh_from(self, live: Analysis, view: Analysis, pal: Palette, selected: int) -> None:
        self.show((live, view, pal, selected), lambda: body(live, view, pal, selected))
