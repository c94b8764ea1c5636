"""The book flattened into leg arrays, and the market state they are priced in.

`build_legs` resolves everything that depends only on the live market (each
leg's implied vol, the VIX future it prices on); `market_state` applies a
scenario through the spot-vol map; `leg_values` prices all legs at once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from core.model.errors import InputError
from core.market.marketfile import MARK_TOL, VOL
from core.model.instruments import MULT, SPX, VIX_FUT, VIX_OPT, VXX_OPT, settle_time
from core.model.inputs import Book, Market, ModelSettings, VolSurface, WhatIf
from core.pricing.surface import smile_vol
from core.pricing.kernels import Greeks, bsm, bsm_price, implied_vol_black, implied_vol_bsm

YEAR = 365.0 * 86400.0
# the spot-vol map stops here: at beta -4 a -50% SPX would give VIX 16 x 16 = 264, a -90% one
# 165,000 (the record close is 82.69). It caps the map's move only: a VIX entered above it
# (the loader accepts up to 500) is kept, and the map then never raises it further.
VIX_CAP = 150.0


def vix_ceiling(vix):
    """Where the map stops moving VIX up from `vix`: VIX_CAP, or `vix` when already above."""
    return np.maximum(VIX_CAP, vix)


def spot_vol(vix, growth, beta: float):
    """VIX where the spot-vol map puts it when SPX grows by `growth` (a ratio): vix g^beta,
    at most vix_ceiling(vix)."""
    with np.errstate(over="ignore", divide="ignore"):  # SPX near zero: the power overflows, the cap holds
        return np.minimum(vix * np.asarray(growth, dtype=float) ** beta, vix_ceiling(vix))


FUT_FLOOR = 0.01  # a moved VIX future never goes below this (spot VIX has the same floor)


def moved_future(fut, dvix, decay):
    """A VIX future after spot VIX moves by dvix: fut + decay x dvix, floored. A market in
    deep backwardation (or with a mistyped spot) would otherwise go negative in a melt-up."""
    return np.maximum(fut + dvix * decay, FUT_FLOOR)


def map_cap_reached(market, model, whatif) -> float | None:
    """The ceiling the what-if's SPX move drove the map into, else None."""
    if whatif.spx_move >= 0 or model.beta == 0:  # beta <= 0: only a fall raises VIX
        return None
    ceiling = float(vix_ceiling(market.vix))
    with np.errstate(over="ignore"):
        raw = market.vix * (1.0 + whatif.spx_move) ** model.beta
    return ceiling if raw >= ceiling else None


_MULT = np.array([MULT[k] for k in (SPX, VIX_OPT, VIX_FUT, VXX_OPT)])
_KIND = {"vix_call": (VIX_OPT, True), "vix_put": (VIX_OPT, False), "vix_future": (VIX_FUT, False),
         "vxx_call": (VXX_OPT, True), "vxx_put": (VXX_OPT, False)}


@dataclass(frozen=True)
class Legs:
    underlying: np.ndarray  # SPX, VIX_OPT, VIX_FUT, VXX_OPT
    is_call: np.ndarray
    strike: np.ndarray  # nan for futures
    settle: np.ndarray  # POSIX seconds
    units: np.ndarray  # signed contracts: quantity x ratio (condor shorts negative)
    mult: np.ndarray
    owner: np.ndarray  # position index: condors first, then hedges (each position's legs contiguous)
    vol: np.ndarray  # live implied vol
    fut: np.ndarray  # live VIX future of the leg's expiry (nan if not a VIX leg)
    fut_decay: np.ndarray  # exp(-kappa * T): share of a spot-VIX move the future takes
    entry: np.ndarray  # entry value of each position, $ (condors: -credit)
    n_condors: int
    notes: tuple[str, ...]  # assumptions made while resolving (interpolated futures, ...)


@dataclass(frozen=True)
class MarketState:
    """Where the market is in a scenario. Fields are floats, or arrays of shape (n,)
    to price n scenarios at once (results then have shape (n, legs))."""
    t: np.ndarray | float  # valuation time, POSIX seconds
    spx: np.ndarray | float
    vix: np.ndarray | float
    vol_scale: np.ndarray | float  # SPX implied vols x this (VIX'/VIX)
    dvix: np.ndarray | float  # VIX' - VIX, passed to futures by fut_decay
    vxx: np.ndarray | float
    rate: float
    dividend_yield: float


