"""The new-tranche helper: "open a 45-DTE 16-delta condor with 50-point wings".

The listed expiry nearest the DTE (the market file's SPX expiries, else the caller's SPX
calendar); the short strikes whose spot delta (BSM, at the vol the engine gives that
strike) is nearest the target, solved by bisection on the smile, then the nearer of the two
listed 5-point strikes around each; the wings `wings` points out. The credit is the model's
mid (a marked leg is priced at its mark); the book is analyzed with and without the condor,
and the capital calculator (beta, buying power, the rules) and the odds run on both.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date
from typing import Callable

import numpy as np

from core.capital.calculator import CapitalResult, capital
from core.capital.margin import reg_t_condor
from core.capital.probability import CondorOdds, odds, real_world_for
from core.capital.rules import cap_in_force
from core.engine import analyze
from core.history.daily import Daily
from core.model.errors import InputError
from core.model.inputs import Book, Condor, Market, SignalInputs
from core.model.instruments import SPX, settle_time
from core.model.results import Analysis, CondorResult
from core.pricing.kernels import bsm
from core.pricing.legs import SPX_BAND, YEAR, build_legs

STEP = 5.0  # SPX lists 5-point strikes
DTE = (1, 1000)  # calendar days a suggestion may ask for
DELTA = (0.01, 0.49)  # short-strike |delta|: past 0.5 the short put would sit above the call
MAX_LOSS_PCT = 2.0  # default cap: one tranche's max loss, % of equity
MAX_QUANTITY = 1_000_000  # core.book.bookfile.QUANTITY: the book file takes no more


@dataclass(frozen=True)
class Suggestion:
    condor: Condor  # at the quantity asked, else the largest that fits the cap (at least 1)
    expiry_from: str  # where the expiry came from
    target_delta: float
    deltas: tuple[float, float]  # |delta| of the short put and short call at their vols
    vols: tuple[float, float, float, float]  # each leg's vol, long put to long call
    max_loss_pct: float  # the cap in force, % of equity, on the tranche (the condors of its expiry)
    cap_source: str  # which cap that is: the [capital] tranche cap or the helper's own
    held: float  # $ max loss the book holds already at this expiry
    quantity_cap: int  # the largest quantity whose tranche max loss is within the cap (0: not even one)
    result: CondorResult  # the condor as the engine prices it in the book
    odds: CondorOdds  # its probability of profit, touch, max loss and expected move
    reg_t: float  # $ its Reg-T requirement
    before: Analysis  # the book without it
    after: Analysis  # with it
    capital_before: CapitalResult
    capital_after: CapitalResult  # its rules are the ones the book would then face

    @property
    def fits(self) -> bool:
        return self.condor.quantity <= self.quantity_cap

    @property
    def max_loss_each(self) -> float:
        """$ one condor can lose: the wider wing less the credit, x 100."""
        return self.condor.max_loss_each


def check_inputs(dte: float, delta: float, wings: float, quantity: int | None, max_loss_pct: float) -> None:
    """One InputError naming the argument that is out of range."""
    if not (DTE[0] <= dte <= DTE[1] and float(dte).is_integer()):
        raise InputError(f"{dte:g}: a whole number of calendar days, {DTE[0]} to {DTE[1]}", field="--dte")
    if not DELTA[0] <= delta <= DELTA[1]:
        raise InputError(f"{delta:g}: the short strikes' |delta|, {DELTA[0]:g} to {DELTA[1]:g} (0.16 is 16-delta)",
                         field="--delta")
    if not (wings > 0 and float(wings / STEP).is_integer()):
        raise InputError(f"{wings:g}: points from each short strike to its wing, a positive multiple of"
                         f" {STEP:g}", field="--wings")
    if quantity is not None and not 1 <= quantity <= MAX_QUANTITY:
        raise InputError(f"{quantity}: whole condors, 1 to {MAX_QUANTITY:,} (what a book file takes)",
                         field="--quantity")
    if not 0 < max_loss_pct <= 100:
        raise InputError(f"{max_loss_pct:g}: % of equity one tranche may lose, above 0 and at most 100",
                         field="--max-loss-pct")


def listed_expiries(market: Market) -> list[tuple[date, bool]]:
    """(expiry, AM-settled) of the SPX expiries the market file lists: its fitted smiles and
    its SPX marks (a mark naming no root: PM, SPXW)."""
    out = {(s.expiry, s.root == "SPX") for s in market.spx_smiles}
    out |= {(m.expiry, m.root == "SPX") for m in market.marks if m.kind.startswith("spx_")}
    return sorted(out)


def nearest_expiry(market: Market, dte: int,
                   calendar: Callable[[date, int], tuple[date, bool]] | None) -> tuple[date, bool, str]:
    """The listed expiry whose calendar days from as_of are nearest `dte` (a tie: the later;
    one date with both roots: the AM monthly), and where it came from."""
    now, day = market.as_of.timestamp(), market.as_of.date()
    live = [x for x in listed_expiries(market) if settle_time(x[0], SPX, x[1]) > now]
    if live:
        e, am = min(live, key=lambda x: (abs((x[0] - day).days - dte), -x[0].toordinal(), not x[1]))
        return e, am, "the market file's SPX expiries"
    if calendar is None:
        raise InputError("the market file lists no SPX expiry (no smile or SPX mark) and no calendar was given",
                         field="--dte")
    e, am = calendar(day, dte)
    return e, am, "the SPX calendar (the market file lists no SPX expiry)"


def _probe(book: Book, market: Market, expiry: date, root: str, strikes: np.ndarray) -> np.ndarray:
    """The engine's vol at each (long put, short put, short call, long call) row of strikes."""
    condors = tuple(Condor(f"probe{i}", expiry, 1, *map(float, row), 0.0, root=root) for i, row in enumerate(strikes))
    return build_legs(Book(equity=book.equity, condors=condors, model=book.model), market).vol.reshape(-1, 4)


