"""The day-step: a condor program, with or without the ALVH layers, over a tape.

All paths step together, one trading day at a time, with numpy across paths: a path is a
(program, market) pair, so the hedged and unhedged programs, the roll-date shifts and the
bootstrap's markets run in one loop. Each day, at the close: cash earns its rate; condors
due settle (AM roots at the open print, PM at the close); new condors open on the
schedule; every open leg is marked on the day's model; exits fire; the layers settle, roll
and are re-sized; equity is cash plus marks. A decision on a day reads only that day's
row and earlier ones. What needs no path state (strikes on each entry day's row, the
condors' marks and stresses on each day's row) is priced outside the loop, in blocks of
days, so the loop itself pays for sizing and bookkeeping only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.backtest import condors, hedging, model

OPEN, CLOSED = 1, 2
LEGS = 4


@dataclass(frozen=True)
class Run:
    dates: np.ndarray  # (D,)
    hedged: np.ndarray  # (P,) bool
    shift: np.ndarray  # (P,) entry shift in trading days
    market_of: np.ndarray  # (P,) the tape path each path reads
    equity: np.ndarray  # (P, D) $ at each close
    cash_rate: np.ndarray  # (P, D) annual, continuous
    theta: np.ndarray  # (P, D) book theta $/day after the day's trades
    hedge_pnl: np.ndarray  # (P, D) $ the layers made that day, costs included
    hedge_value: np.ndarray  # (P, D) $ marks of the layers held
    open_condors: np.ndarray  # (P, D) condors held
    trades: np.ndarray  # (P,) condors opened
    hedge_trades: np.ndarray  # (P,) layer trades
    skipped: np.ndarray  # (P,) scheduled entries not opened (too small for the account)
    real: dict  # input name -> (P_market, D) bool: the tape held it that day
    costs: np.ndarray  # (P,) $ commissions and slippage paid


def _schedule(tape, cfg, shifts):
    """Per distinct shift: each slot's entry day, expiry day ordinal and AM flag."""
    from core.backtest.calendar import monthly_expiry_days, nearest_expiry
    D = tape.days
    if cfg.entry.schedule == "monthly":
        base = monthly_expiry_days(tape.dates)
    else:
        base = np.arange(0, D, cfg.entry.every_days)
    out = {}
    cache = {}
    for s in shifts:
        e = base + s
        e = np.where(e < 0, -1, np.where(e >= D, D, e))
        x = np.where(e < 0, -1, np.iinfo(np.int64).max // 2).astype(np.int64)
        am = np.zeros(len(e), bool)
        for k in np.flatnonzero((e >= 0) & (e < D)):
            day = tape.dates[e[k]].item()
            if day not in cache:
                cache[day] = nearest_expiry(day, cfg.entry.dte)
            expiry, am[k] = cache[day]
            x[k] = np.datetime64(expiry, "D").astype(np.int64)
        out[s] = (e, x, am)
    return out


PROGRESS_EVERY = 250  # days between progress calls


def run(tape, cfg, hedged, shift, market_of, equity0: float = 1_000_000.0, progress=None) -> Run:
    """`progress(done, total)`: called every PROGRESS_EVERY days and at the end."""
    hedged = np.asarray(hedged, bool)
    shift = np.asarray(shift, int)
    rows = np.asarray(market_of, int)
    P, D = len(rows), tape.days
    dm = model.day_model(tape, cfg.model)
    groups = sorted(set(shift.tolist()))
    sched = _schedule(tape, cfg, groups)
    g_of = np.array([groups.index(s) for s in shift])
    E = np.stack([sched[s][0] for s in groups])  # (G, K)
    X = np.stack([sched[s][1] for s in groups])
    AM = np.stack([sched[s][2] for s in groups])
    K = E.shape[1]
    ords = tape.dates.astype("datetime64[D]").astype(np.int64)
    # a slot is in the day's window until it has settled: its expiry falls after the previous
    # tape day (an expiry on a day the tape lacks settles on the next day it has)
    before = np.concatenate([[ords[0] - 1], ords[:-1]])
    lo = np.min([np.searchsorted(X[g], before, "right") for g in range(len(groups))], axis=0)
    hi = np.max([np.searchsorted(E[g], np.arange(D), "right") for g in range(len(groups))], axis=0)
    enter = np.full((len(groups), D), -1)
    for g in range(len(groups)):
        ok = (E[g] >= 0) & (E[g] < D)
        enter[g, E[g][ok]] = np.flatnonzero(ok)

    # a "book" is a (market path, shift) pair: its condors' strikes and prices are the same
    # for every program on it (only the quantities differ), so each is priced once
    books, u_of = np.unique(np.stack([rows, g_of], 1), axis=0, return_inverse=True)
    u_of = u_of.reshape(-1)
    urow, ug = books[:, 0], books[:, 1]
    U = len(books)
    x_u, am_u, e_u = X[ug], AM[ug], E[ug]  # (U, K)
    qty = np.zeros((P, K))
    status = np.zeros((P, K), np.int8)
    cash = np.full(P, equity0)
    eq_prev = np.full(P, equity0)
    out = {k: np.zeros((P, D)) for k in ("equity", "cash_rate", "theta", "hedge_pnl", "hedge_value", "open")}
    trades, skipped, costs = np.zeros(P), np.zeros(P), np.zeros(P)
    c = cfg.costs
    layers = _Layers(tape, dm, cfg, rows, hedged, u_of)
    rate_prev = None
    spx = tape.spx[urow]  # (U, D): one gather, not one a day
    rates = np.nan_to_num(tape.tbill[urow], nan=0.0) if cfg.cash.history else np.full((U, D), cfg.cash.rate)
    strikes, credit, unit_loss = _strike(dm, cfg, ords, urow, x_u, am_u, e_u, spx, rates)
    marks = _Marks(tape, dm, cfg, ords, lo, hi, urow, x_u, am_u, e_u, spx, rates, strikes, layers)
    exits = cfg.exit.take_profit_pct > 0 or cfg.exit.stop_multiple > 0 or cfg.exit.close_dte > 0
    for d in range(D):
        od = ords[d]
        Su, ru = spx[:, d], rates[:, d]
        r = ru[u_of]
        if rate_prev is not None:
            cash = cash * np.exp(rate_prev * (od - ords[d - 1]) / 365.0)
        rate_prev = r
        w = slice(lo[d], hi[d])
        st, qw = status[:, w], qty[:, w]
        xu, amu = x_u[:, w], am_u[:, w]
        # settlement at the print the root settles on
        due = (st == OPEN) & (xu[u_of] <= od)
        if due.any():
            opening = tape.spx_open[urow, d]
            px = np.where(amu, np.where(np.isnan(opening), Su, opening)[:, None], Su[:, None])
            pay = condors.close_cost(condors.intrinsic(px[..., None], strikes[:, w]))[u_of]
            cash = cash - np.where(due, pay * 100 * qw, 0.0).sum(axis=1)
            st[due] = CLOSED
        # entries on the schedule: struck before the loop (on the entry day's row), sized here
        kin = enter[ug, d][u_of]
        if (kin >= 0).any():
            p = np.flatnonzero(kin >= 0)
            kp, lp = kin[p], unit_loss[u_of[p], kin[p]]
            with np.errstate(divide="ignore", invalid="ignore"):
                n = np.where(lp > 0, np.floor(cfg.size.max_loss_pct / 100 * np.maximum(eq_prev[p], 0) / lp), 0.0)
            n = np.nan_to_num(n, nan=0.0, posinf=0.0)
            qty[p, kp] = n
            status[p, kp] = np.where(n > 0, OPEN, CLOSED)
            fee = LEGS * c.commission * n
            cash[p] += credit[u_of[p], kp] * 100 * n - fee
            costs[p] += fee + LEGS * c.slippage * 100 * n
            trades[p] += n > 0
            skipped[p] += n <= 0
            st, qw = status[:, w], qty[:, w]
        cost_u, theta_u, drop = marks.day(d)  # (U, W) points to buy each back, theta per unit
        cost = cost_u[u_of]
        alive = st == OPEN
        if exits:  # at the close, for condors opened before today
            paid = np.zeros(P)
            alive = _exits(cfg, alive & (np.arange(lo[d], hi[d])[None, :] != kin[:, None]), credit[u_of, w], cost,
                           xu[u_of] - od, qw, st, costs, paid)
            cash = cash - paid
        held = np.where(alive, qw, 0.0)
        marked = -(cost * held).sum(axis=1) * 100
        theta = (theta_u[u_of] * held).sum(axis=1) * 100
        hedge_cash, hedge_value, hedge_theta = layers.step(d, r, eq_prev, drop, held, costs)
        cash = cash + hedge_cash
        eq = cash + marked + hedge_value
        out["hedge_pnl"][:, d] = hedge_value - (out["hedge_value"][:, d - 1] if d else 0.0) + hedge_cash
        out["equity"][:, d], out["cash_rate"][:, d] = eq, r
        out["theta"][:, d], out["hedge_value"][:, d] = theta + hedge_theta, hedge_value
        out["open"][:, d] = held.sum(axis=1)
        eq_prev = eq
        if progress is not None and (d % PROGRESS_EVERY == 0 or d == D - 1):
            progress(d + 1, D)
    return Run(tape.dates, hedged, shift, rows, out["equity"], out["cash_rate"], out["theta"], out["hedge_pnl"],
               out["hedge_value"], out["open"], trades, layers.trades, skipped, dm.real, costs)


def _strike(dm, cfg, ords, urow, x_u, am_u, e_u, spx, rates):
    """Every book's condor strikes, credit and max loss per unit, (U, K, 4), (U, K), (U, K) $:
    each slot struck on its own entry day's row (market data only, so all at once)."""
    U, K = e_u.shape
    strikes, credit, unit_loss = np.zeros((U, K, LEGS)), np.zeros((U, K)), np.zeros((U, K))
    b, k = np.nonzero((e_u >= 0) & (e_u < len(ords)))
    if len(b):
        d = e_u[b, k]
        S, r = spx[b, d], rates[b, d]
        T = condors.years_left((x_u[b, k] - ords[d]).astype(float), am_u[b, k])
        atm, slope = model.atm_vol(dm.w[urow[b], d], T), dm.slope[urow[b], d]
        q = cfg.model.dividend_yield
        Kn = condors.struck(S, T, r, q, atm, slope, cfg.strikes)
        cr = condors.close_cost(condors.prices(S[:, None], Kn, T[:, None], r[:, None], q, atm[:, None],
                                               slope[:, None])) - LEGS * cfg.costs.slippage
        width = np.maximum(Kn[:, 1] - Kn[:, 0], Kn[:, 3] - Kn[:, 2])
        strikes[b, k], credit[b, k] = Kn, cr
        unit_loss[b, k] = np.where((cr > 0) & (T > 0), (width - cr) * 100, 0.0)
    return strikes, credit, unit_loss


class _Marks:
    """Each book's condors marked, and stressed for the hedged books, a block of days at a
    time: a day's marks read only that day's row, so they can be priced together, in one
    kernel call per block instead of one per day. `day(d)` hands out day d's (cost to close,
    theta) per unit (U, W) and the hedged books' change in each layer's stress (3, B, W)."""

    CELLS = 2 ** 16  # (book, slot, day, leg) cells priced per block

    def __init__(self, tape, dm, cfg, ords, lo, hi, urow, x_u, am_u, e_u, spx, rates, strikes, layers):
        self.tape, self.dm, self.cfg, self.ords, self.lo, self.hi = tape, dm, cfg, ords, lo, hi
        self.urow, self.x_u, self.am_u, self.e_u, self.spx, self.rates = urow, x_u, am_u, e_u, spx, rates
        self.strikes, self.layers = strikes, layers
        width = max(float(np.mean(hi - lo)), 1.0)
        self.block = max(1, int(self.CELLS / (len(urow) * LEGS * 4 * width)))
        self.start = self.stop = 0

    def day(self, d):
        if d >= self.stop:
            self._price(d, min(d + self.block, len(self.ords)))
        i, j = self.at[d - self.start], self.at[d - self.start + 1]
        return self.cost[:, i:j], self.theta[:, i:j], None if self.drop is None else self.drop[:, :, i:j]

    def _price(self, d0, d1):
        lo, hi = self.lo[d0:d1], self.hi[d0:d1]
        n = hi - lo
        self.start, self.stop, self.at = d0, d1, np.concatenate([[0], np.cumsum(n)])
        dd = np.repeat(np.arange(d0, d1), n)  # each (day, slot) pair's day and slot
        kk = np.arange(len(dd)) - np.repeat(self.at[:-1] - lo, n)
        od = self.ords[dd]
        K, x, am = self.strikes[:, kk], self.x_u[:, kk], self.am_u[:, kk]
        S, r = self.spx[:, dd], self.rates[:, dd]
        struck = (K[..., 1] > 0) & (self.e_u[:, kk] <= dd)
        T = condors.years_left(np.where(struck & (x > od), x - od, 1).astype(float), am)
        K = np.where(struck[..., None], K, S[..., None])  # an empty slot prices at the money
        rows, dm, q = self.urow[:, None], self.dm, self.cfg.model.dividend_yield
        atm, slope = model.atm_vol(dm.w[rows, dd], T), dm.slope[rows, dd]
        price, theta = condors.legs(S[..., None], K, T[..., None], r[..., None], q, atm[..., None], slope[..., None])
        self.cost, self.theta = condors.close_cost(price), condors.net(theta)
        self.drop = None
        if self.layers.active:  # the hedged books' condors in each layer's stress
            b, rows = self.layers.books, self.layers.tape_rows[:, None]
            vix = self.tape.vix[rows, dd]  # (B, n)
            v = np.moveaxis(hedging.stressed_vix(vix.reshape(-1), self.cfg.model.beta).reshape(*vix.shape, 3), -1, 0)
            T2 = np.maximum(T[b][None] - hedging.STRESS_DAYS[:, None, None] / 365.0, 0.0)  # (3, B, n)
            atm2 = model.atm_vol(dm.w[rows, dd][None], T2) * (v / vix)
            S2 = S[b][None] * (1 + hedging.STRESS_MOVE)[:, None, None]
            stressed = condors.prices(S2[..., None], K[b][None], T2[..., None], r[b][None, ..., None], q,
                                      atm2[..., None], slope[b][None, ..., None])
            self.drop = self.cost[b][None] - condors.close_cost(stressed)


def _exits(cfg, old, cw, cost, days_left, qw, st, costs, cash_out):
    """Close at the close what hits a rule: take profit, stop, days left. Writes the slots'
    status and the costs, the cash paid into cash_out; returns what stays alive."""
    ex, c = cfg.exit, cfg.costs
    hit = np.zeros_like(old)
    if ex.take_profit_pct > 0:
        hit |= cw - cost >= ex.take_profit_pct / 100 * cw
    if ex.stop_multiple > 0:
        hit |= cost - cw >= ex.stop_multiple * cw
    if ex.close_dte > 0:
        hit |= days_left <= ex.close_dte
    hit &= old
    if hit.any():
        fee = np.where(hit, LEGS * c.commission * qw, 0.0)
        cash_out += np.where(hit, (cost + LEGS * c.slippage) * 100 * qw, 0.0).sum(axis=1) + fee.sum(axis=1)
        costs += (fee + np.where(hit, LEGS * c.slippage * 100 * qw, 0.0)).sum(axis=1)
        st[hit] = CLOSED
    return st == OPEN


class _Layers:
    """The hedged paths' three layers: state (paths, layer), stepped once a day."""

    def __init__(self, tape, dm, cfg, rows, hedged, u_of):
        from core.market.marketgen import vix_expiry
        self.tape, self.dm, self.cfg = tape, dm, cfg
        self.p = np.flatnonzero(hedged)
        self.rows = rows[self.p]
        # the books the hedged paths hold, each stressed once
        self.books, first, self.book_of = np.unique(u_of[self.p], return_index=True, return_inverse=True)
        self.book_of = self.book_of.reshape(-1)
        self.tape_rows = self.rows[first]
        self.on = np.array([k in cfg.hedge.layers for k in hedging.LAYERS])
        self.active = bool(len(self.p)) and bool(self.on.any())
        n = len(self.p)
        self.qty, self.K = np.zeros((n, 3)), np.zeros((n, 3, 2))
        self.exp = np.zeros((n, 3), np.int64)
        self.trades = np.zeros(len(rows))
        self.ords = tape.dates.astype("datetime64[D]").astype(np.int64)
        first, last = tape.dates[0].item(), tape.dates[-1].item()
        listed = np.array([np.datetime64(vix_expiry(y, m), "D").astype(np.int64)
                           for y in range(first.year - 1, last.year + 2) for m in range(1, 13)])
        nxt = np.searchsorted(listed, self.ords, "right")[:, None] + np.arange(hedging.LISTED)
        self.pick = hedging.pick_expiries((listed[nxt] - self.ords[:, None]).astype(float))  # (D, 3) days
        if tape.next_event is not None:  # the published schedule, past the tape's end too
            ahead = tape.next_event
        else:
            ev_ords = np.append(self.ords[tape.fomc | tape.cpi], np.iinfo(np.int64).max // 2)  # sentinel
            ahead = ev_ords[np.searchsorted(ev_ords, self.ords, "left")] - self.ords
        self.event = ahead <= hedging.SETTINGS.event_days  # R4: an FOMC or CPI day ahead
        # R3 for every market path and day: the curve's slope from VX1/VX2, else VIX3M/VIX, else the model
        vx1, vx2 = tape.vx[..., 0], tape.vx[..., 1]
        contango = np.where(~np.isnan(vx2), vx2 > vx1, np.where(~np.isnan(tape.vix3m), tape.vix3m > tape.vix,
                                                                dm.long_var > (tape.vix / 100) ** 2))
        self.dormant = hedging.dormant(tape.vix, contango)

    def step(self, d, r_all, eq_all, drop, held, cash_costs):
        """drop: (3, B, W) each hedged book's condors' change in value per unit in each layer's
        stress, points (from _Marks); held: each path's quantities of them, 0 where not open."""
        P = len(r_all)
        cash, value, theta = np.zeros(P), np.zeros(P), np.zeros(P)
        if not self.active:
            return cash, value, theta
        p, rows, cfg, c, m = self.p, self.rows, self.cfg, self.cfg.costs, self.cfg.model
        od = self.ords[d]
        r, eq, vix = r_all[p], eq_all[p], self.tape.vix[rows, d]
        flow = np.zeros(len(p))
        due = (self.qty > 0) & (self.exp <= od)
        if due.any():  # settles on spot VIX (the close standing in for the opening quotation)
            flow += np.where(due, self.qty * hedging.payoff(vix, self.K) * 100, 0.0).sum(1)
            self.qty = np.where(due, 0.0, self.qty)
        days_held = np.maximum(self.exp - od, 0).astype(float)
        days_new = self.pick[d]  # (3,): the same expiries for every path
        both = np.concatenate([days_held, np.repeat(days_new[None], len(p), 0)], 1)
        F, _ = model.futures(self.tape, self.dm, rows, d, both, m.kappa)
        Kn = hedging.strikes(F[:, 3:])
        roll = (self.qty > 0) & (days_held < hedging.ROLL_BELOW)
        keep = (self.qty > 0) & ~roll
        e = np.where(keep, self.exp, od + days_new.astype(np.int64))
        K = np.where(keep[..., None], self.K, Kn)
        days = np.where(keep, days_held, days_new)
        Fu = np.where(keep, F[:, :3], F[:, 3:])
        sigma = model.vix_option_vol(self.dm, rows, d, days, m.vix_vol_decay)
        stressed = hedging.stressed_vix(self.tape.vix[self.tape_rows, d], m.beta)  # (books, 3)
        price, th, gain = hedging.priced(Fu, K, days, r, sigma, vix, stressed[self.book_of], m.kappa)
        spread = c.vix_slippage * 100 * hedging.LEG_COUNT
        fee = c.commission * hedging.LEG_COUNT
        if roll.any():  # rolled units are sold here and bought back by the sizing below
            s_old = model.vix_option_vol(self.dm, rows, d, days_held, m.vix_vol_decay)
            old, _ = hedging.value(F[:, :3], np.where(roll[..., None], self.K, Kn), days_held / 365.0, r[:, None],
                                   s_old)
            n = np.where(roll, self.qty, 0.0)
            flow += (n * (old * 100 - spread - fee)).sum(1)
            cash_costs[p] += (n * (spread + fee)).sum(1)
            self.trades[p] += roll.sum(1)
            self.qty = np.where(roll, 0.0, self.qty)
        own = np.diagonal(gain, axis1=1, axis2=2)  # each layer in its own stress
        loss = np.maximum(-(drop[:, self.book_of] * held[p][None]).sum(2) * 100, 0.0).T  # (P, 3) $, 0 where it gains
        event = bool(self.event[d])
        dormant = self.dormant[rows, d] & (not event)
        want = hedging.wants(loss, gain, price, cfg.hedge.target_coverage, eq, dormant, self.on)
        drag = np.maximum(-th * 100 * 365, 1e-9)
        keep1 = self.qty * hedging.IS_L1 if event else np.zeros_like(self.qty)
        target = hedging.fit(want, own, loss, drag, price * 100, eq, keep1, cfg.hedge)
        delta = target - self.qty
        move = np.abs(delta) > cfg.hedge.rebalance_band * np.maximum(target, self.qty)
        # the band never lets what is held break the budget or the cap: those paths go to target
        over = (((self.qty - keep1) * drag).sum(1) > cfg.hedge.drag_budget_pct / 100 * eq * (1 + 1e-9)) | \
               (((self.qty - keep1) * price * 100).sum(1) > cfg.hedge.premium_cap_pct / 100 * eq * (1 + 1e-9))
        move |= over[:, None] & (delta != 0)
        delta = np.where(move, delta, 0.0)
        flow -= (delta * price * 100 + np.abs(delta) * (spread + fee)).sum(1)
        cash_costs[p] += (np.abs(delta) * (spread + fee)).sum(1)
        self.trades[p] += move.sum(1)
        self.qty = self.qty + delta
        bought = move & (delta > 0)
        self.exp = np.where(bought, e, self.exp)
        self.K = np.where(bought[..., None], K, self.K)
        value[p] = (self.qty * price * 100).sum(1)
        theta[p] = (self.qty * th * 100).sum(1)
        cash[p] = flow
        return cash, value, theta
