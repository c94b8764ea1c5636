"""`alvh backtest`'s tables and terminal charts, laid out for 80 columns."""
from __future__ import annotations

import shutil
import textwrap

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from core.backtest.runner import MODEL_NAMES
from core.model.errors import printable

PROGRAMS = ("unhedged", "hedged")
MAX_WIDTH = 100
CHART_ROWS = 14
DASH = "—"


def console() -> Console:
    """A console as wide as the terminal (80 when not one, or $COLUMNS), 40 to MAX_WIDTH."""
    c = Console(width=max(40, min(shutil.get_terminal_size().columns, MAX_WIDTH)), highlight=False)

    def broken_pipe():  # rich would exit 1 itself; main() ends a closed pipe as 141
        raise BrokenPipeError("stdout closed")
    c.on_broken_pipe = broken_pipe
    return c


def print_backtest(b, out: Console) -> None:
    days = len(b.dates)
    years = next(iter(b.rows.values()))["years"]
    out.print(f"[b]Backtest {b.dates[0]} → {b.dates[-1]}[/b]: {days:,} trading days ({years:.1f} years)")
    _line(out, program(b.config))
    out.print(summary_table(b))
    _line(out, "Sharpe and Sortino are annualized, over the cash rate; theta R² and slope regress the"
               " day's P&L on the prior day's theta ($ of P&L per $ of theta; 1 = the book earns its theta).")
    for chart in charts(b, out.width):
        out.print(Text.from_ansi(chart, no_wrap=True, overflow="crop"))
    out.print(claims_table(b.claims))
    sensitivity(b, out)
    if b.monte_carlo:
        monte_carlo(b, out)
    out.print("[b]Model coverage[/b]: what each day had, and what stood in where it had none")
    for k, n in b.models.items():
        _line(out, coverage(k, n, days), "  ", "    ")
    out.print("[b]Assumptions[/b]")
    for line in b.assumptions:
        _line(out, line, "  • ", "    ")


def _line(out: Console, text: str, lead: str = "", indent: str = "") -> None:
    """Plain text (never markup), wrapped to the console, continuation lines after `indent`."""
    wrapped = textwrap.fill(printable(text), out.width, initial_indent=lead, subsequent_indent=indent)
    out.print(wrapped, markup=False)


def coverage(flag: str, n: int, days: int) -> str:
    had, stand_in = MODEL_NAMES[flag]
    if n == days:
        return f"{had} on all {days:,} days"
    if n == 0:
        return f"{stand_in} on all {days:,} days (no {had} stored)"
    return f"{had} on {n:,} of {days:,} days; {stand_in} on the other {days - n:,}"


def program(cfg) -> str:
    e, s, x = cfg.entry, cfg.strikes, cfg.exit
    when = f"every {e.every_days} trading days" if e.schedule == "every" else "on each monthly expiry day"
    wings = f"wings {s.wing_width:g} points out" if s.wing_delta is None else f"wings at {s.wing_delta:g} delta"
    exits = [f"take profit at {x.take_profit_pct:g} % of the credit"] if x.take_profit_pct else []
    exits += [f"stop at {x.stop_multiple:g}x the credit"] if x.stop_multiple else []
    exits += [f"closed at {x.close_dte} days to expiry"] if x.close_dte else ["held to settlement"]
    cash = "the T-bill history" if cfg.cash.history else f"{cfg.cash.rate:.2%} a year"
    return (f"Condors: {s.short_delta:g}-delta shorts, {wings}, {e.dte} days to expiry, entered {when},"
            f" max loss {cfg.size.max_loss_pct:g} % of equity each, {', '.join(exits)}; cash earns {cash}"
            f" ({cfg.source or 'default config'})")


def _table(title: str, *columns: str) -> Table:
    from rich import box
    t = Table(title=escape(title), title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
              collapse_padding=True)
    for i, col in enumerate(columns):
        t.add_column(col, justify="left" if i == 0 else "right")
    return t


def pct(x, digits: int = 1, unit: str = " %") -> str:
    return DASH if x is None else f"{100 * x:.{digits}f}{unit}"


def num(x, form: str = ".2f") -> str:
    return DASH if x is None else format(x, form)


def summary_table(b) -> Table:
    names = [n for n in PROGRAMS if n in b.programs]
    t = _table("", "", *names)
    rows = [b.rows[n] for n in names]

    def add(label, show):
        t.add_row(label, *(show(r) for r in rows))
    add("CAGR", lambda r: pct(r["cagr"], 2))
    add("Annual volatility", lambda r: pct(r["vol"], 2))
    add("Max drawdown", lambda r: pct(r["max_drawdown"], 2))
    add("  peak → trough", lambda r: f"{r['dd_peak'] or DASH} → {r['dd_trough'] or DASH}")
    add("  recovered", lambda r: r["dd_recovery"] or ("not recovered" if r["dd_trough"] else DASH))
    add("Sharpe", lambda r: num(r["sharpe"]))
    add("Sortino", lambda r: num(r["sortino"]))
    add("Worst month", lambda r: f"{pct(r['worst_month'], 2)} ({r['worst_month_date'] or DASH})")
    if "hedged" in names:
        t.add_row("Hedge drag", *(pct(r["drag_pct"], 2, " %/yr") if n == "hedged" else DASH
                                  for n, r in zip(names, rows)))
    if len(names) == 2:
        t.add_row("Drawdown reduction", "", _reduction(*rows))
    add("Theta R²", lambda r: num(r["theta_r2"], ".3f"))
    add("Theta slope", lambda r: num(r["theta_slope"], "+.2f") + " $/$")
    add("Condors opened", lambda r: f"{r['trades']:,}" + (f" ({r['skipped']:,} skipped)" if r["skipped"] else ""))
    add("Hedge trades", lambda r: f"{r['hedge_trades']:,}")
    add("Costs", lambda r: f"{r['costs']:,.0f} $")
    t.add_row("End equity", *(f"{float(b.equity[n][-1]):,.0f} $" for n in names))
    return t


