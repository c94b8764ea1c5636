"""capital(analysis, spx_closes) -> CapitalResult: the book's [capital] table applied to
one analysis (README, "Capital"). Rates are fractions a year; money in $."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import numpy as np

from core.capital import margin, rules
from core.capital.finance import (WaccPart, box_rate, capm, condor_payoff, expected_payoff, index_drift, irr,
                                  wacc)
from core.capital.probability import real_world_for, risk_free
from core.capital.rules import Rule
from core.history.daily import Daily
from core.model.inputs import CapitalSettings
from core.model.instruments import MULT, SPX
from core.model.results import Analysis
from core.pricing.legs import build_legs


@dataclass(frozen=True)
class TrancheCapital:
    """The condors of one expiry."""
    expiry: date
    ids: tuple[str, ...]
    beta: float  # scenario beta, a share of equity
    max_loss: float  # $, the notional the cap reads
    notional_pct: float  # max loss, % of equity
    reg_t: float  # $
    expected_settlement: float  # $ the condors are expected to pay at expiry (real world)
    expected_pnl: float  # $: the credit less the expected settlement
    irr: float | None  # a year, at the expected settlement
    irr_max_profit: float | None  # a year, if every condor expires worthless
    start: date  # the first flow: the earliest opened date (a condor without one: the valuation date)
    undated: tuple[str, ...] = ()  # condors without an opened date: their flows start at the valuation
    live: bool = True  # some condor still has time to expiry; False: settled by the valuation (a what-if's
    # days), so its Reg-T is released and neither the buying power nor the rules count it (its IRR stays)

    @property
    def expected_pnl_pct(self) -> float:
        """The expected P&L, % of the tranche's Reg-T."""
        return 100 * self.expected_pnl / self.reg_t


@dataclass(frozen=True)
class CapitalResult:
    settings: CapitalSettings
    equity: float
    rf: float
    rf_source: str
    beta: float  # the book's scenario beta
    condor_beta: float
    hedge_beta: float
    vol_beta: float | None  # hedges' % value change per 1 % SPX over the index's 1 %
    cost_of_equity: float  # CAPM with the book's beta
    parts: tuple[WaccPart, ...]
    wacc: float
    vol: float  # real-world SPX vol for the expected settlement
    vol_source: str
    drift: float  # real-world expected return of SPX: its own CAPM return (beta 1), rf + MRP
    irr: float | None
    irr_max_profit: float | None
    spread_bp: float | None  # (IRR - WACC) x 10,000
    reg_t_condors: float
    reg_t_hedges: float
    pm: float  # portfolio-margin estimate, $
    pm_move: float  # the SPX move where the scan's loss is worst, fraction
    pm_contracts: int  # SPX option contracts the per-contract minimum counts
    tranches: tuple[TrancheCapital, ...]
    rules: tuple[Rule, ...]
    start: date = date.min  # the valuation date: where a position without an opened date starts
    undated_hedges: tuple[str, ...] = ()  # hedges without an opened date: premium paid at the valuation

    @property
    def undated(self) -> tuple[str, ...]:
        """Every position whose flows start at the valuation date for want of an opened date."""
        return tuple(i for t in self.tranches for i in t.undated) + self.undated_hedges

    @property
    def reg_t(self) -> float:
        return self.reg_t_condors + self.reg_t_hedges

    @property
    def reg_t_pct(self) -> float:
        """Reg-T, % of equity."""
        return 100 * self.reg_t / self.equity

    @property
    def pm_pct(self) -> float:
        """The portfolio-margin estimate, % of equity."""
        return 100 * self.pm / self.equity


