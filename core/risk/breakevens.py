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


def smooth_roots(f: Curves, grids: np.ndarray, values: np.ndarray | None = None
                 ) -> list[tuple[float, ...]]:
    """All sign changes of each curve along its grid (rows of `grids`), each refined
    by a safeguarded Newton method inside its bracket. Returns sorted roots per curve.
    `values` are f on the grids when the caller has them already. Each curve must be
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
    x = _refine(f, rows, a, b, fa, fb, (a * fb - b * fa) / (fb - fa))  # from the chord's root
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
    d, h = np.diff(values, axis=1), np.diff(grids, axis=1)
    # a smooth extremum lies within |f''| step^2 / 8 of its best sample: only those within
    # four times that of zero can cross between samples (f'' from slopes: steps may differ)
    with np.errstate(over="ignore", invalid="ignore"):  # curves at inf far out (a what-if of -85%)
        curvature = 2 * (d[:, 1:] / h[:, 1:] - d[:, :-1] / h[:, :-1]) / (h[:, 1:] + h[:, :-1])
        near = np.abs(values[:, 1:-1]) < 0.5 * np.abs(curvature) * np.maximum(h[:, 1:], h[:, :-1]) ** 2
    # and only a maximum below zero or a minimum above it can reach zero
    toward = (d[:, :-1] > 0) == (values[:, 1:-1] < 0)
    turn = (d[:, :-1] * d[:, 1:] < 0) & (values[:, 1:-1] != 0) & near & toward
    rows, j = np.nonzero(turn)
    if not len(rows):
        return (rows,) + (np.zeros(0),) * 4
    j = j + 1
    xa, xm, xb = grids[rows, j - 1], grids[rows, j], grids[rows, j + 1]
    ya, ym, yb = values[rows, j - 1], values[rows, j], values[rows, j + 1]
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


def _refine(f: Curves, rows, a, b, fa, fb, x, iterations: int = 100):
    """Roots inside brackets [a, b] from first guesses x. Each round prices x and a point
    either side in one call and steps to the root of the local quadratic (Newton when it
    has none); a step that would leave the bracket, or fails to halve the one before,
    is a bisection instead (as rtsafe). A root counts only once it has been priced with
    |f| < ACCEPT (or its bracket has shrunk to rounding): an error bound from an
    estimated third derivative is too optimistic close to expiry."""
    step = b - a
    active = np.ones(len(rows), dtype=bool)
    for _ in range(iterations):
        i = np.nonzero(active)[0]
        if not len(i):
            break
        xi = x[i]
        h = 1e-5 * np.maximum(1.0, np.abs(xi))  # 0.07 points at SPX 6850
        v = f(rows[i], np.stack([xi - h, xi, xi + h], axis=1))
        fx, d1, d2 = v[:, 1], (v[:, 2] - v[:, 0]) / (2 * h), (v[:, 2] - 2 * v[:, 1] + v[:, 0]) / (h * h)
        done = (np.abs(fx) < ACCEPT) | (b[i] - a[i] < 1e-10 * np.maximum(1.0, np.abs(xi)))
        left = fx * fa[i] < 0  # root is in [a, x]
        a[i], fa[i] = np.where(left, a[i], xi), np.where(left, fa[i], fx)
        b[i], fb[i] = np.where(left, xi, b[i]), np.where(left, fx, fb[i])
        with np.errstate(divide="ignore", invalid="ignore"):
            disc = d1 * d1 - 2 * fx * d2
            # the quadratic's root nearest x, in the form that does not cancel
            quad = -2 * fx / (d1 + np.copysign(np.sqrt(np.maximum(disc, 0.0)), d1))
            nxt = xi + np.where(disc >= 0, quad, -fx / d1)
        good = (nxt > a[i]) & (nxt < b[i]) & (np.abs(nxt - xi) < 0.5 * step[i])
        nxt = np.where(good, nxt, 0.5 * (a[i] + b[i]))
        step[i] = np.abs(nxt - xi)
        x[i] = np.where(done, xi, nxt)
        active[i] = ~done
    return x
