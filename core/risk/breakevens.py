"""Break-evens: exact roots of piecewise-linear expiry payoffs, and robust roots
of smooth P&L curves (grid scan, then a vectorized bracketed Newton solver)."""
from __future__ import annotations

from typing import Callable

import numpy as np

# f(rows, S) -> P&L; rows: (m,) curve indices, S: (m, p) levels -> (m, p) dollars
Curves = Callable[[np.ndarray, np.ndarray], np.ndarray]

TOLERANCE = 1e-3  # dollars: ten times inside the cent the report promises
ACCEPT = TOLERANCE / 2  # a root is taken inside half of it: priced along another path (another
# summation order of 500-lot legs) the same P&L differs in the eighth digit


def condor_expiry_roots(long_put, short_put, short_call, long_call, credit):
    """Each condor's expiry break-evens: short_put - credit and short_call + credit,
    where the credit is below that side's width (else that side never loses)."""
    put = np.where(credit < short_put - long_put, short_put - credit, np.nan)
    call = np.where(credit < long_call - short_call, short_call + credit, np.nan)
    return [tuple(float(x) for x in pair if np.isfinite(x)) for pair in zip(put, call)]


def piecewise_roots(kinks: np.ndarray, values: np.ndarray) -> tuple[float, ...]:
    """Roots of a continuous piecewise-linear function given at its kinks (sorted),
    flat beyond both ends. A segment lying on zero gives both of its ends."""
    x0, x1, y0, y1 = kinks[:-1], kinks[1:], values[:-1], values[1:]
    cross = y0 * y1 < 0
    roots = np.concatenate([x0[y0 == 0], kinks[-1:][values[-1:] == 0],
                            x0[cross] + (x1 - x0)[cross] * y0[cross] / (y0 - y1)[cross]])
    return tuple(sorted(set(roots.tolist())))


def smooth_roots(f: Curves, grids: np.ndarray, values: np.ndarray | None = None, slope=None
                 ) -> list[tuple[float, ...]]:
    """All sign changes of each curve along its grid (rows of `grids`), each refined
    by a safeguarded Newton method inside its bracket. Returns sorted roots per curve.
    `values` are f on the grids when the caller has them already; `slope(rows, x)` gives
    f and f' at one level per curve (else central differences). Each curve must be
    smooth between its samples: a kink (an option at expiry) belongs on the grid."""
    k = grids.shape[0]
    values = f(np.arange(k), grids) if values is None else values
    crossing = values[:, :-1] * values[:, 1:] < 0
    rows, cols = np.nonzero(crossing)
    a, b = grids[rows, cols], grids[rows, cols + 1]
    fa, fb = values[rows, cols], values[rows, cols + 1]
    hidden = _hidden_pairs(f, grids, values)
    rows = np.concatenate([rows, hidden[0]])
    a, b, fa, fb = (np.concatenate([x, y]) for x, y in zip((a, b, fa, fb), hidden[1:]))
    x = _refine(slope or _central(f), rows, a, b, fa, (a * fb - b * fa) / (fb - fa))  # from the chord's root
    zr, zc = np.nonzero(_zero_samples(values))
    rows, x = np.concatenate([rows, zr]), np.concatenate([x, grids[zr, zc]])
    order = np.lexsort((x, rows))  # by curve, then by level; a root found twice is kept once
    rows, x = rows[order], x[order]
    keep = np.ones(len(x), dtype=bool)
    keep[1:] = (rows[1:] != rows[:-1]) | (x[1:] != x[:-1])
    ends = np.searchsorted(rows[keep], np.arange(k + 1)).tolist()
    roots = x[keep].tolist()
    return [tuple(roots[a:b]) for a, b in zip(ends[:-1], ends[1:])]


def _zero_samples(values: np.ndarray) -> np.ndarray:
    """Samples where a curve is exactly zero and starts or stops being so. A curve that
    is zero over a stretch is a break-even at the stretch's ends, not at every sample in
    it; and a stretch running to the scan's edge has no break-even there."""
    zero = values == 0
    if not zero.any():
        return zero
    before = np.pad(zero, ((0, 0), (1, 0)))[:, :-1]
    after = np.pad(zero, ((0, 0), (0, 1)))[:, 1:]
    edge = np.zeros_like(zero)
    edge[:, 0] = True
    last = np.isfinite(values).sum(axis=1) - 1
    edge[np.arange(len(values)), np.maximum(last, 0)] = True
    alone = zero & ~before & ~after
    return alone | (zero & (before ^ after) & ~edge)