def market_state(market: Market, model: ModelSettings, whatif: WhatIf = WhatIf(),
                 spx_move=0.0, days=0.0, vix_fixed=np.nan) -> MarketState:
    """The vol-coordinated scenario, on top of the what-if: SPX' = SPX (1 + move),
    VIX' = VIX (SPX'/SPX)^beta (+ the what-if's VIX points) unless fixed (not nan),
    futures move exp(-kappa T) of spot VIX's move, SPX vols scale with VIX'/VIX,
    VXX' = VXX (VIX'/VIX)^exponent. Moves, days and fixed VIX may be arrays."""
    spx_w = market.spx * (1.0 + whatif.spx_move)
    vix_w = max(float(spot_vol(market.vix, 1.0 + whatif.spx_move, model.beta)) + whatif.vix_move, 0.01)
    growth = 1.0 + np.asarray(spx_move, dtype=float)
    vix = np.where(np.isnan(vix_fixed), spot_vol(vix_w, growth, model.beta), vix_fixed)
    ratio = vix / market.vix
    vxx = market.vxx * ratio ** model.vxx_exponent if market.vxx else np.full_like(ratio, np.nan)
    t = market.as_of.timestamp() + (whatif.days + np.asarray(days, dtype=float)) * 86400.0
    return MarketState(t=_plain(t), spx=_plain(spx_w * growth), vix=_plain(vix),
                       vol_scale=_plain(ratio), dvix=_plain(vix - market.vix), vxx=_plain(vxx),
                       rate=market.rate, dividend_yield=market.dividend_yield)


def _plain(x):
    """0-d arrays become floats, so a single scenario prices as one row."""
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


def _col(x):
    return x[:, None] if np.ndim(x) else x


def _blocks(legs: Legs, st: MarketState, spx):
    """Pricing inputs per underlying class, so no 2-D selection is needed:
    yields (leg indices, is_call, S, K, T, q, sigma) for each class present."""
    u = legs.underlying
    t = _col(st.t)
    for code in (SPX, VIX_OPT, VIX_FUT, VXX_OPT):
        i = np.nonzero(u == code)[0]
        if not len(i):
            continue
        if code == SPX:
            S = _col(st.spx) if spx is None else spx
            q, sigma = st.dividend_yield, legs.vol[i] * _col(st.vol_scale)
        elif code == VXX_OPT:
            S, q, sigma = _col(st.vxx), 0.0, legs.vol[i]
        else:
            S, q, sigma = moved_future(legs.fut[i], _col(st.dvix), legs.fut_decay[i]), st.rate, legs.vol[i]
        yield i, code, legs.is_call[i], S, legs.strike[i], (legs.settle[i] - t) / YEAR, q, sigma


def _assemble(legs: Legs, st: MarketState, spx, price_only: bool):
    shape = np.broadcast_shapes(np.shape(_col(st.t)), np.shape(_col(st.spx)),
                                np.shape(spx) if spx is not None else (), (len(legs.units),))
    out = [np.zeros(shape) for _ in range(1 if price_only else 5)]
    for i, code, is_call, S, K, T, q, sigma in _blocks(legs, st, spx):
        if code == VIX_FUT:  # linear: worth the future, delta 1
            out[0][..., i] = S
            if not price_only:
                out[1][..., i] = 1.0
            continue
        parts = (bsm_price(is_call, S, K, T, st.rate, q, sigma),) if price_only \
            else bsm(is_call, S, K, T, st.rate, q, sigma)
        for o, x in zip(out, parts):
            o[..., i] = x
    return out


def by_position(values: np.ndarray, legs: Legs) -> np.ndarray:
    """Leg values summed by the position owning each leg: (legs,) -> (positions,), or
    (scenarios, legs) -> (scenarios, positions). Memory linear in legs."""
    n = len(legs.entry)
    if np.ndim(values) == 1:
        return np.bincount(legs.owner, weights=values, minlength=n)
    return np.stack([np.bincount(legs.owner, weights=row, minlength=n) for row in values])


def leg_values(legs: Legs, st: MarketState, spx=None) -> Greeks:
    """Unit price and Greeks of every leg in `st`; `spx` overrides the SPX level
    with vols held per strike (it may be an (n, 1) array)."""
    return Greeks(*_assemble(legs, st, spx, price_only=False))


def leg_prices(legs: Legs, st: MarketState, spx=None) -> np.ndarray:
    """Unit prices only: for scans and stress sets."""
    return _assemble(legs, st, spx, price_only=True)[0]