def capital(a: Analysis, spx_closes: Daily | None = None) -> CapitalResult:
    """Beta, CAPM, WACC, IRR, buying power and the rules for the analysed book at its
    valuation (the what-if included); `spx_closes` give the realized vol (else VIX / 100)."""
    book, market, s = a.book, a.market, a.book.capital
    rf, rf_source = risk_free(book, market)
    legs = build_legs(book, market)
    betas = margin.scenario_beta(legs, market, book, a.whatif)
    nc = len(book.condors)
    beta = float(betas.sum())
    coe = capm(rf, beta, s.mrp_pct / 100)
    parts = _wacc_parts(s, rf, coe)
    cost = wacc(parts)
    vol, vol_source = _vol(book, market, spx_closes)
    drift = index_drift(rf, s.mrp_pct / 100)  # the probabilities' drift: not the book's beta
    start = a.at.time.date()
    flows, best, tranches = _tranches(a, betas, start, vol, drift)
    hedge_bp = [margin.reg_t_hedge(h, s.futures_margin) for h in book.hedges]
    for h in book.hedges:
        _hedge_flows(h, s.futures_margin, start, flows, best)
    book_irr, best_irr = irr(_merge(flows)), irr(_merge(best))
    spread = None if book_irr is None else (book_irr - cost) * 1e4
    pm, pm_move, contracts = margin.portfolio_margin(legs, market, book, a.whatif, s.pm_range_pct)
    drag = a.alvh.drag_pct if a.alvh else None
    live = [t for t in tranches if t.live]
    checks = (rules.expirations(len(live), s.expirations),
              rules.tranche_cap([(str(t.expiry), t.notional_pct) for t in live], cost * 100,
                                s.wacc_trigger_pct, s.notional_pct),
              rules.beta_band(beta, s.beta_band),
              rules.drag(drag, book.alvh.drag_budget_pct),
              rules.spread(spread, s.spread_bp))
    return CapitalResult(
        settings=s, equity=book.equity, rf=rf, rf_source=rf_source, beta=beta,
        condor_beta=float(betas[:nc].sum()), hedge_beta=float(betas[nc:].sum()),
        vol_beta=margin.vol_beta(legs, market, book, a.whatif), cost_of_equity=coe, parts=parts,
        wacc=cost, vol=vol, vol_source=vol_source, drift=drift, irr=book_irr, irr_max_profit=best_irr,
        spread_bp=spread, reg_t_condors=sum(t.reg_t for t in live), reg_t_hedges=sum(hedge_bp),
        pm=pm, pm_move=pm_move, pm_contracts=contracts, tranches=tuple(tranches), rules=checks, start=start,
        undated_hedges=tuple(h.id for h in book.hedges if h.opened is None))


def _wacc_parts(s: CapitalSettings, rf: float, coe: float) -> tuple[WaccPart, ...]:
    if s.box_rate_pct is not None:
        box, box_how = s.box_rate_pct / 100, "entered"
    elif s.box is not None:
        box, box_how = box_rate(*s.box), "ln({:g} / {:g}) / ({:g} / 365)".format(*s.box)
    else:
        box, box_how = rf, "rf (no box entered)"
    collateral, coll_how = (s.collateral_yield_pct / 100, "entered") if s.collateral_yield_pct is not None \
        else (rf, "rf")
    w = s.weights
    return (WaccPart("margin loan", w[0], s.margin_rate_pct / 100 * (1 - s.tax_pct / 100),
                     f"{s.margin_rate_pct:g}% x (1 - tax {s.tax_pct:g}%)"),
            WaccPart("box financing", w[1], box, box_how),
            WaccPart("collateral", w[2], collateral, coll_how),
            WaccPart("equity", w[3], coe, "CAPM"))


def _vol(book, market, closes: Daily | None) -> tuple[float, str]:
    """The probabilities' realized SPX vol (`real_world_for`: the window's closes up to the
    market's day), else VIX / 100."""
    window = book.capital.vol_window_days
    real = real_world_for(book, market, closes)
    if real is not None:
        return real.vol, f"realized, {window} SPX closes to {real.last}" + (" (DEMO)" if real.demo else "")
    return market.vix / 100, f"VIX / 100: fewer than {window + 1} SPX closes in the history store"


