"""Drive the real `alvh` command in tmux at 120x40 and read the screen back."""
from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

pytestmark = pytest.mark.skipif(not shutil.which("tmux") or not shutil.which("alvh"),
                                reason="needs tmux and the installed alvh command")


def capture(name: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", name], capture_output=True, text=True).stdout


def wait_for(name: str, text: str, timeout: float = 10.0) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        screen = capture(name)
        if text in screen:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not on screen:\n{capture(name)}")


def test_alvh_in_tmux(tmp_path):
    from core.io import paths
    name = f"alvh-test-{os.getpid()}"
    book, market = tmp_path / "book.toml", tmp_path / "market.toml"
    book.write_text(paths.DEMO_BOOK.read_text())
    market.write_text(paths.DEMO_MARKET.read_text())
    # pytest-textual-snapshot sets COLUMNS/LINES for the run, and Textual prefers them to the tty
    cmd = (f"env -u COLUMNS -u LINES XDG_CONFIG_HOME={tmp_path / 'config'} XDG_DATA_HOME={tmp_path / 'data'} "
           f"alvh --book {book} --market {market}")
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "120", "-y", "40",
                    "-e", "TERM=xterm-256color", cmd], check=True)
    try:
        screen = wait_for(name, "Signal gauges")  # all panes: the 120x40 layout
        assert "SPX 6,850.00" in screen and "Hedge layers" in screen and "IC-Dec04" in screen
        subprocess.run(["tmux", "send-keys", "-t", name, "]"], check=True)
        wait_for(name, "WHAT-IF SPX +0.5%")
        subprocess.run(["tmux", "send-keys", "-t", name, "r", "x"], check=True)
        wait_for(name, "Delete condor IC-Dec04 as a typo")
        subprocess.run(["tmux", "send-keys", "-t", name, "y"], check=True)
        wait_for(name, "deleted condor IC-Dec04 (no P&L recorded)")
        subprocess.run(["tmux", "send-keys", "-t", name, "c"], check=True)  # IC-Dec18, at its mark
        wait_for(name, "Close condor IC-Dec18 at a fill")
        subprocess.run(["tmux", "send-keys", "-t", name, "Enter"], check=True)
        wait_for(name, "closed 2 of IC-Dec18")
        subprocess.run(["tmux", "send-keys", "-t", name, "C-s"], check=True)
        wait_for(name, "previous version kept as book.toml.bak")
        text = book.read_text()
        assert "IC-Dec04" not in text and (tmp_path / "book.toml.bak").exists()
        assert '[[closed]]\nid = "IC-Dec18"' in text
        market.write_text(market.read_text().replace("spx = 6850.0", "spx = 6900.0"))
        wait_for(name, "SPX 6,900.00", timeout=3)
        subprocess.run(["tmux", "send-keys", "-t", name, "q"], check=True)
        end = time.monotonic() + 5
        while time.monotonic() < end and subprocess.run(["tmux", "has-session", "-t", name],
                                                        capture_output=True).returncode == 0:
            time.sleep(0.1)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