def _deltas(market: Market, strikes: np.ndarray, vols: np.ndarray, T: float) -> np.ndarray:
    """|spot delta| of each leg: BSM at the leg's vol."""
    g = bsm(np.array([False, False, True, True]), market.spx, strikes, T, market.rate, market.dividend_yield, vols)
    return np.abs(g.delta)


def _short_deltas(book: Book, market: Market, expiry: date, root: str, K: np.ndarray, T: float,
                  F: float) -> tuple[np.ndarray, np.ndarray]:
    """|delta| of a short put at K[0] and a short call at K[1], and which of the two the smile
    prices (a linear skew gives no vol far enough out: that side is too far out). Probed with
    1-point wings: a short's vol is its own strike's, whatever its wing."""
    def row(p, c):
        return np.array([[p - 1.0, p, c, c + 1.0]])
    try:
        r = row(*K)
        return _deltas(market, r, _probe(book, market, expiry, root, r), T)[0, 1:3], np.array([True, True])
    except InputError:
        pass
    d, ok = np.zeros(2), np.zeros(2, dtype=bool)
    for side, r in ((0, row(K[0], max(F, K[0] + 2.0))), (1, row(min(F, K[1] - 2.0), K[1]))):
        try:
            d[side], ok[side] = _deltas(market, r, _probe(book, market, expiry, root, r), T)[0, 1 + side], True
        except InputError:
            pass
    return d, ok


def solve_shorts(book: Book, market: Market, expiry: date, root: str, delta: float, wings: float,
                 T: float) -> tuple[float, float]:
    """The put and call strikes of |delta| `delta` on the smile (before rounding): bisection in
    ln K, puts and calls together, the put's |delta| rising with K, the call's falling. A strike
    the smile gives no vol (past where a linear skew's vol leaves 0.01..5) counts as too far out."""
    F = market.spx * math.exp((market.rate - market.dividend_yield) * T)
    sd = max(market.vix / 100, 0.05) * math.sqrt(T)
    lo, hi = np.log(F) + np.array([-8 * sd, -2 * sd]), np.log(F) + np.array([2 * sd, 8 * sd])  # (put, call)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        d, ok = _short_deltas(book, market, expiry, root, np.exp(mid), T, F)
        # put: too near the money, go down; call: too near, go up; no vol: toward the forward
        down = np.where(ok, [d[0] > delta, d[1] <= delta], mid > math.log(F))
        hi = np.where(down, mid, hi)
        lo = np.where(down, lo, mid)
    K = np.exp(0.5 * (lo + hi))
    return float(K[0]), float(K[1])


