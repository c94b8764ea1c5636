"""Black-76 implied vols (vectorized) and raw SVI smiles in total variance.

The solver works on the out-of-the-money equivalent of each quote: in Black-76 an
in-the-money call and the put of its strike differ by D (F - K) exactly, so solving the
OTM price avoids the cancellation of a small time value on a large intrinsic value.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares, minimize
from scipy.special import ndtr

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
MAX_TOTAL_VOL = 10.0  # sigma sqrt(T) above 10 is worth all of the forward: no vol to find
_ITERATIONS = 60
STARTS = 4  # grid points a constrained fit starts from, besides the free fit


def black(is_call, forward, strike, t, vol):
    """Undiscounted Black-76 price."""
    sign = np.where(is_call, 1.0, -1.0)
    v = vol * np.sqrt(t)
    d1 = np.log(forward / strike) / v + 0.5 * v
    return sign * (forward * ndtr(sign * d1) - strike * ndtr(sign * (d1 - v)))


def implied_vol(is_call, price, forward, strike, t, discount):
    """Vols with discount x Black(F, K, T, vol) = price, nan where there is none.

    Safeguarded Halley on the normalized OTM price b(v), v = vol sqrt(T): every step that
    would leave the bracket [lo, hi] (known below/above the root) bisects instead, so it
    converges for any price strictly between intrinsic value and the forward (or strike).
    """
    is_call, price, forward, strike, t = np.broadcast_arrays(
        np.asarray(is_call, bool), *(np.asarray(a, float) for a in (price, forward, strike, t)))
    x = np.log(forward / strike)
    intrinsic = np.maximum(np.where(is_call, 1.0, -1.0) * (forward - strike), 0.0)
    # the OTM equivalent: a call above the forward, a put below it; normalized by sqrt(F K)
    otm = price / discount - intrinsic
    theta = np.where(x > 0, -1.0, 1.0)
    cap = np.where(x > 0, strike, forward)
    beta = otm / np.sqrt(forward * strike)
    out = np.full(x.shape, np.nan)
    ok = (otm > 0) & (otm < cap) & (t > 0) & np.isfinite(beta)
    x, theta, beta = x[ok], theta[ok], beta[ok]
    # the inflection point of b(v): b is convex below it, concave above, so Halley from
    # there moves towards the root without overshooting in all but extreme cases
    v = np.maximum(np.sqrt(2.0 * np.abs(x)), beta * math.sqrt(2.0 * math.pi))
    lo, hi = np.zeros_like(v), np.full_like(v, MAX_TOTAL_VOL)
    ex2, emx2 = np.exp(0.5 * x), np.exp(-0.5 * x)
    above_max = _otm_black(x, theta, ex2, emx2, hi) <= beta
    active = np.flatnonzero(~above_max)
    for _ in range(_ITERATIONS):
        if active.size == 0:
            break
        va, xa = v[active], x[active]
        d1 = xa / va + 0.5 * va
        f = _otm_black(xa, theta[active], ex2[active], emx2[active], va) - beta[active]
        vega = ex2[active] * _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)
        lo[active] = np.where(f < 0, va, lo[active])
        hi[active] = np.where(f > 0, va, hi[active])
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = -f / vega
            step = newton / (1.0 - 0.5 * newton * d1 * (d1 - va) / va)  # Halley: b'' = b' d1 d2 / v
            nxt = va + step
        outside = ~((nxt > lo[active]) & (nxt < hi[active]))
        nxt = np.where(outside, 0.5 * (lo[active] + hi[active]), nxt)
        v[active] = nxt
        done = (np.abs(nxt - va) <= 1e-14 * (1.0 + va)) | (f == 0)
        active = active[~done]
    v[above_max] = np.nan
    v[active] = np.nan  # not converged in _ITERATIONS: no vol rather than a wrong one
    out[ok] = v / np.sqrt(t[ok])
    return out


def _otm_black(x, theta, ex2, emx2, v):
    d1 = x / v + 0.5 * v
    return theta * (ex2 * ndtr(theta * d1) - emx2 * ndtr(theta * (d1 - v)))


def black_vega(forward, strike, t, vol):
    """Undiscounted dPrice/dvol (per unit of vol)."""
    v = vol * np.sqrt(t)
    d1 = np.log(forward / strike) / v + 0.5 * v
    return forward * _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1) * np.sqrt(t)


@dataclass(frozen=True)
class Svi:
    """Raw SVI total variance w(k) = a + b (rho (k - m) + sqrt((k - m)^2 + sigma^2)), k = ln(K/F)."""
    a: float
    b: float
    rho: float
    m: float
    sigma: float

    @property
    def w_min(self) -> float:
        """The least total variance of the slice, at k = m - rho sigma / sqrt(1 - rho^2)."""
        return self.a + self.b * self.sigma * math.sqrt(1.0 - self.rho ** 2)

    def w(self, k):
        d = np.asarray(k, float) - self.m
        return self.a + self.b * (self.rho * d + np.sqrt(d * d + self.sigma ** 2))

    def g(self, k):
        """Gatheral's butterfly function: the density is >= 0 where g(k) >= 0."""
        k = np.asarray(k, float)
        d = k - self.m
        root = np.sqrt(d * d + self.sigma ** 2)
        w = self.a + self.b * (self.rho * d + root)
        w1 = self.b * (self.rho + d / root)
        w2 = self.b * self.sigma ** 2 / root ** 3
        return (1.0 - k * w1 / (2.0 * w)) ** 2 - 0.25 * w1 * w1 * (1.0 / w + 0.25) + 0.5 * w2


