"""Immutable results of one analysis. Units: $ unless named; index points for
marks and break-evens; delta $ per point of the underlying (SPX-equivalent when
beta-weighted), gamma per point, theta $ per calendar day, vega $ per vol point."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

import numpy as np

from core.model.inputs import Book, Condor, Hedge, HedgeLeg, Market, SignalInputs, WhatIf


def from_rows(cls, rows) -> list:
    """Instances of a frozen dataclass from rows of all its fields in order, set straight
    into each one's __dict__: the generated __init__ sets them one by one through
    object.__setattr__, which at 1,000 condors costs more than pricing them."""
    names, new, out = [f.name for f in fields(cls)], object.__new__, []
    n, append = len(names), out.append
    for row in rows:
        if len(row) != n:  # cheaper than zip(strict=True), which costs a third of the loop
            raise ValueError(f"{cls.__name__} row of {len(row)} values for {n} fields")
        x = new(cls)
        x.__dict__.update(zip(names, row))
        append(x)
    return out


@dataclass(frozen=True)
class GreekSet:
    delta: float = 0.0
    gamma: float = 0.0
    theta: float = 0.0
    vega: float = 0.0

    def __add__(self, other: GreekSet) -> GreekSet:
        return GreekSet(self.delta + other.delta, self.gamma + other.gamma,
                        self.theta + other.theta, self.vega + other.vega)


@dataclass(frozen=True)
class CondorResult:
    condor: Condor
    dte: float  # calendar days to settlement from the valuation time
    mark: float  # debit to close one condor, points
    pnl: float
    max_profit: float
    max_loss: float
    breakevens_expiry: tuple[float, ...]
    breakevens_t0: tuple[float, ...]
    greeks: GreekSet  # delta $/SPX pt
    distance_pct: float  # SPX to the nearest short strike, % of SPX
    distance_sd: float  # ... in standard deviations to expiry (short strike's vol)
    nearest_short: str  # "put" or "call"
    pnl_realized: float = 0.0  # $ from closes of this id already in the ledger
    close_mid: float | None = None  # debit to close one condor at the quotes' mids, points
    close_natural: float | None = None  # ... at the natural price: shorts at the ask, longs at the bid

    @property
    def pnl_lifetime(self) -> float:
        """Unrealized on what is open plus realized on what was closed, $."""
        return self.pnl + self.pnl_realized

    @property
    def slippage(self) -> float | None:
        """$ the natural close costs over the mid, the whole position (quoted legs only)."""
        if self.close_natural is None:
            return None
        return (self.close_natural - self.close_mid) * self.condor.quantity * 100


@dataclass(frozen=True)
class HedgeResult:
    hedge: Hedge
    days_left: float  # to the nearest leg's settlement
    mark: float  # value of one unit of the position: sum of ratio x leg price
    entry: float  # the same at entry prices
    value: float  # $
    pnl: float
    greeks: GreekSet  # delta against each leg's own future / VXX, $ per point
    beta_delta: float  # SPX-equivalent delta through the spot-vol map
    legs: tuple[tuple[float, float, float], ...]  # per leg: (underlying, vol, price)
    pnl_realized: float = 0.0  # $ from closes of this id already in the ledger
    close_mid: float | None = None  # debit to close one condor at the quotes' mids, points
    close_natural: float | None = None  # ... at the natural price: shorts at the ask, longs at the bid

    @property
    def pnl_lifetime(self) -> float:
        """Unrealized on what is open plus realized on what was closed, $."""
        return self.pnl + self.pnl_realized

    @property
    def slippage(self) -> float | None:
        """$ the natural close costs over the mid, the whole position (quoted legs only)."""
        if self.close_natural is None:
            return None
        return (self.close_natural - self.close_mid) * self.condor.quantity * 100


@dataclass(frozen=True)
class BookResult:
    pnl: float
    condor_pnl: float
    hedge_pnl: float
    condor_greeks: GreekSet
    hedge_greeks: GreekSet  # delta is SPX-equivalent (beta-weighted)
    greeks: GreekSet  # SPX legs' delta and gamma; theta and vega of every leg
    beta_weighted_delta: float  # every leg in SPX-equivalent $ per SPX point
    breakevens_expiry: tuple[float, ...]  # condor book, each condor at its own expiry
    breakevens_t0: tuple[float, ...]  # condor book at the valuation time, vol per strike
    realized: float = 0.0  # $: the whole ledger, open ids and gone ones alike
    condor_realized: float = 0.0  # the ledger's condor records
    hedge_realized: float = 0.0  # the ledger's hedge records
    # greeks.vega sums unlike units (kept for old readers); these keep them apart:
    spx_vega: float = 0.0  # SPX legs, $ per SPX vol point
    vix_vega: float = 0.0  # VIX option legs, $ per point of VIX option vol
    vxx_vega: float = 0.0  # VXX option legs, $ per point of VXX option vol
    # one common figure: $ per +1 VIX point through the spot-vol map (a reprice: VIX + 1,
    # futures + e^(-kappa T), SPX vols x VIX'/VIX, VXX x (VIX'/VIX)^exponent, SPX unchanged)
    vix_point: float = 0.0
    condor_vix_point: float = 0.0
    hedge_vix_point: float = 0.0

    @property
    def pnl_total(self) -> float:
        """Unrealized plus realized, $."""
        return self.pnl + self.realized

    @property
    def condor_pnl_total(self) -> float:
        return self.condor_pnl + self.condor_realized

    @property
    def hedge_pnl_total(self) -> float:
        return self.hedge_pnl + self.hedge_realized


@dataclass(frozen=True)
class Valuation:
    """Where the analysis priced: live market or the what-if."""
    time: datetime
    spx: float
    vix: float
    vxx: float | None
    vol_scale: float  # SPX implied vols were multiplied by this


@dataclass(frozen=True)
class StressResult:
    name: str
    spx_move: float  # fraction
    days: float
    vix: float  # spot VIX in the scenario
    book_pnl: float  # condors
    hedge_pnl: float
    layer_pnl: tuple[float, float, float]  # hedges of L1, L2, L3
    package_pnl: float


@dataclass(frozen=True)
class RuleResult:
    name: str  # "R1 breadth + vol momentum", ...
    fired: bool | None  # None: an input is unknown, so it does not fire
    effect: str  # what it does when fired: "+0.35", "x1.15", "L1 target 0", "L1 active"
    inputs: str  # the values it read, in words


@dataclass(frozen=True)
class HedgeRatio:
    current: float | None  # hedge P&L / |condor P&L| in the reference stress; None: n/a
    target: float
    base: float
    multiplier: float
    reference: str  # stress name
    rules: tuple[RuleResult, ...]


@dataclass(frozen=True)
class Trade:
    action: str  # "buy", "sell", or "close" (a short hedge bought back)
    contracts: int  # whole position units, never negative
    instrument: str  # e.g. "VIX 2027-01-20 20/30 call spread"
    legs: tuple[HedgeLeg, ...]  # per position unit, priced at the live mark
    cost: float  # $ paid (negative: received)
    theta: float = 0.0  # $/day the trade adds to the hedge's theta (a sell takes its share off)
    stress_gain: float = 0.0  # $ the trade adds in the reference stress (a sell: negative)
    hedge_id: str | None = None  # a sell: the held hedge it closes from
    drag: float = 0.0  # $/yr the trade adds to the hedge's drag (theta and the futures' roll-down)
    at_risk: float = 0.0  # $ it adds to the premium at risk (a future: its worst-stress loss)
    own_gain: float = 0.0  # $ it adds in its layer's own stress


@dataclass(frozen=True)
class RollAlert:
    hedge_id: str
    layer: int
    expiry: str  # the leg's expiry, ISO
    days_left: float
    roll_to: str  # suggested expiry, ISO
    cost: float  # estimated $ to roll the whole position (negative: credit)


@dataclass(frozen=True)
class Candidate:
    """One unit of an instrument a layer could buy, in the layer's own stress."""
    instrument: str
    gain: float  # $ per unit in the layer's stress
    drag_pct: float  # %/yr of equity per unit
    premium: float  # $ per unit (a future: none, margin)
    gain_per_drag: float  # $ of stress gain per $/yr of drag (inf: no drag)


