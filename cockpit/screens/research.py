"""b: Research — the book's own hedge settings backtested on the history store, hedged and
unhedged, with a progress bar; then the equity and drawdown charts, the key figures side by
side, the seeds' claims with their verdicts, and the model's assumptions.

What runs: the backtest config's defaults (core/demo/backtest.toml) with the book's [alvh]
drag_budget_pct, premium_cap_pct and base_ratio (as the hedge's target coverage), over the
whole stored history (the claims are about decades: 1990-2026 takes ~10 s), with the entries
also shifted by up to ±SHIFTS trading days and no Monte Carlo (`alvh backtest` runs those).
The run is a worker thread; Escape stops it at the runner's next progress call.

Every figure is the runner's (core.backtest.runner); the screen only lays them out. The
charts show equity as 100 at the start (log scale) and each day's fall from the high so far.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import ProgressBar, Static
from textual_plotext import PlotextPlot

from cockpit.riskgraph import nice_ticks
from core.model.errors import InputError, printable

SHIFTS = 2  # roll-date shifts: entries also moved by -2..+2 trading days
IMPORT_HINT = "alvh data import ../shared/data/*.csv"
NARROW = 100  # below this width the two charts stack
PLOT_POINTS = 500  # a chart draws at most this many points (a braille cell is 2 across)


class _Cancelled(Exception):
    """Raised in the runner's progress callback: the screen was closed, the run stops."""


def research_config(alvh):
    """(config, note): the backtest defaults with the book's drag budget, premium cap and base
    ratio (the target coverage, which the backtest takes up to 1; note says when it was cut)."""
    from core.backtest.config import DEFAULT
    coverage, note = alvh.base_ratio, None
    if coverage > 1:
        coverage, note = 1.0, f"base ratio {alvh.base_ratio:g} taken as coverage 1 (the backtest's most)"
    hedge = replace(DEFAULT.hedge, drag_budget_pct=alvh.drag_budget_pct,
                    premium_cap_pct=alvh.premium_cap_pct, target_coverage=coverage)
    return replace(DEFAULT, hedge=hedge, source="the book's [alvh] settings on the backtest defaults"), note


def settings_line(cfg) -> str:
    h, e, s, k = cfg.hedge, cfg.entry, cfg.strikes, cfg.size
    when = f"every {e.every_days} trading days" if e.schedule == "every" else "each monthly expiry"
    wings = f"{s.wing_width:g}-pt wings" if s.wing_width is not None else f"{s.wing_delta:g}Δ wings"
    return (f"Condors {e.dte} DTE, {s.short_delta:g}Δ shorts, {wings}, entered {when}, max loss"
            f" {k.max_loss_pct:g}% of equity each · hedge: drag budget {h.drag_budget_pct:g}%/yr,"
            f" premium cap {h.premium_cap_pct:g}%, target coverage {h.target_coverage:.2f}")


# ---- what the screen shows: the runner's numbers laid out ---------------------------

def _pct(x, spec=".1f") -> str:
    return "—" if x is None else f"{100 * x:{spec}} %"


def _num(x, spec=".2f") -> str:
    return "—" if x is None else f"{x:{spec}}"


def _month(d) -> str:
    return d[:7] if d else "—"


def _spread(bt, program: str, figure: str, fmt) -> str:
    lo_hi = bt.spread.get(program, {}).get(figure)
    return "—" if lo_hi is None else f"{fmt(lo_hi[0])} to {fmt(lo_hi[1])}"


def figures_table(bt) -> Table:
    """The key figures side by side, unhedged then hedged, as the runner gives them."""
    names = bt.programs
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    t.add_column("", no_wrap=True, overflow="ellipsis")
    for n in names:
        t.add_column(n.capitalize(), justify="right", overflow="fold")
    r = bt.rows

    def add(label, cell):
        t.add_row(label, *(cell(n, r[n]) for n in names))
    add("CAGR", lambda n, x: _pct(x["cagr"]))
    add("Annual volatility", lambda n, x: _pct(x["vol"]))
    add("Max drawdown", lambda n, x: _pct(x["max_drawdown"]))
    add("  peak → trough", lambda n, x: f"{_month(x['dd_peak'])} → {_month(x['dd_trough'])}")
    add("Sharpe", lambda n, x: _num(x["sharpe"]))
    add("Sortino", lambda n, x: _num(x["sortino"]))
    add("Worst month", lambda n, x: f"{_pct(x['worst_month'])} {_month(x['worst_month_date'])}")
    add("Hedge drag a year", lambda n, x: _pct(x["drag_pct"], ".2f") if n == "hedged" else "—")
    add("Theta R² (slope)", lambda n, x: f"{_num(x['theta_r2'])} ({_num(x['theta_slope'])})")
    add("Condor trades", lambda n, x: f"{x['trades']:,}")
    add("Hedge trades", lambda n, x: f"{x['hedge_trades']:,}" if n == "hedged" else "—")
    shifts = max((abs(s["shift"]) for s in bt.sensitivity), default=0)
    if shifts:
        add(f"CAGR, entries ±{shifts} d", lambda n, x: _spread(bt, n, "cagr", _pct))
        add(f"Max DD, entries ±{shifts} d", lambda n, x: _spread(bt, n, "max_drawdown", _pct))
        add(f"Sharpe, entries ±{shifts} d", lambda n, x: _spread(bt, n, "sharpe", _num))
    return t


