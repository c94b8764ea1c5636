"""Pane 2: the hedges held, and the hedge engine's three layers (target, trade, stress, drag, rolls)."""
from __future__ import annotations

from rich.console import Group
from rich.text import Text

from cockpit import fmt
from cockpit.keymap import bindings
from cockpit.pane import Palette, Pane, grid
from core.results import AlvhResult, Analysis


def held_table(live: Analysis, view: Analysis, pal: Palette, selected: int):
    if not view.hedges:
        return Text("no hedges held", style=pal.off)
    moved = not view.whatif.is_live
    cols = [("ID", "l"), ("L", "r"), ("Qty", "r"), ("Legs", "l"), ("Days", "r"), ("Mark", "r"),
            ("P&L $", "r")] + ([("vs live", "r")] if moved else [])
    cols += [("Δ $/SPX", "r"), ("Θ $/d", "r"), ("V $/vp", "r")]
    rows = []
    for i, (h, was) in enumerate(zip(view.hedges, live.hedges)):
        row = [h.hedge.id, str(h.hedge.layer), str(h.hedge.quantity), fmt.legs_short(h),
               f"{h.days_left:.1f}", f"{h.mark:.2f}", Text(fmt.money(h.pnl), style=pal.pnl(h.pnl))]
        if moved:
            row.append(Text(fmt.chg(h.pnl, was.pnl), style=pal.pnl(h.pnl - was.pnl)))
        row += [f"{h.beta_delta:+.1f}", f"{h.greeks.theta:+.0f}", f"{h.greeks.vega:+.0f}"]
        rows.append((row, "reverse" if i == selected else None))
    return grid(cols, rows)


def layers_table(a: AlvhResult, was: AlvhResult | None, pal: Palette):
    cols = [("L", "l"), ("Held/Tgt", "r"), ("Trade", "l"), ("Cost $", "r"), ("Stress", "r"),
            ("Target", "r")] + ([("vs live", "r")] if was else []) + [("Θ $/d", "r"), ("Drag %/yr", "r")]
    rows, trades = [], []
    for i, x in enumerate(a.layers):
        tr = x.trade
        acts = tr.action != "hold" and tr.contracts > 0
        if acts:
            trades.append(Text(f"L{x.layer} trade: {tr.action} {tr.contracts} {tr.instrument}", style="bold"))
        row = [f"L{x.layer}", f"{x.held:g}/{x.target}", f"{tr.action} {tr.contracts}" if acts else "hold",
               f"{tr.cost:,.0f}" if acts else "",
               Text(fmt.money(x.stress_pnl_held), style=pal.pnl(x.stress_pnl_held)),
               fmt.money(x.stress_pnl_target)]
        if was:
            row.append(fmt.chg(x.stress_pnl_held, was.layers[i].stress_pnl_held))
        row += [f"{x.theta:+,.0f}", f"{x.drag_pct:.2f}"]
        rows.append((row, pal.warn if x.dormant else None))
    return grid(cols, rows, title=f"Layers: stress P&L $ held and at target in {a.ratio.reference}"), trades


def body(live: Analysis, view: Analysis, pal: Palette, selected: int) -> Group:
    parts = [held_table(live, view, pal, selected)]
    a = view.alvh
    if a is None:
        parts.append(Text("hedge engine: n/a", style=pal.off))
        return Group(*parts)
    layers, trades = layers_table(a, live.alvh if not view.whatif.is_live else None, pal)
    parts += [layers, *trades]
    parts += [Text(f"L{x.layer} {x.note}", style=pal.warn if x.dormant else "")
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
