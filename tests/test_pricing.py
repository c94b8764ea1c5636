"""core.pricing.kernels against independent references: vollib (scalar, LetsBeRational-based),
finite differences, put-call parity, no-arbitrage bounds and expiry intrinsic value."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vollib.black import black as v_black
from vollib.black.greeks import analytical as v_black_greeks
from vollib.black_scholes_merton import black_scholes_merton as v_bsm
from vollib.black_scholes_merton.greeks import analytical as v_bsm_greeks

from core.pricing.kernels import black76, bsm, bsm_price, bsm_price_theta, implied_vol_black, implied_vol_bsm

GREEKS = ("delta", "gamma", "theta", "vega")


def random_inputs(seed: int, n: int, *, deep: bool = True):
    """Random option inputs: spot 1..10,000, strikes from deep ITM to deep OTM
    (K/S from e^-1.5 to e^1.5), expiries from ~1 hour to 3 years, vols 5%..200%."""
    rng = np.random.default_rng(seed)
    S = np.exp(rng.uniform(np.log(1.0), np.log(10_000.0), n))
    width = 1.5 if deep else 0.3
    K = S * np.exp(rng.uniform(-width, width, n))
    T = np.exp(rng.uniform(np.log(1e-4 if deep else 0.02), np.log(3.0), n))
    r = rng.uniform(-0.01, 0.08, n)
    q = rng.uniform(0.0, 0.05, n)
    sigma = rng.uniform(0.05, 2.0 if deep else 1.0, n)
    is_call = rng.random(n) < 0.5
    return is_call, S, K, T, r, q, sigma


def within(actual, expected, atol, rtol=0.0):
    """assert_allclose with an array of absolute tolerances."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    err = np.abs(actual - expected) - (atol + rtol * np.abs(expected))
    i = int(np.argmax(err))
    assert (err <= 0).all(), f"{(err > 0).sum()} off; worst [{i}]: {actual.flat[i]!r} vs {expected.flat[i]!r}"


def assert_close(ours, ref, what, scale=1.0):
    """Agreement to 1e-9 in absolute terms for unit-sized values; large values (an SPX
    option worth 5,000 points) to 1e-9 of their own size, i.e. ~1e-13 relative."""
    ours, ref = np.asarray(ours, dtype=float), np.asarray(ref, dtype=float)
    tol = 1e-9 * np.maximum(1.0, np.abs(ref)) * scale
    bad = np.abs(ours - ref) > tol
    assert not bad.any(), (f"{what}: {bad.sum()} mismatches, worst at {np.argmax(np.abs(ours - ref))}: "
                           f"ours {ours[bad][:3]}, vollib {ref[bad][:3]}")


# ---- vollib, BSM ------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bsm_matches_vollib_prices_and_greeks(seed):
    c, S, K, T, r, q, sigma = random_inputs(seed, 1500)
    g = bsm(c, S, K, T, r, q, sigma)
    flags = np.where(c, "c", "p")
    ref = {
        "price": [v_bsm(f, *x) for f, *x in zip(flags, S, K, T, r, sigma, q)],
        "delta": [v_bsm_greeks.delta(f, *x) for f, *x in zip(flags, S, K, T, r, sigma, q)],
        "gamma": [v_bsm_greeks.gamma(f, *x) for f, *x in zip(flags, S, K, T, r, sigma, q)],
        "theta": [v_bsm_greeks.theta(f, *x) for f, *x in zip(flags, S, K, T, r, sigma, q)],
        "vega": [v_bsm_greeks.vega(f, *x) for f, *x in zip(flags, S, K, T, r, sigma, q)],
    }
    for name, values in ref.items():
        assert_close(getattr(g, name), values, f"bsm {name}")
    # the price-only kernel used by break-even scans is the same price
    np.testing.assert_array_equal(bsm_price(c, S, K, T, r, q, sigma), g.price)
    # and the price-and-theta one the backtest marks with (vollib's theta checked above)
    price, theta = bsm_price_theta(c, S, K, T, r, q, sigma)
    np.testing.assert_array_equal(price, g.price)
    np.testing.assert_array_equal(theta, g.theta)