@dataclass(frozen=True)
class LayerResult:
    layer: int
    name: str  # "short-term engine", ...
    instrument: str  # the chosen candidate: the most stress gain per $ of drag
    target: int  # units of the chosen instrument that would cover the want alone
    trades: tuple[Trade, ...]  # a buy, or sells of held hedges (worst gain per drag first)
    dormant: bool  # R3 set the target to zero
    stress_pnl_held: float  # $ the layer's held hedges gain in its own stress (`stress`)
    stress_pnl_target: float  # ... and what the layer is meant to cover there (its want)
    theta: float  # $/day of what is held
    drag_pct: float  # theta x 365 as % of equity, per year (positive = cost)
    note: str = ""
    stress: str = ""  # the [[stress]] this layer is sized against
    coverage: float | None = None  # after the trades: layer gain / condor loss, in its own stress
    target_coverage: float | None = None  # its want / condor loss there
    candidates: tuple[Candidate, ...] = ()  # the chosen one and the next two


@dataclass(frozen=True)
class RiskCurve:
    """Package P&L along SPX with the spot-vol map (for the risk graph)."""
    spx: np.ndarray
    t0: np.ndarray
    horizon: np.ndarray  # at the horizon date, VIX legs at their remaining time
    expiry: np.ndarray  # condors at their own expiry payoff, hedges at the horizon
    t0_spx: np.ndarray  # t0's own levels: the grid without the horizon's kinks (T+0 is smooth there)


