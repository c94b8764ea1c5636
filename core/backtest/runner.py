"""A whole backtest: the programs on the history, the roll-date shifts, the claims, and on
request the Monte Carlo. Returns plain results; the command line and the cockpit render them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.backtest import hedging, metrics
from core.backtest.simulate import run

SHIFTS = 10  # entries moved by -10..+10 trading days for the roll-date sensitivity
MODEL_NAMES = {  # flag: (what the day had, what stood in)
    "futures": ("real VX settlements", "the mean-reverting futures model"),
    "vvix": ("VVIX", "the constant VIX option vol"),
    "vix9d": ("VIX9D", "VIX for the 9-day node"),
    "vix3m": ("VIX3M", "the mean-reverting 93-day node"),
    "skew": ("the SKEW index", "the constant skew slope"),
    "open": ("the SPX opening print", "the close for AM settlement"),
}


@dataclass(frozen=True)
class Backtest:
    config: object
    dates: np.ndarray  # (D,)
    programs: tuple[str, ...]  # "unhedged", "hedged" (those run)
    rows: dict  # program -> metrics.Summary.row() at shift 0
    equity: dict  # program -> (D,) $
    drawdown: dict  # program -> (D,) fraction below the high so far
    daily: dict  # column -> (D,) array, the --csv series
    models: dict  # flag -> days the tape had it
    claims: list
    sensitivity: list  # {shift, program: {cagr, max_drawdown, sharpe}}
    spread: dict  # program -> {figure: (min, max)} over the shifts
    monte_carlo: dict | None
    assumptions: tuple[str, ...]


def programs_for(hedged: bool, unhedged: bool) -> tuple[str, ...]:
    return tuple(p for p, on in (("unhedged", unhedged), ("hedged", hedged)) if on)


def backtest(tape, cfg, *, hedged: bool = True, unhedged: bool = True, shifts: int = SHIFTS,
             mc_paths: int = 0, workers: int | None = None, progress=None) -> Backtest:
    """`progress(done, total)` is called as days are stepped (history, then Monte Carlo);
    `workers`: the Monte Carlo's processes (default one a core, 1 runs here)."""
    names = programs_for(hedged, unhedged)
    offsets = [0] + [s for k in range(1, shifts + 1) for s in (-k, k)]
    hedge_flag = np.array([n == "hedged" for _ in offsets for n in names])
    shift = np.array([s for s in offsets for _ in names])
    total = tape.days * (2 if mc_paths else 1)
    r = run(tape, cfg, hedge_flag, shift, np.zeros(len(shift), int), progress=_part(progress, 0, total))
    s = metrics.summary(r.dates, r.equity, r.cash_rate, r.theta, r.hedge_pnl, r.trades)
    rows = {n: s.row(i) for i, n in enumerate(names)}
    for n, i in zip(names, range(len(names))):
        rows[n]["hedge_trades"] = int(r.hedge_trades[i])
        rows[n]["costs"] = float(r.costs[i])
        rows[n]["skipped"] = int(r.skipped[i])
    sens = [{"shift": int(off), **{n: _brief(s, j * len(names) + i) for i, n in enumerate(names)}}
            for j, off in enumerate(offsets)]
    sens.sort(key=lambda x: x["shift"])
    spread = {n: {f: (min(x[n][f] for x in sens if x[n][f] is not None),
                      max(x[n][f] for x in sens if x[n][f] is not None))
                  for f in ("cagr", "max_drawdown", "sharpe") if any(x[n][f] is not None for x in sens)}
              for n in names}
    mc = None
    if mc_paths:
        from core.backtest.montecarlo import monte_carlo
        part = _part(progress, tape.days, total)
        mc = monte_carlo(tape, cfg, names, mc_paths, workers=workers,
                         progress=None if part is None else (lambda done, d: part(done * tape.days // d, d)))
    claims = metrics.claims(rows.get("unhedged"), rows.get("hedged"), mc)
    daily = _daily(tape, r, names)
    models = {k: int(v[0].sum()) for k, v in r.real.items()}
    dd = metrics.drawdown_curve(r.equity[:len(names)])
    return Backtest(cfg, r.dates, names, rows, {n: r.equity[i] for i, n in enumerate(names)},
                    {n: dd[i] for i, n in enumerate(names)}, daily, models, claims, sens, spread, mc,
                    assumptions(cfg))


def _part(progress, offset, total):
    if progress is None:
        return None
    return lambda done, _days: progress(offset + done, total)


def _brief(s, i):
    row = s.row(i)
    return {f: row[f] for f in ("cagr", "max_drawdown", "sharpe", "drag_pct")}


def _daily(tape, r, names):
    out = {"date": r.dates, "spx": tape.spx[0], "vix": tape.vix[0]}
    for i, n in enumerate(names):
        out[f"equity_{n}"] = r.equity[i]
        out[f"theta_{n}"] = r.theta[i]
        out[f"open_condors_{n}"] = r.open_condors[i]
    if "hedged" in names:
        i = names.index("hedged")
        out["hedge_pnl"], out["hedge_value"] = r.hedge_pnl[i], r.hedge_value[i]
    for k, (real, stand_in) in MODEL_NAMES.items():
        out[f"model_{k}"] = np.where(r.real[k][0], "real", "model")
    return out


def assumptions(cfg) -> tuple[str, ...]:
    m = cfg.model
    return (
        f"SPX options: BSM, ATM vol = {m.atm_ratio:g} x the VIX term structure (VIX9D, VIX, VIX3M interpolated in"
        " total variance, flat outside 9-93 days), put skew: vol x (1 - slope x z) within 0.5-3x ATM,"
        " z = ln(K/F)/(ATM vol sqrt T),"
        f" slope {m.skew_slope:g}" + (" x (SKEW - 100)/20 where stored" if m.skew_index else "")
        + f"; dividend yield {m.dividend_yield:.2%}",
        "SPX settlement: AM roots (third-Friday monthlies) at the opening print, PM roots (weeklies) at the close;"
        " entries and exits at the close, at mid less slippage",
        f"VIX options: Black-76 on the VIX future of the expiry (real settlements where stored, else a mean-reverting"
        f" variance model, kappa {m.kappa:g}/yr, long-run level from VIX3M or {m.long_vix:g}); vol VVIX/100 (else"
        f" {m.vix_vol:g}) x (30/days)^{m.vix_vol_decay:g}; settled on spot VIX's close",
        "Hedge: " + hedging.describe() + f"; target coverage {cfg.hedge.target_coverage:g}, drag budget"
        f" {cfg.hedge.drag_budget_pct:g}%/yr, premium cap {cfg.hedge.premium_cap_pct:g}%, rebalanced when"
        f" {cfg.hedge.rebalance_band:.0%} off target; R1 (breadth) and R2 (manual flags) unknown in history",
        "Cash: " + ("the 3-month T-bill of the month before (carried past its last month)" if cfg.cash.history
                    else f"{cfg.cash.rate:.2%} a year") + "; costs: commission and slippage per leg per side",
    )
