"""The Research screen (b) and the live-book theta R² in the Greeks pane.

The screen backtests the whole stored history. To keep the run to about a second, the
store here holds the real files of ../shared/data cut to 2023 on (SPX 2023-2026 as shipped,
VIX, VIX3M and VVIX from 2023-01-01): a real history, three and a half years of it.
"""
from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import linregress
from textual.widgets import ProgressBar

from cockpit import keymap
from cockpit.app import Cockpit
from cockpit.screens.research import IMPORT_HINT, ResearchScreen, research_config
from cockpit.session import Session
from core.history import journal
from core.history.live_r2 import WINDOW, r_squared, theta_r2
from core.io import paths
from core.book.bookfile import load_book
from core.market.marketfile import load_market
from cockpit_helpers import CLOCK, sync, text_of

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FROM = "2023-01-01"


@pytest.fixture(autouse=True)
def _user_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


@pytest.fixture(scope="module")
def small_store(tmp_path_factory) -> Path:
    """A store of the real files from 2023 on."""
    from core.history.store import import_file
    if not (DATA / "vix_daily.csv").exists():
        pytest.skip(f"the real market data is not at {DATA}: the research run needs ../shared/data")
    tmp = tmp_path_factory.mktemp("store")
    db = tmp / "history.sqlite"
    import_file(DATA / "spx_daily_2023_2026.csv", "spx", db)
    for name in ("vix", "vix3m", "vvix"):
        lines = (DATA / f"{name}_daily.csv").read_text().splitlines()
        cut = tmp / f"{name}.csv"
        cut.write_text("\n".join([lines[0]] + [x for x in lines[1:] if x[:10] >= FROM]) + "\n")
        import_file(cut, name, db)
    return db


def cockpit(tmp_path: Path, db: Path | None, book_path: Path | None = None) -> Cockpit:
    """The demo market; the demo book, or the demo book's file as a book of one's own."""
    book = load_book(book_path) if book_path else load_book(paths.DEMO_BOOK, demo=True)
    s = Session(book, load_market(paths.DEMO_MARKET, demo=True), save_path=book_path or tmp_path / "book.toml",
                db=db)
    return Cockpit(s, clock=lambda: CLOCK, watch=False, settings=tmp_path / "settings.toml", signals=None)


async def until_done(pilot, screen: ResearchScreen, seconds: float = 120) -> None:
    for _ in range(int(seconds / 0.05)):
        if screen.state not in ("starting", "running"):
            return
        await pilot.pause(0.05)
    raise AssertionError(f"the research run did not end in {seconds} s")


def shown(screen, selector: str) -> str:
    return text_of(screen.query_one(selector))


# ---- the key -----------------------------------------------------------------------

def test_b_opens_research_and_no_other_key_takes_it():
    ours = [k for k in keymap.KEYS if k.action == "research"]
    assert len(ours) == 1 and ours[0].keys == "b"
    taken = [a.strip() for k in keymap.KEYS for a in k.keys.split(",")]
    assert len(taken) == len(set(taken)), "a key is bound twice"


@sync
async def test_the_palette_opens_research(tmp_path):
    app = cockpit(tmp_path, tmp_path / "none.sqlite")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"backtest")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ResearchScreen)
        await until_done(pilot, app.screen)


def test_the_book_hedge_settings_become_the_config():
    from dataclasses import replace
    from core.backtest.config import DEFAULT
    alvh = replace(load_book(paths.DEMO_BOOK, demo=True).alvh, drag_budget_pct=1.5, premium_cap_pct=2.5,
                   base_ratio=0.4)
    cfg, note = research_config(alvh)
    assert (cfg.hedge.drag_budget_pct, cfg.hedge.premium_cap_pct, cfg.hedge.target_coverage) == (1.5, 2.5, 0.4)
    assert note is None
    assert replace(cfg, hedge=DEFAULT.hedge) == DEFAULT  # everything else the defaults
    cfg, note = research_config(replace(alvh, base_ratio=1.6))
    assert cfg.hedge.target_coverage == 1.0 and "1.6" in note