def test_bsm_matches_vollib_on_spx_scale_legs():
    """SPX-sized inputs: 6850 spot, strikes 4000..9000, 1 hour to 2 years, the demo rates."""
    rng = np.random.default_rng(7)
    n = 800
    S = np.full(n, 6850.0)
    K = rng.uniform(4000, 9000, n).round(-1)
    T = np.exp(rng.uniform(np.log(1 / (365 * 24)), np.log(2.0), n))
    sigma = rng.uniform(0.08, 0.6, n)
    c = rng.random(n) < 0.5
    r, q = 0.04, 0.013
    g = bsm(c, S, K, T, r, q, sigma)
    for i in range(n):
        f = "c" if c[i] else "p"
        args = (f, S[i], K[i], T[i], r, sigma[i], q)
        assert_close(g.price[i], v_bsm(*args), "price")
        for name in GREEKS:
            assert_close(getattr(g, name)[i], getattr(v_bsm_greeks, name)(*args), name)


def test_bsm_very_short_expiry_matches_vollib():
    """Minutes to expiry, strikes near the money: no NaN, still vollib to 1e-9."""
    T = np.array([60.0, 600.0, 3600.0]) / (365 * 86400)
    for t in T:
        for K in (6840.0, 6850.0, 6860.0):
            for f in "cp":
                g = bsm(f == "c", 6850.0, K, t, 0.04, 0.013, 0.15)
                args = (f, 6850.0, K, t, 0.04, 0.15, 0.013)
                assert np.isfinite(list(g)).all()
                assert_close(g.price, v_bsm(*args), "price")
                for name in GREEKS:
                    assert_close(getattr(g, name), getattr(v_bsm_greeks, name)(*args), name)


# ---- vollib, Black-76 ---------------------------------------------------------------------

@pytest.mark.parametrize("seed", [10, 11])
def test_black76_matches_vollib_prices_and_greeks(seed):
    c, F, K, T, r, _, sigma = random_inputs(seed, 1500)
    g = black76(c, F, K, T, r, sigma)
    flags = np.where(c, "c", "p")
    assert_close(g.price, [v_black(f, *x) for f, *x in zip(flags, F, K, T, r, sigma)], "black price")
    for name in GREEKS:
        fn = getattr(v_black_greeks, name)
        assert_close(getattr(g, name), [fn(f, *x) for f, *x in zip(flags, F, K, T, r, sigma)],
                     f"black {name}")


def test_black76_on_vix_like_inputs():
    """VIX options: future 12..40, strikes 10..60, vol of vol 40%..200%, days to a year."""
    rng = np.random.default_rng(3)
    for _ in range(400):
        F, K = rng.uniform(12, 40), rng.choice(np.arange(10, 61, 1.0))
        T, sigma, f = rng.uniform(1, 365) / 365, rng.uniform(0.4, 2.0), rng.choice(["c", "p"])
        g = black76(f == "c", F, K, T, 0.04, sigma)
        assert_close(g.price, v_black(f, F, K, T, 0.04, sigma), "price")
        for name in GREEKS:
            assert_close(getattr(g, name), getattr(v_black_greeks, name)(f, F, K, T, 0.04, sigma), name)


# ---- finite differences -------------------------------------------------------------------

def _fd_greeks(c, S, K, T, r, q, sigma):
    price = lambda S=S, T=T, sigma=sigma: bsm_price(c, S, K, T, r, q, sigma)  # noqa: E731
    move = S * sigma * np.sqrt(T)  # one standard deviation, in points
    hS = move * 1e-4
    delta = (price(S=S + hS) - price(S=S - hS)) / (2 * hS)
    hG = move * 5e-3
    gamma = (price(S=S + hG) - 2 * price() + price(S=S - hG)) / hG ** 2
    hT = np.minimum(T * 1e-3, 1e-4)
    theta = -(price(T=T + hT) - price(T=T - hT)) / (2 * hT) / 365.0  # per calendar day
    hV = 1e-4
    vega = (price(sigma=sigma + hV) - price(sigma=sigma - hV)) / (2 * hV) * 0.01  # per vol point
    return delta, gamma, theta, vega


@pytest.mark.parametrize("seed", [20, 21])
def test_bsm_greeks_match_finite_differences(seed):
    c, S, K, T, r, q, sigma = random_inputs(seed, 2000, deep=False)
    g = bsm(c, S, K, T, r, q, sigma)
    fd = dict(zip(GREEKS, _fd_greeks(c, S, K, T, r, q, sigma)))
    # sizes of each Greek's natural scale, so the check is relative where it matters
    scale = {"delta": 1.0, "gamma": np.abs(g.gamma) + 1e-3 / S, "theta": np.abs(g.theta) + S * 1e-7,
             "vega": np.abs(g.vega) + S * 1e-7}
    for name in GREEKS:
        err = np.abs(getattr(g, name) - fd[name]) / scale[name]
        assert err.max() < 2e-4, (name, err.max(), np.argmax(err))


