"""Benchmark of the core engine (issue 2). Prints figures; not a test.

1. µs per leg for price + delta + gamma + theta + vega on 10,000 random legs:
   core.pricing.kernels.bsm (vectorized) vs a vollib scalar loop (five calls per leg).
2. Median wall time of a full analyze() (pricing, Greeks, every break-even including the
   package's, stress set, hedge ratio, layer sizing) for the demo book, a 20-condor +
   3-layer book and a 1,000-condor (+ 3-layer) book; timed a second time with the hedge
   engine's stress and sizing stubbed out (the package curves are scanned with the condors').

Run from the project root: python bench/bench_engine.py
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.books import demo, make_book, random_legs  # noqa: E402
from cockpit.cli.blas import one_blas_thread  # noqa: E402
from core import engine as engine_module  # noqa: E402
from core.engine import analyze  # noqa: E402
from core.model.inputs import WhatIf  # noqa: E402
from core.pricing.kernels import bsm  # noqa: E402

N_LEGS = 10_000


def median_time(fn, repeat: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def vollib_loop(legs) -> None:
    from vollib.black_scholes_merton import black_scholes_merton as price
    from vollib.black_scholes_merton.greeks.analytical import delta, gamma, theta, vega
    for c, S, K, T, r, q, sig in zip(*legs):
        f = "c" if c else "p"
        price(f, S, K, T, r, sig, q)
        delta(f, S, K, T, r, sig, q)
        gamma(f, S, K, T, r, sig, q)
        theta(f, S, K, T, r, sig, q)
        vega(f, S, K, T, r, sig, q)


def machine_line() -> str:
    """What bounds the engine here, for figures read against another machine's: ns per element of
    ndtr and exp on a 32k array (the scan's kernels; numpy 2.x's float64 exp and log have a SIMD
    path only on its AVX-512 (Skylake-X) dispatch: without AVX-512F they run an element at a time),
    and the cost of one small numpy call."""
    from numpy._core._multiarray_umath import __cpu_features__ as cpu

    from core.pricing.normal import ndtr
    x, small = np.random.default_rng(0).normal(size=32768), np.ones(24)
    out = np.empty_like(x)
    per = [median_time(lambda f=f: f(x, out=out), repeat=200) / x.size * 1e9 for f in (ndtr, np.exp)]
    call = median_time(lambda: [np.add(small, small) for _ in range(1000)], repeat=20) * 1e3
    return (f"Machine: ndtr {per[0]:.1f} ns/element, exp {per[1]:.1f} ns/element"
            f" (AVX-512F {'yes' if cpu.get('AVX512F') else 'no'}); one small numpy call {call:.2f} µs")


def bench_pricing() -> None:
    legs = random_legs(N_LEGS, seed=1)
    ours = median_time(lambda: bsm(*legs), repeat=50) / N_LEGS * 1e6
    t = time.perf_counter()
    vollib_loop(legs)  # cold: vollib's imports and first calls included
    cold = (time.perf_counter() - t) / N_LEGS * 1e6
    ref = median_time(lambda: vollib_loop(legs), repeat=3, warmup=0) / N_LEGS * 1e6
    # same numbers, or the speed means nothing
    from vollib.black_scholes_merton import black_scholes_merton as price
    g = bsm(*legs)
    worst = max(abs(g.price[i] - price("c" if legs[0][i] else "p", legs[1][i], legs[2][i], legs[3][i],
                                       legs[4][i], legs[6][i], legs[5][i])) for i in range(0, N_LEGS, 97))
    ratio = ref / ours
    print(f"Pricing, price + 4 Greeks, {N_LEGS:,} random legs (70% SPX-like, 30% VIX-like)")
    print(f"  {'core.pricing.kernels.bsm (vectorized)':<34}{ours:>10.3f} µs/leg")
    print(f"  {'vollib scalar loop (5 calls/leg)':<34}{ref:>10.3f} µs/leg warm ({cold:.3f} cold, imports included)")
    print(f"  {'speed-up':<34}{ratio:>10.0f} x     target >= 100 x   {'OK' if ratio >= 100 else 'MISS'}")
    print(f"  (max |price diff| vs vollib on a sample: {worst:.1e})")


def bench_analyze() -> None:
    b0, market = demo()
    t = time.perf_counter()
    books = [("demo book (3 condors + 3 hedges)", b0, 200, None),
             ("20 condors + 3 layers", make_book(20, market, seed=20), 200, 1.0),
             ("1,000 condors + 3 layers", make_book(1000, market, seed=1000), 20, 20.0),
             ("10,000 condors + 3 layers", make_book(10000, market, seed=10000), 5, 250.0)]
    setup = time.perf_counter() - t
    print(f"\nFull analyze() recompute, median (books generated in {setup:.2f} s by bench/books.py)")
    print(f"  {'book':<34}{'full':>10}{'core only':>12}   target   t0 roots  legs  what-if moving")
    real = engine_module.run_alvh
    for label, book, repeat, target in books:
        full = median_time(lambda: analyze(book, market), repeat) * 1e3
        engine_module.run_alvh = lambda *a, **k: None
        try:
            core = median_time(lambda: analyze(book, market), repeat) * 1e3
        finally:
            engine_module.run_alvh = real
        # a new what-if each call, as key presses give: the caches hold only what it cannot change
        moves = iter(WhatIf(spx_move=0.001 * (i % 7 - 3), days=0.5 * (i % 3)) for i in range(10 ** 6))
        moving = median_time(lambda: analyze(book, market, next(moves)), repeat) * 1e3
        a = analyze(book, market)
        roots = sum(len(c.breakevens_t0) for c in a.condors) + len(a.totals.breakevens_t0)
        nlegs = 4 * len(book.condors) + sum(len(h.legs) for h in book.hedges)
        verdict = "" if target is None else (f"<= {target:g} ms " + ("OK" if full <= target else
                                             ("core OK" if core <= target else "MISS")))
        print(f"  {label:<34}{full:>8.2f}ms{core:>10.2f}ms   {verdict:<14}{roots:>5}{nlegs:>7}{moving:>10.2f}ms")
    print("  full = analyze() as the cockpit calls it; core only = without the hedge engine's"
          " stress set, rules and sizing;\n  what-if moving = full, a different what-if each call"
          " (SPX -0.3%..+0.3%, 0-1 day ahead)")
    # the generated books are plausible: credits near the model, P&L small
    big = make_book(20, market, seed=20)
    a = analyze(big, market)
    pnl = np.array([c.pnl for c in a.condors])
    print(f"  20-condor book: P&L per condor {pnl.min():+.0f}..{pnl.max():+.0f} $ (credit = 1.1 x mark),"
          f" expiries {min(c.expiry for c in big.condors)}..{max(c.expiry for c in big.condors)}")


if __name__ == "__main__":
    one_blas_thread()
    print("BLAS pinned to one thread, as `alvh` runs")
    print(machine_line())
    bench_pricing()
    bench_analyze()