def fit_svi(k, w, err) -> Svi:
    """The least-squares raw SVI slice through total variances w at log-moneyness k, each
    residual divided by its uncertainty err (the half-spread in total variance).

    Fitted as (w_min, u, v, m, sigma): u = b (1 + rho) and v = b (1 - rho) are the wing
    slopes, kept within Lee's moment bound 0..2 (steeper wings are arbitrage, and without
    the bound the fit runs off to b = 1e6, rho = 1 - 1e-7); w_min = a + b sigma
    sqrt(1 - rho^2) >= 0 keeps the total variance non-negative. SVI has local minima, so
    the start comes from the quasi-explicit method (Zeliade, 2009): for fixed (m, sigma)
    the slice is linear, solved exactly on a grid of (m, sigma). The best grid point is
    polished by Levenberg-Marquardt in coordinates that map onto the bounds.
    """
    k, w, err = (np.asarray(a, float) for a in (k, w, err))
    lo, hi = _box(k)
    m, sig, cost, coef = _grid(k, w, err, lo, hi)
    i = int(np.argmin(cost))
    x0 = _start(m[i], sig[i], coef[i], w)
    to_x, to_p, dx_dp = _coordinates(lo, hi)

    def residuals(p):
        return (_w(to_x(p), k) - w) / err

    def jac(p):
        return _dw(to_x(p), k) * dx_dp(p)[None, :] / err[:, None]

    p0 = to_p(x0)
    fit = least_squares(residuals, p0, jac=jac, method="lm", xtol=1e-8, ftol=1e-8, max_nfev=60)
    better = np.all(np.isfinite(fit.x)) and fit.cost <= 0.5 * float(np.sum(residuals(p0) ** 2))
    return _to_svi(to_x(fit.x) if better else x0)


def _grid(k, w, err, lo, hi):
    """(m, sigma, cost, (a, U, V)) of the quasi-explicit fits on a 15 x 15 grid."""
    ms = np.linspace(k.min(), k.max(), 15)
    sigs = np.geomspace(lo[4], 0.2 * hi[4], 15)
    m, sig = (g.ravel() for g in np.meshgrid(ms, sigs))
    cost, coef = _inner(k, w, 1.0 / err, m, sig)
    return m, sig, cost, coef


