"""Pane 4: signal gauges from the history store (or the DEMO history), each with its threshold and state."""
from __future__ import annotations

from rich.console import Group
from rich.text import Text

from cockpit.pane import Palette, Pane, grid
from core.history.signals import Thresholds

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
_T = Thresholds()  # what core.history.signals.compute_signals compares against
# two-sided signals: the state word comes from the low side (<= low) or the high one (>= high),
# while a Signal carries only the high threshold: show and mark both
BANDS = {"vix_rsi": (_T.rsi_low, _T.rsi_high), "term_rsi": (_T.rsi_low, _T.rsi_high),
         "vix_percentile": (_T.percentile_low, _T.percentile_high)}
ALERT = {"overbought", "backwardation", "bearish", "imminent", "negative", "high"}
WARN = {"oversold", "elevated"}
BAR = 8


def bar(value: float, threshold, lo: float, hi: float) -> str:
    """A fixed-width bar with the threshold (or each of a band's two) marked │ (display scaling only)."""
    def cell(x):
        return min(BAR - 1, max(0, int((x - lo) / (hi - lo) * BAR)))
    filled = cell(value) + 1
    chars = ["█" if i < filled else "░" for i in range(BAR)]
    for t in threshold if isinstance(threshold, tuple) else (threshold,):
        if t is not None and lo <= t <= hi:
            chars[cell(t)] = "│"
    return "".join(chars)


def shown_value(value: float, spec: str, marks) -> str:
    """The value in `spec`, with more decimals when rounding would make it read as equal to a
    threshold it is not (69.6 against 70 shows 69.6, not 70): the state word then agrees."""
    text = f"{value:{spec}}"
    head, _, digits = spec.rpartition(".")
    if not digits.endswith("f"):
        return text
    places = int(digits[:-1] or 0)
    for extra in range(1, 4):
        if not any(m is not None and m != value and f"{m:{spec}}" == text for m in marks):
            break
        spec = f"{head}.{places + extra}f"
        text = f"{value:{spec}}"
    return text


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
            rows.append(([label, Text("no data", style=pal.off), "", _thr(s.name, s.threshold, spec),
                          Text(s.state, style=style)], None))
            continue
        days = s.name.startswith("next_")
        band = BANDS.get(s.name)
        marks = band or (s.threshold,)
        value = shown_value(s.value, spec, marks) + (" d" if days else "") if spec else str(s.value)
        gauge = bar(s.value, band or s.threshold, *scale) if scale and not days else \
            s.note.split(",")[0] if days else ""
        rows.append(([label, gauge, value, _thr(s.name, s.threshold, spec), Text(s.state, style=style)], None))
    t = grid([("Signal", "l"), ("Gauge", "l"), ("Value", "r"), ("Thr", "r"), ("State", "l")], rows)
    demo = Text(" DEMO history ", style="reverse") if sset.demo else Text("")
    head = Text.assemble(demo, (f" Regime {sset.regime}", "bold"),
                         f" · data to {sset.as_of}" if sset.as_of else " · no data", f"\n{sset.regime_note}")
    notes = [Text(f" {s.name}: {s.note}", style=pal.off) for s in sset.signals if s.value is None]
    return Group(head, t, *notes)


def _num(x, spec: str) -> str:
    return "" if x is None else f"{x:{spec or 'g'}}"


def _thr(name: str, threshold, spec: str) -> str:
    """The threshold the state is decided by: "30/70" for a two-sided band."""
    band = BANDS.get(name)
    return "/".join(_num(t, spec) for t in band) if band else _num(threshold, spec)


class GaugesPane(Pane):
    number, title = 4, "Signal gauges"

    def refresh_from(self, sset, error: str | None, pal: Palette) -> None:
        self.show((sset, error, pal), lambda: body(sset, error, pal))