@dataclass(frozen=True)
class ParityBreak:
    underlying: str  # "SPX" or "VIX"
    expiry: str
    strike: float
    deviation: float  # (C - P) - parity value, points


@dataclass(frozen=True)
class AlvhResult:
    stress: tuple[StressResult, ...]
    ratio: HedgeRatio
    layers: tuple[LayerResult, LayerResult, LayerResult]
    drag_pct: float  # all hedges, %/yr of equity
    drag_warning: str | None
    rolls: tuple[RollAlert, ...]
    horizon: str  # ISO date of the package horizon
    breakevens_t0: tuple[float, ...]  # package (condors + hedges)
    breakevens_horizon: tuple[float, ...]
    curve: RiskCurve
    parity: tuple[ParityBreak, ...]
    signals: SignalInputs
    worst: StressResult  # the stress the whole package loses most in
    drag_pct_after: float  # %/yr of equity once the proposed trades are done
    premium_pct_after: float  # premium at risk (options' value, futures' worst-stress loss), % of equity, after them
    coverage_after: float | None  # the hedge ratio in the reference stress after them
    drag_budget_pct: float
    premium_cap_pct: float
    limited: bool  # the drag budget or the premium cap held coverage below the target
    forced: bool = False  # R4 keeps an L1 that alone breaks a budget: it is counted outside it

    @property
    def over_budget(self) -> bool:
        """The proposed set ends above the drag budget or the premium cap (the cockpit then
        asks twice). The solver keeps within both unless R4 holds an L1 that breaks them."""
        return (self.drag_pct_after > self.drag_budget_pct + 1e-9
                or self.premium_pct_after > self.premium_cap_pct + 1e-9)

    @property
    def budget_line(self) -> str | None:
        """Said when a budget held the hedge below its target."""
        if self.forced:
            return (f"over budget: R4 (event risk) keeps L1, which alone breaks the budget; the other"
                    f" layers are sized within it beside L1 (drag {self.drag_pct_after:.1f} %/yr of"
                    f" {self.drag_budget_pct:g}, premium at risk {self.premium_pct_after:.1f}% of {self.premium_cap_pct:g})")
        if not self.limited:
            return None
        cov = "n/a" if self.coverage_after is None else f"{self.coverage_after:.2f}"
        return (f"coverage {cov} of target {self.ratio.target:.2f} — budget-limited (drag"
                f" {self.drag_pct_after:.1f} %/yr of {self.drag_budget_pct:g}, premium at risk"
                f" {self.premium_pct_after:.1f}% of {self.premium_cap_pct:g})")

    @property
    def upside_note(self) -> str | None:
        """Said when the package's worst stress is a rise: ALVH pays in falls only."""
        w = self.worst
        if w.spx_move <= 0 or w.package_pnl >= 0:
            return None
        return (f"worst stress: {w.name} ({w.package_pnl:+,.0f} $, SPX up): ALVH hedges falls"
                " only and does not cover it")


@dataclass(frozen=True)
class Analysis:
    book: Book
    market: Market
    whatif: WhatIf
    at: Valuation
    condors: tuple[CondorResult, ...]
    hedges: tuple[HedgeResult, ...]
    totals: BookResult
    assumptions: tuple[str, ...]
    alvh: AlvhResult | None = None  # the hedge engine's view; None without condors or hedges
