"""Scenario beta and buying power: every position repriced with SPX moved through the
spot-vol map (core.pricing.legs.market_state), Reg-T by formula, a portfolio-margin scan."""
from __future__ import annotations

import numpy as np

from core.model.inputs import Book, Hedge, Market, WhatIf
from core.model.instruments import MULT, SPX, VIX_OPT
from core.pricing.legs import Legs, by_position, leg_prices, market_state

BETA_STEP = 0.01  # SPX +-1 %
PM_POINTS = 11  # the scan range in 10 equal steps, both ends included
PM_MIN_PER_CONTRACT = 37.50  # $ a portfolio-margin requirement is at least, per SPX option contract


def position_values(legs: Legs, market: Market, book: Book, whatif: WhatIf, moves) -> np.ndarray:
    """$ value of each position (condors first, then hedges) with SPX moved by each of
    `moves` (fractions) on top of the what-if: shape (moves, positions)."""
    st = market_state(market, book.model, whatif, spx_move=np.asarray(moves, dtype=float))
    return by_position(leg_prices(legs, st) * (legs.units * legs.mult), legs)


def scenario_beta(legs: Legs, market: Market, book: Book, whatif: WhatIf) -> np.ndarray:
    """Each position's (P&L at SPX +1 % - P&L at SPX -1 %) / (2 % x equity): the beta of a
    tranche or of the book is the sum of its positions'."""
    v = position_values(legs, market, book, whatif, (-BETA_STEP, BETA_STEP))
    return (v[1] - v[0]) / (2 * BETA_STEP * book.equity)


def vol_beta(legs: Legs, market: Market, book: Book, whatif: WhatIf) -> float | None:
    """The hedges' % value change per 1 % SPX move (through the spot-vol map) over the
    index's 1 %: (V(+1 %) - V(-1 %)) / (2 % x V). None without hedges of positive value."""
    nc = len(book.condors)
    if not book.hedges:
        return None
    v = position_values(legs, market, book, whatif, (-BETA_STEP, 0.0, BETA_STEP))[:, nc:].sum(axis=1)
    return float((v[2] - v[0]) / (2 * BETA_STEP * v[1])) if v[1] > 0 else None


def reg_t_condor(width: float, credit: float, quantity: int) -> float:
    """Reg-T for a short iron condor: the wider side's width less the credit, x 100 x
    quantity (one side only: both cannot finish in the money)."""
    return (width - credit) * MULT[SPX] * quantity


def hedge_premium(h: Hedge) -> float:
    """$ net premium paid for a hedge's option legs (VIX and VXX options alike: 100 a point)."""
    return h.quantity * MULT[VIX_OPT] * sum(leg.ratio * leg.price for leg in h.legs if leg.kind != "vix_future")


def reg_t_hedge(h: Hedge, futures_margin: float) -> float:
    """A hedge's requirement: its option legs' net premium paid (long options are paid in
    full), and `futures_margin` $ per VIX future contract."""
    futures = sum(abs(leg.ratio) for leg in h.legs if leg.kind == "vix_future") * futures_margin
    return max(hedge_premium(h), 0.0) + futures * h.quantity


def portfolio_margin(legs: Legs, market: Market, book: Book, whatif: WhatIf,
                     range_pct: tuple[float, float]) -> tuple[float, float, int]:
    """The worst loss of the whole book over SPX moved from range_pct[0] to range_pct[1] %
    (PM_POINTS points, VIX by the spot-vol map), at least PM_MIN_PER_CONTRACT per SPX option
    contract still open at the valuation: (requirement $, the move where the loss is worst, the
    contracts counted)."""
    moves = np.linspace(range_pct[0] / 100, range_pct[1] / 100, PM_POINTS)
    v = position_values(legs, market, book, whatif, np.concatenate([[0.0], moves])).sum(axis=1)
    pnl = v[1:] - v[0]
    worst = int(np.argmin(pnl))
    t = market_state(market, book.model, whatif).t
    contracts = int(np.sum(np.abs(legs.units[(legs.underlying == SPX) & (legs.settle > t)])))  # settled legs hold none
    return max(-float(pnl[worst]), PM_MIN_PER_CONTRACT * contracts), float(moves[worst]), contracts