def _reduction(u, h) -> str:
    from core.backtest.metrics import drawdown_reduction, plain
    if u["max_drawdown"] is None or h["max_drawdown"] is None:
        return DASH
    cut = plain(drawdown_reduction(u["max_drawdown"], h["max_drawdown"]))
    return DASH if cut is None else pct(abs(cut)) + (" shallower" if cut >= 0 else " deeper")


def claims_table(claims) -> Table:
    t = _table("The seeds' claims", "Claim", "Seed says", "Measured", "Verdict")
    for col in t.columns:
        col.justify = "left"
    for c in claims:
        verdict = escape(printable(c["verdict"])) + (f"\n[dim]{escape(printable(c['why']))}[/dim]" if c["why"] else "")
        t.add_row(*(escape(printable(c[k])) for k in ("claim", "seed", "measured")), verdict)
    return t


def sensitivity(b, out: Console) -> None:
    if len(b.sensitivity) < 2:
        out.print("Roll-date sensitivity: not run (--shifts 0)")
        return
    names = [n for n in PROGRAMS if n in b.programs]
    cols = [f"{n[0].upper()} {f}" for n in names for f in ("CAGR", "max DD", "Sharpe")]
    _line(out, "Roll-date sensitivity: the same runs with every entry moved by -N..+N trading days"
               " (U unhedged, H hedged)")
    t = _table("", "shift", *cols)
    for s in b.sensitivity:
        t.add_row(f"{s['shift']:+d}", *(cell for n in names for cell in (
            pct(s[n]["cagr"], 2), pct(s[n]["max_drawdown"], 1), num(s[n]["sharpe"]))))
    out.print(t)
    for n in names:
        sp = b.spread[n]
        parts = [f"{label} {fmt(sp[f][0])} to {fmt(sp[f][1])}" for f, label, fmt in (
            ("cagr", "CAGR", lambda x: pct(x, 2)), ("max_drawdown", "max DD", pct), ("sharpe", "Sharpe", num))
            if f in sp]
        _line(out, f"{n} over {len(b.sensitivity)} entry dates: " + ", ".join(parts))
    e, top = b.config.entry, b.sensitivity[-1]["shift"]
    if e.schedule == "every" and top >= e.every_days:
        _line(out, f"(entries every {e.every_days} trading days: a shift by {e.every_days} repeats the schedule"
                   f" but for its ends, so these runs hold {e.every_days} distinct sets of entry dates)")


def monte_carlo(b, out: Console) -> None:
    mc = b.monte_carlo
    names = [n for n in PROGRAMS if n in mc]
    _line(out, f"Monte Carlo: {mc['paths']:,} bootstrap paths of {mc['days']:,} trading days (mean block"
               f" {mc['block_days']:g} days, seed {mc['seed']}): median [5th, 95th percentile]")
    t = _table("", "", *names)
    for f, label, fmt in (("max_drawdown", "Max drawdown", pct), ("sharpe", "Sharpe", num),
                          ("drag_pct", "Hedge drag %/yr", lambda x: pct(x, 2, ""))):
        t.add_row(label, *(_spread(mc[n][f], fmt) if f != "drag_pct" or n == "hedged" else DASH for n in names))
    out.print(t)
    if "sharpe_diff" in mc:
        _line(out, f"Sharpe hedged − unhedged, per path: {_spread(mc['sharpe_diff'], lambda x: num(x, '+.2f'))}")


def _spread(s: dict, fmt) -> str:
    return f"{fmt(s['median'])} [{fmt(s['p5'])}, {fmt(s['p95'])}]"


def charts(b, width: int) -> list[str]:
    """Equity (log scale) and drawdown of each program run, as plotext text."""
    import plotext as plt

    years = 1970 + b.dates.astype("datetime64[D]").astype(float) / 365.25
    colours = {"unhedged": "blue+", "hedged": "red+"}
    markers = {"unhedged": "braille", "hedged": "dot"}  # told apart without colour too
    legend = ", ".join(f"{'⣿' if markers[n] == 'braille' else '•'} {n}" for n in PROGRAMS if n in b.equity)
    out = []
    for title, curves, log in (("Equity, $ millions, log scale", {n: e / 1e6 for n, e in b.equity.items()}, True),
                               ("Drawdown, % below the high", {n: -100 * d for n, d in b.drawdown.items()}, False)):
        plt.clf()
        plt.theme("clear")
        plt.plot_size(width, CHART_ROWS)
        for n in PROGRAMS:
            if n in curves:
                plt.plot(years.tolist(), curves[n].tolist(), color=colours[n], marker=markers[n])
        if log:
            plt.yscale("log")
        plt.xticks(*_ticks(b.dates, years, width))
        plt.title(f"{title} ({legend})")  # plotext's own legend would hide the curves' start
        out.append(plt.build())
    return out


def _ticks(dates, years, width: int):
    """Whole years on a long run; on a short one a few ISO dates spread over it."""
    whole = list(range(int(years[0]) + 1, int(years[-1]) + 1))
    if len(whole) >= 4:
        step = -(-len(whole) // 6)
        return whole[::step], [str(y) for y in whole[::step]]
    at = np.unique(np.linspace(0, len(dates) - 1, max(2, min(5, width // 16))).round().astype(int))
    return years[at].tolist(), [str(d) for d in dates[at]]
