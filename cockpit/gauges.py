"""Pane 4: signal gauges from the history store (or the DEMO history), each with its threshold and state."""
from __future__ import annotations

from rich.console import Group
from rich.text import Text

from cockpit.pane import Palette, Pane, grid

# name -> (label, gauge scale low, high, value format); None scale: no bar
GAUGES = {
    "vix_rsi": ("VIX RSI", (0, 100), ".0f"),
    "term_rsi": ("Term RSI", (0, 100), ".0f"),
    "macd": ("MACD", None, "+.1f"),
    "ad_divergence": ("A/D div", None, ""),
    "term_structure": ("VIX/VIX3M", (0.7, 1.3), ".3f"),
    "vx1_vx2": ("VX1/VX2", (0.7, 1.3), ".3f"),
    "vix_percentile": ("VIX pct", (0, 100), ".0f"),
    "vrp": ("VRP", (-10, 10), "+.1f"),
    "next_fomc": ("FOMC in", (0, 30), ".0f"),
    "next_cpi": ("CPI in", (0, 30), ".0f"),
    "next_ppi": ("PPI in", (0, 30), ".0f"),
}
ALERT = {"overbought", "backwardation", "bearish", "imminent", "negative", "high"}
WARN = {"oversold", "elevated"}
BAR = 8


def bar(value: float, threshold: float | None, lo: float, hi: float) -> str:
    """A fixed-width bar with the threshold marked │ (display scaling only)."""
    def cell(x):
        return min(BAR - 1, max(0, int((x - lo) / (hi - lo) * BAR)))
    filled = cell(value) + 1
    chars = ["█" if i < filled else "░" for i in range(BAR)]
    if threshold is not None and lo <= threshold <= hi:
        chars[cell(threshold)] = "│"
    return "".join(chars)


def state_style(state: str, pal: Palette) -> str:
    if state == "unknown":
        return pal.off
    return pal.alert if state in ALERT else pal.warn if state in WARN else pal.ok


def body(sset, error: str | None, pal: Palette) -> Group:
    if sset is None:
        return Group(Text(error or "signals: loading…", style=pal.alert if error else pal.off))
    rows = []
    for s in sset.signals:
        label, scale, spec = GAUGES.get(s.name, (s.name, None, ""))
        style = state_style(s.state, pal)
        if s.value is None:
            rows.append(([label, Text("no data", style=pal.off), "", _num(s.threshold, spec),
                          Text(s.state, style=style)], None))
            continue
        days = s.name.startswith("next_")
        value = f"{s.value:{spec}}" + (" d" if days else "") if spec else str(s.value)
        gauge = bar(s.value, s.threshold, *scale) if scale and not days else \
            s.note.split(",")[0] if days else ""
        rows.append(([label, gauge, value, _num(s.threshold, spec), Text(s.state, style=style)], None))
    t = grid([("Signal", "l"), ("Gauge", "l"), ("Value", "r"), ("Thr", "r"), ("State", "l")], rows)
    demo = Text(" DEMO history ", style="reverse") if sset.demo else Text("")
    head = Text.assemble(demo, (f" Regime {sset.regime}", "bold"),
                         f" · data to {sset.as_of}" if sset.as_of else " · no data", f"\n{sset.regime_note}")
    notes = [Text(f" {s.name}: {s.note}", style=pal.off) for s in sset.signals if s.value is None]
    return Group(head, t, *notes)


def _num(x, spec: str) -> str:
    return "" if x is None else f"{x:{spec or 'g'}}"


class GaugesPane(Pane):
    number, title = 4, "Signal gauges"

    def refresh_from(self, sset, error: str | None, pal: Palette) -> None:
        self.show((sset, error, pal), lambda: body(sset, error, pal))
