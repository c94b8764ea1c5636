"""The figures of a backtest run, the Monte Carlo distributions, and the claims table.

A run gives (P, D) arrays over D trading days: P = 1 for history, many for Monte Carlo.
Every figure is computed for all paths at once. Conventions:
  - returns are daily simple returns of equity, r_t = E_t / E_{t-1} - 1 (D - 1 of them);
  - the cash rate on row t-1 is earned from close t-1 to close t, over the calendar days
    between the rows: the day's cash return is exp(rate_{t-1} * days / 365) - 1;
  - a year is 365.25 calendar days (CAGR, drag), and 252 trading days annualize vol,
    Sharpe and Sortino;
  - stdevs are sample stdevs (ddof = 1), as statistics.stdev;
  - a figure that is undefined (no variance, no drawdown) is NaN or NaT, never a warning.
Fractions throughout: 0.22 is 22 %.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

TRADING_DAYS = 252
YEAR_DAYS = 365.25
RATE_DAYS = 365.0  # money-market convention for the cash rate
# A daily stdev this small, relative to the series' size, is rounding, not variation:
# without it a constant-growth curve would have a Sharpe of 1e15.
FLAT = 1e-12


@dataclass(frozen=True)
class Summary:
    """One run's figures, each a (P,) array over paths."""
    cagr: np.ndarray
    vol: np.ndarray
    max_drawdown: np.ndarray  # positive fraction
    dd_peak: np.ndarray  # datetime64[D]; NaT when there was no drawdown
    dd_trough: np.ndarray
    dd_recovery: np.ndarray  # NaT if never recovered
    sharpe: np.ndarray
    sortino: np.ndarray
    worst_month: np.ndarray  # signed return of the worst calendar month
    worst_month_date: np.ndarray  # datetime64[M]
    theta_r2: np.ndarray
    theta_slope: np.ndarray  # $ of P&L per $ of prior theta; 1 is a book that earns its theta
    drag_pct: np.ndarray  # net hedge cost a year / mean equity; positive = the hedge cost money
    years: np.ndarray
    trades: np.ndarray

    def row(self, p: int = 0) -> dict:
        """Path p's figures for JSON: floats (None for NaN), ISO dates (None for NaT)."""
        out = {}
        for f in fields(self):
            name, v = f.name, getattr(self, f.name)[p]
            if name == "trades":
                out[name] = int(v)
            elif np.issubdtype(np.asarray(v).dtype, np.datetime64):
                out[name] = None if np.isnat(v) else str(v)
            else:
                out[name] = plain(v)
        return out


def plain(x) -> float | None:
    """A float for JSON: None where it is not finite (NaN is not JSON)."""
    x = float(x)
    return x if np.isfinite(x) else None


def _sample_std(x):
    """Sample stdev along the last axis; NaN (no warning) when there is one value."""
    n = x.shape[-1]
    dev = x - x.mean(axis=-1, keepdims=True)
    return np.sqrt((dev * dev).sum(axis=-1) / (n - 1))


def _flat(x, std):
    """Where a series' stdev is rounding noise relative to its size."""
    return std <= FLAT * np.abs(x).max(axis=-1)