def _verdict_style(verdict: str, pal) -> str:
    if pal is None:
        return ""
    return pal.ok if verdict == "holds" else pal.off if verdict.startswith("not measurable") else pal.warn


def claims_table(claims, pal=None) -> Table:
    """The seeds' claims beside the measured values, each with its verdict and why."""
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=True)
    t.add_column("Claim", ratio=3, overflow="fold")
    t.add_column("Measured", ratio=3, overflow="fold")
    t.add_column("Verdict", ratio=4, overflow="fold")
    for c in claims:
        verdict = Text(c["verdict"], style=_verdict_style(c["verdict"], pal))
        if c.get("why"):
            verdict.append(f" · {c['why']}", style="dim")
        t.add_row(Text.assemble((c["claim"], "bold"), f": {c['seed']}"), c["measured"], verdict)
    return t


def notes_body(bt, elapsed: float | None = None) -> Group:
    """The model's assumptions and how many days had each real input (else the model's)."""
    from core.backtest.runner import MODEL_NAMES
    days = len(bt.dates)
    inputs = [f"{real}: {bt.models[flag]:,} days; else {stand_in}"
              for flag, (real, stand_in) in MODEL_NAMES.items() if flag in bt.models]
    parts = [Text("Model assumptions", style="bold"), _bullets(printable(a) for a in bt.assumptions),
             Text(f"Inputs over the {days:,} days", style="bold"), _bullets(inputs)]
    parts.append(Text("Monte Carlo is not run here: `alvh backtest` runs it (the Sharpe claim needs it).",
                      style="dim"))
    if elapsed is not None:
        parts.append(Text(f"ran in {elapsed:.1f} s", style="dim"))
    return Group(*parts)


def _bullets(lines) -> Table:
    """A list whose wrapped lines hang under their text, not under the bullet."""
    g = Table.grid(padding=(0, 1), expand=True)
    g.add_column(no_wrap=True)
    g.add_column(ratio=1, overflow="fold")
    for line in lines:
        g.add_row(" •", line)
    return g


def empty_message(missing, store: str, db_flag: str) -> Text:
    what = " and ".join(m.upper() for m in missing)
    return Text.assemble(
        ("Nothing to backtest: ", "bold"), f"the history store {store} has no {what} closes.\n",
        "Import the history first, then press b again:\n  ",
        (f"{IMPORT_HINT}{db_flag}", "bold"),
        "\n(the files of ../shared/data: SPX, VIX, VIX3M, VIX9D, VVIX, SKEW, VIX futures, T-bills, FOMC, CPI)")


# ---- chart data: a picture of the runner's equity curves, not a figure ------------------

def _years(dates) -> np.ndarray:
    """Dates as fractional years (the charts' x axis)."""
    return 1970.0 + np.asarray(dates, dtype="datetime64[D]").astype(float) / 365.2425


def _buckets(n: int, points: int = PLOT_POINTS) -> np.ndarray:
    return np.arange(0, n, max(1, math.ceil(n / points)))


def chart_series(bt) -> dict:
    """{program: (x years, equity as 100 at the start, fall from the high so far in %)},
    each cut to at most PLOT_POINTS points: the equity's first day of each bucket, the
    bucket's deepest fall (so the worst drawdown stays on the chart)."""
    x = _years(bt.dates)
    idx = _buckets(len(x))
    out = {}
    for n in bt.programs:
        eq = np.asarray(bt.equity[n], dtype=float)
        fall = -100.0 * np.asarray(bt.drawdown[n], dtype=float)
        out[n] = (x[idx], 100.0 * eq[idx] / eq[0], np.minimum.reduceat(fall, idx))
    return out


