"""How likely the condors and the book pay: probability of profit at expiry and at the
what-if date, of touching each short strike, of max loss, and the expected move.

Two measures side by side. Risk-neutral: the smile the engine prices the legs with, as a
Breeden-Litzenberger digital, P(S_T > K) = -e^(rT) dC/dK = N(d2) - phi(d2) sqrt(T) dsigma/dk.
Real-world: a lognormal with the realized vol of the stored SPX closes and drift the
index's CAPM cost of equity (rf + MRP, beta 1) less the dividend yield. No I/O: the
caller passes the closes (`real_world`). Probabilities are fractions, moves index points.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from core.capital.finance import index_drift
from core.history.signals import realized_vol
from core.model.inputs import Book, CapitalSettings, Market
from core.model.results import Analysis
from core.pricing.kernels import bsm_price
from core.pricing.legs import YEAR, build_legs
from core.pricing.arrays import distinct
from core.pricing.normal import ndtr

MRP = CapitalSettings().mrp_pct / 100  # the [capital] defaults: market risk premium
WINDOW = CapitalSettings().vol_window_days  # and daily returns the realized vol is measured over
MIN_VOL = 0.01  # the fitted smile is floored here far outside the strikes it saw
# an ATM straddle is worth E|S_T - K| ~ S sigma sqrt(T) sqrt(2/pi): 1 sigma = straddle x sqrt(pi/2)
STRADDLE_TO_SIGMA = math.sqrt(math.pi / 2)
ATM_BAND = 0.01  # a straddle counts as ATM with its strike within 1 % of spot
_SIGNS = np.array([1.0, -1.0, -1.0, 1.0])  # long put, short put, short call, long call


@dataclass(frozen=True)
class RealWorld:
    """The real-world lognormal: realized vol of SPX closes and the price drift."""
    vol: float  # annual
    rf: float
    mrp: float
    window: int  # daily returns the vol was measured on
    last: date  # the last close used
    demo: bool  # the bundled DEMO history

    @property
    def drift(self) -> float:
        """The index's expected total return: CAPM with beta 1, a year."""
        return index_drift(self.rf, self.mrp)


def real_world(spx, as_of: date, rf: float, mrp: float = MRP, window: int = WINDOW) -> RealWorld | None:
    """From a history `Daily` of SPX closes up to as_of: the realized vol of the last
    `window` daily log returns (root mean square x sqrt(252), as the signals measure it) and
    the index's CAPM expected return rf + 1 x MRP. None with fewer than window + 1 closes."""
    if spx is None or not len(spx):
        return None
    seen = spx[spx.days <= np.datetime64(as_of)].dropna()
    vol = realized_vol(seen, window) if len(seen) else None
    if vol is None:
        return None
    return RealWorld(vol / 100, rf, mrp, window, seen.last_day(), seen.demo)


def risk_free(book: Book, market: Market) -> tuple[float, str]:
    """The book's [capital] rf_pct as a fraction, else the market's rate; and which it is."""
    s = book.capital
    return (s.rf_pct / 100, "[capital] rf_pct") if s.rf_pct is not None else (market.rate, "the market's rate")


def real_world_for(book: Book, market: Market, spx) -> RealWorld | None:
    """`real_world` with the book's [capital] rf (else the market's rate), MRP and window:
    the one real-world measure of the probabilities and of the capital calculator's IRR."""
    s = book.capital
    return real_world(spx, market.as_of.date(), risk_free(book, market)[0], s.mrp_pct / 100, s.vol_window_days)