def _tranches(a: Analysis, betas: np.ndarray, start: date, vol: float, drift: float):
    """Each expiry's condors: beta, max loss, Reg-T and the dated flows of its IRR, at the
    expected settlement and at max profit; with the book's flows (both) so far."""
    groups = defaultdict(list)
    for i, c in enumerate(a.condors):
        groups[c.condor.expiry].append(i)
    flows, best, out = [], [], []
    m = a.market
    for expiry in sorted(groups):
        mine, theirs, top = groups[expiry], [], []
        settle, bp, credit = 0.0, 0.0, 0.0
        for i in mine:
            r = a.condors[i]
            x = r.condor
            lot = x.quantity * MULT[SPX]
            req = margin.reg_t_condor(x.max_width, x.credit, x.quantity)
            pay = lot * expected_payoff(
                lambda s_: condor_payoff(s_, x.long_put, x.short_put, x.short_call, x.long_call),
                a.at.spx, r.dte / 365, drift, m.dividend_yield, vol)
            opened = x.opened or start
            theirs += [(opened, -req), (expiry, req + x.credit * lot - pay)]
            top += [(opened, -req), (expiry, req + x.credit * lot)]
            settle += pay
            bp += req
            credit += x.credit * lot
        max_loss = sum(a.condors[i].max_loss for i in mine)
        condors = [a.condors[i].condor for i in mine]
        out.append(TrancheCapital(expiry, tuple(x.id for x in condors), float(betas[mine].sum()),
                                  max_loss, 100 * max_loss / a.book.equity, bp, settle, credit - settle,
                                  irr(_merge(theirs)), irr(_merge(top)), min(x.opened or start for x in condors),
                                  tuple(x.id for x in condors if x.opened is None),
                                  any(a.condors[i].dte > 0 for i in mine)))
        flows += theirs
        best += top
    return flows, best, out


def _hedge_flows(h, futures_margin: float, start: date, flows: list, best: list) -> None:
    """A hedge's premium paid when opened (nothing back: its pay-off is in the stresses), and
    a VIX future's margin held until its expiry."""
    opened = h.opened or start
    premium = margin.hedge_premium(h)
    out = [(opened, -premium)] if premium else []
    for leg in h.legs:
        if leg.kind == "vix_future" and futures_margin:
            held = abs(leg.ratio) * h.quantity * futures_margin
            out += [(opened, -held), (leg.expiry, held)]
    flows += out
    best += out


def _merge(flows: list[tuple[date, float]]) -> list[tuple[date, float]]:
    """One flow a day, in date order."""
    by_day: dict[date, float] = defaultdict(float)
    for d, x in flows:
        by_day[d] += x
    return sorted(by_day.items())


def capital_to_dict(c: CapitalResult) -> tuple[dict, list[dict]]:
    """The JSON's `capital` object and its `tranches[]` (rows keyed by expiry: other
    measures of a tranche add their own fields to the same rows)."""
    parts = {p.name.split()[0]: {"weight": p.weight, "cost": p.cost, "how": p.how} for p in c.parts}
    out = {
        "units": "rates and IRR: fractions a year; beta: $ P&L per 1 % SPX / 1 % of equity; money: $",
        "beta": c.beta, "beta_band": list(c.settings.beta_band),
        "beta_parts": {"condors": c.condor_beta, "hedges": c.hedge_beta}, "hedge_vol_beta": c.vol_beta,
        "rf": c.rf, "rf_source": c.rf_source, "mrp": c.settings.mrp_pct / 100,
        "cost_of_equity": c.cost_of_equity, "wacc": c.wacc, "wacc_parts": parts,
        "real_world": {"vol": c.vol, "vol_source": c.vol_source, "drift": c.drift,
                       "drift_source": "CAPM of SPX (beta 1): rf + MRP"},
        "irr": c.irr, "irr_max_profit": c.irr_max_profit, "spread_bp": c.spread_bp,
        "irr_undated": list(c.undated),
        "spread_target_bp": list(c.settings.spread_bp),
        "buying_power": {"reg_t": c.reg_t, "reg_t_condors": c.reg_t_condors, "reg_t_hedges": c.reg_t_hedges,
                         "reg_t_pct": c.reg_t_pct, "portfolio_margin": c.pm,
                         "portfolio_margin_pct": c.pm_pct, "pm_worst_move": c.pm_move,
                         "pm_range_pct": list(c.settings.pm_range_pct)},
        "rules": [{"name": r.name, "status": r.status, "line": r.line} for r in c.rules],
    }
    tranches = [{"expiry": t.expiry.isoformat(), "condors": list(t.ids), "beta": t.beta, "irr": t.irr,
                 "irr_max_profit": t.irr_max_profit, "irr_start": t.start.isoformat(), "irr_undated": list(t.undated),
                 "notional_pct": t.notional_pct, "max_loss": t.max_loss,
                 "reg_t": t.reg_t, "expected_settlement": t.expected_settlement,
                 "expected_pnl": t.expected_pnl, "live": t.live} for t in c.tranches]
    return out, tranches

