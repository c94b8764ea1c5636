"""The capital calculator's result as lines of text, for `alvh report` and the Capital
screen alike: every figure comes from core.capital, with its unit."""
from __future__ import annotations

from core.capital.calculator import CapitalResult, capital
from core.history.daily import Daily


def spx_closes(db, demo_market: bool) -> Daily | None:
    """The history store's SPX closes (the DEMO history only for the demo market), for the realized vol."""
    from core.history.store import series_for
    return series_for(db, demo_market).get("spx")


def load_capital(a, db) -> CapitalResult:
    return capital(a, spx_closes(db, a.market.demo))


def pct(x: float | None, places: int = 2) -> str:
    return "n/a" if x is None else f"{100 * x:,.{places}f}%"


def undated_note(c: CapitalResult) -> str:
    """Which positions the IRR starts at the valuation for want of an opened date (a condor's
    credit then counts as received that day, a hedge's premium as paid), if any."""
    if not c.undated:
        return ""
    return (f"; no opened date, so their flows start at the valuation {c.start}: {', '.join(c.undated)}"
            " (each `opened` in the book gives the IRR since the trade)")


def capital_lines(c: CapitalResult) -> list[tuple[str, str]]:
    """(text, status) lines: status is a rule's pass / warn / fail, or "" for a figure."""
    s = c.settings
    out = [(r.text, r.status) for r in c.rules]
    lo, hi = s.beta_band
    vb = "n/a (no hedge value)" if c.vol_beta is None else f"{c.vol_beta:+.2f}x the index (seed 3-5x in size)"
    out += [
        (f"Beta (P&L per 1% SPX as a share of equity, spot-vol map): book {c.beta:+.3f}"
         f" (condors {c.condor_beta:+.3f}, hedges {c.hedge_beta:+.3f}), band {lo:g} to {hi:g};"
         f" hedges' vol beta {vb}", ""),
        (f"CAPM cost of equity {pct(c.cost_of_equity)}/yr = rf {pct(c.rf)} ({c.rf_source})"
         f" + beta {c.beta:+.3f} x MRP {s.mrp_pct:g}%", ""),
        (f"WACC {pct(c.wacc)}/yr = " + " + ".join(
            f"{p.name} {p.weight:g} x {pct(p.cost)} ({p.how})" for p in c.parts), ""),
        (f"Real world for the expected settlement: SPX vol {pct(c.vol)} ({c.vol_source}),"
         f" drift {pct(c.drift)}/yr (CAPM of SPX, β = 1: rf {pct(c.rf)} + MRP {s.mrp_pct:g}%)", ""),
        (f"IRR book {pct(c.irr, 1)}/yr expected, {pct(c.irr_max_profit, 1)}/yr at max profit;"
         f" IRR - WACC {'n/a' if c.spread_bp is None else f'{c.spread_bp:+,.0f} bp'}"
         f" (target {s.spread_bp[0]:g}-{s.spread_bp[1]:g} bp)" + undated_note(c), ""),
    ]
    for t in c.tranches:
        since = (f"from {t.start}, the valuation (no opened date)" if len(t.undated) == len(t.ids)
                 else f"from {t.start}" + (f"; {', '.join(t.undated)} from the valuation (no opened date)"
                                           if t.undated else ""))
        out.append((f"  {t.expiry} {', '.join(t.ids)}: beta {t.beta:+.3f}, max loss {t.max_loss:,.0f} $"
                    f" = {t.notional_pct:.2f}% of equity, Reg-T {t.reg_t:,.0f} $, expected settlement"
                    f" {t.expected_settlement:,.0f} $, P&L {t.expected_pnl:+,.0f} $ ="
                    f" {t.expected_pnl_pct:+.1f}% of Reg-T, IRR {pct(t.irr, 1)}/yr {since}"
                    f" (max profit {pct(t.irr_max_profit, 1)}/yr)"
                    + ("" if t.live else "; settled by the valuation: not in the buying power or the rules"), ""))
    lo_pm, hi_pm = s.pm_range_pct
    out.append((f"Buying power: Reg-T {c.reg_t:,.0f} $ = {c.reg_t_pct:.1f}% of equity"
                f" (condors {c.reg_t_condors:,.0f} $, hedges {c.reg_t_hedges:,.0f} $);"
                f" portfolio-margin estimate {c.pm:,.0f} $ = {c.pm_pct:.1f}%"
                f" (worst at SPX {100 * c.pm_move:+.1f}% of {lo_pm:g}% to {hi_pm:+g}%, FINRA 4210(g))", ""))
    return out
