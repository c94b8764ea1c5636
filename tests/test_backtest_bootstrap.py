"""core/backtest/bootstrap: the Monte Carlo's paths, resampled in VIX-matched blocks from a
history tape. Hand-made tapes whose fields name their day, synthetic histories with a
mean-reverting VIX for the statistics, and the real history when its loader exists."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.backtest import bootstrap, tape as tapes
from core.backtest.bootstrap import resample
from core.backtest.tape import Tape

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MARKET = ("vix", "vix9d", "vix3m", "vvix", "skew", "vx", "vx_days", "tbill")


def labelled(n: int) -> Tape:
    """n days whose every field encodes its day d, so a sampled value names its day."""
    d = np.arange(n, dtype=float)
    close = 100.0 * np.cumprod(1 + 0.01 * np.sin(d))
    spx_open = close * (1 + 0.001 * np.cos(d))
    spx_open[::4] = np.nan  # opens not stored
    vix = 12 + 0.5 * d + np.cos(d)  # distinct values
    curve = 1000 * d[:, None] + np.arange(8)
    return Tape(
        dates=np.datetime64("2024-01-01") + np.arange(n).astype("timedelta64[D]"),
        spx=close[None], spx_open=spx_open[None], vix=vix[None], vix9d=vix[None] + 0.1,
        vix3m=vix[None] + 0.2, vvix=80 + d[None], skew=120 + d[None], vx=curve[None],
        vx_days=(curve + 0.5)[None], tbill=0.0001 * d[None],
        fomc=d % 7 == 3, cpi=d % 11 == 5)


def synthetic(n: int, seed: int = 1) -> Tape:
    """n days of a log-VIX AR(1) (as mean-reverting as the real one) and fat-tailed SPX
    returns scaled by it, so returns and VIX are dependent like the real pair."""
    rng = np.random.default_rng(seed)
    x = np.empty(n)
    x[0] = np.log(18)
    for t in range(1, n):
        x[t] = np.log(18) + 0.98 * (x[t - 1] - np.log(18)) + 0.07 * rng.standard_normal()
    vix = np.exp(x)
    ret = vix / 100 / np.sqrt(252) * rng.standard_t(4, n) / np.sqrt(2)
    close = 3000 * np.exp(np.cumsum(ret))
    curve = vix[:, None] + np.linspace(0, 3, 8)
    spx_open = close * np.exp(0.002 * rng.standard_normal(n))
    base = labelled(n)
    return Tape(
        dates=base.dates, spx=close[None], spx_open=spx_open[None],
        vix=vix[None], vix9d=vix[None] * 0.95, vix3m=vix[None] * 1.05, vvix=base.vvix,
        skew=base.skew, vx=curve[None], vx_days=base.vx_days, tbill=base.tbill,
        fomc=base.fomc, cpi=base.cpi)


def joins(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where a path leaves its block (after day 1, the first drawn day): the history day it
    left and the one it went to."""
    jump = idx[:, 2:] != idx[:, 1:-1] + 1
    return idx[:, 1:-1][jump], idx[:, 2:][jump]


def test_the_same_seed_draws_the_same_paths_and_another_seed_others():
    h = labelled(300)
    a, ia = resample(h, 20, 250, 5.0, seed=7)
    b, ib = resample(h, 20, 250, 5.0, seed=7)
    c, ic = resample(h, 20, 250, 5.0, seed=8)
    assert np.array_equal(ia, ib) and not np.array_equal(ia, ic)
    for name in ("spx", "spx_open") + MARKET:
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
    assert not np.array_equal(a.vix, c.vix)