def _hidden_pairs(f: Curves, grids, values, steps: int = 4):
    """Two roots can hide between samples of one sign only around a local extremum:
    refine each sampled extremum by successive parabolic steps, and where it crosses
    zero return brackets on both sides of it: (rows, a, b, fa, fb)."""
    d = np.diff(values, axis=1)
    with np.errstate(invalid="ignore"):  # curves at inf far out (a what-if of -85%)
        rows, j = np.nonzero((d[:, :-1] * d[:, 1:] < 0) & (values[:, 1:-1] != 0))  # sampled extrema
    j = j + 1
    xa, xm, xb = grids[rows, j - 1], grids[rows, j], grids[rows, j + 1]
    ya, ym, yb = values[rows, j - 1], values[rows, j], values[rows, j + 1]
    # a smooth extremum lies within |f''| step^2 / 8 of its best sample: only those within
    # four times that of zero can cross between samples (f'' from slopes: steps may differ)
    ha, hb = xm - xa, xb - xm
    with np.errstate(over="ignore", invalid="ignore"):
        curvature = 2 * ((yb - ym) / hb - (ym - ya) / ha) / (hb + ha)
        near = np.abs(ym) < 0.5 * np.abs(curvature) * np.maximum(hb, ha) ** 2
    # and only a maximum below zero or a minimum above it can reach zero
    keep = near & ((ym - ya > 0) == (ym < 0))
    if not keep.any():
        return (rows[:0],) + (np.zeros(0),) * 4
    rows, j, xa, xm, xb, ya, ym, yb = (x[keep] for x in (rows, j, xa, xm, xb, ya, ym, yb))
    side = np.sign(ym)  # the sign the extremum must leave
    peak = np.where(ym > ya, 1.0, -1.0)  # +1 at a maximum, -1 at a minimum
    for _ in range(steps):
        live = side * ym > 0
        if not live.any():
            break
        p, q = (xm - xa) * (ym - yb), (xm - xb) * (ym - ya)
        denom = 2 * (p - q)
        u = np.where(denom != 0, xm - ((xm - xa) * p - (xm - xb) * q) / np.where(denom != 0, denom, 1), xm)
        u = np.clip(u, xa + 1e-9 * (xb - xa), xb - 1e-9 * (xb - xa))
        yu = np.where(live, f(rows, u[:, None])[:, 0], ym)
        better = live & (peak * yu > peak * ym)
        left = live & (u < xm)
        right = live & (u > xm)
        # keep a triple that brackets the extremum, with the best point in the middle
        xa, ya = np.where(better & right, xm, np.where(~better & left, u, xa)), \
            np.where(better & right, ym, np.where(~better & left, yu, ya))
        xb, yb = np.where(better & left, xm, np.where(~better & right, u, xb)), \
            np.where(better & left, ym, np.where(~better & right, yu, yb))
        xm, ym = np.where(better, u, xm), np.where(better, yu, ym)
    crossed = side * ym < 0
    r, j, mid, f_mid = rows[crossed], j[crossed], xm[crossed], ym[crossed]
    # the samples beside the extremum keep its original sign: one root on each side
    lo, f_lo = grids[r, j - 1], values[r, j - 1]
    hi, f_hi = grids[r, j + 1], values[r, j + 1]
    return (np.concatenate([r, r]), np.concatenate([lo, mid]), np.concatenate([mid, hi]),
            np.concatenate([f_lo, f_mid]), np.concatenate([f_mid, f_hi]))


def _central(f: Curves):
    """(f, f') at one level per curve by central differences: for curves without their own slope."""
    def with_slope(rows, x):
        h = 1e-5 * np.maximum(1.0, np.abs(x))  # 0.07 points at SPX 6850
        v = f(rows, np.stack([x - h, x, x + h], axis=1))
        return v[:, 1], (v[:, 2] - v[:, 0]) / (2 * h)
    return with_slope


def _refine(slope, rows, a, b, fa, x, iterations: int = 100):
    """Roots inside brackets [a, b] (f(a) = fa) from first guesses x, by Newton's method
    safeguarded as rtsafe: a step that would leave the bracket, or fails to halve the one
    before, is a bisection instead. `slope(rows, x)` gives f and f' at x. A root counts only
    once it has been priced with |f| < ACCEPT (or its bracket has shrunk to rounding); it is
    then moved by that point's own Newton step, which costs no pricing and leaves it far closer."""
    step = b - a
    active = np.ones(len(rows), dtype=bool)
    for _ in range(iterations):
        i = np.nonzero(active)[0]
        if not len(i):
            break
        xi, ai, bi, fai = x[i], a[i], b[i], fa[i]  # gathered once a round: the arrays are small
        fx, d1 = slope(rows[i], xi)
        done = (np.abs(fx) < ACCEPT) | (bi - ai < 1e-10 * np.maximum(1.0, np.abs(xi)))
        left = fx * fai < 0  # root is in [a, x]
        a[i] = ai = np.where(left, ai, xi)
        fa[i] = np.where(left, fai, fx)
        b[i] = bi = np.where(left, xi, bi)
        with np.errstate(divide="ignore", invalid="ignore"):
            nxt = xi - fx / d1
        inside = (nxt >= ai) & (nxt <= bi)
        move = np.abs(nxt - xi)
        good = inside & (move < 0.5 * step[i])
        step[i] = np.where(good, move, 0.5 * (bi - ai))
        x[i] = np.where(done, np.where(inside & (fx != 0), nxt, xi), np.where(good, nxt, 0.5 * (ai + bi)))
        active[i] = ~done
    return x
