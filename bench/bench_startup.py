"""Benchmark: start-up of `alvh report --json` beside a bare `python -c 'import numpy'`.

Median wall time of 7 runs each (after one warm-up each, so the disk cache is warm),
the two commands taking turns so load on the machine hits both alike. The report runs
on the bundled demo: empty config and data folders, so no saved book, market or history
store is read. Target: report <= 2.5 x numpy. Prints figures; not a test.
Run from the project root: python bench/bench_startup.py
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = 7
TARGET = 2.5


def wall(cmd: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def main() -> int:
    # the alvh script beside this interpreter: a pyenv shim on PATH would add its own start-up
    alvh = Path(sys.executable).with_name("alvh")
    alvh = str(alvh) if alvh.exists() else shutil.which("alvh")
    if alvh is None:
        sys.exit("alvh is not installed (pip install -e .)")
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, XDG_CONFIG_HOME=f"{home}/config", XDG_DATA_HOME=f"{home}/data")
        numpy_cmd = [sys.executable, "-c", "import numpy"]
        report_cmd = [alvh, "report", "--json"]
        times: dict[str, list[float]] = {"numpy": [], "report": []}
        for i in range(RUNS + 1):
            for name, cmd in (("numpy", numpy_cmd), ("report", report_cmd)):
                t = wall(cmd, env)
                if i:  # the first round warms the disk cache
                    times[name].append(t)
    numpy_s, report_s = (statistics.median(times[k]) for k in ("numpy", "report"))
    ratio = report_s / numpy_s
    print(f"Start-up, median of {RUNS} runs")
    print(f"  python -c 'import numpy'        {numpy_s * 1000:7.0f} ms")
    print(f"  alvh report --json (demo)       {report_s * 1000:7.0f} ms")
    print(f"  ratio                           {ratio:7.2f} x   target <= {TARGET:g} x   "
          f"{'OK' if ratio <= TARGET else 'MISS'}")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):  # numpy's bytecode came with its install
        print("  (PYTHONDONTWRITEBYTECODE is set: alvh compiles its own modules on every run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
