"""Immutable results of one analysis. Units: $ unless named; index points for
marks and break-evens; delta $ per point of the underlying (SPX-equivalent when
beta-weighted), gamma per point, theta $ per calendar day, vega $ per vol point."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.model import Book, Condor, Hedge, Market, WhatIf


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


@dataclass(frozen=True)
class Valuation:
    """Where the analysis priced: live market or the what-if."""
    time: datetime
    spx: float
    vix: float
    vxx: float | None
    vol_scale: float  # SPX implied vols were multiplied by this


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