def merge_legs(legs: Legs) -> Legs:
    """One leg per distinct option (or future), its units summed across positions, as a
    single position, sorted by class: a whole book's curves then price each option once.
    Class, side, strike and settlement identify an option: its vol and future follow."""
    strike = np.where(np.isnan(legs.strike), 0.0, legs.strike)
    keys = (strike, legs.settle, legs.is_call, legs.underlying)
    order = np.lexsort(keys)  # np.unique(axis=0) does the same, ten times slower
    differs = np.zeros(len(order), dtype=bool)
    differs[:1] = True  # the first leg starts a group (when there is one)
    for k in keys:
        ks = k[order]
        differs[1:] |= ks[1:] != ks[:-1]
    group = np.cumsum(differs) - 1
    units = np.bincount(group, weights=(legs.units * legs.mult)[order], minlength=int(differs.sum()))
    pick = order[differs]
    return Legs(legs.underlying[pick], legs.is_call[pick], legs.strike[pick], legs.settle[pick],
                units, np.ones(len(pick)), np.zeros(len(pick), dtype=int), legs.vol[pick],
                legs.fut[pick], legs.fut_decay[pick], np.array([legs.entry.sum()]), 0, legs.notes)


_DISTINCT: list = []  # (legs, distinct, inverse): the engine passes the same legs for every what-if


def distinct_legs(legs: Legs) -> tuple[Legs, np.ndarray]:
    """One leg per distinct option as priced (class, side, strike, settlement, vol and
    future), and each leg's index into them: a book's condors share few options, so a
    stress set prices those and gathers (memory then grows with options, not legs)."""
    if _DISTINCT and _DISTINCT[0][0] is legs:
        return _DISTINCT[0][1], _DISTINCT[0][2]
    keys = tuple(np.nan_to_num(k) for k in (legs.fut, legs.fut_decay, legs.vol, legs.strike)) + \
        (legs.settle, legs.is_call, legs.underlying)
    order = np.lexsort(keys)
    differs = np.zeros(len(order), dtype=bool)
    differs[:1] = True
    for k in keys:
        ks = k[order]
        differs[1:] |= ks[1:] != ks[:-1]
    inverse = np.empty(len(order), dtype=int)
    inverse[order] = np.cumsum(differs) - 1
    pick = order[differs]
    out = Legs(legs.underlying[pick], legs.is_call[pick], legs.strike[pick], legs.settle[pick], legs.units[pick],
               legs.mult[pick], legs.owner[pick], legs.vol[pick], legs.fut[pick], legs.fut_decay[pick],
               legs.entry, 0, legs.notes)
    _DISTINCT[:] = [(legs, out, inverse)]
    return out, inverse


_JOINED: list = []  # (a, b, joined): the engine joins the same two leg sets on every what-if


def joined_legs(a: Legs, b: Legs) -> Legs:
    """a's legs then b's, to be priced in one call (a's positions, then b's, renumbered)."""
    if not (_JOINED and _JOINED[0][0] is a and _JOINED[0][1] is b):
        cols = [np.concatenate([getattr(a, f), getattr(b, f)]) for f in
                ("underlying", "is_call", "strike", "settle", "units", "mult")]
        rest = [np.concatenate([getattr(a, f), getattr(b, f)]) for f in ("vol", "fut", "fut_decay", "entry")]
        owner = np.concatenate([a.owner, b.owner + len(a.entry)])
        _JOINED[:] = [(a, b, Legs(*cols, owner, *rest, 0, a.notes + b.notes))]
    return _JOINED[0][2]


