"""Benchmark: import the real SPX chain (9,960 rows: parse, filter, parity forwards, IVs,
SVI fits and their arbitrage checks), beside a vollib scalar loop over the same quotes.

Target: the import <= 1 s (median of warm runs). Prints figures; not a test.
Run from the project root: python bench/bench_chain.py
"""
from __future__ import annotations

import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.market.chain import parse_chain  # noqa: E402
from core.market.smile import implied_vol  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CHAIN = DATA / "spx_chain_2023-09-14.csv"


def median_time(fn, runs: int) -> tuple[float, object]:
    fn()  # warm: imports, caches
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> int:
    if not CHAIN.exists():
        print(f"real market data not found at {DATA}")
        return 1
    from vollib.black.implied_volatility import implied_volatility
    text = CHAIN.read_text()
    t_import, chain = median_time(lambda: parse_chain(text, str(CHAIN)), 7)
    quotes = [(side is e.calls, side.mid[i], e.forward, e.strikes[i], e.t, e.discount)
              for e in chain.expiries for side in (e.calls, e.puts) for i in np.flatnonzero(side.usable)]
    call, mid, fwd, strike, t, disc = (np.array(x) for x in zip(*quotes))
    t_ours, ours = median_time(lambda: implied_vol(call, mid, fwd, strike, t, disc), 7)
    rate = -np.log(disc) / t

    def vollib_loop():
        return [implied_volatility(p, f, k, r, tt, "c" if c else "p")
                for c, p, f, k, r, tt in zip(call, mid, fwd, strike, rate, t)]
    t_vollib, ref = median_time(vollib_loop, 3)
    worst = float(np.max(np.abs(ours - np.array(ref))))

    fitted = sum(e.svi is not None for e in chain.expiries)
    goal = "" if t_import <= 1.0 else ": MISSED"
    print(f"chain import ({len(chain.expiries)} expiries, {fitted} smiles)  "
          f"{t_import * 1000:8.1f} ms  (median of 7 warm runs; target <= 1000 ms{goal})")
    print(f"IV solve, vectorized, {len(mid):,} quotes       {t_ours * 1000:8.1f} ms")
    print(f"IV solve, vollib scalar loop, same quotes  {t_vollib * 1000:8.1f} ms  "
          f"(max |difference| {worst:.1e})")
    print(f"vollib loop / vectorized IV: {t_vollib / t_ours:,.0f}x;"
          f" vollib loop / whole import: {t_vollib / t_import:.1f}x")
    return 0 if math.isfinite(worst) else 1


if __name__ == "__main__":
    sys.exit(main())
