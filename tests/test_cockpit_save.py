"""Saving never stalls the screen: the book is written by a child process a worker thread
waits for. A save asked for meanwhile follows the first (never two writes at once), a quit
waits for the write, an edit made meanwhile stays unsaved, a failure is said."""
from __future__ import annotations

import asyncio
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from textual import events

from cockpit import saving
from cockpit.header import HeaderBar
from cockpit.screens.confirm import Confirm
from cockpit_helpers import demo_session, make_cockpit, sync, text_of, until_saved
from core.book.bookfile import load_book
from core.history import journal

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from books import demo, make_book  # noqa: E402


@pytest.fixture(autouse=True)
def _user_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def meaning(book):
    return replace(book, source=None, demo=False)


def header(app) -> str:
    return text_of(app.query_one(HeaderBar))


@sync
async def test_a_10000_condor_save_leaves_the_screen_live_and_reloads_equal(tmp_path):
    _, market = demo()
    app = make_cockpit(tmp_path, book=make_book(10_000, market), signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        held = app.session.book
        ticks = []
        timer = app.set_interval(0.02, lambda: ticks.append(time.perf_counter()))
        start = time.perf_counter()
        await pilot.press("ctrl+s")
        assert "saving…" in header(app)
        app.post_message(events.Key("2", "2"))  # not pilot.press: it waits for the process to idle
        while app.active != "hedges":
            await asyncio.sleep(0.005)
        assert app._saving  # the key was handled while the book was being written
        await until_saved(pilot)
        took = time.perf_counter() - start
        timer.stop()
        assert "saved" in header(app) and not app.session.dirty
    stall = max(b - a for a, b in zip(ticks, ticks[1:]))
    assert stall < min(1.0, took / 2), (stall, took)  # written on the screen's thread, one stall as long as the save
    saved = load_book(tmp_path / "book.toml")
    assert len(saved.condors) == 10_000 and meaning(saved) == meaning(held)


class Gate:
    """In place of the child process: each write waits until opened, and counts how many
    ran at once."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.open, self.fail = threading.Event(), fail
        self.calls = self.running = self.most = 0
        self.lock = threading.Lock()

    def __call__(self, work):
        with self.lock:
            self.calls += 1
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            assert self.open.wait(10)
            if self.fail:
                raise self.fail
            return work()
        finally:
            with self.lock:
                self.running -= 1


@sync
async def test_a_second_save_follows_the_first_and_takes_the_edit_made_meanwhile(tmp_path, monkeypatch):
    gate = Gate()
    monkeypatch.setattr(saving, "in_child", gate)
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("x", "y", "ctrl+s")  # delete a condor, save
        await pilot.pause()
        await pilot.press("x", "y", "ctrl+s")  # another, saved while the first is written
        await pilot.pause()
        assert gate.calls == 1 and "the next save follows" in header(app)
        gate.open.set()
        await until_saved(pilot)
        assert gate.calls == 2 and gate.most == 1 and not app.session.dirty
        held = app.session.book
    assert meaning(load_book(tmp_path / "book.toml")) == meaning(held) and len(held.condors) == 1
    key = journal.book_key(tmp_path / "book.toml")
    assert [e.action for e in journal.entries(tmp_path / "h.sqlite", key)] == ["sync", "delete", "delete"]


@sync
async def test_an_edit_made_while_saving_stays_unsaved_and_quit_waits_for_the_write(tmp_path, monkeypatch):
    gate = Gate()
    monkeypatch.setattr(saving, "in_child", gate)
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("x", "y", "ctrl+s")
        await pilot.pause()
        written = app.session.book
        await pilot.press("x", "y", "q")  # an edit, then quit, while the first is written
        await pilot.pause()
        assert app.is_running and "quits once the book is written" in header(app)
        gate.open.set()
        await until_saved(pilot)
        assert app.session.dirty and isinstance(app.screen, Confirm)  # the later edit: asked about
        await pilot.press("d")
        await pilot.pause()
        assert not app.is_running
    assert meaning(load_book(tmp_path / "book.toml")) == meaning(written)


@sync
async def test_a_failed_save_is_said_and_keeps_the_edits(tmp_path):
    (tmp_path / "book.toml").mkdir()  # a folder is never replaced: the child's error comes back
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("x", "y", "ctrl+s")
        await until_saved(pilot)
        assert "not saved:" in header(app) and app.session.dirty and app.is_running


def test_the_child_process_writes_what_a_save_in_place_would(tmp_path):
    s = demo_session(tmp_path)
    job = s.start_save()
    done = saving.in_child(job.write)
    assert meaning(done.book) == meaning(load_book(tmp_path / "book.toml")) == meaning(s.book)
    assert done.same and done.journaled == 0 and done.disk == saving.fingerprint(tmp_path / "book.toml")
