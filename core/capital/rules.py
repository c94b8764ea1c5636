"""The caps and rules: each a pass / warn / fail line that carries its numbers."""
from __future__ import annotations

from dataclasses import dataclass

PASS, WARN, FAIL = "pass", "warn", "fail"


@dataclass(frozen=True)
class Rule:
    name: str
    status: str  # PASS, WARN or FAIL
    line: str  # the figures and the threshold, in words

    @property
    def text(self) -> str:
        return f"{self.status.upper()} {self.name}: {self.line}"


def expirations(count: int, band: tuple[int, int]) -> Rule:
    """Concurrent condor expirations inside the band pass; fewer or more warn."""
    lo, hi = band
    ok = lo <= count <= hi
    why = "" if ok else (": concentrated in time" if count < lo else ": more than the book sets")
    return Rule("expirations", PASS if ok else WARN, f"{count} concurrent condor expirations (band {lo}–{hi}){why}")


def cap_in_force(wacc_pct: float, trigger_pct: float, caps: tuple[float, float]) -> float | None:
    """The tranche max loss the cap allows, % of equity: its pass level while WACC is above
    the trigger; None (no cap) at or below it."""
    return caps[0] if wacc_pct > trigger_pct else None


def tranche_cap(notional: list[tuple[str, float]], wacc_pct: float, trigger_pct: float,
                caps: tuple[float, float]) -> Rule:
    """When WACC is above the trigger, each tranche's max loss as % of equity: at most
    caps[0] pass, at most caps[1] warn, above it fail. At or below the trigger: pass."""
    ok, warn = caps
    if not notional:
        return Rule("tranche cap", PASS, "no condor tranches")
    label, worst = max(notional, key=lambda x: x[1])
    figures = f"largest tranche {label} max loss {worst:.2f}% of equity (pass <= {ok:g}%, warn <= {warn:g}%)"
    if cap_in_force(wacc_pct, trigger_pct, caps) is None:
        return Rule("tranche cap", PASS, f"not in force: WACC {wacc_pct:.2f}% <= {trigger_pct:g}%; {figures}")
    status = PASS if worst <= ok else WARN if worst <= warn else FAIL
    return Rule("tranche cap", status, f"in force: WACC {wacc_pct:.2f}% > {trigger_pct:g}%; {figures}")


def beta_band(beta: float, band: tuple[float, float]) -> Rule:
    """The book's scenario beta inside its band passes; outside warns."""
    lo, hi = band
    ok = lo <= beta <= hi
    return Rule("book beta", PASS if ok else WARN,
                f"{beta:+.3f} {'inside' if ok else 'outside'} the band {lo:g} to {hi:g}")


def drag(drag_pct: float | None, budget_pct: float) -> Rule:
    """The hedges' drag (held now, %/yr of equity) within the budget passes; above fails."""
    if drag_pct is None:
        return Rule("hedge drag", PASS, "no hedges or condors: no drag")
    ok = drag_pct <= budget_pct + 1e-9
    return Rule("hedge drag", PASS if ok else FAIL,
                f"{drag_pct:.2f} %/yr of equity {'within' if ok else 'over'} the {budget_pct:g} %/yr budget")


def spread(spread_bp: float | None, band: tuple[float, float]) -> Rule:
    """The book's expected IRR less WACC: at least the band's low end passes, 0 up to it
    warns, below 0 (the book earns less than its capital costs) fails."""
    lo, hi = band
    if spread_bp is None:
        return Rule("IRR - WACC", WARN, f"n/a: no IRR (target {lo:g}–{hi:g} bp)")
    status = PASS if spread_bp >= lo else WARN if spread_bp >= 0 else FAIL
    return Rule("IRR - WACC", status, f"{spread_bp:+,.0f} bp (target {lo:g}–{hi:g} bp)")