def _start(m, sig, coef, w):
    """(w_min, u, v, m, sigma) of a grid fit, its wing slopes inside Lee's bound."""
    a, big_u, big_v = coef
    u, v = (min(max(x / sig, 1e-6), 2.0 - 1e-6) for x in (big_u, big_v))
    return np.array([max(a + sig * math.sqrt(u * v), 1e-12 * max(float(w.max()), 1e-12)), u, v, m, sig])


def _to_svi(x) -> Svi:
    """The raw SVI slice of (w_min, u, v, m, sigma)."""
    w_min, u, v, m, sig = (float(y) for y in x)
    return Svi(w_min - sig * math.sqrt(u * v), 0.5 * (u + v), (u - v) / (u + v), m, sig)


def _box(k):
    """Bounds of (w_min, u, v, m, sigma): m within a span of the quotes, sigma 1e-3 to 10
    spans, the wing slopes above zero (b = 0 has no rho)."""
    span = max(float(np.ptp(k)), 1e-3)
    return (np.array([0.0, 1e-9, 1e-9, k.min() - span, 1e-3 * span]),
            np.array([np.inf, 2.0, 2.0, k.max() + span, 10.0 * span]))


def _w(x, k):
    w_min, u, v, m, sig = x
    d = k - m
    return w_min - sig * math.sqrt(u * v) + 0.5 * (u - v) * d + 0.5 * (u + v) * np.sqrt(d * d + sig * sig)


def _dw(x, k):
    """dw / d(w_min, u, v, m, sigma), one row per k."""
    w_min, u, v, m, sig = x
    d = k - m
    root, uv = np.sqrt(d * d + sig * sig), math.sqrt(max(u * v, 1e-300))
    return np.column_stack([np.ones_like(k), 0.5 * (root + d) - 0.5 * sig * v / uv,
                            0.5 * (root - d) - 0.5 * sig * u / uv,
                            -0.5 * (u - v) - 0.5 * (u + v) * d / root,
                            0.5 * (u + v) * sig / root - uv])


def _g_and_dg(x, k):
    """Gatheral's g(k) of (w_min, u, v, m, sigma) and its gradient, one row per k."""
    w_min, u, v, m, sig = x
    d = k - m
    root = np.sqrt(d * d + sig * sig)
    c, r3 = 0.5 * (u + v), root ** 3
    w = _w(x, k)
    w1 = 0.5 * (u - v) + c * d / root
    w2 = c * sig * sig / r3
    dw = _dw(x, k)
    dw1 = np.column_stack([np.zeros_like(k), 0.5 + 0.5 * d / root, -0.5 + 0.5 * d / root,
                           -c * sig * sig / r3, -c * d * sig / r3])
    dw2 = np.column_stack([np.zeros_like(k), 0.5 * sig * sig / r3, 0.5 * sig * sig / r3,
                           3.0 * c * sig * sig * d / root ** 5,
                           c * sig * (2.0 * root * root - 3.0 * sig * sig) / root ** 5])
    lead = 1.0 - k * w1 / (2.0 * w)
    g = lead ** 2 - 0.25 * w1 * w1 * (1.0 / w + 0.25) + 0.5 * w2
    dlead = -0.5 * k[:, None] * (dw1 / w[:, None] - (w1 / w ** 2)[:, None] * dw)
    dg = (2.0 * lead[:, None] * dlead - 0.5 * (w1 * (1.0 / w + 0.25))[:, None] * dw1
          + (0.25 * w1 * w1 / w ** 2)[:, None] * dw + 0.5 * dw2)
    return g, dg