def test_shapes_the_calendar_and_day_0_today():
    h = labelled(300)
    out, idx = resample(h, 5, 120, 4.0, seed=1)
    assert out.paths == 5 and out.days == 120 and idx.shape == (5, 120)
    assert out.vx.shape == out.vx_days.shape == (5, 120, 8)
    # the calendar is the history's last 120 dates with their events, the same for every path
    assert np.array_equal(out.dates, h.dates[-120:])
    assert np.array_equal(out.fomc, h.fomc[-120:]) and np.array_equal(out.cpi, h.cpi[-120:])
    # day 0 is the history's last day, every field of it: each path starts at today's market
    assert (idx[:, 0] == 299).all()
    assert (out.spx[:, 0] == h.spx[0, -1]).all() and (out.vix[:, 0] == h.vix[0, -1]).all()
    assert (idx[:, 1:] >= 1).all()  # the first history day has no return: never drawn
    # whole-history resample is allowed; one day more is not
    assert resample(h, 2, 300, 4.0, seed=1)[0].days == 300


@pytest.mark.parametrize("kwargs, message", [
    ({"days": 301}, "has 300 days"),
    ({"paths": 0}, "paths must be at least 1"),
    ({"block_days": 0.5}, "at least 1"),
    ({"block_days": float("nan")}, "at least 1"),
])
def test_arguments_outside_the_history_are_refused(kwargs, message):
    args = {"paths": 3, "days": 100, "block_days": 5.0, "seed": 0} | kwargs
    with pytest.raises(ValueError, match=message):
        resample(labelled(300), **args)


def test_a_tape_of_many_paths_is_not_a_history():
    many, _ = resample(labelled(50), 3, 40, 5.0, seed=0)
    with pytest.raises(ValueError, match="1 path, not 3"):
        resample(many, 3, 20, 5.0, seed=0)


def test_every_field_of_a_sampled_day_is_one_history_day():
    h = labelled(400)
    out, idx = resample(h, 50, 400, 3.0, seed=3)
    for name in MARKET:
        assert np.array_equal(getattr(out, name), getattr(h, name)[0][idx]), name
    # the labels agree with each other: the curve of day d starts at 1000 d, its VIX is d's
    day = out.vx[..., 0] / 1000
    assert np.array_equal(day, idx) and np.array_equal(out.vvix - 80, idx)
    assert np.array_equal(out.vix, h.vix[0][day.astype(int)])


def test_spx_chains_the_sampled_days_returns_from_todays_close():
    h = labelled(200)
    out, idx = resample(h, 30, 200, 4.0, seed=5)
    close, opened = h.spx[0], h.spx_open[0]
    j = idx[:, 1:]
    np.testing.assert_allclose(out.spx[:, 1:] / out.spx[:, :-1], close[j] / close[j - 1],
                               rtol=1e-12)
    np.testing.assert_allclose(out.spx_open[:, 1:] / out.spx[:, :-1], opened[j] / close[j - 1],
                               rtol=1e-12)
    assert np.array_equal(np.isnan(out.spx_open[:, 1:]), np.isnan(opened[j]))  # NaN stays NaN
    assert np.isnan(out.spx_open).any() and np.isfinite(out.spx).all()


def test_a_day_without_a_vix_or_a_return_is_never_drawn():
    h = labelled(100)
    h.vix[0] = 15 + 5 * np.sin(np.arange(100))  # no trend: joins reach every part
    h.vix[0, 40] = np.nan
    h.spx[0, 70] = np.nan  # day 70 has no close, day 71 no return
    out, idx = resample(h, 100, 100, 8.0, seed=1)
    assert not np.isin(idx, [0, 40, 70, 71]).any()
    assert np.isfinite(out.vix).all() and np.isfinite(out.spx).all()
    # blocks that reached those days went on from a matched day instead, as at the end
    left, _ = joins(idx)
    assert {39, 69}.issubset(left.tolist())


