"""The day-step: a condor program, with or without the ALVH layers, over a tape.

All paths step together, one trading day at a time, with numpy across paths: a path is a
(program, market) pair, so the hedged and unhedged programs, the roll-date shifts and the
bootstrap's markets run in one loop. Each day, at the close: cash earns its rate; condors
due settle (AM roots at the open print, PM at the close); new condors open on the
schedule; every open leg is marked on the day's model; exits fire; the layers settle, roll
and are re-sized; equity is cash plus marks. A decision on a day reads only that day's
row and earlier ones.
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
    strikes = np.zeros((U, K, LEGS))
    credit = np.zeros((U, K))
    x_u, am_u = X[ug], AM[ug]  # (U, K)
    qty = np.zeros((P, K))
    status = np.zeros((P, K), np.int8)
    cash = np.full(P, equity0)
    eq_prev = np.full(P, equity0)
    out = {k: np.zeros((P, D)) for k in ("equity", "cash_rate", "theta", "hedge_pnl", "hedge_value", "open")}
    trades, skipped, costs = np.zeros(P), np.zeros(P), np.zeros(P)
    c = cfg.costs
    q = cfg.model.dividend_yield
    layers = _Layers(tape, dm, cfg, rows, hedged, u_of)
    rate_prev = None
    spx = tape.spx[urow]  # (U, D): one gather, not one a day
    rates = np.nan_to_num(tape.tbill[urow], nan=0.0) if cfg.cash.history else np.full((U, D), cfg.cash.rate)
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
        Ku, xu, amu = strikes[:, w], x_u[:, w], am_u[:, w]
        # settlement at the print the root settles on
        due = (st == OPEN) & (xu[u_of] <= od)
        if due.any():
            opening = tape.spx_open[urow, d]
            px = np.where(amu, np.where(np.isnan(opening), Su, opening)[:, None], Su[:, None])
            pay = condors.close_cost(condors.intrinsic(px[..., None], Ku))[u_of]
            cash = cash - np.where(due, pay * 100 * qw, 0.0).sum(axis=1)
            st[due] = CLOSED
        # entries on the schedule: struck once per book, sized per program
        kin_u = enter[ug, d]
        kin = kin_u[u_of]
        if (kin_u >= 0).any():
            b = np.flatnonzero(kin_u >= 0)
            k = kin_u[b]
            days = (x_u[b, k] - od).astype(float)
            T = condors.years_left(days, am_u[b, k])
            atm = model.atm_vol(dm, urow[b], d, T)
            slope = dm.slope[urow[b], d]
            Kn = condors.struck(Su[b], T, ru[b], q, atm, slope, cfg.strikes)
            g = condors.legs(Su[b, None], Kn, T[:, None], ru[b, None], q, atm[:, None], slope[:, None])
            cr = condors.close_cost(g.price) - LEGS * c.slippage
            width = np.maximum(Kn[:, 1] - Kn[:, 0], Kn[:, 3] - Kn[:, 2])
            loss_u = np.where((cr > 0) & (T > 0), (width - cr) * 100, 0.0)
            strikes[b, k], credit[b, k] = Kn, cr
            loss = np.zeros(U)
            loss[b] = loss_u
            p = np.flatnonzero(kin >= 0)
            kp, lp = kin[p], loss[u_of[p]]
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
            st, qw, Ku = status[:, w], qty[:, w], strikes[:, w]
        # marks, once per book
        struck_u = Ku[..., 1] > 0
        days_u = np.where(struck_u & (xu > od), xu - od, 1).astype(float)
        T_u = condors.years_left(days_u, amu)
        K_x = np.where(struck_u[..., None], Ku, Su[:, None, None])  # an empty slot prices at the money
        atm = model.atm_vol(dm, urow, d, T_u)
        slope = dm.slope[urow, d][:, None, None]
        g = condors.legs(Su[:, None, None], K_x, T_u[..., None], ru[:, None, None], q, atm[..., None], slope)
        cost_u = condors.close_cost(g.price)  # (U, W) points to buy each back
        cost = cost_u[u_of]
        alive = st == OPEN
        if exits:  # at the close, for condors opened before today
            paid = np.zeros(P)
            alive = _exits(cfg, alive & (np.arange(lo[d], hi[d])[None, :] != kin[:, None]), credit[u_of, w], cost,
                           xu[u_of] - od, qw, st, costs, paid)
            cash = cash - paid
        held = np.where(alive, qw, 0.0)
        marks = -(cost * held).sum(axis=1) * 100
        theta = ((g.theta @ condors.SIGN)[u_of] * held).sum(axis=1) * 100
        hedge_cash, hedge_value, hedge_theta = layers.step(d, Su, r, eq_prev, (K_x, T_u, cost_u), held, costs)
        cash = cash + hedge_cash
        eq = cash + marks + hedge_value
        out["hedge_pnl"][:, d] = hedge_value - (out["hedge_value"][:, d - 1] if d else 0.0) + hedge_cash
        out["equity"][:, d], out["cash_rate"][:, d] = eq, r
        out["theta"][:, d], out["hedge_value"][:, d] = theta + hedge_theta, hedge_value
        out["open"][:, d] = held.sum(axis=1)
        eq_prev = eq
        if progress is not None and (d % PROGRESS_EVERY == 0 or d == D - 1):
            progress(d + 1, D)
    return Run(tape.dates, hedged, shift, rows, out["equity"], out["cash_rate"], out["theta"], out["hedge_pnl"],
               out["hedge_value"], out["open"], trades, layers.trades, skipped, dm.real, costs)


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
        self.rates = (np.nan_to_num(tape.tbill[self.tape_rows], nan=0.0) if cfg.cash.history
                      else np.full((len(first), tape.days), cfg.cash.rate))
        self.on = np.array([k in cfg.hedge.layers for k in hedging.LAYERS])
        self.active = bool(len(self.p)) and bool(self.on.any())
        n = len(self.p)
        self.qty, self.k1, self.k2 = np.zeros((n, 3)), np.zeros((n, 3)), np.zeros((n, 3))
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

    def step(self, d, S_books, r_all, eq_all, books, held, cash_costs):
        """books: each book's condor (strikes, years left, cost to close now); held: each path's
        quantities of them, 0 where not open."""
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
            pay = np.maximum(vix[:, None] - self.k1, 0) + hedging.RATIO2 * np.maximum(vix[:, None] - self.k2, 0)
            flow += np.where(due, self.qty * pay * 100, 0.0).sum(1)
            self.qty = np.where(due, 0.0, self.qty)
        days_held = np.maximum(self.exp - od, 0).astype(float)
        days_new = np.broadcast_to(self.pick[d], days_held.shape)
        F, _ = model.futures(self.tape, self.dm, rows, d, np.concatenate([days_held, days_new], 1), m.kappa)
        k1n, k2n = hedging.strikes(F[:, 3:])
        roll = (self.qty > 0) & (days_held < hedging.ROLL_BELOW)
        keep = (self.qty > 0) & ~roll
        e = np.where(keep, self.exp, od + days_new.astype(np.int64))
        k1, k2 = np.where(keep, self.k1, k1n), np.where(keep, self.k2, k2n)
        days = np.where(keep, days_held, days_new)
        Fu = np.where(keep, F[:, :3], F[:, 3:])
        sigma = model.vix_option_vol(self.dm, rows, d, days, m.vix_vol_decay)
        price, th, gain = hedging.priced(Fu, k1, k2, days, r, sigma, vix, m.beta, m.kappa)
        spread = c.vix_slippage * 100 * hedging.LEG_COUNT
        fee = c.commission * hedging.LEG_COUNT
        if roll.any():  # rolled units are sold here and bought back by the sizing below
            s_old = model.vix_option_vol(self.dm, rows, d, days_held, m.vix_vol_decay)
            old, _ = hedging.value(F[:, :3], np.where(roll, self.k1, k1n), np.where(roll, self.k2, k2n),
                                   days_held / 365.0, r[:, None], s_old)
            n = np.where(roll, self.qty, 0.0)
            flow += (n * (old * 100 - spread - fee)).sum(1)
            cash_costs[p] += (n * (spread + fee)).sum(1)
            self.trades[p] += roll.sum(1)
            self.qty = np.where(roll, 0.0, self.qty)
        own = gain[:, [0, 1, 2], [0, 1, 2]]
        loss = self._condor_losses(d, S_books[self.books], books, held[p])
        event = bool(self.event[d])
        dormant = self.dormant[rows, d] & (not event)
        want = hedging.wants(loss, gain, price, cfg.hedge.target_coverage, eq, dormant, self.on)
        drag = np.maximum(-th * 100 * 365, 1e-9)
        keep1 = np.where(np.arange(3) == 0, self.qty, 0.0) if event else np.zeros_like(self.qty)
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
        self.k1, self.k2 = np.where(bought, k1, self.k1), np.where(bought, k2, self.k2)
        value[p] = (self.qty * price * 100).sum(1)
        theta[p] = (self.qty * th * 100).sum(1)
        cash[p] = flow
        return cash, value, theta

    def _condor_losses(self, d, S, books, held):
        """(P, 3) the condor book's loss in each layer's stress, $ (0 where it gains), each
        book priced once."""
        K, T, cost = (x[self.books] for x in books)
        rows, dm = self.tape_rows, self.dm
        vix = self.tape.vix[rows, d]
        v = hedging.stressed_vix(vix, self.cfg.model.beta).T  # (3, B)
        T2 = np.maximum(T[None] - hedging.STRESS_DAYS[:, None, None] / 365.0, 0.0)  # (3, B, W)
        atm = model.atm_vol(dm, rows, d, T2) * (v / vix)[..., None]
        S2 = S[None] * (1 + hedging.STRESS_MOVE)[:, None]
        slope = dm.slope[rows, d][None, :, None, None]
        r = self.rates[:, d][None, :, None, None]
        price = condors.prices(S2[..., None, None], K[None], T2[..., None], r, self.cfg.model.dividend_yield,
                               atm[..., None], slope)
        drop = (cost[None] - condors.close_cost(price))[:, self.book_of]  # (3, P, W) per unit
        return np.maximum(-(drop * held[None]).sum(2) * 100, 0.0).T
