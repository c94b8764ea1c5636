"""What `alvh report --json` imports: none of the heavy packages it does not need.

The timing itself is bench/bench_startup.py's (figures, not asserts); this checks the
behaviour it rests on, and that the ndtr it loads is scipy's own to the bit.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# pandas ~0.15 s and scipy.special ~0.2 s of imports; rich only draws the tables, asyncio only serves;
# numpy.ma (~20 ms) comes with np.unique's first call
NOT_IMPORTED = ("pandas", "scipy.special", "rich", "asyncio", "numpy.ma")


def test_report_json_imports_no_pandas_scipy_special_rich_asyncio_or_numpy_ma(tmp_path):
    code = ("import contextlib, io, sys\n"
            "from cockpit.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    code = main(['report', '--json'])\n"
            f"print(code, len(out.getvalue()) > 1000, *[m for m in {NOT_IMPORTED!r} if m in sys.modules])\n")
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["0", "True"], p.stdout  # the demo report, and nothing of NOT_IMPORTED


def test_ndtr_is_scipys_to_the_bit():
    from scipy.special import ndtr as scipy_ndtr

    from core.pricing.normal import ndtr
    x = np.concatenate([np.linspace(-40, 40, 200_001), np.geomspace(1e-300, 1e300, 2_001),
                        -np.geomspace(1e-300, 1e300, 2_001), [0.0, -0.0, np.inf, -np.inf, np.nan]])
    got, want = ndtr(x), scipy_ndtr(x)
    assert np.array_equal(got, want, equal_nan=True)
    assert np.array_equal(np.signbit(got), np.signbit(want))


def test_distinct_is_numpys_unique_and_union():
    from core.pricing.arrays import distinct
    rng = np.random.default_rng(7)
    for n in (0, 1, 2, 50, 1000):
        a = rng.choice(np.round(rng.normal(6800, 300, 40)), n)  # repeats, as strikes have
        b = rng.choice(a, n // 3) if n else a
        assert np.array_equal(distinct(a), np.unique(a))
        assert np.array_equal(distinct(a, b), np.union1d(a, b))
    assert np.array_equal(distinct(np.array([[3.0, -0.0], [0.0, 3.0]])), [0.0, 3.0])
