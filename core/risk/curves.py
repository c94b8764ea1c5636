"""P&L curves along SPX, and every break-even from one root search over all of them.

The curves: each condor and the condor book at T+0 with vols held per strike; the
package (condors + hedges) through the spot-vol map at T+0 and at the horizon; the
hedges alone at the horizon (the risk graph's expiry line needs them). Curves with
the same leg count form a block, priced by one broadcast kernel call, so a round of
the root search costs one call per block however many curves it refines.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.pricing.arrays import distinct
from core.pricing.normal import ndtr
from core.risk.breakevens import smooth_roots
from core.pricing.legs import FUT_FLOOR, SPX, VIX_FUT, VIX_OPT, VXX_OPT, YEAR, Legs, MarketState, merge_legs, \
    moved_future, spot_vol, vix_ceiling
from core.model.inputs import Market, ModelSettings
from core.model.results import RiskCurve

GRID_CONDOR = 32  # scan points per condor; root pairs between samples come from extremum refinement
GRID_BOOK = 48
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)
CHUNK = 32768  # options x levels per kernel pass (a few hundred kB of temporaries)
# Package scan, as multiples of spot: sparse in the far-down tail, where only the
# smooth VIX-hedge payoff lives, dense where the condors are.
GRID_PACKAGE = np.concatenate([np.linspace(0.5, 0.8, 10)[:-1], np.linspace(0.8, 1.3, 39)])


@dataclass(frozen=True)
class Scan:
    condor_t0: list[tuple[float, ...]]
    book_t0: tuple[float, ...]
    package_t0: tuple[float, ...]
    package_horizon: tuple[float, ...]
    curve: RiskCurve | None


class _SpotVol:
    """Where the spot-vol map puts spot VIX, the SPX vol scale and VXX at SPX levels S."""

    def __init__(self, market: Market, model: ModelSettings, st: MarketState):
        self.spx, self.vix, self.vix0 = float(st.spx), float(st.vix), market.vix
        self.beta, self.vxx0, self.vxx_exp = model.beta, market.vxx or np.nan, model.vxx_exponent

    def at(self, S: np.ndarray):
        vix = spot_vol(self.vix, S / self.spx, self.beta)
        ratio = vix / self.vix0
        return ratio, vix - self.vix0, self.vxx0 * ratio ** self.vxx_exp

    def slopes(self, S: np.ndarray, vix_moved: np.ndarray):
        """d ln(VIX')/dSPX at S: beta / S, zero where the map's cap holds VIX."""
        return np.where(vix_moved < vix_ceiling(self.vix), self.beta / S, 0.0)

    def kinks(self, legs: Legs, t: float) -> np.ndarray:
        """SPX levels where an option expired by time t sits at its strike: an SPX option
        at K, a VIX option where its moved future is K, a VXX option where VXX' is K."""
        gone = (legs.settle <= t) & (legs.underlying != VIX_FUT)
        if self.beta == 0:  # VIX does not move with SPX: only SPX options kink along it
            gone &= legs.underlying == SPX
        u, K = legs.underlying[gone], legs.strike[gone]
        with np.errstate(divide="ignore", invalid="ignore"):
            vix = np.where(u == VIX_OPT, self.vix0 + (K - legs.fut[gone]) / legs.fut_decay[gone],
                           self.vix0 * (K / self.vxx0) ** (1 / self.vxx_exp))
            S = np.where(u == SPX, K, self.spx * (vix / self.vix) ** (1 / (self.beta or 1.0)))
        return S[np.isfinite(S)]


class _Options:
    """One class of options in a block, arrays (curves, n). Valued as calls, and puts by
    parity (put = call - U e^-qT + K e^-rT), so the weighted sums factor out of the kernel.
    An expired option gets a vanishing vol, which makes the formula its intrinsic value."""

    def __init__(self, is_call, log_k, vol, T, weight, weight_k, r: float, q: float, scaled: bool,
                 fut=None, decay=None):
        """`log_k`: ln K; `weight_k`: weight x K."""
        live = T > 0
        T = np.where(live, T, 0.0)
        # kept in the shapes the kernel broadcasts them to: (curves, n, 1) and (curves, 1, n)
        self.vol_t = np.where(live, vol * np.sqrt(T), 1e-12)[:, :, None]
        self.c = ((r - q) * T - log_k)[:, :, None]
        w_dq, w_kdr = weight * np.exp(-q * T), weight_k * np.exp(-r * T)
        self.w_dq, self.w_kdr = w_dq[:, None, :], w_kdr[:, None, :]
        self.put_dq = np.where(is_call, 0.0, w_dq)[:, None, :]
        self.put_dq_sum = self.put_dq.sum(axis=2)
        self.put_kdr = np.where(is_call, 0.0, w_kdr).sum(axis=1)[:, None]
        self.scaled = scaled  # vols follow VIX'/VIX (SPX options)
        # VIX options: each on its own future, F = fut + dVIX x decay; else one level for all
        self.fut = None if fut is None else (fut + 0 * T)[:, :, None]  # to (curves, n)
        self.decay = None if decay is None else (decay + 0 * T)[:, :, None]

    def value(self, rows, U, ratio, dvix, du=None, dlog=0.0):
        """Weighted value of curves `rows` with the underlying at U (m, p), in pieces of
        at most CHUNK options x levels: the kernel's temporaries then stay in cache.
        With `du` (dU/dSPX; for VIX options dVIX'/dSPX) also the slope along SPX, then
        `dlog` is d ln(VIX')/dSPX, which moves the vols of scaled options."""
        m, n, p = len(rows), self.vol_t.shape[1], U.shape[1]
        if m * n * p <= CHUNK:
            return self._value(rows, U, ratio, dvix, du, dlog)
        if m > 1:
            k = max(1, CHUNK // (n * p))
            return _joined([self.value(rows[i:i + k], U[i:i + k], *(_part(x, i, k) for x in (ratio, dvix, du, dlog)))
                            for i in range(0, m, k)], 0)
        k = max(1, CHUNK // n)
        return _joined([self.value(rows, U[:, j:j + k], *(_part(x, j, k, 1) for x in (ratio, dvix, du, dlog)))
                        for j in range(0, p, k)], 1)

    def _value(self, rows, U, ratio, dvix, du, dlog):
        vt = self.vol_t[rows]
        if self.scaled:
            vt = vt * _mid(ratio)
        if self.fut is None:
            log_u = np.log(U)[:, None, :]
        else:
            F = moved_future(self.fut[rows], _mid(dvix), self.decay[rows])
            log_u = np.log(F)
        # in place (vt is a copy: rows index it): at 1,000 condors these arrays are
        # megabytes, and each new one costs its page faults; x 0.5 and x 2 are exact
        d1 = log_u + self.c[rows]
        d1 /= vt
        vt *= 0.5
        d1 += vt
        n1 = ndtr(d1)
        vt *= 2.0
        # the vega part of the slope: U e^-qT pdf(d1) x d(vol_t)/dSPX, vol_t moving as VIX'
        vega = None
        if du is not None and self.scaled and np.any(dlog):
            with np.errstate(under="ignore"):  # far from the money (or expired) pdf(d1) is 0
                vega = np.exp(-0.5 * d1 * d1) * vt * (_INV_SQRT_2PI * _mid(U * dlog))
        d1 -= vt
        n2 = ndtr(d1, out=d1)
        out = self.put_kdr[rows] - (self.w_kdr[rows] @ n2)[:, 0]
        if self.fut is None:
            delta = (self.w_dq[rows] @ n1)[:, 0] - self.put_dq_sum[rows]
            out = out + U * delta
            if du is None:
                return out
            slope = delta * du
        else:
            out = out + (self.w_dq[rows] @ (F * n1))[:, 0] - (self.put_dq[rows] @ F)[:, 0]
            if du is None:
                return out
            dF = self.decay[rows] * (F > FUT_FLOOR) * _mid(du)  # a floored future stays put
            slope = (self.w_dq[rows] @ (n1 * dF))[:, 0] - (self.put_dq[rows] @ dF)[:, 0]
        return out, slope if vega is None else slope + (self.w_dq[rows] @ vega)[:, 0]


def _joined(pieces, axis: int):
    """Pieces of a value (or of a (value, slope) pair) joined along `axis`."""
    if isinstance(pieces[0], tuple):
        return tuple(np.concatenate(x, axis=axis) for x in zip(*pieces))
    return np.concatenate(pieces, axis=axis)


def _part(x, start: int, size: int, axis: int = 0):
    """Rows (or columns) start..start+size of a per-level array; a float stays a float."""
    if not np.ndim(x):
        return x
    return x[start:start + size] if axis == 0 else x[:, start:start + size]


def _mid(x):
    """(m, p) per SPX level -> (m, 1, p) against the leg axis; a float stays a float."""
    return x[:, None, :] if np.ndim(x) else x


class _Block:
    """Curves over the same legs (or the same leg classes in equal groups, one per
    condor), each with its own valuation time, vol rule and entry: vols held per strike
    at the live state, or moved with SPX through the spot-vol map; `hedged` 0 leaves
    the non-SPX legs out of a curve (the condor book beside the package)."""

    def __init__(self, legs: Legs, sl: slice, groups: int, st: MarketState, spot_vol: _SpotVol | None,
                 times, moves, hedged, entry_spx, entry_other):
        """legs[sl] in `groups` equal groups (all with the first group's leg classes), or
        one group shared by every curve; the other arguments give one value per curve."""
        times, moves, hedged = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (times, moves, hedged))
        settle, classes, self.futures = _columns(legs, sl, groups, hedged)
        T = (settle - times[:, None]) / YEAR
        q = {SPX: st.dividend_yield, VIX_OPT: st.rate, VXX_OPT: 0.0}
        # T[:, w] as each class's other columns: the same memory order, so the same sums
        self.options = [(code, _Options(is_call, log_k, vol, T[:, w], weight, weight_k, st.rate, q[code],
                                        code == SPX, fut, decay))
                        for code, w, is_call, log_k, vol, weight, weight_k, fut, decay in classes]
        n = len(T)
        self.entry = entry_spx + np.zeros(n), entry_other + np.zeros(n)
        self.spot_vol, self.moves = spot_vol, (moves + np.zeros(n)) > 0
        self.held = (float(st.vol_scale), float(st.dvix), float(st.vxx))

    def parts(self, rows: np.ndarray, S: np.ndarray, slope: bool = False):
        """P&L of curves `rows` at SPX levels S (m, p), in dollars: (SPX legs, other legs,
        and with `slope` the total's derivative along SPX, else None)."""
        moves = self.moves[rows]
        dlog = 0.0  # d ln(VIX')/dSPX: none where vols are held
        if not moves.any():
            ratio, dvix, vxx = self.held
        else:
            ratio, dvix, vxx = self.spot_vol.at(S)
            dlog = self.spot_vol.slopes(S, dvix + self.spot_vol.vix0) if slope else 0.0
            if not moves.all():
                ratio, dvix, vxx, dlog = (np.where(moves[:, None], x, h) for x, h in
                                          zip((ratio, dvix, vxx, dlog), self.held + (0.0,)))
        dvix_ds = (dvix + self.spot_vol.vix0) * dlog if slope and self.spot_vol else 0.0
        spx = -self.entry[0][rows][:, None]
        other = -self.entry[1][rows][:, None]
        d = 0.0 * S if slope else None
        if self.futures is not None:
            w, f, dec = (x[rows] for x in self.futures)
            moved = moved_future(f, _mid(dvix), dec)
            other = other + (w * moved).sum(axis=1)
            if slope:
                d = d + (w * dec * (moved > FUT_FLOOR) * _mid(dvix_ds)).sum(axis=1)
        for code, options in self.options:
            U = S if code == SPX else vxx + 0 * S
            du = None if not slope else 1.0 if code == SPX else dvix_ds if code == VIX_OPT else \
                self.spot_vol.vxx_exp * vxx * dlog  # VXX' = VXX (VIX'/VIX)^exponent
            got = options.value(rows, U, ratio, dvix, du, dlog)
            if slope:
                got, dv = got
                d = d + dv
            if code == SPX:
                spx = spx + got
            else:
                other = other + got
        return spx, other, d

    def __call__(self, rows: np.ndarray, S: np.ndarray) -> np.ndarray:
        spx, other, _ = self.parts(rows, S)
        return spx + other

    def with_slope(self, rows: np.ndarray, x: np.ndarray):
        """P&L and its derivative along SPX of curves `rows` at one level each, x (m,)."""
        spx, other, d = self.parts(rows, x[:, None], slope=True)
        return (spx + other)[:, 0], d[:, 0]


_COLUMNS: list = []  # (legs, key, columns): the scan's two blocks take the same for every what-if


def _columns(legs: Legs, sl: slice, groups: int, hedged: np.ndarray):
    """What a block takes from its legs alone: the settlement times in `groups` rows; per option
    class (code, its columns, and in `groups` rows or one is_call, ln K, vol, weight, weight x K
    and for VIX options fut and decay); and the futures' (weight, fut, decay), each (curves,
    futures, 1), or None."""
    key = (sl.start, sl.stop, groups, tuple(hedged.tolist()))
    for held, k, got in _COLUMNS:
        if held is legs and k == key:
            return got

    def cols(x):
        return x[sl].reshape(groups, -1)
    u = cols(legs.underlying)[0]
    weight = cols(legs.units * legs.mult) * np.where(u == SPX, 1.0, hedged[:, None])
    classes = []
    for code in (SPX, VIX_OPT, VXX_OPT):
        w = u == code
        if w.any():
            K, vix = cols(legs.strike)[:, w], code == VIX_OPT
            classes.append((code, w, cols(legs.is_call)[:, w], np.log(K), cols(legs.vol)[:, w],
                            weight[:, w], weight[:, w] * K, cols(legs.fut)[:, w] if vix else None,
                            cols(legs.fut_decay)[:, w] if vix else None))
    fut = u == VIX_FUT  # weight x moved_future(F, dVIX, decay)
    futures = None if not fut.any() else tuple(
        np.broadcast_to(x[:, fut], weight[:, fut].shape)[:, :, None]  # one group may serve all curves
        for x in (weight, cols(legs.fut), cols(legs.fut_decay)))
    got = cols(legs.settle), classes, futures
    _COLUMNS[:] = [(legs, key, got)] + _COLUMNS[:1]
    return got


def scan(market: Market, model: ModelSettings, legs: Legs, st: MarketState, horizon: float) -> Scan:
    """Every break-even: each condor's and the condor book's at T+0, the package's at T+0
    and at the horizon (POSIX seconds); and the package curves for the risk graph.
    Two blocks: the condors, and the book with the package curves (shared legs)."""
    nc = legs.n_condors
    if not len(legs.units):
        return Scan([], (), (), (), None)
    condor_entry, hedge_entry = legs.entry[:nc].sum(), legs.entry[nc:].sum()
    merged, spot_vol = _merged(legs), _SpotVol(market, model, st)
    base = float(st.spx) * GRID_PACKAGE

    def kinked(t):  # options expired by t kink the curve: on its grid, so refinement sees smooth pieces
        kinks = spot_vol.kinks(merged, t)
        return distinct(base, kinks[(kinks > base[0]) & (kinks < base[-1])])
    # T+0 has none of the horizon's kinks: at 1,000 condors 48 levels instead of 185
    t0_grid, spx_grid = kinked(st.t), kinked(horizon)
    blocks, grids = [], []
    curves = [(st.t, 1, 1, t0_grid), (horizon, 1, 1, spx_grid)]
    if nc:
        cond = slice(0, 4 * nc)
        K = legs.strike[cond].reshape(nc, 4)
        T = (legs.settle[cond][::4] - st.t) / YEAR
        sigma = legs.vol[cond].reshape(nc, 4)[:, 1:3].mean(axis=1) * st.vol_scale
        lo, hi = _span(K, sigma, T, st.spx)
        blocks.append(_Block(legs, cond, nc, st, None, st.t, 0, 0, legs.entry[:nc], 0.0))
        grid = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, GRID_CONDOR)
        book_grid = np.linspace(lo.min(), hi.max(), GRID_BOOK)
        gone = legs.settle[cond].reshape(nc, 4) <= st.t  # a what-if past expiry: kinks at the strikes
        if gone.any():
            grid = np.sort(np.concatenate([grid, np.where(gone, K, np.nan)], axis=1), axis=1)
            book_grid = distinct(book_grid, K[gone & (K > book_grid[0]) & (K < book_grid[-1])])
        grids.append(grid)
        curves.insert(0, (st.t, 0, 0, book_grid))  # the book: its condors at T+0, vols held
    times, moves, hedged, grid = zip(*curves)
    blocks.append(_Block(merged, slice(None), 1, st, spot_vol,
                         times, moves, hedged, condor_entry, hedge_entry * np.array(hedged)))
    grids.append(_padded(grid))
    values = [blocks[0](np.arange(nc), grids[0])] if nc else []
    k = len(curves)
    t0 = blocks[-1](np.array([k - 2]), t0_grid[None])[0]
    spx, other, _ = blocks[-1].parts(np.array([k - 1]), spx_grid[None])
    at_horizon = (spx + other)[0]
    book = [blocks[-1](np.zeros(1, dtype=int), book_grid[None])[0]] if nc else []
    values.append(_padded(book + [t0, at_horizon]))
    roots = [r for block, grid, value in zip(blocks, grids, values) for r in smooth_roots(block, grid, value, block.with_slope)]
    curve = RiskCurve(spx=spx_grid, t0=t0, horizon=at_horizon,
                      expiry=_condor_payoff(merged, spx_grid, condor_entry) + other[0], t0_spx=t0_grid)
    return Scan(roots[:nc], roots[nc] if nc else (), roots[-2], roots[-1], curve)


_MERGED: list = []  # (legs, merged): the engine passes the same legs for every what-if on a book


def _merged(legs: Legs) -> Legs:
    if not (_MERGED and _MERGED[0][0] is legs):
        _MERGED[:] = [(legs, merge_legs(legs))]
    return _MERGED[0][1]


def _padded(rows) -> np.ndarray:
    """Rows of unequal length as one array, nan after each row's end (never a root)."""
    out = np.full((len(rows), max(len(r) for r in rows)), np.nan)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out


def _span(K: np.ndarray, sigma: np.ndarray, T: np.ndarray, spx) -> tuple[np.ndarray, np.ndarray]:
    """Scan range per condor: beyond both wings by five standard deviations (at least 10%)."""
    s = np.maximum(sigma * np.sqrt(np.maximum(T, 0.0)), 0.02)
    return np.minimum(K[:, 0], spx) * np.exp(-5 * s), np.maximum(K[:, 3], spx) * np.exp(5 * s)


def _condor_payoff(merged: Legs, spx: np.ndarray, entry: float) -> np.ndarray:
    """The condors' P&L along SPX, each at its own expiry: every SPX option (the condors'
    legs, merged) at its intrinsic value."""
    spx_legs = merged.underlying == SPX
    call, put = spx_legs & merged.is_call, spx_legs & ~merged.is_call
    S = spx[:, None]

    def paid(intrinsic, units):  # floored in place: one levels x options array alive at a time
        return np.maximum(intrinsic, 0.0, out=intrinsic) @ units
    return paid(S - merged.strike[call], merged.units[call]) + paid(merged.strike[put] - S, merged.units[put]) - entry