def _coordinates(lo, hi):
    """Unbounded coordinates p for the bounded x = (w_min, u, v, m, sigma): w_min = exp(p0);
    u, v = 2 sigmoid; m = centre + half-width tanh; ln sigma likewise within its bounds."""
    mc, mh = 0.5 * (lo[3] + hi[3]), 0.5 * (hi[3] - lo[3])
    sc, sh = 0.5 * math.log(lo[4] * hi[4]), 0.5 * math.log(hi[4] / lo[4])

    def to_x(p):
        p = np.clip(p, -50.0, 50.0)  # a step towards a vanishing wing slope would overflow exp
        return np.array([math.exp(p[0]), 2.0 / (1.0 + math.exp(-p[1])), 2.0 / (1.0 + math.exp(-p[2])),
                         mc + mh * math.tanh(p[3]), math.exp(sc + sh * math.tanh(p[4]))])

    def to_p(x):
        def inv(y, c, h):
            return math.atanh(min(max((y - c) / h, -1 + 1e-12), 1 - 1e-12))
        return np.array([math.log(x[0]), -math.log(2.0 / x[1] - 1.0), -math.log(2.0 / x[2] - 1.0),
                         inv(x[3], mc, mh), inv(math.log(x[4]), sc, sh)])

    def dx_dp(p):
        x = to_x(p)
        return np.array([x[0], x[1] * (1 - 0.5 * x[1]), x[2] * (1 - 0.5 * x[2]),
                         mh * (1 - math.tanh(p[3]) ** 2), x[4] * sh * (1 - math.tanh(p[4]) ** 2)])

    return to_x, to_p, dx_dp


def _inner(k, w, weight, m, sig):
    """(cost, (a, U, V)) of the weighted linear fit for each (m, sigma) pair.

    With y = (k - m) / sigma, w = a + U (sqrt(y^2+1) + y) / 2 + V (sqrt(y^2+1) - y) / 2,
    U = u sigma, V = v sigma: U, V >= 0 is solved exactly by trying the four sets of active
    bounds and keeping the best feasible one. A slice whose minimum total variance
    a + sqrt(U V) is negative pays a penalty, so the search leaves it.
    """
    y = (k[None, :] - m[:, None]) / sig[:, None]
    root = np.sqrt(y * y + 1.0)
    xw = np.stack([np.ones_like(y), 0.5 * (root + y), 0.5 * (root - y)], axis=2) * weight[None, :, None]
    yw = w * weight
    best_cost, best = np.full(m.shape, np.inf), np.zeros((m.size, 3))
    for keep in ((0, 1, 2), (0, 2), (0, 1), (0,)):
        x = xw[:, :, keep]
        gram = np.einsum("pni,pnj->pij", x, x) + 1e-14 * np.eye(len(keep))
        coef = np.linalg.solve(gram, np.einsum("pni,n->pi", x, yw)[..., None])[..., 0]
        cost = np.sum((np.einsum("pni,pi->pn", x, coef) - yw) ** 2, axis=1)
        full = np.zeros((m.size, 3))
        full[:, keep] = coef
        better = np.all(full[:, 1:] >= 0, axis=1) & (cost < best_cost)
        best_cost = np.where(better, cost, best_cost)
        best[better] = full[better]
    w_min = best[:, 0] + np.sqrt(best[:, 1] * best[:, 2])
    penalty = (np.minimum(w_min, 0.0) * weight.max()) ** 2 * 1e4
    return best_cost + penalty, best


