"""Market paths resampled from the history tape: the Monte Carlo's input.

A stationary bootstrap (Politis & Romano 1994, "The stationary bootstrap"): each path is
made of blocks of consecutive history days, block lengths geometric with mean
`block_days`, so the short-range dependence inside a block (volatility clustering, the
VIX mean-reverting) is kept. Every market field of a path's day is one history day's, so
the joint behaviour of SPX, VIX, the VIX futures curve, VVIX and the rest is kept too.

Plain stationary bootstrap starts each block at a uniformly drawn day, which makes VIX (a
level, not a return) jump at every block boundary: a short-vol book would read each join
as a vol shock that never happened. So blocks are joined on VIX, after Carlstein, Do,
Hall, Hesterberg & Künsch (1998), "Matched-block bootstrap for dependent data": a block
ending at history day j is followed by one starting at a day drawn uniformly among the
K history days whose VIX is nearest the VIX of day j + 1, the day that really followed.

Day 0 of every path is the history's last day, all of its fields: paths start where the
market is today. SPX is rebuilt by chaining the sampled days' returns onto that close.
The calendar (dates, FOMC and CPI days) is the history's last `days` dates for every
path: events are facts of the date, not of the path.
"""
from __future__ import annotations

import numpy as np

from core.backtest.tape import Tape

# K, the number of nearest-VIX days a join draws from: at least MATCH_MIN so a join still
# has a choice (paths would otherwise repeat each other after the first join), and
# MATCH_SHARE of the sampleable history: on 1990-2026 (~9,200 days, K = 92) the
# candidates span well under a daily move (14.9-15.1 at VIX 15, 29.6-30.4 at 30) and
# widen only in the rare tail (45-64 at 50), where the history has few days to offer.
MATCH_MIN = 10
MATCH_SHARE = 0.01


def resample(tape: Tape, paths: int, days: int, block_days: float,
             seed: int) -> tuple[Tape, np.ndarray]:
    """`paths` paths of `days` days drawn from a one-path history tape, and the (paths,
    days) matrix of the history day index each path's day was taken from."""
    idx = indices(tape, paths, days, block_days, seed)
    return take(tape, idx), idx


def indices(tape: Tape, paths: int, days: int, block_days: float, seed: int) -> np.ndarray:
    """The (paths, days) history day indices `resample` draws; `take` turns any rows of
    them into their paths, each path the same whichever rows come with it."""
    if tape.paths != 1:
        raise ValueError(f"resample reads a history tape of 1 path, not {tape.paths}")
    if not 1 <= days <= tape.days:
        raise ValueError(f"cannot resample {days} days: the history tape has {tape.days} "
                         f"days and the calendar is its last `days` dates")
    if paths < 1:
        raise ValueError(f"paths must be at least 1, not {paths}")
    if not block_days >= 1:
        raise ValueError(f"block_days is a mean block length in days, at least 1, "
                         f"not {block_days}")
    return _draw(tape, paths, days, block_days, seed)


def _draw(tape: Tape, paths: int, days: int, block_days: float, seed: int) -> np.ndarray:
    close, vix = tape.spx[0], tape.vix[0]
    last = tape.days - 1
    # a sampleable day has a return (so never day 0) and a VIX to be matched on
    ok = np.zeros(tape.days, dtype=bool)
    ok[1:] = np.isfinite(close[1:]) & np.isfinite(close[:-1]) & np.isfinite(vix[1:])
    order = np.flatnonzero(ok)
    if order.size == 0:
        raise ValueError("the history tape has no day with an SPX return and a VIX")
    order = order[np.argsort(vix[order], kind="stable")]
    ranked = vix[order]
    k = min(order.size, max(MATCH_MIN, round(MATCH_SHARE * order.size)))
    # a block ending at j goes on to j + 1 unless that day is missing or past the end
    goes_on = np.append(ok[1:], False)
    # the VIX a join after day j matches: day j + 1's, else the last one known by then
    target = _filled(vix)[np.minimum(np.arange(tape.days) + 1, last)]
    # first of the k nearest in the sorted VIX: moving the window [s, s + k) up one
    # brings it nearer the target while ranked[s] + ranked[s + k] < 2 * target, a sum
    # that never falls as s grows, so one searchsorted finds it for every day at once
    window = np.searchsorted(ranked[:order.size - k] + ranked[k:], 2 * target)

    rng = np.random.default_rng(seed)
    ends = rng.random((paths, days)) < 1.0 / block_days
    pick = rng.integers(0, k, size=(paths, days))
    idx = np.empty((paths, days), dtype=np.intp)
    idx[:, 0] = last
    for t in range(1, days):
        j = idx[:, t - 1]
        idx[:, t] = np.where(ends[:, t] | ~goes_on[j], order[window[j] + pick[:, t]], j + 1)
    return idx


def _filled(values: np.ndarray) -> np.ndarray:
    """Each NaN replaced by the last value before it, or the first one after at the start."""
    known = np.isfinite(values)
    at = np.maximum.accumulate(np.where(known, np.arange(values.size), 0))
    at[~known[at]] = np.argmax(known)
    return values[at]


def take(tape: Tape, idx: np.ndarray) -> Tape:
    close, days, later = tape.spx[0], idx.shape[1], idx[:, 1:]
    prev = np.roll(close, 1)  # the close before each day (day 0's is never sampled)
    # out= into the result: at 1,000 x 2,520 each temporary is 20 MB of fresh memory
    spx = np.empty(idx.shape)
    spx[:, 0] = close[-1]
    np.cumprod((close / prev)[later], axis=1, out=spx[:, 1:])
    spx[:, 1:] *= close[-1]
    spx_open = np.empty(idx.shape)
    spx_open[:, 0] = tape.spx_open[0, -1]
    np.multiply(spx[:, :-1], (tape.spx_open[0] / prev)[later], out=spx_open[:, 1:])
    return Tape(
        dates=tape.dates[-days:], spx=spx, spx_open=spx_open,
        vix=tape.vix[0][idx], vix9d=tape.vix9d[0][idx], vix3m=tape.vix3m[0][idx],
        vvix=tape.vvix[0][idx], skew=tape.skew[0][idx],
        vx=tape.vx[0][idx], vx_days=tape.vx_days[0][idx], tbill=tape.tbill[0][idx],
        fomc=tape.fomc[-days:], cpi=tape.cpi[-days:],
        next_event=None if tape.next_event is None else tape.next_event[-days:])