def test_black76_greeks_match_finite_differences():
    c, F, K, T, r, _, sigma = random_inputs(22, 1000, deep=False)
    g = black76(c, F, K, T, r, sigma)
    price = lambda F=F, T=T, sigma=sigma: black76(c, F, K, T, r, sigma).price  # noqa: E731
    h = F * sigma * np.sqrt(T) * 1e-4
    np.testing.assert_allclose(g.delta, (price(F=F + h) - price(F=F - h)) / (2 * h), atol=1e-7)
    hT = np.minimum(T * 1e-3, 1e-4)
    theta = -(price(T=T + hT) - price(T=T - hT)) / (2 * hT) / 365
    within(g.theta, theta, rtol=1e-4, atol=1e-7 * F)
    vega = (price(sigma=sigma + 1e-4) - price(sigma=sigma - 1e-4)) / 2e-4 * 0.01
    within(g.vega, vega, rtol=1e-5, atol=1e-8 * F)


def test_greek_conventions_on_a_hand_example():
    """Hull 17.2-style example, by hand: theta is per calendar day, vega per vol point."""
    S, K, T, r, q, sig = 49.0, 50.0, 0.3846, 0.05, 0.0, 0.2
    g = bsm(True, S, K, T, r, q, sig)
    d1 = (np.log(S / K) + (r - q + sig ** 2 / 2) * T) / (sig * np.sqrt(T))
    pdf = np.exp(-d1 ** 2 / 2) / np.sqrt(2 * np.pi)
    assert g.vega == pytest.approx(S * pdf * np.sqrt(T) / 100, rel=1e-12)
    assert g.theta * 365 == pytest.approx(-4.30538996455, abs=1e-9)  # Hull: -4.31 per year
    d2 = d1 - sig * np.sqrt(T)
    N = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731
    assert g.price == pytest.approx(S * N(d1) - K * math.exp(-r * T) * N(d2), abs=1e-12)
    assert g.delta == pytest.approx(N(d1), abs=1e-14)
    hull = bsm(np.array([True, False]), 42.0, 40.0, 0.5, 0.1, 0.0, 0.2)  # Hull 13.6: 4.76, 0.81
    np.testing.assert_allclose(hull.price, [4.76, 0.81], atol=5e-3)


# ---- put-call parity ---------------------------------------------------------------------

