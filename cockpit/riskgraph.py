"""Pane 5: package P&L against SPX (T+0, horizon, expiry) with break-evens and spot, stress beside it."""
from __future__ import annotations

import math

from rich.text import Text
from textual.containers import Horizontal
from textual.strip import Strip
from textual_plotext import PlotextPlot

from cockpit import fmt
from cockpit.pane import Lines, Palette, Pane, Steady, grid
from core.model.results import Analysis


def stress_table(live: Analysis, view: Analysis, pal: Palette):
    if view.alvh is None:
        return Text("stress: hedge engine n/a", style=pal.off)
    moved = fmt.moved(live, view) and live.alvh is not None
    rows = []
    for i, s in enumerate(view.alvh.stress):
        row = [f"{s.name}", Text(fmt.money(s.package_pnl), style=pal.pnl(s.package_pnl))]
        if moved:
            row.append(fmt.chg(s.package_pnl, live.alvh.stress[i].package_pnl))
        rows.append((row, None))
    t = grid([("Stress", "l"), ("Package $", "r")] + ([("vs live", "r")] if moved else []), rows)
    a = view.alvh
    return Lines([*t, Text("Package break-evens"), Text(f" T+0 {fmt.pair(a.breakevens_t0)}"),
                      Text(f" {a.horizon} {fmt.pair(a.breakevens_horizon)}")])


PLOT_DELAY = 0.15  # s


class Plot(PlotextPlot):
    """The plotext plot; while a redraw is pending (keys still coming), a resize (the stress
    list beside it widens for its vs-live column) shows the last picture cropped or padded
    instead of rebuilding it (~6 ms) from numbers about to be replaced."""
    pending = False

    def __init__(self) -> None:
        super().__init__()
        self._shown: dict[int, Strip] = {}  # the last picture drawn, by line

    def render_line(self, y: int) -> Strip:
        if not self.pending or y not in self._shown:
            self._shown[y] = super().render_line(y)
        return self._shown[y]  # Textual crops or pads it to the width


def nice_ticks(lo: float, hi: float, count: int = 6) -> list[float]:
    """Round-number ticks inside lo..hi: a step of 1, 2, 2.5 or 5 x 10^k, the one nearest
    (hi - lo) / (count - 1), every tick a multiple of it (so 0 is one when lo <= 0 <= hi)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = min((m * power for m in (1, 2, 2.5, 5, 10)), key=lambda s: abs(math.log(s / raw)))
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    return [k * step + 0.0 for k in range(first, last + 1)]  # + 0.0: never a -0.0 tick


def money_tick(x: float) -> str:
    """A y-axis label: 0 as 0, thousands as k ("-20k", "+2.5k"), else whole dollars."""
    if x == 0:
        return "0"
    return f"{x / 1000:+,g}k" if abs(x) >= 1000 else f"{x:+,.0f}"


class RiskPane(Pane):
    DEFAULT_CSS = """
    RiskPane { overflow: hidden auto; }
    RiskPane Horizontal { height: 1fr; min-height: 12; }
    RiskPane Plot { width: 1fr; min-width: 30; }
    RiskPane Horizontal > Static { width: auto; padding-left: 1; }
    """
    number, title = 5, "Risk graph"

    def make_body(self) -> Steady:
        return Steady()  # beside the plot, as wide as the stress list

    def compose(self):
        with Horizontal():
            self.plot = Plot()
            yield self.plot
            yield self.body

    def refresh_from(self, live: Analysis, view: Analysis, pal: Palette) -> None:
        self.show((live, view, pal), lambda: stress_table(live, view, pal))
        last = getattr(self, "_plotted", None)
        first = last is None
        if first or last[0] is not live or last[1] is not view:
            self._plotted = (live, view)
            if first:
                self._draw(live, view)
                return
            # the plot costs ~20 ms: draw it once keys pause, the numbers repaint at once
            if getattr(self, "_timer", None):
                self._timer.stop()
            self.plot.pending = True
            self._timer = self.set_timer(PLOT_DELAY, lambda: self._draw(live, view))

    def _draw(self, live: Analysis, view: Analysis) -> None:
        self.plot.pending = False
        plt = self.plot.plt
        plt.clear_data()
        plt.clear_figure()
        a = view.alvh
        if a is None:
            plt.title("risk graph: hedge engine n/a")
            self.plot.refresh()
            return
        c = a.curve
        keep, keep0 = _window(c.spx, view), _window(c.t0_spx, view)
        x = c.spx[keep].tolist()
        plt.plot(c.t0_spx[keep0].tolist(), c.t0[keep0].tolist(), label="T+0", marker="braille")
        plt.plot(x, c.horizon[keep].tolist(), label=f"{a.horizon}", marker="braille")
        plt.plot(x, c.expiry[keep].tolist(), label="expiry", marker="braille")
        plt.hline(0)
        plt.vline(view.at.spx)
        if not view.whatif.is_live:
            plt.vline(live.at.spx)
        be = [b for b in a.breakevens_t0 if x and x[0] <= b <= x[-1]]
        if be:
            plt.scatter(be, [0] * len(be), marker="x")
        plt.title(f"Package P&L $ vs SPX · spot {view.at.spx:,.0f}" +
                  ("" if view.whatif.is_live else f" (live {live.at.spx:,.0f})"))
        plt.xlabel("SPX")
        ys = c.t0[keep0].tolist() + [y for curve in (c.horizon, c.expiry) for y in curve[keep].tolist()]
        lo, hi = min(ys + [0.0]), max(ys + [0.0])  # the zero line is always on the plot
        ticks = nice_ticks(lo, hi)
        plt.ylim(min(lo, ticks[0]), max(hi, ticks[-1]))
        plt.yticks(ticks, [money_tick(t) for t in ticks])
        xt = nice_ticks(x[0], x[-1], 4)
        plt.xticks(xt, [f"{t:,.0f}" for t in xt])
        self.plot.refresh()


def _window(spx, view: Analysis):
    """The SPX span worth looking at: the condors' wings and spot, with a margin."""
    import numpy as np
    cs = view.book.condors
    lo = min([view.at.spx] + [c.long_put for c in cs]) * 0.97
    hi = max([view.at.spx] + [c.long_call for c in cs]) * 1.03
    keep = (spx >= lo) & (spx <= hi)
    return keep if keep.sum() >= 2 else np.ones_like(spx, dtype=bool)
