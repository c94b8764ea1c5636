"""Text formats shared by the report and the panes (display only, no finance)."""
from __future__ import annotations

from core.model import Condor
from core.results import Analysis, CondorResult, HedgeResult


def money(x: float) -> str:
    return f"{x:+,.0f}"


def levels(xs) -> str:
    return " / ".join(f"{x:,.1f}" for x in xs) if xs else "none"


def strikes(c: Condor) -> str:
    return f"{c.long_put:g}/{c.short_put:g}·{c.short_call:g}/{c.long_call:g}"


def distance(c: CondorResult) -> str:
    return f"{c.distance_pct:+.1f}% {c.distance_sd:+.1f}σ {c.nearest_short}"


def legs(h: HedgeResult) -> str:
    parts = []
    for leg in h.hedge.legs:
        under, what = leg.kind.split("_")
        code = {"call": "C", "put": "P", "future": "F"}[what]
        strike = f"{leg.strike:g}" if leg.strike is not None else ""
        parts.append(f"{leg.ratio:+g} {under.upper()} {code}{strike} {leg.expiry:%b%d}")
    return " ".join(parts)


def whatif(a: Analysis) -> str:
    w = a.whatif
    if w.is_live:
        return "live"
    bits = []
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
