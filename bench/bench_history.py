"""Benchmark: import the full VIX history, every file of ../shared/data in one
`alvh data import`, all signals over 36 years, calibration.

Targets: import <= 2 s (one file, and all of them), signals <= 200 ms. Prints figures;
not a test.
Run from the project root: python bench/bench_history.py
"""
from __future__ import annotations

import contextlib
import io
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cockpit.cli import main as cli  # noqa: E402
from core.history import store as history  # noqa: E402
from core.history.calibrate import calibrate  # noqa: E402
from core.history.signals import compute_signals  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FILES = [("vix3m_daily.csv", "vix3m"), ("spx_daily.csv", "spx"), ("spx_close_fred.csv", "spx"),
         ("vix_futures_vx1_vx2.csv", "vx1"), ("vix_futures_vx1_vx2.csv", "vx2"),
         ("fomc_dates.csv", "fomc"), ("cpi_release_dates.csv", "cpi")]


def timed(label: str, target: float | None, fn, repeat: int = 1):
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    goal = ""
    if target:
        goal = f"  (target <= {target * 1000:.0f} ms{'' if best <= target else ': MISSED'})"
    print(f"{label:<44} {best * 1000:9.1f} ms{goal}")
    return result


def main() -> int:
    if not (DATA / "vix_daily.csv").exists():
        print(f"real market data not found at {DATA}")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "history.sqlite"
        r = timed("import vix_daily.csv into a fresh db", 2.0,
                  lambda: history.import_file(DATA / "vix_daily.csv", "vix", db))
        print(f"{'':<44} {r.inserted} rows")
        timed("re-import the same file (no-op)", None,
              lambda: history.import_file(DATA / "vix_daily.csv", "vix", db))
        every = Path(tmp) / "all.sqlite"
        files = [str(f) for f in sorted(DATA.glob("*.csv"))]

        def import_all():
            with contextlib.redirect_stdout(io.StringIO()):  # its one line per file
                return cli.main(["data", "import", *files, "--db", str(every)])
        code = timed(f"alvh data import of all {len(files)} files, fresh db", 2.0, import_all)
        stored = history.status(every)
        print(f"{'':<44} exit {code}, {sum(s.rows for s in stored)} rows in {len(stored)} series")
        for name, series in FILES:
            history.import_file(DATA / name, series, db)
        series = timed("load every series (pandas)", None, lambda: history.load_all(db), 5)
        timed("all signals over 36 years (VIX 1990-2026)", 0.2,
              lambda: compute_signals(series), 10)
        timed("all signals as of 2020-03-16", 0.2,
              lambda: compute_signals(series, date(2020, 3, 16)), 10)
        c = timed("calibration 1990-2022 with VX1", None,
                  lambda: calibrate(series["vix"], series["spx"], years=33,
                                    end=date(2022, 12, 31), vx1=series["vx1"]), 10)
        print(f"{'':<44} beta {c.beta:.2f} (down {c.beta_down:.2f}, up {c.beta_up:.2f}),"
              f" R² {c.r2:.2f}, n {c.n}; VX1 beta {c.front_beta:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