# ---- a run ------------------------------------------------------------------------

@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@sync
async def test_research_runs_on_a_small_real_store(tmp_path, small_store, monkeypatch, size):
    calls = []
    show = ResearchScreen._show_progress

    def spy(self, done, total):
        calls.append((done, total))
        show(self, done, total)
    monkeypatch.setattr(ResearchScreen, "_show_progress", spy)
    app = cockpit(tmp_path, small_store)
    async with app.run_test(size=size) as pilot:
        await pilot.press("b")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ResearchScreen)
        assert screen.query_one(ProgressBar).display
        await until_done(pilot, screen)
        assert screen.state == "done", shown(screen, "#research-status")
        await pilot.pause(0.2)
        bt = screen.result
        days = len(bt.dates)
        assert str(bt.dates[0]) >= "2023-01-03" and days > 800
        # the bar was fed by the runner's progress calls, up to every day
        assert calls and calls[-1] == (days, days) and [d for d, _ in calls] == sorted(d for d, _ in calls)
        bar = screen.query_one(ProgressBar)
        assert (bar.progress, bar.total) == (days, days)
        assert bt.config is screen.config and bt.programs == ("unhedged", "hedged")
        a = app.session.book.alvh
        assert (bt.config.hedge.drag_budget_pct, bt.config.hedge.premium_cap_pct,
                bt.config.hedge.target_coverage) == (a.drag_budget_pct, a.premium_cap_pct, a.base_ratio)
        # the figures are the runner's
        figures = shown(screen, "#research-figures")
        for program in ("unhedged", "hedged"):
            row = bt.rows[program]
            assert f"{100 * row['cagr']:.1f} %" in figures
            assert f"{100 * row['max_drawdown']:.1f} %" in figures
            assert f"{row['sharpe']:.2f}" in figures
        assert f"{100 * bt.rows['hedged']['drag_pct']:.2f} %" in figures
        assert "Theta R²" in figures and "entries ±2 d" in figures
        # four claims, each with its verdict
        claims = shown(screen, "#research-claims")
        assert len(bt.claims) == 4
        for c in bt.claims:
            assert c["claim"] in claims and c["verdict"].split(" (")[0] in claims
        assert all(c["verdict"] == "holds" or c["verdict"].startswith(("does not hold", "not measurable"))
                   for c in bt.claims)
        notes = shown(screen, "#research-notes")
        assert "Model assumptions" in notes and bt.assumptions[-1][:40] in notes.replace("\n", " ")
        # both charts drawn, each with both programs
        assert screen.has_class("done") and screen.has_class("narrow") == (size[0] < 100)
        for chart in ("#research-equity", "#research-drawdown"):
            widget = screen.query_one(chart)
            assert widget.display and widget.size.width > 20 and len(widget.plt.monitor.x) == 2
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ResearchScreen)


@sync
async def test_escape_stops_the_run(tmp_path, small_store, monkeypatch):
    """The runner's first progress call waits (in the worker) until Escape has closed the
    screen; the run then stops there, its remaining days never stepped."""
    import threading
    started, release, calls = threading.Event(), threading.Event(), []
    progress = ResearchScreen._progress

    def held(self, done, total):
        calls.append(done)
        if not started.is_set():
            started.set()
            release.wait(30)
        progress(self, done, total)
    monkeypatch.setattr(ResearchScreen, "_progress", held)
    app = cockpit(tmp_path, small_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("b")
        screen = app.screen
        for _ in range(600):
            if started.is_set():
                break
            await pilot.pause(0.05)
        assert started.is_set() and screen.state == "running"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ResearchScreen)
        release.set()
        for _ in range(200):  # the cancelled worker is done at once; its thread ends at the check
            if screen.state != "running":
                break
            await pilot.pause(0.05)
        assert screen.state == "stopped" and screen.result is None and calls == [1]