def drawdown_curve(equity):
    """Each day's fall below the highest close so far, a fraction (0.2 = 20 % below); (P, D)."""
    e = np.asarray(equity, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 - e / np.maximum.accumulate(e, axis=-1)


def drawdowns(dates, equity):
    """(max drawdown, peak date, trough date, recovery date), each (P,). The trough is the
    first day of the deepest drawdown, the peak the last close at the high before it, the
    recovery the first close back at that high."""
    D = equity.shape[1]
    high = np.maximum.accumulate(equity, axis=1)
    dd = 1.0 - equity / high
    trough = dd.argmax(axis=1)
    mdd = dd[np.arange(len(equity)), trough]
    level = high[np.arange(len(equity)), trough][:, None]
    idx = np.arange(D)
    at_high = equity >= level
    peak = np.where(at_high & (idx <= trough[:, None]), idx, -1).max(axis=1)
    recovery = np.where(at_high & (idx > trough[:, None]), idx, D).min(axis=1)
    nat = np.datetime64("NaT", "D")
    some = mdd > 0
    return (mdd,
            np.where(some, dates[peak], nat),
            np.where(some, dates[trough], nat),
            np.where(some & (recovery < D), dates[np.minimum(recovery, D - 1)], nat))


def month_returns(dates, equity):
    """(P, M) calendar-month returns and their (M,) months: each month's last close over
    the previous month's last close (the first month over the starting equity)."""
    months = dates.astype("datetime64[M]")
    ends = np.flatnonzero(np.r_[months[1:] != months[:-1], True])
    base = np.r_[0, ends[:-1]]
    return equity[:, ends] / equity[:, base] - 1.0, months[ends]


def summary(dates, equity, cash_rate, theta, hedge_pnl, trades) -> Summary:
    """The figures of a run, vectorized across its paths (see the module docstring)."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    equity, cash_rate, theta, hedge_pnl = (np.asarray(a, dtype=float)
                                           for a in (equity, cash_rate, theta, hedge_pnl))
    P, D = equity.shape
    if D < 2 or dates.shape != (D,):
        raise ValueError(f"a run needs at least 2 days and one date per column, got {D} "
                         f"columns and dates {dates.shape}")
    for name, a in (("cash_rate", cash_rate), ("theta", theta), ("hedge_pnl", hedge_pnl)):
        if a.shape != equity.shape:
            raise ValueError(f"{name} is {a.shape}, equity {equity.shape}")
    gap = (dates[1:] - dates[:-1]).astype(float)
    years = (dates[-1] - dates[0]).astype(float) / YEAR_DAYS

    with np.errstate(all="ignore"):  # undefined figures come out NaN (or inf), quietly
        growth = equity[:, -1] / equity[:, 0]
        cagr = np.where(growth <= 0, -1.0, growth ** (1.0 / years) - 1.0)  # ruin is -100 %

        r = equity[:, 1:] / equity[:, :-1] - 1.0
        std = _sample_std(r)
        vol = std * np.sqrt(TRADING_DAYS)
        cash = np.expm1(cash_rate[:, :-1] * gap / RATE_DAYS)
        excess = r - cash
        mean = excess.mean(axis=1)
        ex_std = _sample_std(excess)
        sharpe = np.where(_flat(excess, ex_std), np.nan, mean / ex_std) * np.sqrt(TRADING_DAYS)
        down = np.sqrt((np.minimum(excess, 0.0) ** 2).mean(axis=1))
        sortino = np.where(down > 0, mean / down, np.nan) * np.sqrt(TRADING_DAYS)

        mret, months = month_returns(dates, equity)
        worst = mret.argmin(axis=1)

        # The book's own P&L: the cash interest (on the whole equity; the condors' marks
        # are small beside the account) is not the theta's doing.
        x = theta[:, :-1]
        y = np.diff(equity, axis=1) - equity[:, :-1] * cash
        dx = x - x.mean(axis=1, keepdims=True)
        dy = y - y.mean(axis=1, keepdims=True)
        sxx, syy, sxy = (dx * dx).sum(axis=1), (dy * dy).sum(axis=1), (dx * dy).sum(axis=1)
        flat_x = _flat(x, np.sqrt(sxx))
        slope = np.where(flat_x, np.nan, sxy / sxx)
        r2 = np.where(flat_x | _flat(y, np.sqrt(syy)), np.nan,
                      np.minimum(sxy * sxy / (sxx * syy), 1.0))  # a line's may round to 1 + 2e-16

        drag = -hedge_pnl.sum(axis=1) / years / equity.mean(axis=1) + 0.0  # + 0.0: no hedge is 0, not -0

    mdd, peak, trough, recovery = drawdowns(dates, equity)
    return Summary(
        cagr=cagr, vol=vol, max_drawdown=mdd, dd_peak=peak, dd_trough=trough,
        dd_recovery=recovery, sharpe=sharpe, sortino=sortino,
        worst_month=mret[np.arange(P), worst], worst_month_date=months[worst],
        theta_r2=r2, theta_slope=slope, drag_pct=drag, years=np.full(P, years),
        trades=np.asarray(trades).astype(int).reshape(P))


def drawdown_reduction(unhedged_dd, hedged_dd):
    """The share of the unhedged max drawdown the hedge removed: 1 - hedged / unhedged
    (0.36 = 36 % less; negative = deeper hedged). NaN when unhedged never drew down."""
    u, h = np.asarray(unhedged_dd, dtype=float), np.asarray(hedged_dd, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(u > 0, 1.0 - h / u, np.nan)
    return out[()]


def _spread(x) -> dict:
    """Median, 5th and 95th percentiles over the paths where x is finite."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"median": None, "p5": None, "p95": None}
    p5, med, p95 = np.percentile(x, [5, 50, 95])
    return {"median": float(med), "p5": float(p5), "p95": float(p95)}


def monte_carlo(unhedged: Summary, hedged: Summary) -> dict:
    """The distributions over the bootstrap paths, JSON-ready: for each program
    {max_drawdown, sharpe, drag_pct} -> {median, p5, p95}, and sharpe_diff, the per-path
    hedged - unhedged Sharpe (the same market path under both programs). Paths where a
    figure is NaN are left out of that figure."""
    P = len(unhedged.sharpe)
    if len(hedged.sharpe) != P:
        raise ValueError(f"{P} unhedged paths but {len(hedged.sharpe)} hedged")
    out = {"paths": P}
    for name, s in (("unhedged", unhedged), ("hedged", hedged)):
        out[name] = {k: _spread(getattr(s, k)) for k in ("max_drawdown", "sharpe", "drag_pct")}
    out["sharpe_diff"] = _spread(hedged.sharpe - unhedged.sharpe)
    return out


@dataclass(frozen=True)
class Claim:
    key: str
    claim: str
    seed: str


# The seeds' words, once: the report and the JSON both show these.
CLAIMS = (
    Claim("drag", "Hedge drag", "costs 1–2 % of equity a year"),
    Claim("drawdown", "Drawdown cut",
          "max drawdown about 22 % → 13–14 % (35–40 % less)"),
    Claim("sharpe", "Sharpe gain", "+0.4–0.7 Sharpe in Monte Carlo runs"),
    Claim("theta_r2", "Theta R²", "R² of daily P&L on theta 0.65–0.75 → 0.88+"),
)

HOLDS = "holds"
FAILS = "does not hold on this data"


def _unmeasurable(why: str) -> str:
    return f"not measurable ({why})"


def _value(run: dict | None, key: str):
    """run[key] as a float, or None when the run, the key or a finite value is missing."""
    if run is None or run.get(key) is None:
        return None
    return plain(run[key])


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _drag(unhedged, hedged, mc):
    d = _value(hedged, "drag_pct")
    if d is None:
        why = "no hedged run" if hedged is None else "hedged drag is not a number"
        return "—", _unmeasurable(why), ""
    if d <= 0.02:
        why = "below the claimed cost" if d < 0.01 else "within 1–2 %"
        return f"{_pct(d)}/yr", HOLDS, why
    return f"{_pct(d)}/yr", FAILS, "costs more than 2 % a year"


def _drawdown(unhedged, hedged, mc):
    u, h = _value(unhedged, "max_drawdown"), _value(hedged, "max_drawdown")
    if u is None or h is None:
        return "—", _unmeasurable("needs both runs' max drawdown"), ""
    if u <= 0:
        return f"{_pct(u)} → {_pct(h)}", _unmeasurable("the unhedged run never drew down"), ""
    cut = float(drawdown_reduction(u, h))
    measured = f"{_pct(u)} → {_pct(h)} ({_pct(cut)} less)" if cut >= 0 else f"{_pct(u)} → {_pct(h)} ({_pct(-cut)} deeper)"
    levels = ("the levels match too" if abs(u - 0.22) <= 0.02 and h <= 0.14
              else "the levels differ from 22 % → 13–14 %")
    if cut >= 0.35:
        return measured, HOLDS, f"cut at least 35 %; {levels}"
    return measured, FAILS, f"cut under 35 %; {levels}"


def _sharpe(unhedged, hedged, mc):
    if mc is None:
        return "—", _unmeasurable("no Monte Carlo run"), ""
    if "sharpe_diff" not in mc:
        return "—", _unmeasurable("the Monte Carlo ran one program"), ""
    diff = mc["sharpe_diff"]
    if diff["median"] is None:
        return "—", _unmeasurable("no path has a Sharpe for both runs"), ""
    measured = (f"{diff['median']:+.2f} median over {mc['paths']} paths "
                f"(5–95 %: {diff['p5']:+.2f} to {diff['p95']:+.2f})")
    if diff["median"] >= 0.4:
        return measured, HOLDS, "median gain at least +0.4"
    return measured, FAILS, "median gain under +0.4"


def _theta_r2(unhedged, hedged, mc):
    u, h = _value(unhedged, "theta_r2"), _value(hedged, "theta_r2")
    if u is None or h is None:
        return "—", _unmeasurable("needs both runs' R²; theta with no variance has none"), ""
    measured = f"{u:.2f} → {h:.2f}"
    base = ("unhedged within 0.65–0.75" if 0.65 <= u <= 0.75
            else "unhedged outside 0.65–0.75")
    if h >= 0.88 and h >= u:
        return measured, HOLDS, f"hedged at least 0.88; {base}"
    why = "the hedge lowers R²" if h < u else "hedged under 0.88"
    return measured, FAILS, f"{why}; {base}"


_MEASURE = {"drag": _drag, "drawdown": _drawdown, "sharpe": _sharpe, "theta_r2": _theta_r2}


def claims(unhedged: dict | None, hedged: dict | None, mc: dict | None) -> list[dict]:
    """The seeds' four claims beside the measured values: {claim, seed, measured, verdict,
    why}. `unhedged`/`hedged` are Summary.row() dicts (None for a run not made), `mc` is
    monte_carlo()'s dict or None.

    Tolerance rule: a value holds if it lies in the claimed range or beyond it in the
    claim's favour, with no further margin:
      drag      hedged drag_pct <= 2 % a year (less, even negative, is in favour);
      drawdown  reduction 1 - hedged/unhedged >= 35 %; the levels are said to match when
                the unhedged is within 22 % +- 2 points and the hedged at most 14 %;
      sharpe    the median per-path hedged - unhedged Sharpe >= +0.4;
      theta_r2  hedged R² >= 0.88 and not below the unhedged R² (the claim is a lift);
                whether the unhedged lies in 0.65–0.75 is said.
    A value that is missing or not a number makes its claim "not measurable (why)".
    """
    out = []
    for c in CLAIMS:
        measured, verdict, why = _MEASURE[c.key](unhedged, hedged, mc)
        out.append({"claim": c.claim, "seed": c.seed, "measured": measured,
                    "verdict": verdict, "why": why})
    return out
