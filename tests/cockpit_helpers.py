"""Shared set-up of the cockpit tests: the demo book and market, a fixed clock, tmp folders."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from rich.console import Console

from cockpit.app import Cockpit, signals_loader
from cockpit.session import Session
from core.io import paths
from core.book.bookfile import load_book
from core.market.marketfile import load_market
from core.model.inputs import Condor

# two hours after the demo market's as_of (2026-11-20 16:15 New York): fixed, so screens repeat
CLOCK = datetime(2026, 11, 20, 23, 15, tzinfo=timezone.utc)


def demo_session(tmp_path: Path, book=None, market_path: Path | None = None) -> Session:
    b = book or load_book(paths.DEMO_BOOK, demo=True)
    m = load_market(market_path or paths.DEMO_MARKET, demo=market_path is None)
    return Session(b, m, save_path=tmp_path / "book.toml", market_path=market_path, db=tmp_path / "h.sqlite")


def make_cockpit(tmp_path: Path, *, book=None, market_path=None, watch=False, signals=True) -> Cockpit:
    s = demo_session(tmp_path, book, market_path)
    return Cockpit(s, clock=lambda: CLOCK, watch=watch, settings=tmp_path / "settings.toml",
                   signals=signals_loader(None, s.market) if signals else None)


def fifty_condor_book():
    from dataclasses import replace
    b = load_book(paths.DEMO_BOOK, demo=True)
    cs = []
    for i in range(50):
        sp, sc = 6500 - 10 * (i % 10), 7100 + 10 * (i % 7)
        cs.append(Condor(f"C{i:02d}", date(2026, 12, 4) + timedelta(days=7 * (i % 8)), 1 + i % 3,
                         sp - 50, sp, sc, sc + 50, 10 + i % 5))
    return replace(b, condors=tuple(cs))


def text_of(widget) -> str:
    """What a pane or static shows, as plain text."""
    console = Console(width=250, record=True, file=open("/dev/null", "w"))
    console.print(widget.body.content if hasattr(widget, "body") else widget.content)
    return console.export_text()


async def settle(pilot) -> None:
    """Let the signals worker finish and the screen repaint."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.3)  # the risk graph redraws once keys pause


async def until_saved(pilot) -> None:
    """Let book writes (worker threads; a second one follows the first) finish and the app take them."""
    from textual.worker import WorkerFailed
    await pilot.pause()
    while pilot.app._saving:
        try:
            await pilot.app.workers.wait_for_complete()
        except WorkerFailed:  # the app says why
            pass
        await pilot.pause()


def sync(test):
    """Run an async test without an asyncio plugin (pytest sees the wrapped signature)."""
    import asyncio
    import functools

    @functools.wraps(test)
    def run(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))
    return run