def above(S, K, T, growth, sigma, sigma_k=0.0):
    """P(S_T > K) for a lognormal with price drift `growth`, corrected by the smile's slope
    sigma_k = dsigma / d ln K (Breeden-Litzenberger; 0 gives the plain lognormal N(d2))."""
    S, K, T, sigma = (np.asarray(v, dtype=float) for v in (S, K, T, sigma))
    live = T > 0
    Tl = np.where(live, T, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = sigma * np.sqrt(Tl)
        d2 = (np.log(S / K) + (growth - 0.5 * sigma * sigma) * Tl) / sd
        p = ndtr(d2) - np.exp(-0.5 * d2 * d2) / math.sqrt(2 * math.pi) * np.sqrt(Tl) * sigma_k
    p = np.where(live, p, (S > K).astype(float))
    return np.where(np.isnan(K), 0.0, np.clip(p, 0.0, 1.0))  # a nan strike stands for +inf


def touch(S, H, T, growth, sigma, side=None):
    """P(the path touches H before T) for GBM, reflection principle: with nu = growth -
    sigma^2 / 2, b = ln(H / S) and s its sign, N(s(nu T - b) / sd) + e^(2 nu b / sigma^2)
    N(-s(b + nu T) / sd), sd = sigma sqrt(T); 1 when S is at H. `side` -1: H is a barrier
    below (a short put), +1 above (a short call): 1 when S is already at or through it;
    None: the barrier is on whichever side of S it lies."""
    S, H, T, sigma = (np.asarray(v, dtype=float) for v in (S, H, T, sigma))
    b = np.log(H / S)
    if side is not None:
        through = (b >= 0) if side < 0 else (b <= 0)
        return np.where(through, 1.0, touch(S, H, T, growth, sigma))
    s = np.where(b >= 0, 1.0, -1.0)
    Tl = np.where(T > 0, T, 1.0)
    nu = growth - 0.5 * sigma * sigma
    sd = sigma * np.sqrt(Tl)
    with np.errstate(over="ignore", invalid="ignore"):
        p = ndtr(s * (nu * Tl - b) / sd) + np.exp(2 * nu * b / (sigma * sigma)) * ndtr(-s * (b + nu * Tl) / sd)
    p = np.where(np.isfinite(p), p, 0.0)  # the exponential overflows only where N(.) is 0
    return np.where(b == 0, 1.0, np.where(T > 0, np.clip(p, 0.0, 1.0), 0.0))


@dataclass(frozen=True)
class Smiles:
    """Per condor, its expiry's vols fitted to every condor leg of that expiry as the engine
    prices them: sigma(x) = c0 + c1 x + c2 x^2, x = ln(K / SPX), held linear beyond the
    strikes fitted (so its slope, which the digital reads, never jumps)."""
    coef: np.ndarray  # (n, 3)
    lo: np.ndarray  # fitted x range, (n,)
    hi: np.ndarray
    spx: float

    def at(self, K, rows=slice(None)):
        """(sigma, dsigma / d ln K) at strikes K of shape (n, m) (or (n,))."""
        c, lo, hi = self.coef[rows], self.lo[rows], self.hi[rows]
        x = np.log(np.asarray(K, dtype=float) / self.spx)
        extra = (slice(None),) + (None,) * (np.ndim(K) - 1)
        c0, c1, c2, lo, hi = c[:, 0][extra], c[:, 1][extra], c[:, 2][extra], lo[extra], hi[extra]
        edge = np.clip(x, lo, hi)
        slope = c1 + 2 * c2 * edge
        vol = c0 + c1 * edge + c2 * edge * edge + slope * (x - edge)
        floored = vol < MIN_VOL
        return np.where(floored, MIN_VOL, vol), np.where(floored, 0.0, slope)


def fit_smiles(book: Book, market: Market) -> tuple[Smiles, np.ndarray, np.ndarray, np.ndarray]:
    """Each condor's expiry smile; its legs' strikes and live vols (n, 4); its settlement (n,)."""
    nc = len(book.condors)
    legs = build_legs(book, market)
    K = legs.strike[:4 * nc].reshape(nc, 4)
    vol = legs.vol[:4 * nc].reshape(nc, 4)
    settle = legs.settle[:4 * nc:4]
    x = np.log(K / market.spx)
    coef, lo, hi = np.zeros((nc, 3)), np.zeros(nc), np.zeros(nc)
    for t in distinct(settle):
        mine = settle == t
        xs, vs = x[mine].ravel(), vol[mine].ravel()
        deg = min(2, len(distinct(xs)) - 1)
        fit = np.polyfit(xs, vs, deg)[::-1] if deg > 0 else vs[:1]
        coef[mine] = np.pad(fit, (0, 3 - len(fit)))
        lo[mine], hi[mine] = xs.min(), xs.max()
    return Smiles(coef, lo, hi, market.spx), K, vol, settle


_CACHE: list = []  # (book, market, fit): the cockpit asks on every what-if key press


def _fit(book: Book, market: Market):
    if not (_CACHE and _CACHE[0][0] is book and _CACHE[0][1] is market):
        _CACHE[:] = [(book, market, fit_smiles(book, market))]
    return _CACHE[0][2]


def prob_positive(bes: np.ndarray, pnl_at, p_above, anywhere) -> np.ndarray:
    """P(P&L > 0) per row, from its break-evens (n, m), nan-padded and sorted: the P&L's
    sign is constant between two, so each interval counts P(lo < S < hi) where the P&L is
    positive at a point inside. pnl_at(points (n, m + 1)); p_above(K (n, m)) = P(S > K);
    anywhere (n,): a level to read the sign at when a row has no break-even."""
    n, m = bes.shape
    lo = np.concatenate([np.full((n, 1), -np.inf), bes], axis=1)
    hi = np.concatenate([bes, np.full((n, 1), np.nan)], axis=1)
    inner, left = np.isfinite(lo) & np.isfinite(hi), np.isinf(lo) & np.isfinite(hi)
    point = np.where(inner, 0.5 * (lo + hi), np.where(left, 0.99 * hi, 1.01 * lo))
    point[:, 0] = np.where(np.isnan(hi[:, 0]), anywhere, point[:, 0])
    ab = p_above(bes) if m else np.zeros((n, 0))
    p_lo = np.concatenate([np.ones((n, 1)), ab], axis=1)
    p_hi = np.concatenate([ab, np.zeros((n, 1))], axis=1)
    # after a row's last break-even the padded intervals are empty: p_lo = p_hi = 0 there
    return np.nansum(np.where(pnl_at(np.nan_to_num(point, nan=1.0)) > 0, p_lo - p_hi, 0.0), axis=1)


def _padded(rows) -> np.ndarray:
    m = max((len(r) for r in rows), default=0)
    return np.array([sorted(r) + [np.nan] * (m - len(r)) for r in rows], dtype=float).reshape(len(rows), m)


@dataclass(frozen=True)
class CondorOdds:
    """One condor; `*_real` under the real-world lognormal (None without history)."""
    pop: float  # P(P&L at expiry > 0), risk-neutral
    pop_real: float | None
    pop_whatif: float | None  # P(P&L at the what-if date > 0) from the live market; None at 0 days
    pop_whatif_real: float | None
    touch_put: float  # P(SPX touches the short put before expiry)
    touch_call: float
    touch_put_real: float | None
    touch_call_real: float | None
    max_loss: float  # P(SPX settles beyond the wing of the widest side)
    max_loss_real: float | None
    move: float  # +-1 sigma to expiry from the ATM implied vol, index points
    atm_vol: float
    straddle: float | None  # the ATM straddle's mid, points (live, quoted expiries only)
    move_straddle: float | None  # its 1 sigma: straddle x sqrt(pi / 2)


@dataclass(frozen=True)
class BookOdds:
    """The package (condors + hedges) through the spot-vol map."""
    horizon: str  # the first condor expiry, ISO
    pop: float | None  # P(package P&L at the horizon > 0), risk-neutral
    pop_real: float | None
    pop_whatif: float | None  # ... at the what-if date, from the live market
    pop_whatif_real: float | None


@dataclass(frozen=True)
class Odds:
    condors: tuple[CondorOdds, ...]
    book: BookOdds | None
    real: RealWorld | None


def odds(a: Analysis, real: RealWorld | None = None) -> Odds:
    """At expiry from where the analysis values (the what-if's SPX, time and vol scale);
    at the what-if date from the live market over the what-if's days."""
    book, m = a.book, a.market
    if not a.condors:
        return Odds((), None, real)
    smiles, K, leg_vol, settle = _fit(book, m)
    q, r = m.dividend_yield, m.rate
    S, t, scale = a.at.spx, a.at.time.timestamp(), a.at.vol_scale
    T = np.maximum(settle - t, 0.0) / YEAR
    tau = a.whatif.days / 365.0
    credit = np.array([c.condor.credit for c in a.condors])
    g_q, g_p = r - q, (real.drift - q if real else 0.0)

    def rn(spot, horizon, scaled):
        def p(Ks):
            vol, slope = smiles.at(Ks)
            return above(spot, Ks, horizon[:, None], g_q, vol * scaled, slope * scaled)
        return p

    def rw(spot, horizon):
        return lambda Ks: above(spot, Ks, horizon[:, None], g_p, real.vol)

    def pnl_at(when, vol_scale):
        """Each condor's P&L per unit at SPX levels (n, j), at POSIX time `when`."""
        Tw = (settle[:, None, None] - when) / YEAR

        def f(points):
            price = bsm_price(np.array([False, False, True, True]), points[:, :, None], K[:, None, :], Tw,
                              r, q, leg_vol[:, None, :] * vol_scale)
            return credit[:, None] + np.einsum("njl,l->nj", price, _SIGNS)
        return f

    at_exp = _padded([c.breakevens_expiry for c in a.condors])
    expiry_pnl = pnl_at(math.inf, 1.0)  # past settlement: intrinsic
    pop = prob_positive(at_exp, expiry_pnl, rn(S, T, scale), S)
    whatif = tau > 0
    t0 = _padded([c.breakevens_t0 for c in a.condors])
    t0_pnl = pnl_at(t, scale)
    pop_w = prob_positive(t0, t0_pnl, rn(m.spx, np.full(len(T), tau), 1.0), S) if whatif else None

    put_vol, _ = smiles.at(K[:, 1])
    call_vol, _ = smiles.at(K[:, 2])
    width_put, width_call = K[:, 1] - K[:, 0], K[:, 3] - K[:, 2]
    widest = np.maximum(width_put, width_call)

    def max_loss(p_above):
        below_wing = 1.0 - p_above(K[:, [0]])[:, 0]
        beyond_wing = p_above(K[:, [3]])[:, 0]
        return np.where(width_put >= widest, below_wing, 0.0) + np.where(width_call >= widest, beyond_wing, 0.0)

    touch_put = touch(S, K[:, 1], T, g_q, put_vol * scale, side=-1)
    touch_call = touch(S, K[:, 2], T, g_q, call_vol * scale, side=1)
    loss = max_loss(rn(S, T, scale))
    real_rows = None
    if real:
        real_rows = (prob_positive(at_exp, expiry_pnl, rw(S, T), S),
                     prob_positive(t0, t0_pnl, rw(m.spx, np.full(len(T), tau)), S) if whatif else None,
                     touch(S, K[:, 1], T, g_p, real.vol, side=-1), touch(S, K[:, 2], T, g_p, real.vol, side=1),
                     max_loss(rw(S, T)))
    atm = S * np.exp((r - q) * T)
    atm_vol = smiles.at(atm)[0] * scale
    move = S * atm_vol * np.sqrt(T)
    straddles = [_straddle(m, c.condor) if a.whatif.is_live else None for c in a.condors]
    rows = []
    for i, c in enumerate(a.condors):
        def real_at(j):
            x = real_rows[j] if real_rows else None
            return None if x is None else float(x[i])
        st = straddles[i]
        rows.append(CondorOdds(
            float(pop[i]), real_at(0), None if pop_w is None else float(pop_w[i]), real_at(1),
            float(touch_put[i]), float(touch_call[i]), real_at(2), real_at(3), float(loss[i]), real_at(4),
            float(move[i]), float(atm_vol[i]), st, None if st is None else st * STRADDLE_TO_SIGMA))
    return Odds(tuple(rows), _book_odds(a, smiles, settle, real, g_q, g_p), real)


def _straddle(m: Market, c) -> float | None:
    """The mid of the call and put marked at one strike within ATM_BAND of spot for the
    condor's expiry (the nearest such strike), else None."""
    calls = {x.strike: x.price for x in m.marks if x.kind == "spx_call" and x.expiry == c.expiry
             and x.root in (None, c.root)}
    both = [(abs(x.strike - m.spx), x.price + calls[x.strike]) for x in m.marks
            if x.kind == "spx_put" and x.expiry == c.expiry and x.root in (None, c.root) and x.strike in calls]
    near = [b for b in both if b[0] <= ATM_BAND * m.spx]
    return min(near)[1] if near else None


def _book_odds(a: Analysis, smiles: Smiles, settle, real, g_q, g_p) -> BookOdds | None:
    x = a.alvh
    if x is None:
        return None
    now = a.at.time.timestamp()
    ahead = np.where(settle > now, settle, np.inf)  # the package horizon: the first condor expiry ahead
    first = int(np.argmin(ahead)) if np.isfinite(ahead).any() else int(np.argmax(settle))
    rows = [first]
    curve = x.curve
    T = max(settle[first] - now, 0.0) / YEAR
    tau = a.whatif.days / 365.0
    scale = a.at.vol_scale

    def chance(bes, levels, values, spot, horizon, vol_scale, real_vol=None):
        pnl = (lambda p: np.interp(p, levels, values))
        b = _padded([bes])
        if real_vol is not None:
            return float(prob_positive(b, pnl, lambda Ks: above(spot, Ks, horizon, g_p, real_vol), a.at.spx)[0])

        def p(Ks):
            vol, slope = smiles.at(Ks, rows)
            return above(spot, Ks, horizon, g_q, vol * vol_scale, slope * vol_scale)
        return float(prob_positive(b, pnl, p, a.at.spx)[0])
    if curve is None or not len(curve.spx):
        return BookOdds(x.horizon, None, None, None, None)
    S, live = a.at.spx, a.market.spx
    w = tau > 0
    return BookOdds(
        x.horizon, chance(x.breakevens_horizon, curve.spx, curve.horizon, S, T, scale),
        chance(x.breakevens_horizon, curve.spx, curve.horizon, S, T, scale, real.vol) if real else None,
        chance(x.breakevens_t0, curve.t0_spx, curve.t0, live, tau, 1.0) if w else None,
        chance(x.breakevens_t0, curve.t0_spx, curve.t0, live, tau, 1.0, real.vol) if real and w else None)
