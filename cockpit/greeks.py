"""Pane 3: book, hedge and net Greeks (what-if and change vs live), the live theta R², and the
hedge ratio with its rules."""
from __future__ import annotations

from rich.console import Group
from rich.text import Text

from cockpit import fmt
from cockpit.pane import Palette, Pane, grid
from core.model.results import Analysis, HedgeRatio

ROWS = ("P&L $ open", "Realized $", "Total $", "Δ $/SPX pt", "β-wtd Δ", "Γ /SPX pt", "Θ $/day", "V SPX", "V VIX-opt", "+1 VIX $")
SPECS = ("+,.0f", "+,.0f", "+,.0f", "+,.1f", "+,.1f", "+.3f", "+,.0f", "+,.0f", "+,.0f", "+,.0f")
VXX_ROW = ("V VXX-opt", "+,.0f")  # only when VXX options are held
UNITS = ("V SPX: $/SPX vol pt", "V VIX-opt: $/VIX-opt vol pt", "+1 VIX $: $ per +1 VIX pt (spot-vol map)")


def _columns(a: Analysis) -> list[tuple]:
    """Condors, hedges, net: one value per row of ROWS (None: not comparable).
    Vega stays apart by unit (SPX vol points, VIX option vol points); the +1 VIX row is
    the one figure in common units, a reprice through the spot-vol map."""
    t = a.totals
    c, h = t.condor_greeks, t.hedge_greeks
    # hedges' own delta and gamma are per VIX point: only their SPX-equivalent delta adds up
    return [(t.condor_pnl, t.condor_realized, t.condor_pnl_total, c.delta, c.delta, c.gamma, c.theta,
             t.spx_vega, None, t.condor_vix_point, None),
            (t.hedge_pnl, t.hedge_realized, t.hedge_pnl_total, None, h.delta, None, h.theta, None, t.vix_vega,
             t.hedge_vix_point, t.vxx_vega),
            (t.pnl, t.realized, t.pnl_total, t.greeks.delta, t.beta_weighted_delta, t.greeks.gamma, t.greeks.theta,
             t.spx_vega, t.vix_vega, t.vix_point, t.vxx_vega)]


def greeks_table(live: Analysis, view: Analysis, pal: Palette):
    moved = fmt.moved(live, view)
    cols = [("", "l"), ("Condors", "r"), ("Hedges", "r"), ("Net", "r")] + ([("Net vs live", "r")] if moved else [])
    now, then = _columns(view), _columns(live)
    rows = []
    names = list(zip(ROWS, SPECS)) + ([VXX_ROW] if view.totals.vxx_vega or live.totals.vxx_vega else [])
    for r, (name, spec) in enumerate(names):
        cells = [Text(fmt.num(col[r], spec), style=pal.pnl(col[r]) if r < 3 else "") if col[r] is not None
                 else Text("—") for col in now]
        cells[2].stylize("bold")
        if moved:
            cells.append(Text(fmt.chg(now[2][r], then[2][r], spec)))
        rows.append(([name, *cells], None))
    return grid(cols, rows)


def ratio_lines(r: HedgeRatio, was: HedgeRatio | None, pal: Palette) -> list[Text]:
    cur = f"{r.current:.2f}" if r.current is not None else "n/a"
    if was is not None and r.current is not None and was.current is not None:
        d = fmt.chg(r.current, was.current, "+.2f")
        cur += f" ({d} vs live)" if d else ""
    gap = r.current is not None and r.current < r.target
    out = [Text.assemble(("Hedge ratio", "bold"), f" in {r.reference}"),
           Text.assemble(" current ", (cur, pal.warn if gap else pal.ok), f" · target {r.target:.2f}",
                         f" = base {r.base:.2f} × {r.multiplier:.2f}")]
    for rule in r.rules:
        mark, style = {True: ("✓", pal.ok), False: ("·", ""), None: ("?", pal.off)}[rule.fired]
        out.append(Text.assemble((f" {mark} {rule.name}", style), f"  {rule.effect}"))
        out.append(Text(f"     {rule.inputs}", style=pal.off))
    return out


def r2_line(r2, pal: Palette) -> Text:
    """The live book's theta R² (core.history.live_r2), or how many snapshot days it still needs;
    a str is why the snapshots could not be read."""
    if r2 is None or isinstance(r2, str):
        return Text(f"R² P&L on theta: snapshots not read ({r2 or 'no store'})", style=pal.off)
    if not r2.enough:
        return Text(f"R² needs {r2.window} days of snapshots (have {r2.days})", style=pal.off)

    def val(x):
        return ("n/a", pal.off) if x is None else (f"{x:.2f}", "bold")
    condors = val(r2.condors) if r2.condor_days >= r2.window else \
        (f"needs {r2.window} days (have {r2.condor_days})", pal.off)
    return Text.assemble(f"R² P&L on theta ({r2.window} d): condors ", condors, " · with hedges ", val(r2.book))


def body(live: Analysis, view: Analysis, pal: Palette, r2=None) -> Group:
    vxx = ["V VXX-opt: $/VXX-opt vol pt"] if view.totals.vxx_vega or live.totals.vxx_vega else []
    parts = [greeks_table(live, view, pal), r2_line(r2, pal), *(Text(u, style=pal.off) for u in (*UNITS, *vxx))]
    if view.alvh is None:
        parts.append(Text("hedge ratio: hedge engine n/a", style=pal.off))
    else:
        was = live.alvh.ratio if live.alvh and fmt.moved(live, view) else None
        parts += ratio_lines(view.alvh.ratio, was, pal)
    return Group(*parts)


class GreeksPane(Pane):
    number, title = 3, "Greeks"

    def refresh_from(self, live: Analysis, view: Analysis, pal: Palette, r2=None) -> None:
        """r2: the live theta R² (core.history.live_r2.LiveR2), or why it could not be read."""
        self.show((live, view, pal, r2), lambda: body(live, view, pal, r2))
