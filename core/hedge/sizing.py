"""Budget-bounded sizing: the integer hedge that covers the most stress within the drag
budget and the premium cap.

Each layer is a chain of whole-unit steps: its held positions, best gain per $ of drag
first, then buys of its chosen instrument. A layer's state is how far up its chain it
stands (below the held top: sells, the worst hedges first; above: buys). Coverage of a
layer is its stress gain, capped at what the layer is meant to cover (its want), as a
share of the condor loss in the layer's own stress (its hedge ratio there: a dollar
counts for more in a smaller loss). The solver enumerates every combination of the
three layers' states and keeps the best: most coverage summed over the layers, then
least drag, then least premium. Exact for this model: there is no
heuristic in the choice, only in which steps a chain offers (one buy instrument per
layer, no selling one hedge to buy another in the same layer).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_STEPS = 60  # per layer; larger positions move in blocks of whole units


@dataclass(frozen=True)
class Step:
    """Units of one position: a held one (`held` True) or the layer's buy."""
    key: int  # index of the held position in the book, or -1 for the buy
    units: int
    gain: float  # $ in the layer's own stress, for these units
    drag: float  # $/yr, clipped at zero for the budget (a theta-positive hedge counts as free)
    premium: float  # $ of option premium at risk


@dataclass(frozen=True)
class Chain:
    steps: tuple[Step, ...]
    base: int  # steps below the held top (state `base` = hold everything)
    want: float  # $ of stress gain the layer is meant to cover
    floor: int = 0  # lowest allowed state (R4 keeps L1's held hedges: floor = base)
    weight: float = 1.0  # 1 / condor loss in the layer's stress: coverage as a hedge ratio


def held_steps(key: int, quantity: int, gain: float, drag: float, premium: float, block: int) -> list[Step]:
    """A held position as steps of `block` units (the last one smaller): per-unit values
    scale by units."""
    out, left = [], quantity
    while left > 0:
        n = min(block, left)
        share = n / quantity
        out.append(Step(key, n, gain * share, max(drag, 0.0) * share, max(premium, 0.0) * share))
        left -= n
    return out


def block_size(units: int) -> int:
    return max(1, -(-units // MAX_STEPS))


def _cum(chain: Chain):
    """Coverage, drag and premium at each state 0..len(steps), from nothing held."""
    g = np.concatenate([[0.0], np.cumsum([s.gain for s in chain.steps])])
    d = np.concatenate([[0.0], np.cumsum([s.drag for s in chain.steps])])
    p = np.concatenate([[0.0], np.cumsum([s.premium for s in chain.steps])])
    return (np.minimum(g, chain.want) * chain.weight)[chain.floor:], d[chain.floor:], p[chain.floor:]


def solve(chains: tuple[Chain, ...], drag_cap: float, premium_cap: float) -> tuple[tuple[int, ...], bool]:
    """The state of each chain, and whether a budget held coverage back (limited).
    If even the lowest states break a cap (R4 keeps an over-budget L1), they are returned."""
    cum = [_cum(c) for c in chains]
    shape = tuple(len(y) for y, _, _ in cum)
    y = d = p = np.zeros(())
    for i, (yi, di, pi) in enumerate(cum):  # outer sums over the layers' states
        view = [1] * len(chains)
        view[i] = -1
        y, d, p = y + yi.reshape(view), d + di.reshape(view), p + pi.reshape(view)
    top = float(y.max())
    ok = (d <= drag_cap * (1 + 1e-12) + 1e-9) & (p <= premium_cap * (1 + 1e-12) + 1e-9)
    if not ok.any():
        return tuple(c.floor for c in chains), True
    best = float(y[ok].max())
    tol = 1e-9 * max(1.0, abs(best))
    pick = ok & (y >= best - tol)
    order = np.lexsort((p[pick], d[pick]))  # least drag, then least premium
    flat = np.flatnonzero(pick.ravel())[order[0]]
    states = np.unravel_index(flat, shape)
    return tuple(int(s) + c.floor for s, c in zip(states, chains)), best < top - tol