def _year_ticks(lo: float, hi: float, count: int) -> tuple[list[float], list[str]]:
    ticks = [t for t in nice_ticks(lo, hi, count) if float(t).is_integer()] or nice_ticks(lo, hi, count)
    return ticks, [f"{t:.0f}" if float(t).is_integer() else f"{t:.1f}" for t in ticks]


def _log_ticks(lo: float, hi: float) -> list[float]:
    """1, 2, 5 x 10^k inside lo..hi (at least the ends when none is)."""
    if not (lo > 0 and hi > 0 and math.isfinite(lo) and math.isfinite(hi)):
        return []
    out = [m * 10.0 ** k for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
           for m in (1, 2, 5) if lo <= m * 10.0 ** k <= hi]
    return out if len(out) >= 2 else [lo, hi]


def _log10(y: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.where(y > 0, np.log10(np.where(y > 0, y, 1.0)), np.nan)


def _label(v: float) -> str:
    return f"{v / 1000:g}k" if v >= 1000 else f"{v:g}"


class ResearchScreen(Screen[None]):
    DEFAULT_CSS = """
    ResearchScreen { background: $surface; }
    ResearchScreen > #research { border: round $primary; padding: 0 1; height: 1fr; scrollbar-size: 1 1; }
    ResearchScreen #research-status { height: auto; }
    ResearchScreen #research-progress { height: 1; margin-bottom: 1; }
    ResearchScreen #research-charts { height: 14; display: none; }
    ResearchScreen.narrow #research-charts { layout: vertical; height: 26; }
    ResearchScreen.done #research-charts { display: block; }
    ResearchScreen #research-charts PlotextPlot { width: 1fr; height: 1fr; }
    ResearchScreen.narrow #research-charts PlotextPlot { width: 100%; height: 13; }
    ResearchScreen #research-figures, ResearchScreen #research-claims { height: auto; margin-top: 1; }
    ResearchScreen #research-notes { height: auto; margin-top: 1; }
    """
    BINDINGS = [Binding("escape,b,q", "close", "Close (stops a run)")]

    def __init__(self, db: Path | None, alvh):
        super().__init__()
        from core.history.store import default_db
        self.db = db
        self.store = printable(str(db if db is not None else default_db()))
        self.config, self.note = research_config(alvh)
        self.result = None  # the runner's Backtest, once done
        self.state = "starting"  # running, done, empty, failed, stopped
        self._stop = threading.Event()

    def compose(self):
        with VerticalScroll(id="research") as v:
            v.border_title = "Research · backtest of the book's settings · esc closes · ↑↓ pgup pgdn scroll"
            yield Static(id="research-status")
            yield ProgressBar(id="research-progress", show_eta=True)
            with Horizontal(id="research-charts"):
                yield PlotextPlot(id="research-equity")
                yield PlotextPlot(id="research-drawdown")
            yield Static(id="research-figures")
            yield Static(id="research-claims")
            yield Static(id="research-notes")

    def on_mount(self) -> None:
        self._status(f"Reading the history store {self.store} …")
        self.on_resize()
        self.query_one("#research").focus()
        self.state = "running"
        self.run_backtest()

    def on_resize(self, event=None) -> None:
        self.set_class(self.app.size.width < NARROW, "narrow")

    def on_unmount(self) -> None:
        self._stop.set()  # the app quits with the screen open: the run stops too

    def action_close(self) -> None:
        self._stop.set()  # the worker sees it at the runner's next progress call: state "stopped"
        self.workers.cancel_group(self, "research")
        self.dismiss()

    # ---- the run (worker thread) ---------------------------------------------------

    def _check(self) -> None:
        if self._stop.is_set():
            raise _Cancelled

    def _progress(self, done: int, total: int) -> None:
        self._check()
        self.app.call_from_thread(self._show_progress, done, total)

    @work(thread=True, exclusive=True, group="research", exit_on_error=False)
    def run_backtest(self) -> None:
        from core.backtest.runner import backtest
        from core.backtest.tape import tape_from_series
        from core.history.store import load_daily
        try:
            series = load_daily(self.db)
            missing = [n for n in ("spx", "vix") if not len(series.get(n, ()))]
            if missing:
                outcome = ("empty", missing)
            else:
                self._check()
                tape = tape_from_series(series)
                self._check()
                self.app.call_from_thread(self._started, str(tape.dates[0]), str(tape.dates[-1]), tape.days)
                t0 = time.perf_counter()
                bt = backtest(tape, self.config, shifts=SHIFTS, progress=self._progress)
                outcome = ("done", (bt, time.perf_counter() - t0))
        except _Cancelled:
            self.state = "stopped"
            return
        except InputError as exc:
            outcome = ("failed", str(exc))
        except Exception as exc:  # noqa: BLE001 - a failed run is said on the screen, the app goes on
            outcome = ("failed", f"backtest failed: {type(exc).__name__}: {exc}")
        if not self._stop.is_set():
            self.app.call_from_thread(self._finish, *outcome)

    # ---- back on the app's thread ----------------------------------------------------

    def _status(self, *lines) -> None:
        self.query_one("#research-status", Static).update(Group(*(
            x if isinstance(x, Text) else Text(x) for x in lines)))

    def _head(self, first: str, last: str, days: int) -> list:
        lines = [Text.assemble(("Backtest ", "bold"), f"{first} – {last} ({days:,} trading days), hedged and"
                               f" unhedged, entries also shifted ±{SHIFTS} trading days, on {self.store}"),
                 Text(settings_line(self.config), style="dim")]
        if self.note:
            lines.append(Text(self.note, style="dim"))
        return lines

    def _started(self, first: str, last: str, days: int) -> None:
        if self._stop.is_set() or not self.is_attached:
            return
        self._status(*self._head(first, last, days))

    def _show_progress(self, done: int, total: int) -> None:
        if self._stop.is_set() or not self.is_attached:
            return
        self.query_one(ProgressBar).update(total=total, progress=done)

    def _finish(self, kind: str, payload) -> None:
        if self._stop.is_set() or not self.is_attached:
            return
        bar = self.query_one(ProgressBar)
        if kind == "empty":
            self.state = "empty"
            bar.display = False
            self._status(empty_message(payload, self.store, f" --db {self.store}" if self.db else ""))
            return
        if kind == "failed":
            self.state = "failed"
            bar.display = False
            self._status(Text(printable(payload), style="bold"),
                         Text(f"the history store: {self.store}; {IMPORT_HINT} loads it", style="dim"))
            return
        bt, elapsed = payload
        self.result, self.state = bt, "done"
        bar.update(total=len(bt.dates), progress=len(bt.dates))
        self._status(*self._head(str(bt.dates[0]), str(bt.dates[-1]), len(bt.dates)))
        self.query_one("#research-figures", Static).update(figures_table(bt))
        self.query_one("#research-claims", Static).update(Group(
            Text("The seeds' claims on this data", style="bold"), claims_table(bt.claims, getattr(
                self.app, "palette", None))))
        self.query_one("#research-notes", Static).update(notes_body(bt, elapsed))
        self.add_class("done")
        self._draw(bt)

    def _draw(self, bt) -> None:
        series = chart_series(bt)
        eq_plot = self.query_one("#research-equity", PlotextPlot)
        dd_plot = self.query_one("#research-drawdown", PlotextPlot)
        lo_x = min(float(s[0][0]) for s in series.values())
        hi_x = max(float(s[0][-1]) for s in series.values())
        xt, xl = _year_ticks(lo_x, hi_x, 5)
        for widget, title in ((eq_plot, "Equity, 100 at the start (log scale)"),
                              (dd_plot, "Drawdown % (colours as for equity)")):
            plt = widget.plt
            plt.clear_data()
            plt.clear_figure()
            plt.title(title)
            for n, (x, eq, fall) in series.items():
                # log scale drawn by hand: plotext's own takes the log again at every redraw
                y = _log10(eq) if widget is eq_plot else fall
                ok = np.isfinite(y)  # a ruined account has no log
                # the legend on the equity chart alone: the drawdowns start at its corner
                plt.plot(x[ok].tolist(), y[ok].tolist(), label=n if widget is eq_plot else None, marker="braille")
            plt.xticks(xt, xl)
        values = np.concatenate([s[1] for s in series.values()])
        values = values[np.isfinite(values) & (values > 0)]
        if values.size:
            ticks = _log_ticks(float(values.min()), float(values.max()))
            eq_plot.plt.yticks(np.log10(ticks).tolist(), [_label(t) for t in ticks])
        falls = np.concatenate([s[2] for s in series.values()])
        falls = falls[np.isfinite(falls)]
        if falls.size:
            ticks = nice_ticks(min(float(falls.min()), -1.0), 0.0, 5)
            dd_plot.plt.ylim(min(ticks[0], float(falls.min())), 0.0)
            dd_plot.plt.yticks(ticks, [f"{t:g}" for t in ticks])
        eq_plot.refresh()
        dd_plot.refresh()
