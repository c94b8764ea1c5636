"""Cockpit timings: launch to first complete frame, and key press -> repainted screen.

    python bench/bench_cockpit.py [--presses 40]

Launch runs `alvh`'s app in a fresh headless Python (imports included) and is
timed from before the process starts to the first frame with numbers. Key ->
repaint is a what-if SPX step (] then [, alternating) timed until the screen has
refreshed (the first frame after the panes were updated), on the demo book and on
a 50-condor book. The risk graph redraws 0.15 s after the keys pause, outside this
timing. Targets: 1.0 s and 20 ms (the hedge-advice issue). Then ctrl+s on a 10,000-condor book: how long the save
takes, and how long the event loop stalls (and a key waits) while it runs.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

CHILD = """
import time, asyncio, sys
from types import SimpleNamespace
from cockpit.app import make_app
app = make_app(SimpleNamespace(book=None, market=None, db=None, theme=None), watch=False)
def first_frame():
    print(time.time(), flush=True)
    app.exit()
app.call_after_refresh(first_frame)
async def main():
    async with app.run_test(size=(120, 40)) as pilot:
        app.call_after_refresh(first_frame)
        await pilot.pause()
asyncio.run(main())
"""


def launch_times(n: int) -> list[float]:
    env = dict(os.environ)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        env.update(XDG_CONFIG_HOME=tmp, XDG_DATA_HOME=tmp, PYTHONPATH=str(ROOT))
        for _ in range(n):
            start = time.time()
            r = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True,
                               check=True)
            out.append(float(r.stdout.split()[0]) - start)
    return out


async def press_times(book, presses: int) -> list[float]:
    from cockpit_helpers import make_cockpit
    with tempfile.TemporaryDirectory() as tmp:
        app = make_cockpit(Path(tmp), book=book, signals=False)
        times, shown, painted = [], [], []
        display, repaint = app._display, app.repaint

        def timed_display(screen, renderable):  # a frame goes to the terminal
            display(screen, renderable)
            shown.append(time.perf_counter())

        def timed_repaint():
            repaint()
            painted.append(time.perf_counter())
        app._display, app.repaint = timed_display, timed_repaint
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.5)
            for i in range(presses):
                start = time.perf_counter()
                await pilot.press("]" if i % 2 == 0 else "[")
                await pilot.pause(0.3)  # as a person pressing: the delayed plot is drawn in between
                done = painted[-1]
                times.append(next(t for t in shown if t >= done) - start)
        return times


async def save_figures(n: int) -> tuple[float, float, float]:
    """ctrl+s on an n-condor book: seconds until saved, the event loop's longest stall
    meanwhile (the longest gap of a 10 ms timer), and how long a key took to be handled."""
    from textual import events

    from books import demo, make_book
    from cockpit_helpers import make_cockpit, until_saved
    _, market = demo()
    book = make_book(n, market)
    with tempfile.TemporaryDirectory() as tmp:
        app = make_cockpit(Path(tmp), book=book, signals=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            ticks = []
            timer = app.set_interval(0.01, lambda: ticks.append(time.perf_counter()))
            start = time.perf_counter()
            await pilot.press("ctrl+s")
            await asyncio.sleep(0.2)
            pressed = time.perf_counter()
            app.post_message(events.Key("2", "2"))  # not pilot.press: it waits for the process to idle
            while app.active != "hedges":
                await asyncio.sleep(0.001)
            key = time.perf_counter() - pressed
            await until_saved(pilot)
            took = time.perf_counter() - start
            timer.stop()
    return took, max(b - a for a, b in zip(ticks, ticks[1:])) - 0.01, key


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--presses", type=int, default=40)
    p.add_argument("--launches", type=int, default=5)
    args = p.parse_args()
    from cockpit_helpers import fifty_condor_book

    launch = launch_times(args.launches)
    print(f"launch to first frame: median {statistics.median(launch):.3f} s "
          f"(min {min(launch):.3f}, {args.launches} runs; target 1.0 s)")
    for name, book in (("demo book", None), ("50-condor book", fifty_condor_book())):
        t = asyncio.run(press_times(book, args.presses))
        print(f"key -> repaint, {name}: median {statistics.median(t) * 1000:.1f} ms "
              f"(p90 {sorted(t)[int(0.9 * len(t))] * 1000:.1f} ms, {len(t)} presses; target 20 ms)")
    took, stall, key = asyncio.run(save_figures(10_000))
    print(f"save, 10,000-condor book: {took:.2f} s, off the screen's thread (the event loop's longest "
          f"stall meanwhile {stall * 1000:.0f} ms; a key pressed during it handled in {key * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