def constrained_svi(k, w, err, start: Svi, grid, floor: Svi | None = None,
                    floor_grid=None) -> Svi | None:
    """The least-squares slice (as fit_svi, same bounds) with g(k) >= 0 on grid and, when a
    floor (the previous expiry's slice) is given, w(k) >= floor.w(k) on floor_grid; None
    when no start reaches a slice that meets them.

    SLSQP from `start` (the free fit) and, unless that costs within 5% of the free fit, from
    the best few points of fit_svi's (m, sigma) grid: from the free fit alone it stops in a
    local minimum up to three times the cost of the best one on the overnight SPX slices.
    """
    k, w, err = (np.asarray(a, float) for a in (k, w, err))
    lo, hi = _box(k)
    floor_w = floor.w(floor_grid) if floor is not None else None
    free = float(np.sum(((start.w(k) - w) / err) ** 2))
    x0 = np.clip([start.w_min, start.b * (1 + start.rho), start.b * (1 - start.rho), start.m,
                  start.sigma], lo, hi)
    best = _constrained(k, w, err, x0, lo, hi, grid, floor_grid, floor_w)
    best_cost = float(np.sum(((best.w(k) - w) / err) ** 2)) if best is not None else np.inf
    if best_cost <= 1.05 * free:  # the constraint costs almost nothing: no better start to find
        return best
    m, sig, cost, coef = _grid(k, w, err, lo, hi)
    for i in np.argsort(cost)[:STARTS]:
        svi = _constrained(k, w, err, _start(m[i], sig[i], coef[i], w), lo, hi, grid, floor_grid, floor_w)
        c = float(np.sum(((svi.w(k) - w) / err) ** 2)) if svi is not None else np.inf
        if c < best_cost:
            best, best_cost = svi, c
    return best


def _constrained(k, w, err, x0, lo, hi, grid, floor_grid, floor_w):
    """SLSQP from x0 with the constraints on every 80th grid point (the QP's cost grows
    with their number), adding the points where the result breaks them worst, up to three
    rounds; None when it never meets them on the whole grid."""
    g_at = np.arange(0, grid.size, 80)
    f_at = np.arange(0, floor_grid.size, 80) if floor_w is not None else None
    x = x0
    for _ in range(3):
        x = _slsqp(k, w, err, x, lo, hi, grid[g_at], None if f_at is None else floor_grid[f_at],
                   None if f_at is None else floor_w[f_at])
        if x is None:
            return None
        svi = _to_svi(x)
        g = svi.g(grid)
        gap = svi.w(floor_grid) - floor_w if floor_w is not None else np.zeros(1)
        if g.min() >= 0 and gap.min() >= 0:
            return svi
        g_at = np.union1d(g_at, _worst(g))
        if f_at is not None:
            f_at = np.union1d(f_at, _worst(gap))
    return None


def _worst(values, n: int = 8):
    """The indexes of the n most negative values (the constraints to add)."""
    bad = np.flatnonzero(values < 0)
    return bad[np.argsort(values[bad])[:n]]


def _slsqp(k, w, err, x0, lo, hi, grid, floor_grid, floor_w):
    """(w_min, u, v, m, sigma) of one SLSQP run, each coordinate scaled by its size at x0."""
    scale = np.array([max(x0[0], 1e-3 * float(w.max()), 1e-12), 1.0, 1.0,
                      max(float(np.ptp(k)), 1e-3), x0[4]])
    base = float(np.sum(((_w(x0, k) - w) / err) ** 2)) or 1.0

    def cost(z):
        r = (_w(z * scale, k) - w) / err
        return float(r @ r) / base, 2.0 * (r / err) @ _dw(z * scale, k) * scale / base

    # small margins, so the result passes the strict checks between these points too
    cons = [{"type": "ineq", "fun": lambda z: _g_and_dg(z * scale, grid)[0] - 1e-6,
             "jac": lambda z: _g_and_dg(z * scale, grid)[1] * scale}]
    if floor_w is not None:
        cons.append({"type": "ineq", "fun": lambda z: _w(z * scale, floor_grid) - floor_w - 1e-10,
                     "jac": lambda z: _dw(z * scale, floor_grid) * scale})
    fit = minimize(cost, x0 / scale, jac=True, method="SLSQP", bounds=list(zip(lo / scale, hi / scale)),
                   constraints=cons, options=dict(maxiter=200, ftol=1e-9))
    # SLSQP may stop short of its tolerance ("positive directional derivative") at a point
    # that is feasible and as good: the caller's checks decide, not its flag
    return fit.x * scale if np.all(np.isfinite(fit.x)) else None
