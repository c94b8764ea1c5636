"""Screens as SVG snapshots (pytest-textual-snapshot): update with --snapshot-update after checking them."""
from __future__ import annotations

import pytest

from cockpit_helpers import make_cockpit, settle


@pytest.fixture(autouse=True)
def _user_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def test_main_screen_120x40(snap_compare, tmp_path):
    assert snap_compare(make_cockpit(tmp_path), terminal_size=(120, 40), run_before=settle)


def test_main_screen_80x24(snap_compare, tmp_path):
    assert snap_compare(make_cockpit(tmp_path), terminal_size=(80, 24), run_before=settle)


def test_whatif_80x24(snap_compare, tmp_path):
    async def shift(pilot):
        await settle(pilot)
        await pilot.press("}", "+", ">")
        await pilot.pause()
    assert snap_compare(make_cockpit(tmp_path), terminal_size=(80, 24), run_before=shift)


def test_help_screen(snap_compare, tmp_path):
    async def open_help(pilot):
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
    assert snap_compare(make_cockpit(tmp_path), terminal_size=(120, 40), run_before=open_help)
