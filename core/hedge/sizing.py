"""Budget-bounded sizing: the integer hedge that covers the most stress within the drag
budget and the premium cap.

Each layer is a chain of whole-unit steps: its held hedges and its chosen candidate, best
stress gain per $ of drag first (a held hedge counted SWAP_HURDLE cheaper). A layer's state is how
far down its chain it keeps: held units past it are sold, candidate units before it are
bought, so a better candidate can replace a worse held hedge. Coverage of a layer is its
stress gain, capped at what the layer is meant to cover (its want), as a share of the
condor loss in the layer's own stress (its hedge ratio there: a dollar counts for more in
a smaller loss). The solver tries every combination of the three layers' states and keeps
the best: most coverage summed over the layers, then least drag, then least premium.
Exact for this model: the only approximations are which steps a chain offers (one buy
instrument per layer; past the first units, blocks of whole units).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FINE = 20  # units a chain offers one by one before it moves in blocks
MAX_STEPS = 60  # per layer: the solver's grid is the product of the three chains


@dataclass(frozen=True)
class Item:
    """Units of one position per unit: a held hedge (key = its index) or the buy (key -1)."""
    key: int
    units: int
    gain: float  # $ per unit in the layer's own stress
    drag: float  # $/yr per unit, clipped at zero (a theta-positive hedge counts as free)
    premium: float  # $ per unit at risk


@dataclass(frozen=True)
class Step:
    parts: tuple[tuple[int, int], ...]  # (key, units)
    gain: float
    drag: float
    premium: float


@dataclass(frozen=True)
class Chain:
    steps: tuple[Step, ...]
    want: float  # $ of stress gain the layer is meant to cover
    floor: int = 0  # steps always kept (R4 keeps L1's held hedges)
    weight: float = 1.0  # 1 / condor loss in the layer's stress: coverage as a hedge ratio


SWAP_HURDLE = 0.25  # a held hedge gives way only to one this much cheaper per stress dollar:
# the swap pays two bid-ask spreads and commissions the model does not count


def _order(x: Item):
    """Useful units by gain per $ of drag (no drag first), held before bought at equal
    ratio; units that lose in the layer's stress last."""
    if x.gain <= 0:
        return (2, -x.gain, x.key < 0)
    ratio = x.gain / x.drag * (1 + SWAP_HURDLE if x.key >= 0 else 1) if x.drag > 0 else np.inf
    return (0, -ratio, x.key < 0)


