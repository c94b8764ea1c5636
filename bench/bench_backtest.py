"""Benchmark of the backtest (the backtest issue). Prints figures; not a test.

1. 1990-2026 daily, weekly entries, hedged and unhedged in one loop (target <= 5 s), and
   with the roll-date shifts -10..+10 (42 paths).
2. 1,000 bootstrap paths of the config's length, hedged and unhedged, in one process and as
   `alvh backtest --monte-carlo` runs them, over a worker process a core (target <= 30 s).
Each beside the same day-step looped over its paths one at a time in Python (timed on a few
paths and scaled), so the ratio of stepping all paths together shows. Medians, warm.

Run from the project root: python bench/bench_backtest.py [--paths N]
Needs ../shared/data (imported into a temporary store first).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_engine import median_time  # noqa: E402
from cockpit.cli.blas import one_blas_thread  # noqa: E402
from core.backtest.bootstrap import resample  # noqa: E402
from core.backtest.config import DEFAULT  # noqa: E402
from core.backtest.montecarlo import monte_carlo  # noqa: E402
from core.backtest.workers import cores  # noqa: E402
from core.backtest.simulate import run  # noqa: E402
from core.backtest.tape import tape_from_series  # noqa: E402
from core.history.store import load_daily  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def store(db: Path) -> None:
    """`alvh data import ../shared/data/*.csv --db DB`, as a user loads the history."""
    import contextlib
    import io
    from cockpit.cli.main import main as alvh
    with contextlib.redirect_stdout(io.StringIO()):
        if alvh(["data", "import", *map(str, sorted(DATA.glob("*.csv"))), "--db", str(db)]) != 0:
            sys.exit("bench_backtest: the import failed")


def paths_run(tape, hedged, shift, market_of):
    return lambda: run(tape, DEFAULT, hedged, shift, market_of)


def looped(tape, hedged, shift, market_of, sample: int) -> float:
    """Seconds to step `sample` of the paths one at a time, scaled to all of them."""
    pick = np.linspace(0, len(hedged) - 1, sample).astype(int)
    t = time.perf_counter()
    for i in pick:
        run(tape, DEFAULT, hedged[i:i + 1], shift[i:i + 1], market_of[i:i + 1])
    return (time.perf_counter() - t) * len(hedged) / sample


def line(label, together, alone, target=None):
    verdict = "" if target is None else f"target <= {target:g} s {'OK' if together <= target else 'MISS'}"
    print(f"  {label:<44}{together:>8.2f} s{alone:>10.1f} s{alone / together:>8.1f} x   {verdict}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paths", type=int, default=1000)
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"bench_backtest: {DATA} is absent; it holds the real history this bench runs on")
    one_blas_thread()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "h.sqlite"
        t = time.perf_counter()
        store(db)
        tape = tape_from_series(load_daily(db))
        print(f"History {tape.dates[0]}..{tape.dates[-1]}, {tape.days:,} days (store and tape built in"
              f" {time.perf_counter() - t:.2f} s); BLAS pinned to one thread")
    print(f"  {'run':<44}{'together':>10}{'looped':>12}{'ratio':>9}")
    two = (np.array([False, True]), np.zeros(2, int), np.zeros(2, int))
    run(tape, DEFAULT, *two)  # warm
    line("history, unhedged + hedged (2 paths)", median_time(paths_run(tape, *two), 3, warmup=0),
         looped(tape, *two, 2), 5.0)
    offsets = np.array([0] + [s for k in range(1, 11) for s in (-k, k)])
    shifted = (np.tile([False, True], 21), np.repeat(offsets, 2), np.zeros(42, int))
    line("history with shifts -10..+10 (42 paths)", median_time(paths_run(tape, *shifted), 1, warmup=0),
         looped(tape, *shifted, 2))
    b = DEFAULT.bootstrap
    days = min(int(round(b.years * 252)), tape.days)
    t = time.perf_counter()
    mkt, _ = resample(tape, args.paths, days, b.block_days, b.seed)
    drawn = time.perf_counter() - t
    n = args.paths
    mc = (np.repeat([False, True], n), np.zeros(2 * n, int), np.tile(np.arange(n), 2))
    together = median_time(paths_run(mkt, *mc), 1, warmup=0)
    alone = looped(mkt, *mc, 4)
    line(f"bootstrap {n:,} paths x {days:,} days, one process", together, alone)
    t = time.perf_counter()
    monte_carlo(tape, DEFAULT, ("unhedged", "hedged"), n)  # drawing, start-up and figures included
    line(f"  the same in {cores()} worker processes (--monte-carlo)", time.perf_counter() - t, alone, 30.0)
    print(f"  (drawing the {n:,} paths: {drawn:.2f} s; looped = the same day-step path by path, timed on a"
          " few paths and scaled)")


if __name__ == "__main__":
    main()