def _nearest_listed(book, market, expiry, root, delta, wings, T, put: float, call: float):
    """Of the two listed strikes around each solved one, the one whose delta is nearer."""
    p, c = (np.array([math.floor(x / STEP), math.ceil(x / STEP)]) * STEP for x in (put, call))
    rows = np.array([[p[0] - wings, p[0], c[1], c[1] + wings], [p[1] - wings, p[1], c[0], c[0] + wings]])
    d = _deltas(market, rows, _probe(book, market, expiry, root, rows), T)
    sp = p[0] if abs(d[0, 1] - delta) <= abs(d[1, 1] - delta) else p[1]
    sc = c[1] if abs(d[0, 2] - delta) <= abs(d[1, 2] - delta) else c[0]
    return float(sp), float(max(sc, sp + STEP))


def _free_id(book: Book, expiry: date, taken: frozenset) -> str:
    taken = taken | {x.id for x in book.condors + book.hedges + book.closed}
    base = f"IC-{expiry:%b%d}"
    return next(x for x in [base] + [f"{base}-{i}" for i in range(2, 1000)] if x not in taken)


def suggest(book: Book, market: Market, dte: int, delta: float, wings: float, quantity: int | None = None,
            max_loss_pct: float = MAX_LOSS_PCT, calendar=None,
            signals: SignalInputs | None = None, taken: frozenset = frozenset(),
            spx_closes: Daily | None = None) -> Suggestion:
    """The condor, priced, and the book with it. `book`: positions the engine prices (open at as_of);
    `taken`: ids the new condor must not have besides the book's (positions set aside);
    `spx_closes`: the store's, for the real-world odds and the calculator's realized vol."""
    check_inputs(dte, delta, wings, quantity, max_loss_pct)
    expiry, am, source = nearest_expiry(market, int(dte), calendar)
    root = "SPX" if am else "SPXW"
    T = (settle_time(expiry, SPX, am) - market.as_of.timestamp()) / YEAR
    put, call = solve_shorts(book, market, expiry, root, delta, wings, T)
    if math.floor(put / STEP) * STEP - wings < max(STEP, market.spx / SPX_BAND):
        raise InputError(f"{wings:g}: the long put {math.floor(put / STEP) * STEP - wings:g} would be below"
                         f" {max(STEP, market.spx / SPX_BAND):g} (short put near {put:,.0f}): narrower wings",
                         field="--wings")
    try:  # the shorts have vols (solve_shorts): a wing the smile does not reach is the wings' fault
        sp, sc = _nearest_listed(book, market, expiry, root, delta, wings, T, put, call)
        row = np.array([[sp - wings, sp, sc, sc + wings]])
        vols = _probe(book, market, expiry, root, row)
    except InputError as e:
        raise InputError(f"{wings:g}: a wing the market prices no option at ({e}): narrower wings",
                         field="--wings") from None
    g = bsm(np.array([False, False, True, True]), market.spx, row, T, market.rate, market.dividend_yield, vols)
    credit = round(float(g.price[0] @ np.array([-1.0, 1.0, 1.0, -1.0])), 2)  # shorts less wings, at mid
    if credit <= 0:
        raise InputError(f"the condor {sp:g}/{sc:g} prices at a credit of {credit:.2f}: no premium to sell",
                         field="--delta")
    signals = signals or SignalInputs()  # the hedge rules read them: the ratio's target
    before = analyze(book, market, signals=signals)
    cap_before = capital(before, spx_closes)
    pct, why = tranche_cap(book, cap_before, max_loss_pct)
    held = sum(c.max_loss_each * c.quantity for c in book.condors if c.expiry == expiry)
    each = (wings - credit) * 100
    cap = max(int(math.floor((book.equity * pct / 100 - held) / each + 1e-9)), 0)
    condor = Condor(_free_id(book, expiry, taken), expiry, quantity or max(cap, 1), *row[0].tolist(), credit,
                    root=root, opened=market.as_of.date())
    after = analyze(replace(book, condors=book.condors + (condor,)), market, signals=signals)
    d = _deltas(market, row, vols, T)[0]
    return Suggestion(condor, source, delta, (float(d[1]), float(d[2])), tuple(vols[0].tolist()), pct, why, held,
                      cap, after.condors[-1], odds(after, real_world_for(book, market, spx_closes)).condors[-1],
                      reg_t_condor(wings, credit, condor.quantity), before, after, cap_before,
                      capital(after, spx_closes))