def _steps(items: list[Item], total: int) -> list[Step]:
    """The items' units in order: the first FINE one by one, the rest in equal blocks."""
    block = max(1, -(-(total - FINE) // (MAX_STEPS - FINE))) if total > MAX_STEPS else 1
    out, parts, size, acc = [], [], 0, [0.0, 0.0, 0.0]
    for x in items:
        left = x.units
        while left > 0:
            want = 1 if len(out) < FINE else block
            if size == 0 and left >= want:  # whole steps of this item alone: one step, repeated
                k = min(left, FINE - len(out)) if len(out) < FINE else left // want
                out += [Step(((x.key, want),), 0.0 + want * x.gain, 0.0 + want * max(x.drag, 0.0),
                             0.0 + want * max(x.premium, 0.0))] * k
                left -= k * want
                continue
            n = min(want - size, left)
            parts.append((x.key, n))
            acc = [acc[0] + n * x.gain, acc[1] + n * max(x.drag, 0.0), acc[2] + n * max(x.premium, 0.0)]
            size, left = size + n, left - n
            if size == want:
                out.append(Step(tuple(parts), *acc))
                parts, size, acc = [], 0, [0.0, 0.0, 0.0]
    if parts:
        out.append(Step(tuple(parts), *acc))
    return out


def layer_chain(held: list[Item], buy: Item | None, want: float, weight: float, keep_held: bool) -> Chain:
    """A layer's chain; `keep_held` (R4) puts every held unit first and keeps it."""
    buys = [buy] if buy is not None and buy.units > 0 else []
    if keep_held:
        first = _steps(sorted(held, key=_order), sum(x.units for x in held))
        rest = _steps(buys, sum(x.units for x in buys))
        return Chain(tuple(first + rest), want, len(first), weight)
    items = sorted(held + buys, key=_order)
    return Chain(tuple(_steps(items, sum(x.units for x in items))), want, 0, weight)


def taken(chain: Chain, state: int) -> dict[int, int]:
    """Units kept or bought per key at `state`."""
    out: dict[int, int] = {}
    for s in chain.steps[:state]:
        for key, n in s.parts:
            out[key] = out.get(key, 0) + n
    return out


def _cum(chain: Chain):
    """Coverage, drag and premium at each state floor..len(steps)."""
    sums = np.zeros((len(chain.steps) + 1, 3))
    np.cumsum([(s.gain, s.drag, s.premium) for s in chain.steps], axis=0, out=sums[1:])
    g, d, p = sums[chain.floor:].T
    return np.minimum(g, chain.want) * chain.weight, d, p


@dataclass(frozen=True)
class Solution:
    states: tuple[int, ...]
    limited: bool  # a budget held coverage below what the chains could reach
    forced: bool  # the floors alone break a budget: counted outside it


def _outer(parts, out=None) -> np.ndarray:
    """A value summed over every combination of the layers' states (one axis per layer)."""
    total = np.zeros(())
    for i, x in enumerate(parts):
        view = [1] * len(parts)
        view[i] = -1
        total = np.add(total, x.reshape(view), out=out if i == len(parts) - 1 else None)
    return total


def _at(parts, states) -> np.ndarray:
    """The same sums at the given states only (summed in the same order: the same bits)."""
    total = np.zeros(())
    for x, i in zip(parts, states):
        total = total + x[i]
    return total


def solve(chains: tuple[Chain, ...], drag_cap: float, premium_cap: float) -> Solution:
    cum = [_cum(c) for c in chains]
    y, d, p = zip(*cum)
    d0, p0 = sum(x[0] for x in d), sum(x[0] for x in p)
    forced = d0 > drag_cap + 1e-9 or p0 > premium_cap + 1e-9
    if forced:  # what must be kept is kept; the rest gets the whole budget beside it
        drag_cap, premium_cap = drag_cap + d0, premium_cap + p0
    caps = drag_cap * (1 + 1e-12) + 1e-9, premium_cap * (1 + 1e-12) + 1e-9
    finite = bool(np.isfinite(np.concatenate(y + d + p)).all())
    keep = _fitting(d, p, caps) if finite else [np.arange(len(x)) for x in d]
    y_in, d_in, p_in = ([x[k] for x, k in zip(v, keep)] for v in (y, d, p))
    # one grid-sized buffer for drag, premium and coverage in turn: at 60^3 states each
    # new one costs more in page faults than its sums
    grid = _outer(d_in)
    ok = grid <= caps[0]
    ok &= _outer(p_in, out=grid) <= caps[1]
    cover = _outer(y_in, out=grid)
    # the best of all states, fitting or not: each layer's best, summed (rounding is monotone)
    top = float(_at(y, [np.argmax(x) for x in y]) if finite else cover.max())
    best = float(cover[ok].max())
    tol = 1e-9 * max(1.0, abs(best))
    pick = np.nonzero(ok & (cover >= best - tol))
    first = np.lexsort((_at(p_in, pick), _at(d_in, pick)))[0]  # least drag, then least premium
    return Solution(tuple(int(k[i[first]]) + c.floor for k, i, c in zip(keep, pick, chains)), best < top - tol,
                    forced)


def _fitting(d, p, caps) -> list[np.ndarray]:
    """Each layer's states that fit within both caps beside the other layers' cheapest ones.
    Rounding is monotone, so no state outside them fits, and the grid over these alone (summed
    in the same order) finds the same answer, bit for bit, in a fraction of the states."""
    lows = [x.min() for x in d], [x.min() for x in p]
    out = []
    for i in range(len(d)):
        fits = True
        for parts, low, cap in zip((d, p), lows, caps):
            total = np.zeros(())
            for j, x in enumerate(parts):
                total = total + (x if j == i else low[j])
            fits = fits & (total <= cap)
        out.append(np.nonzero(fits)[0])
    return out