def build_legs(book: Book, market: Market) -> Legs:
    notes: list[str] = []
    vols = _Vols(book, market, notes)
    parts = ([_condor_columns(book, market, vols)] if book.condors else []) + \
        ([_hedge_columns(book, market, _FutureCurve(market, notes), vols)] if book.hedges or not book.condors else [])
    col = parts[0] if len(parts) == 1 else {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    und = col["underlying"].astype(int)
    arrays = (und, col["is_call"].astype(bool), col["strike"], col["settle"], col["units"], _MULT[und],
              col["owner"].astype(int), col["vol"], col["fut"], col["decay"], col["entry"])
    for a in arrays:  # shared by every what-if on this book (the engine caches them): never written
        a.setflags(write=False)
    return Legs(*arrays, len(book.condors), tuple(dict.fromkeys(notes)))


_CONDOR_SIGNS = np.array([1.0, -1.0, -1.0, 1.0])  # long put, short put, short call, long call


def _condor_columns(book: Book, market: Market, vols: "_Vols") -> dict[str, np.ndarray]:
    """Every condor's four SPX legs, as arrays (one step for the whole book)."""
    c, nc = book.condors, len(book.condors)
    as_of = market.as_of.timestamp()
    settle = np.array([settle_time(x.expiry, SPX, x.root == "SPX") for x in c], dtype=float)
    for i in np.nonzero(settle <= as_of)[0][:1]:
        raise _err(book, (c[i].line, f"condor {c[i].id}: expiry"),
                   f"expiry {c[i].expiry} is not after as_of {market.as_of:%Y-%m-%d %H:%M}")
    strike = np.array([(x.long_put, x.short_put, x.short_call, x.long_call) for x in c], dtype=float).reshape(-1)
    q = np.array([x.quantity for x in c], dtype=float)
    settle, is_call = np.repeat(settle, 4), np.tile([False, False, True, True], nc)
    T = (settle - as_of) / YEAR
    _spx_band(book, market, strike)
    vol = vols.spx_surface(strike, T) if vols.plain_spx() else np.full(4 * nc, np.nan)
    for i in np.nonzero(~((vol >= VOL[0]) & (vol <= VOL[1])))[0]:  # marks and overrides; a bad surface vol raises here
        x = c[i // 4]
        vol[i] = vols.vol(SPX, bool(is_call[i]), float(strike[i]), x.expiry, float(T[i]), math.nan,
                          (x.line, f"condor {x.id}: expiry"), x.root)
    if vols.marks:
        _check_marked_spreads(book, market, vols, strike, is_call, T, vol)
    return dict(underlying=np.full(4 * nc, SPX), is_call=is_call, strike=strike, settle=settle,
                units=(q[:, None] * _CONDOR_SIGNS).reshape(-1), owner=np.repeat(np.arange(nc), 4), vol=vol,
                fut=np.full(4 * nc, np.nan), decay=np.zeros(4 * nc),
                entry=-np.array([x.credit for x in c], dtype=float) * q * MULT[SPX])


SPX_BAND = 100.0  # condor strikes within SPX / 100 .. SPX x 100: beyond, one of the two is a typo


def _spx_band(book: Book, market: Market, strike: np.ndarray) -> None:
    lo, hi = float(strike.min()), float(strike.max())
    if not (market.spx / SPX_BAND <= lo and hi <= market.spx * SPX_BAND):
        raise InputError(f"{market.spx:g} is over {SPX_BAND:g}x away from the condor strikes"
                         f" ({lo:g} to {hi:g}) in {book.source or 'the book'}: a typo?",
                         file=market.source, field="spx")


def _check_marked_spreads(book: Book, market: Market, vols: "_Vols", strike, is_call, T, vol) -> None:
    """A condor's put and call spreads priced with a [[mark]] on one leg must be worth 0 to
    their width, as the surface prices the other leg: else the mark is mistyped."""
    price = bsm_price(is_call, market.spx, strike, T, market.rate, market.dividend_yield, vol)
    for n, x in enumerate(book.condors):
        for a, b, side in ((4 * n, 4 * n + 1, "put"), (4 * n + 3, 4 * n + 2, "call")):
            spread, width = float(price[b] - price[a]), abs(float(strike[b] - strike[a]))
            if -MARK_TOL <= spread <= width + MARK_TOL:
                continue
            for k in (b, a):
                key = (f"spx_{side}", x.expiry, float(strike[k]))
                if key in vols.marks:
                    i, m = vols.mark_at[key]
                    lo, hi = sorted((float(strike[a]), float(strike[b])))
                    where = "below 0" if spread < 0 else f"above its width {width:g}"
                    raise InputError(f"spx_{side} {m.strike:g} {m.expiry} at {m.price:g} makes condor"
                                     f" {x.id}'s {lo:g}/{hi:g} {side} spread worth {spread:.2f} ({where})"
                                     f" against the surface: a mistyped mark?",
                                     file=market.source, line=m.line, field=f"mark[{i + 1}].price")


def _hedge_columns(book: Book, market: Market, futures: "_FutureCurve", vols: "_Vols") -> dict[str, np.ndarray]:
    rows = []
    entry = []
    as_of = market.as_of.timestamp()
    for j, h in enumerate(book.hedges):
        value = 0.0
        for k, leg in enumerate(h.legs):
            u, is_call = _KIND[leg.kind]
            where = (h.line, f"hedge {h.id} leg {k + 1}: expiry")
            settle = settle_time(leg.expiry, u)
            if settle <= as_of:
                raise _err(book, where, f"expiry {leg.expiry} is not after as_of {market.as_of:%Y-%m-%d %H:%M}")
            T = (settle - as_of) / YEAR
            strike = math.nan if leg.strike is None else leg.strike
            vix = u != VXX_OPT  # a VIX option or future: priced on its VIX future
            fut = futures.at(leg.expiry, book, where) if vix else math.nan
            vol = 0.0 if u == VIX_FUT else vols.vol(u, is_call, strike, leg.expiry, T, fut, where)
            decay = math.exp(-book.model.kappa * T) if vix else 0.0
            units = h.quantity * leg.ratio
            rows.append((u, is_call, strike, settle, units, len(book.condors) + j, vol, fut, decay))
            value += units * MULT[u] * leg.price
        entry.append(value)
    names = ("underlying", "is_call", "strike", "settle", "units", "owner", "vol", "fut", "decay")
    cols = zip(*rows) if rows else ((),) * len(names)
    return dict(zip(names, (np.array(x, dtype=float) for x in cols)), entry=np.array(entry, dtype=float))


def _err(book: Book, where, message: str) -> InputError:
    line, field = where
    return InputError(message, file=book.source, line=line, field=field)


class _FutureCurve:
    """The VIX future of an expiry: listed, or interpolated in time from spot VIX (flagged)."""

    def __init__(self, market: Market, notes: list[str]):
        self.market, self.notes = market, notes
        self.t0 = market.as_of.timestamp()
        live = []
        for d, p in market.vix_futures:
            if settle_time(d, VIX_FUT) > self.t0:
                live.append((d, p))
            else:  # settled at 09:30 on as_of's own day: no longer a point on the curve
                notes.append(f"VIX future {d} settled before as_of: ignored")
        self.listed = dict(live)
        self.times = [settle_time(d, VIX_FUT) for d, _ in live]
        self.prices = [p for _, p in live]

    def at(self, expiry: date, book: Book, where) -> float:
        if expiry in self.listed:
            return self.listed[expiry]
        t = settle_time(expiry, VIX_FUT)
        if not self.times or t > self.times[-1]:
            last = f" (last listed {max(self.listed)})" if self.times else ""
            raise _err(book, where,
                       f"no VIX future to price on for {expiry}{last}: add it under [vix_futures]"
                       f" in {self.market.source or 'the market file'}")
        price = float(np.interp(t, [self.t0] + self.times, [self.market.vix] + self.prices))
        self.notes.append(f"VIX future {expiry} interpolated in time: {price:.2f}")
        return price


class _Vols:
    """Each leg's live implied vol: a mark's implied vol, a strike override, or the surface."""

    def __init__(self, book: Book, market: Market, notes: list[str]):
        self.book, self.market, self.notes = book, market, notes
        self.marks = {(m.kind, m.expiry, m.strike): m.price for m in market.marks}
        self.mark_at = {(m.kind, m.expiry, m.strike): (i, m) for i, m in enumerate(market.marks)}
        self.rooted = {(m.kind, m.expiry, m.strike, m.root): m.price for m in market.marks}
        self.overrides = {label: dict(v.overrides) for label, v in
                          (("spx_vol", market.spx_vol), ("vix_vol", market.vix_vol), ("vxx_vol", market.vxx_vol)) if v}
        as_of = market.as_of.timestamp()
        self.smiles = {code: sorted(((settle_time(x.expiry, code, x.root == "SPX") - as_of) / YEAR, x)
                                    for x in smiles if settle_time(x.expiry, code, x.root == "SPX") > as_of)
                       for code, smiles in ((SPX, market.spx_smiles), (VIX_OPT, market.vix_smiles))}

    def plain_spx(self) -> bool:
        """True when no SPX mark, strike override or fitted smile exists: the surface alone decides."""
        surface = self.market.spx_vol
        return surface is not None and not surface.overrides and not self.market.spx_smiles and \
            not any(m.kind.startswith("spx_") for m in self.market.marks)

    def spx_surface(self, strike: np.ndarray, T: np.ndarray) -> np.ndarray:
        """SPX vols off the surface for many legs: atm + skew x ln(K / forward)."""
        m = self.market
        fwd = m.spx * np.exp((m.rate - m.dividend_yield) * T)
        return m.spx_vol.atm + m.spx_vol.skew * np.log(strike / fwd)

    def mark(self, kind: str, expiry: date, strike: float, root: str | None):
        """A mark of this root, else one that names no root."""
        price = self.rooted.get((kind, expiry, strike, root))
        return self.rooted.get((kind, expiry, strike, None)) if price is None else price

    def from_smile(self, u: int, strike: float, T: float, label: str) -> float | None:
        slices = self.smiles.get(u)
        if not slices:
            return None
        got = smile_vol(slices, strike, T)
        if got.extrapolated:
            self.notes.append(f"{label}: outside the fitted smiles' expiries, vol held flat from {got.extrapolated}")
        return got.vol

    def vol(self, u: int, is_call: bool, strike: float, expiry: date, T: float, fut: float, where,
            root: str | None = None) -> float:
        m = self.market
        name = {SPX: "spx", VIX_OPT: "vix", VXX_OPT: "vxx"}[u]
        mark = self.mark(f"{name}_{'call' if is_call else 'put'}", expiry, strike, root)
        if u == SPX:
            fwd, surface, label = m.spx * math.exp((m.rate - m.dividend_yield) * T), m.spx_vol, "spx_vol"
        elif u == VIX_OPT:
            fwd, surface, label = fut, m.vix_vol, "vix_vol"
        else:
            if m.vxx is None:
                raise _err(self.book, (where[0], where[1].replace("expiry", "kind")),
                           f"a VXX leg needs vxx in {m.source or 'the market file'}")
            fwd, surface, label = m.vxx * math.exp(m.rate * T), m.vxx_vol, "vxx_vol"
            if surface is None and m.vix_vol is not None:
                surface = VolSurface(m.vix_vol.atm * self.book.model.vxx_exponent, m.vix_vol.skew)
                self.notes.append(f"VXX vol = VIX vol x {self.book.model.vxx_exponent:g} (no [vxx_vol])")
        if mark is not None:
            return self._implied(u, is_call, strike, T, fwd, mark, name, expiry)
        vol = self.overrides.get(label, {}).get(strike)
        smiled = vol is None and self.smiles.get(u)
        if vol is None:
            vol = self.from_smile(u, strike, T, f"{root or name.upper()} {expiry}")
        if smiled and not VOL[0] <= vol <= VOL[1]:
            raise InputError(f"the fitted smiles give {root or name.upper()} {expiry} a vol of {vol:.4f} at"
                             f" strike {strike:g}, outside {VOL[0]:g}..{VOL[1]:g}: no smile reaches that"
                             " strike or expiry sensibly", file=m.source, field=f"{name}_smile")
        if vol is None:
            if surface is None:
                raise InputError(f"needed to price a {name.upper()} option; add [{label}] atm",
                                 file=m.source, field=f"{label}.atm")
            vol = surface.atm + surface.skew * math.log(strike / fwd)
        if not VOL[0] <= vol <= VOL[1]:
            raise InputError(f"gives a vol of {vol:.4f} at strike {strike:g} (forward {fwd:g}), outside"
                             f" {VOL[0]:g}..{VOL[1]:g}: lower the skew, add an override or check the level",
                             file=m.source, field=f"{label}.skew")
        return float(vol)

    def _implied(self, u, is_call, strike, T, fwd, price, name, expiry) -> float:
        m = self.market
        try:
            if u == VIX_OPT:
                vol = implied_vol_black(price, fwd, strike, T, m.rate, is_call)
            else:
                S, q = (m.spx, m.dividend_yield) if u == SPX else (m.vxx, 0.0)
                vol = implied_vol_bsm(price, S, strike, T, m.rate, q, is_call)
        except Exception as exc:  # vollib raises its own types for prices below intrinsic etc.
            vol, why = np.nan, str(exc) or type(exc).__name__
        else:
            why = "no implied vol"
        if not (np.isfinite(vol) and vol > 0):
            raise InputError(f"mark {price:g} for {name} {strike:g} {expiry} has {why}"
                             " (below intrinsic or above the upper bound?)", file=m.source, field="mark.price")
        self.notes.append(f"{name.upper()} {strike:g} {expiry}: vol {vol:.2%} implied from mark")
        return vol
