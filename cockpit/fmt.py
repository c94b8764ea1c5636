"""Text formats shared by the report and the panes (display only, no finance)."""
from __future__ import annotations

import math

from core.model.inputs import Condor
from core.model.results import Analysis, CondorResult, HedgeResult


def num(x: float, spec: str) -> str:
    """x in `spec`, except that what rounds to zero prints as a plain 0 (never -0, -0.00)."""
    text = f"{x:{spec}}"
    if text.strip().lstrip("+-").strip("0.,") == "":
        return f"{0.0:{spec.replace('+', '')}}"
    return text


def money(x: float) -> str:
    """Dollars: signed, thousands separated, whole dollars ("-1,746"; zero is "0")."""
    return num(x, "+,.0f")


def dte(days: float) -> str:
    """Days to expiry, one decimal; once past settlement "expired" (never a negative count)."""
    return "expired" if days < 0 else num(days, ".1f")


def levels(xs) -> str:
    return " / ".join(f"{x:,.1f}" for x in xs) if xs else "none"


def strikes(c: Condor) -> str:
    return f"{c.long_put:g}/{c.short_put:g}·{c.short_call:g}/{c.long_call:g}"


def sigmas(c: CondorResult) -> str:
    """Distance to the nearer short in standard deviations; none left once expired."""
    return f"{c.distance_sd:.1f}σ" if math.isfinite(c.distance_sd) else "expired"


def distance(c: CondorResult) -> str:
    return f"{c.distance_pct:+.1f}% {sigmas(c)} {c.nearest_short}"


def legs(h: HedgeResult) -> str:
    parts = []
    for leg in h.hedge.legs:
        under, what = leg.kind.split("_")
        code = {"call": "C", "put": "P", "future": "F"}[what]
        strike = f"{leg.strike:g}" if leg.strike is not None else ""
        parts.append(f"{leg.ratio:+g} {under.upper()} {code}{strike} {leg.expiry:%b%d}")
    return " ".join(parts)


def proposed(live: Analysis, view: Analysis) -> tuple[CondorResult, ...]:
    """The view's condors that live does not hold: the proposed one (n), not in the book."""
    held = {c.condor.id for c in live.condors}
    return tuple(c for c in view.condors if c.condor.id not in held)


def moved(live: Analysis, view: Analysis) -> bool:
    """The view is not live: a what-if move, or a proposed condor."""
    return not view.whatif.is_live or len(view.condors) != len(live.condors)


def whatif(a: Analysis, proposed: int = 0) -> str:
    w = a.whatif
    if w.is_live and not proposed:
        return "live"
    bits = [f"+{proposed} proposed condor{'s' if proposed > 1 else ''}"] if proposed else []
    if w.spx_move:
        bits.append(f"SPX {w.spx_move:+.1%}")
    if w.vix_move:
        bits.append(f"VIX {w.vix_move:+g} pt")
    if w.days:
        bits.append(f"{w.days:+g} d")
    return "WHAT-IF " + " ".join(bits)


def headline(a: Analysis) -> str:
    demo = "[reverse] DEMO [/reverse] " if (a.book.demo or a.market.demo) else ""
    m = a.market
    vix3m = f" · VIX3M {m.vix3m:.2f}" if m.vix3m else ""
    return (f"{demo}[b]ALVH[/b] as of {m.as_of:%Y-%m-%d %H:%M} New York · valued {a.at.time:%Y-%m-%d %H:%M}"
            f" · SPX {a.at.spx:,.2f} · VIX {a.at.vix:.2f}{vix3m} · {whatif(a)}")


def chg(new: float, old: float, spec: str = "+,.0f") -> str:
    """The what-if's change against live, or nothing when it did not move."""
    d = new - old
    return "" if f"{d:{spec}}".lstrip("+-").strip("0.,") == "" else f"{d:{spec}}"


def age(seconds: float) -> str:
    """'3m', '5h 12m', '2d 4h': how old the market data is."""
    m = int(abs(seconds) // 60)
    d, h, m = m // 1440, m // 60 % 24, m % 60
    text = f"{d}d {h}h" if d else f"{h}h {m}m" if h else f"{m}m"
    return text if seconds >= 0 else f"{text} ahead"


def pair(xs) -> str:
    """Break-evens in whole points, low/high: '6587/7063'."""
    return "/".join(f"{x:.0f}" for x in xs) if xs else "none"


def legs_short(h: HedgeResult) -> str:
    """Compact legs: 'VIX Jan20 +C20 -C30' when they share underlying and expiry."""
    ls = h.hedge.legs
    if len({(leg.kind.split("_")[0], leg.expiry) for leg in ls}) != 1:
        return legs(h)
    parts = []
    for leg in ls:
        code = {"call": "C", "put": "P", "future": "F"}[leg.kind.split("_")[1]]
        size = "" if abs(leg.ratio) == 1 else f"{abs(leg.ratio):g}"
        parts.append(f"{'+' if leg.ratio > 0 else '-'}{size}{code}{'' if leg.strike is None else f'{leg.strike:g}'}")
    return f"{ls[0].kind.split('_')[0].upper()} {ls[0].expiry:%b%d} " + " ".join(parts)


def value(x) -> str:
    """A signal value or threshold: numbers to two decimals, dates as ISO, None as a dash."""
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:,.2f}"
    return str(x)


def short_money(x: float) -> str:
    """Axis labels: +14.5k rather than 14524.5."""
    return f"{x / 1000:+.1f}k" if abs(x) >= 1000 else f"{x:+.0f}"


def trade(t) -> str:
    """"buy 5 VIX 2027-01-20 21/31 call spread", "sell 4 L1-Nov25-19C (VIX ...)"."""
    return f"{t.action} {t.contracts} {t.instrument}"


def trades_short(trades) -> str:
    """A layer's trades in a table cell: contracts of different instruments are not added."""
    if not trades:
        return "hold"
    return f"{trades[0].action} {trades[0].contracts}" if len(trades) == 1 else f"{len(trades)} trades"


def coverage(layer) -> str:
    """A layer's coverage after its trades against its target, in its own stress."""
    if layer.coverage is None:
        return "n/a"
    return f"{num(layer.coverage, '.2f')}/{num(layer.target_coverage, '.2f')}"


def candidate(c) -> str:
    """One unit of a candidate: gain in the layer's stress, drag, and gain per $ of drag."""
    return (f"{c.instrument}: {money(c.gain)} $ for {money(c.premium)} $ premium, drag {c.drag_pct:.3f} %/yr,"
            f" {per_drag(c)}")


def per_drag(c) -> str:
    """$ of stress gain per $/yr of drag; a theta-positive hedge has none to divide by."""
    if c.gain_per_drag != float("inf"):
        return f"{c.gain_per_drag:,.2f} $ per $/yr"
    return "earns theta" if c.drag_pct < 0 else "no drag"