@pytest.mark.parametrize("block_days", [2.0, 10.0, 25.0])
def test_blocks_are_block_days_long_on_average(block_days):
    h = synthetic(20_000)
    _, idx = resample(h, 200, 10_000, block_days, seed=11)
    left, _ = joins(idx)
    assert len(left) > 200_000 / block_days * 0.9  # enough blocks to measure
    # a join can redraw day j + 1 itself (its VIX is nearest), which looks like no join:
    # 1 in K = 200 here, under the tolerance
    assert idx[:, 2:].size / len(left) == pytest.approx(block_days, rel=0.03)


def test_a_join_starts_among_the_k_days_nearest_the_vix_that_followed():
    h = labelled(60)
    vix = h.vix[0]
    _, idx = resample(h, 40, 60, 1.5, seed=2)
    left, went = joins(idx)
    assert len(left) > 500
    k = bootstrap.MATCH_MIN  # 59 sampleable days: 1 % is less than the minimum
    for j, s in zip(left, went):
        target = vix[min(j + 1, 59)]
        gaps = np.sort(np.abs(vix[1:] - target))
        assert abs(vix[s] - target) <= gaps[k - 1], (j, s)
    assert len(set(went)) > k  # joins from different VIX go to different places


def test_joins_move_vix_like_a_day_and_a_plain_bootstrap_would_not():
    h = synthetic(9_000)
    logvix = np.log(h.vix[0])
    daily = np.abs(np.diff(logvix)).mean()
    _, idx = resample(h, 1_000, 1_000, 10.0, seed=4)
    left, went = joins(idx)
    matched = np.abs(logvix[went] - logvix[left]).mean()
    # a plain stationary bootstrap starts the block at a uniformly drawn day instead
    uniform = np.random.default_rng(0).integers(1, 9_000, len(left))
    plain = np.abs(logvix[uniform] - logvix[left]).mean()
    assert matched < 1.25 * daily
    assert plain > 4 * daily


def test_sampled_returns_have_the_history_distribution():
    stats = pytest.importorskip("scipy.stats")
    h = synthetic(5_000, seed=9)
    out, _ = resample(h, 1_000, 501, 10.0, seed=6)
    sampled = np.log(out.spx[:, 1:] / out.spx[:, :-1]).ravel()
    history = np.diff(np.log(h.spx[0]))
    assert sampled.size == 500_000
    assert stats.ks_2samp(sampled, history).statistic < 0.02


def test_on_the_real_history(tmp_path):
    if not hasattr(tapes, "tape_from_series"):
        pytest.skip("core.backtest.tape.tape_from_series (the tape loader) is not written yet")
    if not (DATA / "vix_daily.csv").exists():
        pytest.skip(f"real market data not found at {DATA}")
    from cli_helpers import run
    from core.history import store as history
    db = tmp_path / "h.sqlite"
    assert run("data", "import", *sorted(DATA.glob("*.csv")), "--db", db) == 0
    h = tapes.tape_from_series(history.load_all(db))
    out, idx = resample(h, 1_000, 2_520, 10.0, seed=1)
    assert np.isfinite(out.spx).all() and np.isfinite(out.vix[:, 1:]).all()
    assert np.array_equal(out.vx, h.vx[0][idx], equal_nan=True)
    logvix = np.log(h.vix[0])
    daily = np.nanmean(np.abs(np.diff(logvix)))
    left, went = joins(idx)
    assert np.abs(logvix[went] - logvix[left]).mean() < 1.5 * daily


def test_the_monte_carlos_relay_stops_at_a_failed_chunk():
    """A worker's chunk that fails ends the wait at once (its error then raised, the other
    workers stopped), not after every other chunk has run; and the bar is not filled."""
    import queue
    import threading
    from concurrent.futures import Future
    from core.backtest import montecarlo
    failed, running = Future(), Future()
    failed.set_exception(ValueError("a chunk failed"))
    seen = []
    t = threading.Thread(target=montecarlo._relay, args=(queue.Queue(), [running, failed], 2, 10,
                                                          lambda d, n: seen.append(d)), daemon=True)
    t.start()
    t.join(5)
    assert not t.is_alive() and seen == []
