"""At scale: memory linear in legs (a 4,000-condor book is analysed without any legs x
positions matrix, which in float64 would alone be 16,012 x 4,003 x 8 B = 513 MB), and BLAS
on one thread (two made recomputes bimodal)."""
from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from books import demo, make_book  # noqa: E402
from core.engine import analyze  # noqa: E402


def peak_mib(n: int) -> float:
    _, market = demo()
    book = make_book(n, market)
    analyze(book, market)  # warm: caches and imports are not the analysis
    tracemalloc.start()
    try:
        analyze(book, market)
        return tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()


def test_peak_memory_grows_linearly_with_the_book():
    small, large = peak_mib(1000), peak_mib(4000)
    assert large < 100, large  # a dense legs x positions matrix alone would be 489 MiB
    assert large / small < 3.5, (small, large)  # 4x the legs: at most ~4x, never ~16x


def test_the_command_line_pins_blas_to_one_thread(capsys):
    from threadpoolctl import threadpool_info, threadpool_limits

    from cockpit.cli.main import main
    before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    try:
        assert main(["report", "--json"]) == 0
        after = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
        assert after and set(after) == {1}
    finally:
        if before:
            threadpool_limits(limits=max(before), user_api="blas")
    capsys.readouterr()


def test_book_expiry_break_evens_are_where_the_summed_payoffs_cross_zero():
    """Running sums over sorted strikes against each condor's payoff written out by hand."""
    b0, m = demo()
    book = make_book(200, m, hedges=False, seed=3)
    roots = analyze(book, m).totals.breakevens_expiry

    def pnl(S):
        total = 0.0
        for c in book.condors:
            put = max(c.short_put - S, 0) - max(c.long_put - S, 0)
            call = max(S - c.short_call, 0) - max(S - c.long_call, 0)
            total += (c.credit - put - call) * c.quantity * 100
        return total
    assert roots and all(abs(pnl(r)) < 1e-6 for r in roots)
    grid = np.arange(5000.0, 9000.0, 0.5)
    signs = np.sign([pnl(S) for S in grid])
    assert len(roots) == int(np.sum(signs[:-1] * signs[1:] < 0))
