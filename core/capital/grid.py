"""The SPX x VIX scenario grid: the package's P&L (condors + hedges, $, change from now) with
SPX moved and spot VIX set to a level, at T+0 and at the what-if date; and the spot-vol
map's own path through it (the VIX it gives for each SPX move).

Each cell is every leg repriced once, all cells in one call, by the same market state the
engine's stresses use (core.pricing.legs.market_state with VIX fixed): futures take
exp(-kappa T) of spot VIX's move, SPX vols scale with VIX'/VIX, VXX follows its exponent.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.model.inputs import Book, Market
from core.pricing.legs import build_legs, by_position, distinct_legs, leg_prices, market_state, spot_vol

SPX_MOVES = tuple(x / 1000 for x in range(-200, 101, 25))  # fractions of SPX, -20 % to +10 %
VIX_SHIFTS = tuple(float(x) for x in range(-5, 31, 5))  # spot VIX points from now
VIX_FLOOR = 0.01  # a shift below zero VIX stops here, as the engine's what-if does


@dataclass(frozen=True)
class Grid:
    spx_moves: tuple[float, ...]  # rows: SPX' = SPX (1 + move)
    vix_shifts: tuple[float, ...]  # columns: VIX' = VIX + shift (floored)
    spx: float  # the levels now
    vix: float
    days: float  # the what-if date, calendar days from now
    pnl_t0: np.ndarray  # (rows, columns) $, package P&L from now, at now
    pnl_horizon: np.ndarray  # the same at the what-if date
    current: tuple[int, int]  # the cell of the market now (move 0, shift 0)
    map_vix: tuple[float, ...]  # per row: the VIX the spot-vol map gives, VIX (1 + move)^beta, capped
    map_path: tuple[int, ...]  # per row: the column nearest map_vix

    @property
    def vix_levels(self) -> tuple[float, ...]:
        return tuple(max(self.vix + s, VIX_FLOOR) for s in self.vix_shifts)


def scenario_grid(book: Book, market: Market, days: float = 0.0, spx_moves=SPX_MOVES,
                  vix_shifts=VIX_SHIFTS) -> Grid:
    """The grid for a book the engine prices (every position open at as_of)."""
    moves, shifts = np.asarray(spx_moves, dtype=float), np.asarray(vix_shifts, dtype=float)
    for axis, values, zero in (("spx_moves", moves, 0.0), ("vix_shifts", shifts, 0.0)):
        if zero not in values:  # the current cell must be on the grid
            raise ValueError(f"{axis} must include 0")
    legs = build_legs(book, market)
    distinct, inverse = distinct_legs(legs)
    n, m = len(moves), len(shifts)
    # one scenario per cell and time, then the market now last: all priced in one call
    move = np.concatenate([np.repeat(moves, m)] * 2 + [[0.0]])
    vix = np.concatenate([np.tile(np.maximum(market.vix + shifts, VIX_FLOOR), n)] * 2 + [[market.vix]])
    when = np.concatenate([np.zeros(n * m), np.full(n * m, float(days)), [0.0]])
    st = market_state(market, book.model, spx_move=move, days=when, vix_fixed=vix)
    value = by_position(leg_prices(distinct, st)[:, inverse] * (legs.units * legs.mult), legs)
    pnl = (value - legs.entry).sum(axis=1)
    change = pnl[:-1] - pnl[-1]
    path_vix = spot_vol(market.vix, 1.0 + moves, book.model.beta)
    levels = np.maximum(market.vix + shifts, VIX_FLOOR)
    path = np.abs(path_vix[:, None] - levels[None, :]).argmin(axis=1)
    return Grid(tuple(moves.tolist()), tuple(shifts.tolist()), market.spx, market.vix, float(days),
                change[: n * m].reshape(n, m), change[n * m:].reshape(n, m),
                (int(np.flatnonzero(moves == 0)[0]), int(np.flatnonzero(shifts == 0)[0])),
                tuple(path_vix.tolist()), tuple(path.tolist()))


def grid_to_dict(g: Grid) -> dict:
    """The JSON form: moves as fractions, shifts in VIX points, P&L in $ [move][shift]."""
    return {"spx_moves": list(g.spx_moves), "vix_shifts": list(g.vix_shifts), "vix_levels": list(g.vix_levels),
            "spx": g.spx, "vix": g.vix, "days": g.days, "units": "$ P&L, package (condors + hedges), from now",
            "pnl_t0": g.pnl_t0.tolist(), "pnl_horizon": g.pnl_horizon.tolist(), "current": list(g.current),
            "map_vix": list(g.map_vix), "map_path": list(g.map_path)}