def test_bsm_put_call_parity():
    _, S, K, T, r, q, sigma = random_inputs(30, 5000)
    call = bsm(True, S, K, T, r, q, sigma)
    put = bsm(False, S, K, T, r, q, sigma)
    parity = S * np.exp(-q * T) - K * np.exp(-r * T)
    within(call.price - put.price, parity, atol=1e-9 * np.maximum(S, K))
    np.testing.assert_allclose(call.delta - put.delta, np.exp(-q * T), atol=1e-12)
    np.testing.assert_allclose(call.gamma, put.gamma, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(call.vega, put.vega, rtol=1e-12, atol=1e-15)
    # theta(C) - theta(P) = -d(parity)/dT / 365
    dparity = (q * S * np.exp(-q * T) - r * K * np.exp(-r * T)) / 365
    within(call.theta - put.theta, dparity, atol=1e-9 * np.maximum(S, K))


def test_black76_put_call_parity():
    _, F, K, T, r, _, sigma = random_inputs(31, 5000)
    call, put = black76(True, F, K, T, r, sigma), black76(False, F, K, T, r, sigma)
    within(call.price - put.price, np.exp(-r * T) * (F - K), atol=1e-9 * np.maximum(F, K))
    np.testing.assert_allclose(call.delta - put.delta, np.exp(-r * T), atol=1e-12)


# ---- bounds and monotonicity (hypothesis) ---------------------------------------------

@settings(max_examples=200, deadline=None)
@given(S=st.floats(1, 10_000), moneyness=st.floats(-2, 2), T=st.floats(1e-5, 5),
       r=st.floats(-0.02, 0.1), q=st.floats(0, 0.08), sigma=st.floats(0.01, 3),
       call=st.booleans())
def test_price_within_no_arbitrage_bounds(S, moneyness, T, r, q, sigma, call):
    K = S * np.exp(moneyness)
    g = bsm(call, S, K, T, r, q, sigma)
    fwd_intrinsic = max((S * np.exp(-q * T) - K * np.exp(-r * T)) * (1 if call else -1), 0.0)
    upper = S * np.exp(-q * T) if call else K * np.exp(-r * T)
    tol = 1e-9 * max(S, K)
    assert fwd_intrinsic - tol <= g.price <= upper + tol
    assert (0 - 1e-15 <= g.delta <= 1 + 1e-15) if call else (-1 - 1e-15 <= g.delta <= 1e-15)
    assert g.gamma >= 0 and g.vega >= 0
    # more vol is never cheaper; a higher strike never makes a call dearer
    assert bsm_price(call, S, K, T, r, q, sigma * 1.1) >= g.price - tol
    step = bsm_price(call, S, K * 1.01, T, r, q, sigma)
    assert (step <= g.price + tol) if call else (step >= g.price - tol)


# ---- expiry -------------------------------------------------------------------------------

@pytest.mark.parametrize("T", [0.0, -1e-9, -0.5])
def test_expired_options_are_worth_intrinsic(T):
    S = np.array([90.0, 100.0, 110.0, 6850.0, 6850.0])
    K = np.array([100.0, 100.0, 100.0, 6800.0, 6900.0])
    for call in (True, False):
        g = bsm(call, S, K, T, 0.04, 0.01, 0.2)
        intrinsic = np.maximum((S - K) if call else (K - S), 0.0)
        np.testing.assert_array_equal(g.price, intrinsic)
        np.testing.assert_array_equal(g.gamma, 0.0)
        np.testing.assert_array_equal(g.theta, 0.0)
        np.testing.assert_array_equal(g.vega, 0.0)
        itm = (S > K) if call else (S < K)
        otm = (S < K) if call else (S > K)
        np.testing.assert_array_equal(g.delta[itm], 1.0 if call else -1.0)
        np.testing.assert_array_equal(g.delta[otm], 0.0)
        b = black76(call, S, K, T, 0.04, 0.2)
        np.testing.assert_array_equal(b.price, intrinsic)  # not discounted once expired


def test_mixed_expired_and_live_broadcast():
    """One vector holding live and expired legs prices each one correctly (no NaN leak)."""
    T = np.array([0.25, 0.0, -0.1, 1e-6])
    g = bsm(np.array([True, True, False, False]), 100.0, 95.0, T, 0.03, 0.0, 0.3)
    assert np.isfinite(list(g)).all()
    assert g.price[1] == 5.0 and g.price[2] == 0.0
    assert g.price[0] == pytest.approx(v_bsm("c", 100.0, 95.0, 0.25, 0.03, 0.3, 0.0), abs=1e-12)
    assert g.price[3] == pytest.approx(v_bsm("p", 100.0, 95.0, 1e-6, 0.03, 0.3, 0.0), abs=1e-12)
    price, theta = bsm_price_theta(np.array([True, True, False, False]), 100.0, 95.0, T, 0.03, 0.0, 0.3)
    np.testing.assert_array_equal(price, g.price)
    np.testing.assert_array_equal(theta, g.theta)  # 0 once expired


def test_approaching_expiry_converges_to_intrinsic():
    for T in (1e-6, 1e-8):
        g = bsm(np.array([True, False]), 105.0, 100.0, T, 0.04, 0.0, 0.2)
        np.testing.assert_allclose(g.price, [5.0, 0.0], atol=1e-3)


# ---- implied vol (LetsBeRational) ------------------------------------------------------

def test_implied_vol_round_trips():
    c, S, K, T, r, q, sigma = random_inputs(40, 200, deep=False)
    g = bsm(c, S, K, T, r, q, sigma)
    fwd_intrinsic = np.maximum(np.where(c, 1, -1) * (S * np.exp(-q * T) - K * np.exp(-r * T)), 0)
    checked = 0
    for i in range(len(S)):
        if g.price[i] - fwd_intrinsic[i] < 1e-4 * S[i]:
            continue  # no time value left to carry the vol (ill-posed, not an engine matter)
        checked += 1
        iv = implied_vol_bsm(g.price[i], S[i], K[i], T[i], r[i], q[i], bool(c[i]))
        assert iv == pytest.approx(sigma[i], rel=1e-7)
    for i in range(len(S)):
        p = black76(c[i], S[i], K[i], T[i], r[i], sigma[i]).price
        if p - np.exp(-r[i] * T[i]) * max((S[i] - K[i]) * (1 if c[i] else -1), 0) < 1e-4 * S[i]:
            continue
        checked += 1
        assert implied_vol_black(float(p), S[i], K[i], T[i], r[i], bool(c[i])) == pytest.approx(
            sigma[i], rel=1e-7)
    assert checked > 250