def tranche_cap(book: Book, c: CapitalResult, max_loss_pct: float) -> tuple[float, str]:
    """The tranche max loss allowed, % of equity, and why: the [capital] cap's pass level
    while WACC is above its trigger (the tighter of it and max_loss_pct), else max_loss_pct."""
    s = book.capital
    own = f"--max-loss-pct {max_loss_pct:g}%"
    cap = cap_in_force(c.wacc * 100, s.wacc_trigger_pct, s.notional_pct)  # the rule's own test
    if cap is None:
        return max_loss_pct, f"{own} (the [capital] tranche cap is not in force: WACC {c.wacc:.2%}" \
                             f" <= {s.wacc_trigger_pct:g}%)"
    if cap < max_loss_pct:
        return cap, f"the [capital] tranche cap {cap:g}% (WACC {c.wacc:.2%} > {s.wacc_trigger_pct:g}%)"
    return max_loss_pct, f"{own} (tighter than the [capital] tranche cap {cap:g}%)"


def _book(a: Analysis, c: CapitalResult) -> dict:
    t = a.totals
    return {"beta_weighted_delta": t.beta_weighted_delta, "gamma": t.greeks.gamma, "theta": t.greeks.theta,
            "spx_vega": t.spx_vega, "vix_point": t.vix_point,
            "hedge_ratio": a.alvh.ratio.current if a.alvh else None,
            "hedge_ratio_target": a.alvh.ratio.target if a.alvh else None,
            "beta": c.beta, "reg_t": c.reg_t, "portfolio_margin": c.pm,
            "rules": [{"name": r.name, "status": r.status, "line": r.line} for r in c.rules]}


def suggestion_to_dict(s: Suggestion) -> dict:
    c, r, o = s.condor, s.result, s.odds
    return {"id": c.id, "expiry": c.expiry.isoformat(), "root": c.root, "expiry_from": s.expiry_from,
            "dte": r.dte, "quantity": c.quantity, "quantity_cap": s.quantity_cap, "fits": s.fits,
            "max_loss_pct": s.max_loss_pct, "cap_source": s.cap_source, "tranche_held": s.held,
            "strikes": [c.long_put, c.short_put, c.short_call, c.long_call], "wings": c.max_width,
            "target_delta": s.target_delta, "deltas": {"put": s.deltas[0], "call": s.deltas[1]},
            "vols": list(s.vols), "credit": c.credit, "max_loss_each": s.max_loss_each,
            "max_profit": r.max_profit, "max_loss": r.max_loss,
            "breakevens": {"expiry": list(r.breakevens_expiry), "t0": list(r.breakevens_t0)},
            "greeks": {"delta": r.greeks.delta, "gamma": r.greeks.gamma, "theta": r.greeks.theta,
                       "vega": r.greeks.vega},
            "pop": o.pop, "pop_real": o.pop_real, "touch_put": o.touch_put, "touch_call": o.touch_call,
            "p_max_loss": o.max_loss, "expected_move": o.move, "reg_t": s.reg_t,
            "book_before": _book(s.before, s.capital_before), "book_after": _book(s.after, s.capital_after),
            "units": {"strikes": "SPX points", "credit": "index points per condor", "max_loss": "$",
                      "delta": "$ per SPX point", "theta": "$ per calendar day", "vega": "$ per vol point",
                      "pop": "probability at expiry (risk-neutral; pop_real: real-world)",
                      "expected_move": "SPX points, 1 sigma to expiry", "reg_t": "$", "beta": "share of equity"}}
