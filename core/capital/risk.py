"""Risk contribution: each tranche's (the condors of one expiry) share of the book's P&L
variance over the history's 5-day SPX moves, VIX moving by the spot-vol map, and the
equal-risk sizes. share_i = cov(P&L_i, P&L_book) / var(P&L_book): the shares sum to 1.
No I/O: the caller passes the moves (`spx_moves` on the store's closes).
"""
from __future__ import annotations

import math
from datetime import date

import numpy as np

from core.model.inputs import Book, Market, WhatIf
from core.pricing.legs import build_legs, by_position, distinct_legs, leg_prices, market_state

HORIZON = 5  # trading days a move spans
CHUNK = 1024  # moves priced per pass (moves x distinct legs stay a few MB)


def spx_moves(closes, horizon: int = HORIZON) -> np.ndarray:
    """Every overlapping `horizon`-day move S[t + h] / S[t] - 1 of the closes, as fractions."""
    x = np.asarray(closes, dtype=float)
    x = x[np.isfinite(x) & (x > 0)]
    return x[horizon:] / x[:-horizon] - 1.0 if len(x) > horizon else np.zeros(0)


def history_moves(spx, as_of: date, horizon: int = HORIZON) -> np.ndarray:
    """`spx_moves` of a history `Daily` of SPX closes up to as_of (none without one)."""
    if spx is None:
        return np.zeros(0)
    return spx_moves(spx[spx.days <= np.datetime64(as_of)].dropna().values, horizon)


def scenario_pnl(book: Book, market: Market, moves, whatif: WhatIf = WhatIf(), days: float = 0.0) -> np.ndarray:
    """$ P&L of every position (condors, then hedges) per SPX move from the what-if, every
    leg repriced through the spot-vol map `days` later: (moves, positions)."""
    legs = build_legs(book, market)
    distinct, inverse = distinct_legs(legs)
    scale = legs.units * legs.mult
    base = leg_prices(distinct, market_state(market, book.model, whatif))[inverse]
    moves = np.asarray(moves, dtype=float)
    out = []
    for i in range(0, len(moves), CHUNK):
        st = market_state(market, book.model, whatif, spx_move=moves[i:i + CHUNK], days=days)
        out.append(by_position((leg_prices(distinct, st)[:, inverse] - base) * scale, legs))
    return np.concatenate(out) if out else np.zeros((0, len(legs.entry)))


def variance_shares(parts: np.ndarray) -> np.ndarray:
    """cov(part_i, total) / var(total) over the rows (scenarios) of parts (scenarios, k)."""
    total = parts.sum(axis=1)
    dev = parts - parts.mean(axis=0)
    var = float(np.mean((total - total.mean()) ** 2))
    if not var > 0:
        return np.full(parts.shape[1], np.nan)
    return dev.T @ (total - total.mean()) / len(total) / var


def equal_risk(cov: np.ndarray, rounds: int = 500) -> np.ndarray:
    """Multipliers m of the parts whose covariance is `cov` giving each the same share of
    the total's variance (m_i (cov m)_i equal), scaled so the total's variance is unchanged.
    Cyclic coordinate descent on 1/2 m'Cm - mean(ln m) (Griveau-Billion et al. 2013): each
    step solves C_ii m_i^2 + b m_i - 1/n = 0, b = sum over j != i of C_ij m_j."""
    n = len(cov)
    m = np.ones(n)
    diag = np.diag(cov)
    live = diag > 0  # a part that never moves keeps its size
    for _ in range(rounds):
        before = m.copy()
        for i in np.nonzero(live)[0]:
            b = cov[i] @ m - diag[i] * m[i]
            m[i] = (-b + math.sqrt(b * b + 4 * diag[i] / n)) / (2 * diag[i])
        if np.allclose(m, before, rtol=1e-12, atol=0):
            break
    now, then = float(np.ones(n) @ cov @ np.ones(n)), float(m @ cov @ m)
    return m * math.sqrt(now / then) if now > 0 and then > 0 else np.ones(n)


def within_cap(quantities: list[int], each: list[float], equity: float,
               cap_pct: float | None) -> tuple[list[int], bool]:
    """A tranche's condor quantities held to the cap: its max loss, sum of each ($ a condor)
    x quantity, at most cap_pct % of equity (the rule's test: % of equity <= cap). Over it,
    each quantity x cap / max loss rounded down, then one more at a time to the condor
    furthest below its scaled size while the cap holds (largest remainder): for one condor
    the largest whole quantity that passes, 0 when not even one does. Also whether it was
    capped; None: no cap."""
    def pct(q):
        return 100 * sum(x * n for x, n in zip(each, q)) / equity
    if cap_pct is None or pct(quantities) <= cap_pct:
        return list(quantities), False
    scaled = [n * cap_pct / pct(quantities) for n in quantities]
    q = [int(math.floor(x)) for x in scaled]
    while True:
        fits = [i for i in range(len(q)) if q[i] < quantities[i] and pct(q[:i] + [q[i] + 1] + q[i + 1:]) <= cap_pct]
        if not fits:
            return q, True
        q[max(fits, key=lambda i: (scaled[i] - q[i], -i))] += 1


def tranche_risk(book: Book, market: Market, moves, whatif: WhatIf = WhatIf(),
                 cap_pct: float | None = None) -> list[dict]:
    """Per expiry: its condors, $ P&L sd over the moves, its share of the book's variance
    (condors and hedges), and the equal-risk suggestion among the tranches (their own
    variance; the hedges are sized after, by the ALVH engine), held to `cap_pct` (the
    [capital] tranche cap in force, % of equity; None: no cap). A last row holds the
    hedges' share, so the shares sum to 1. Empty without condors or moves."""
    moves = np.asarray(moves, dtype=float)
    if not book.condors or not len(moves):
        return []
    pnl = scenario_pnl(book, market, moves, whatif)
    expiries = sorted({c.expiry for c in book.condors})
    groups = [[i for i, c in enumerate(book.condors) if c.expiry == e] for e in expiries]
    parts = np.stack([pnl[:, g].sum(axis=1) for g in groups], axis=1)
    hedges = pnl[:, len(book.condors):].sum(axis=1)
    shares = variance_shares(np.column_stack([parts, hedges]))
    mult = equal_risk(np.cov(parts, rowvar=False, bias=True).reshape(len(groups), len(groups)))
    rows = []
    for k, (e, g) in enumerate(zip(expiries, groups)):
        wanted = [max(1, round(mult[k] * book.condors[i].quantity)) for i in g]
        each = [book.condors[i].max_loss_each for i in g]
        held, capped = within_cap(wanted, each, book.equity, cap_pct)
        ids = [book.condors[i].id for i in g]
        rows.append({"kind": "tranche", "expiry": e.isoformat(), "condors": ids,
                     "risk_share": float(shares[k]), "pnl_sd": float(parts[:, k].std()),
                     "equal_risk_multiplier": float(mult[k]), "equal_risk_quantity": dict(zip(ids, held)),
                     "equal_risk_uncapped": dict(zip(ids, wanted)), "equal_risk_capped": capped,
                     "equal_risk_max_loss_pct": 100 * sum(x * q for x, q in zip(each, held)) / book.equity,
                     "cap_pct": cap_pct})
    if book.hedges:
        rows.append({"kind": "hedges", "expiry": None, "hedges": [h.id for h in book.hedges],
                     "risk_share": float(shares[-1]), "pnl_sd": float(hedges.std())})
    return rows