@sync
async def test_an_empty_store_says_what_to_import(tmp_path):
    app = cockpit(tmp_path, tmp_path / "empty.sqlite")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("b")
        await pilot.pause()
        screen = app.screen
        await until_done(pilot, screen)
        await pilot.pause()
        text = shown(screen, "#research-status")
        assert screen.state == "empty" and screen.result is None
        assert "no SPX and VIX closes" in text and IMPORT_HINT in text and "--db" in text
        assert not screen.query_one(ProgressBar).display and not screen.has_class("done")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ResearchScreen)


@sync
async def test_a_store_without_vix_names_it(tmp_path):
    from core.history.store import import_file
    if not (DATA / "spx_daily_2023_2026.csv").exists():
        pytest.skip("needs ../shared/data")
    db = tmp_path / "spx_only.sqlite"
    import_file(DATA / "spx_daily_2023_2026.csv", "spx", db)
    app = cockpit(tmp_path, db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("b")
        await until_done(pilot, app.screen)
        await pilot.pause()
        text = shown(app.screen, "#research-status")
        assert app.screen.state == "empty" and "no VIX closes" in text and IMPORT_HINT in text


# ---- the live-book R² --------------------------------------------------------------

def synthetic(days: int, seed: int = 3) -> list[dict]:
    """Snapshots as journal.snapshot_series gives them: P&L that earns about its prior theta."""
    rng = np.random.default_rng(seed)
    ct = rng.uniform(200, 600, days)
    ht = rng.uniform(-60, -10, days)
    cp = np.cumsum(np.r_[0, 0.9 * ct[:-1] + rng.normal(0, 120, days - 1)])
    hp = np.cumsum(np.r_[0, 0.5 * ht[:-1] + rng.normal(0, 80, days - 1)])
    realized = np.where(np.arange(days) > days // 2, 500.0, 0.0)  # a close moves P&L into realized
    start = date(2026, 9, 1)
    return [{"date": (start + timedelta(days=i)).isoformat(), "pnl": float(cp[i] + hp[i] - realized[i]),
             "pnl_realized": float(realized[i]), "theta": float(ct[i] + ht[i]),
             "condor_pnl": float(cp[i] - realized[i]), "condor_realized": float(realized[i]),
             "condor_theta": float(ct[i])} for i in range(days)]


def linregress_r2(rows, pnl, real, theta) -> float:
    last = rows[-WINDOW:]
    total = np.array([r[pnl] + r[real] for r in last])
    return linregress(np.array([r[theta] for r in last])[:-1], np.diff(total)).rvalue ** 2


def test_r2_is_linregress_over_the_last_20_snapshots():
    rows = synthetic(33)
    r = theta_r2(rows)
    assert (r.days, r.condor_days, r.window, r.enough) == (33, 33, 20, True)
    assert r.book == pytest.approx(linregress_r2(rows, "pnl", "pnl_realized", "theta"), rel=1e-12)
    assert r.condors == pytest.approx(linregress_r2(rows, "condor_pnl", "condor_realized", "condor_theta"),
                                      rel=1e-12)
    assert 0 < r.book < 1 and 0 < r.condors < 1


def test_r2_needs_20_days_and_varying_theta():
    r = theta_r2(synthetic(19))
    assert (r.days, r.enough, r.book, r.condors) == (19, False, None, None)
    rows = synthetic(25)
    for x in rows[:10]:  # days stored before the condors' part was: the book's R² only
        x.update(condor_pnl=None, condor_realized=None, condor_theta=None)
    r = theta_r2(rows)
    assert (r.days, r.condor_days) == (25, 15) and r.book is not None and r.condors is None
    flat = [dict(x, theta=100.0) for x in synthetic(20)]
    assert theta_r2(flat).book is None
    assert r_squared([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0) and r_squared([1, 2], [1, 2]) is None


def test_snapshots_keep_the_condors_part_and_read_old_stores(tmp_path):
    db, key = tmp_path / "h.sqlite", "book"
    totals = {"pnl": 10.0, "pnl_realized": 1.0, "theta": 5.0, "delta": 0.0, "vega": 0.0,
              "condor_pnl": 8.0, "condor_realized": 1.0, "condor_theta": 6.0}
    assert journal.write_snapshot(db, key, date(2026, 11, 2), totals, {})
    assert not journal.write_snapshot(db, key, date(2026, 11, 2), {**totals, "condor_theta": 9.0}, {},
                                      replace_day=False)  # the day's first stays
    plain = {k: totals[k] for k in ("pnl", "pnl_realized", "theta", "delta", "vega")}
    journal.write_snapshot(db, key, date(2026, 11, 3), plain, {})
    rows = journal.snapshot_series(db, key)
    assert [(r["date"], r["condor_theta"], r["condor_pnl"]) for r in rows] == [
        ("2026-11-02", 6.0, 8.0), ("2026-11-03", None, None)]
    # a store written before the condors' table: read as is, nothing created by the read
    old = tmp_path / "old.sqlite"
    with sqlite3.connect(old) as conn:
        conn.execute("CREATE TABLE snapshots (book TEXT, date TEXT, time TEXT, pnl REAL, pnl_realized REAL,"
                     " theta REAL, delta REAL, vega REAL, positions TEXT, PRIMARY KEY (book, date)) WITHOUT ROWID")
        conn.execute("INSERT INTO snapshots VALUES ('book', '2026-11-02', '', 1, 0, 2, 0, 0, '{}')")
    conn.close()
    assert journal.snapshot_series(old, key) == [
        {"date": "2026-11-02", "pnl": 1.0, "pnl_realized": 0.0, "theta": 2.0, "condor_pnl": None,
         "condor_realized": None, "condor_theta": None}]
    with sqlite3.connect(old) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["snapshots"]
    conn.close()


def test_the_days_snapshot_stores_the_condors_own_numbers(tmp_path):
    book, market = tmp_path / "book.toml", tmp_path / "market.toml"
    book.write_text(paths.DEMO_BOOK.read_text())
    market.write_text(paths.DEMO_MARKET.read_text())
    s = Session(load_book(book), load_market(market), save_path=book, market_path=market, db=tmp_path / "h.sqlite")
    s.snapshot_today()
    (row,) = journal.snapshot_series(tmp_path / "h.sqlite", journal.book_key(book))
    t = s.live.totals
    assert (row["condor_pnl"], row["condor_realized"], row["condor_theta"]) == pytest.approx(
        (t.condor_pnl, t.condor_realized, t.condor_greeks.theta))
    assert row["theta"] == pytest.approx(t.greeks.theta)


def own_book(tmp_path: Path, days: int) -> Path:
    """The demo book as one's own file, with `days` synthetic snapshots in tmp/h.sqlite."""
    book = tmp_path / "book.toml"
    book.write_text(paths.DEMO_BOOK.read_text())
    key = journal.book_key(book)
    for r in synthetic(days):
        journal.write_snapshot(tmp_path / "h.sqlite", key, date.fromisoformat(r["date"]),
                               {**r, "delta": 0.0, "vega": 0.0}, {})
    return book


@sync
async def test_greeks_pane_says_how_many_days_r2_needs(tmp_path):
    app = cockpit(tmp_path, tmp_path / "h.sqlite", own_book(tmp_path, 19))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "R² needs 20 days of snapshots (have 19)" in text_of(app.query_one("#greeks"))


@pytest.mark.parametrize("days", [20, 27])
@sync
async def test_greeks_pane_shows_the_live_r2(tmp_path, days):
    app = cockpit(tmp_path, tmp_path / "h.sqlite", own_book(tmp_path, days))
    rows = synthetic(days)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        book = linregress_r2(rows, "pnl", "pnl_realized", "theta")
        condors = linregress_r2(rows, "condor_pnl", "condor_realized", "condor_theta")
        assert (f"R² P&L on theta (20 d): condors {condors:.2f} · with hedges {book:.2f}"
                in text_of(app.query_one("#greeks")))


@sync
async def test_the_demo_book_reads_no_snapshots(tmp_path):
    own_book(tmp_path, 25)  # another book's snapshots under the user's book key: not the demo's
    app = cockpit(tmp_path, tmp_path / "h.sqlite")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "R² needs 20 days of snapshots (have 0)" in text_of(app.query_one("#greeks"))
