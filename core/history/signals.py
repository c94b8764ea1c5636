"""Market signals: pure functions of the stored series (numpy), no I/O.

`compute_signals(series, as_of)` reads the `history.load_daily` dict (vix, vix3m,
spx, vx1, vx2, breadth = net advances, fomc, cpi, ppi), or the pandas Series of
`history.load_all`, using data up to as_of only. A series whose last value is older
than `stale_days` before as_of counts as missing: its signals say "unknown" rather
than show an old value as today's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from core.history.calibrate import calibrate
from core.history.daily import Daily, as_daily
from core.model.errors import InputError
from core.model.inputs import SignalInputs

EVENT_NAMES = {"fomc": "FOMC", "cpi": "CPI", "ppi": "PPI"}
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Thresholds:
    rsi_high: float = 70.0
    rsi_low: float = 30.0
    percentile_high: float = 80.0
    percentile_low: float = 20.0
    vix_dormant: float = 13.0
    vix_elevated: float = 20.0
    vix_crisis: float = 30.0
    backwardation: float = 1.0  # VIX/VIX3M or VX1/VX2 above this
    event_days: int = 7  # an event this close is "imminent"
    high_days: int = 20  # closing-high window of the A/D divergence
    stale_days: int = 10
    event_horizon_days: int = 366  # how far ahead events are listed


@dataclass(frozen=True)
class Signal:
    name: str
    value: float | str | None  # None: unknown
    threshold: float | None
    state: str
    as_of: date | None  # date of the last data used
    note: str = ""


@dataclass(frozen=True)
class SignalSet:
    signals: tuple[Signal, ...]
    regime: str
    regime_note: str
    beta: float | None  # calibrated d ln VIX / d ln SPX, None without data
    as_of: date | None
    events: tuple[tuple[str, date], ...] = ()  # upcoming (name, date), sorted
    term_rsi_source: str = "VIX/VIX3M"
    demo: bool = False

    def __getitem__(self, name: str) -> Signal:
        return next(s for s in self.signals if s.name == name)

    def to_json(self) -> dict:
        out: dict = {s.name: {"value": _plain(s.value), "threshold": _plain(s.threshold),
                              "state": s.state,
                              "as_of": s.as_of.isoformat() if s.as_of else None,
                              "note": s.note}
                     for s in self.signals}
        out.update(regime=self.regime, regime_note=self.regime_note, beta=_plain(self.beta),
                   demo=self.demo)
        return out

    def to_inputs(self) -> SignalInputs:
        ad, term, vx = self["ad_divergence"], self["term_structure"], self["vx1_vx2"]
        slope = term if term.value is not None else vx
        return SignalInputs(
            as_of=self.as_of,
            ad_divergence=ad.value,
            term_rsi=self["term_rsi"].value,
            term_rsi_source=self.term_rsi_source,
            vix_percentile=self["vix_percentile"].value,
            contango=None if slope.value is None else slope.value < 1.0,
            events=self.events,
            demo=self.demo)


def _plain(x):
    """JSON-safe scalar: numpy floats to float, NaN to None."""
    if isinstance(x, float) or hasattr(x, "dtype"):
        x = float(x)
        return None if math.isnan(x) else x
    return x


# ---- indicators --------------------------------------------------------------
# Each takes a Daily or a pandas Series. The arithmetic is pandas' own, step for step
# (ewm(adjust=False), mean, diff, clip), so every figure is the one pandas gave.

def _smooth(s: Daily, n: int, alpha: float) -> Daily:
    """Exponential smoothing seeded with the simple mean of the first n values."""
    s = s.dropna()
    if len(s) < n:
        return s[:0]
    a = 1 / (1 + (1 - alpha) / alpha)  # alpha through pandas' centre of mass, as it rounds
    keep, total = 1 - a, (1 - a) + a
    y = float(np.mean(s.values[:n]))
    out = [y]
    for x in s.values[n:].tolist():
        if y != x:  # pandas skips the step on an equal value
            y = (keep * y + a * x) / total
        out.append(y)
    return s[n - 1:].with_values(out)


def ema(s, n: int) -> Daily:
    return _smooth(as_daily(s), n, 2 / (n + 1))


def rsi(s, n: int = 14) -> Daily:
    """Wilder's RSI: gains and losses smoothed with alpha 1/n after an n-day mean."""
    s = as_daily(s).dropna()
    change = s[1:].with_values(np.diff(s.values))
    up, down = change.values, -change.values
    gain = _smooth(change.with_values(np.where(up >= 0, up, 0.0)), n, 1 / n)
    loss = _smooth(change.with_values(np.where(down >= 0, down, 0.0)), n, 1 / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 100 - 100 / (1 + gain.values / loss.values)  # loss 0: RSI 100
    return gain.with_values(np.where((gain.values > 0) | (loss.values > 0), out, 50.0))


def macd(s, fast: int = 12, slow: int = 26, signal: int = 9) -> tuple[Daily, Daily]:
    """(MACD line, signal line): EMA(fast) - EMA(slow) and its EMA(signal)."""
    f, sl = ema(s, fast), ema(s, slow)  # both end on the last day: sl is f's tail
    line = sl.with_values(f.values[len(f) - len(sl):] - sl.values).dropna()
    return line, ema(line, signal)


def _common(a: Daily, b: Daily) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The days both hold a value, and their values there."""
    days, ia, ib = np.intersect1d(a.days, b.days, assume_unique=True, return_indices=True)
    va, vb = a.values[ia], b.values[ib]
    ok = ~(np.isnan(va) | np.isnan(vb))
    return days[ok], va[ok], vb[ok]


def ad_divergence(spx, net_advances, days: int = 20) -> str | None:
    """"bearish": SPX closes at a `days`-day high while the A/D line does not;
    "bullish": SPX closes at a `days`-day low while the A/D line does not; else "none".
    None when there are fewer than `days` common days."""
    net = as_daily(net_advances).dropna()
    _, price, ad = _common(as_daily(spx), net.with_values(np.cumsum(net.values)))
    price, ad = price[-days:], ad[-days:]
    if len(price) < days:
        return None
    if price[-1] >= price.max() and ad[-1] < ad.max():
        return "bearish"
    if price[-1] <= price.min() and ad[-1] > ad.min():
        return "bullish"
    return "none"


def realized_vol(spx, days: int = 20) -> float | None:
    """Annualized root-mean-square of the last `days` daily log returns, in VIX points."""
    closes = as_daily(spx).dropna().values[-(days + 1):]
    if len(closes) <= days:
        return None
    r = np.array([math.log(x) for x in (closes[1:] / closes[:-1]).tolist()])
    return math.sqrt(252 * float((r * r).mean())) * 100


def percentile_rank(s, days: int = 365) -> float | None:
    """Share of the past `days` calendar days' values at or below the last one, 0-100."""
    s = as_daily(s).dropna()
    if not len(s):
        return None
    window = s.values[s.days > s.days[-1] - np.timedelta64(days, "D")]
    return float((window <= s.values[-1]).mean() * 100)


def upcoming_events(series: dict, as_of: date, horizon_days: int = 366):
    """(name, date) of the stored events after as_of and within the horizon, sorted."""
    stop = as_of + timedelta(days=horizon_days)
    out = [(EVENT_NAMES[k], d) for k in EVENT_NAMES if k in series
           for d in as_daily(series[k]).days.astype(object) if as_of < d <= stop]
    return tuple(sorted(out, key=lambda e: (e[1], e[0])))


def events_inside(expiries, events, as_of: date) -> dict[date, tuple[tuple[str, date], ...]]:
    """For each condor expiry, the events after as_of and on or before the expiry
    (an event on expiry day still moves the settlement)."""
    return {e: tuple(ev for ev in events if as_of < ev[1] <= e) for e in expiries}


def regime(vix: float | None, percentile: float | None, ratio: float | None,
           t: Thresholds = Thresholds()) -> tuple[str, str]:
    """(regime, reason) from VIX level, its one-year percentile and the term ratio
    (VIX/VIX3M, or VX1/VX2 without VIX3M)."""
    if vix is None:
        return UNKNOWN, "no VIX data"
    back = ratio is not None and ratio > t.backwardation
    pct = percentile if percentile is not None else 50.0
    if vix >= t.vix_crisis:
        return "crisis", f"VIX {vix:.1f} >= {t.vix_crisis:g}"
    if back and vix >= t.vix_elevated:
        return "crisis", f"backwardation with VIX {vix:.1f} >= {t.vix_elevated:g}"
    if vix >= t.vix_elevated:
        return "elevated", f"VIX {vix:.1f} >= {t.vix_elevated:g}"
    if back:
        return "elevated", f"backwardation (term ratio {ratio:.2f})"
    level = f"VIX {vix:.1f}, one-year percentile {pct:.0f}"
    if pct >= t.percentile_high and vix >= t.vix_dormant:
        return "elevated", level
    if vix < t.vix_dormant:
        return "dormant", level
    return "normal", level


# ---- the set -------------------------------------------------------------------

def _unknown(name: str, threshold, note: str) -> Signal:
    return Signal(name, None, threshold, UNKNOWN, None, note)


def _sorted(s: Daily) -> Daily:
    """A price series without its gaps, in date order."""
    s = s.with_values(np.asarray(s.values, dtype=float)).dropna()
    return s[np.argsort(s.days, kind="stable")]


def _day(s: Daily) -> date:
    return s.last_day()


def _band(value: float, high: float, low: float, names=("high", "low", "normal")) -> str:
    return names[0] if value >= high else names[1] if value <= low else names[2]


def _rsi_signal(name: str, s: Daily | None, label: str, t: Thresholds) -> Signal:
    r = rsi(s) if s is not None else None
    if r is None or not len(r):
        return _unknown(name, t.rsi_high, f"no recent {label}, or too little for RSI(14)")
    return Signal(name, float(r.values[-1]), t.rsi_high,
                  _band(r.values[-1], t.rsi_high, t.rsi_low, ("overbought", "oversold", "neutral")),
                  _day(r), f"RSI(14) of {label}")


def _ratio_signal(name: str, ratio: Daily | None, label: str, t: Thresholds) -> Signal:
    if ratio is None or not len(ratio):
        return _unknown(name, t.backwardation, f"no recent {label}")
    value = float(ratio.values[-1])
    return Signal(name, value, t.backwardation,
                  "backwardation" if value > t.backwardation else "contango", _day(ratio),
                  f"{label}; above {t.backwardation:g} is backwardation")


def _event_signals(series: dict, events, as_of: date, t: Thresholds) -> list[Signal]:
    out = []
    for key, name in EVENT_NAMES.items():
        nxt = next((d for n, d in events if n == name), None)
        if nxt is None:
            why = f"no {name} dates stored" if key not in series else f"no {name} date ahead"
            out.append(_unknown(f"next_{key}", float(t.event_days), why))
            continue
        days = (nxt - as_of).days
        out.append(Signal(f"next_{key}", float(days), float(t.event_days),
                          "imminent" if days <= t.event_days else "clear", as_of,
                          f"{name} {nxt.isoformat()}, days ahead"))
    return out


def compute_signals(series: dict, as_of: date | None = None,
                    thresholds: Thresholds = Thresholds()) -> SignalSet:
    """Every signal from the data up to as_of (default: the last VIX close).

    Series marked demo (see `history.demo_daily`) make a DEMO set.
    """
    t = thresholds
    series = {k: as_daily(s) for k, s in series.items()}
    demo = any(s.demo for s in series.values())
    prices = {k: _sorted(series[k]) for k in ("vix", "vix3m", "spx", "vx1", "vx2", "breadth")
              if k in series}
    if as_of is None:
        last = [prices[k] for k in ("vix", "spx") if k in prices and len(prices[k])]
        as_of = last[0].last_day() if last else None
    if as_of is None:
        note = "no VIX or SPX data"
        names = ("vix_rsi", "term_rsi", "term_structure", "vx1_vx2", "vix_percentile", "vrp",
                 "macd", "ad_divergence", "next_fomc", "next_cpi", "next_ppi")
        return SignalSet(tuple(_unknown(n, None, note) for n in names), UNKNOWN, note, None,
                         None, demo=demo)

    oldest = np.datetime64(as_of - timedelta(days=t.stale_days), "D")
    fresh = {}  # series up to as_of whose last value is recent enough
    for k, s in prices.items():
        s = s[:np.searchsorted(s.days, np.datetime64(as_of, "D"), side="right")]
        if len(s) and s.days[-1] >= oldest:
            fresh[k] = s
    vix, spx, breadth = fresh.get("vix"), fresh.get("spx"), fresh.get("breadth")
    ratios = {}
    for key, a, b in (("term", "vix", "vix3m"), ("futures", "vx1", "vx2")):
        if a in fresh and b in fresh:
            days, num, den = _common(fresh[a], fresh[b])
            with np.errstate(divide="ignore", invalid="ignore"):
                r = Daily(days, num / den).dropna()
            ratios[key] = r if len(r) and r.days[-1] >= oldest else None

    out = [_rsi_signal("vix_rsi", vix, "VIX", t)]
    if ratios.get("term") is not None:
        out.append(_rsi_signal("term_rsi", ratios["term"], "VIX/VIX3M", t))
        term_source = "VIX/VIX3M"
    else:
        out.append(_rsi_signal("term_rsi", vix, "VIX (no recent VIX3M)", t))
        term_source = "VIX"
    out.append(_ratio_signal("term_structure", ratios.get("term"), "VIX/VIX3M", t))
    out.append(_ratio_signal("vx1_vx2", ratios.get("futures"), "VX1/VX2 settles", t))

    pct = percentile_rank(vix) if vix is not None else None
    if pct is not None:
        out.append(Signal("vix_percentile", pct, t.percentile_high,
                          _band(pct, t.percentile_high, t.percentile_low), _day(vix),
                          "VIX rank among the past year's closes"))
    else:
        out.append(_unknown("vix_percentile", t.percentile_high, "no recent VIX"))

    rv = realized_vol(spx) if spx is not None else None
    if rv is not None and vix is not None:
        value = float(vix.values[-1]) - rv
        out.append(Signal("vrp", value, 0.0, "positive" if value > 0 else "negative",
                          min(_day(vix), _day(spx)),
                          f"VIX {vix.values[-1]:.2f} minus 20-day realized SPX vol {rv:.2f}"))
    else:
        out.append(_unknown("vrp", 0.0, "no recent VIX and SPX"))

    base, label = (breadth.with_values(np.cumsum(breadth.values)), "of the A/D line") if (
        breadth is not None) else (spx, "of SPX (no breadth data)")
    line, sig = macd(base) if base is not None else (None, None)
    if sig is not None and len(sig):
        value, signal_value = float(line.values[-1]), float(sig.values[-1])
        out.append(Signal("macd", value, signal_value,
                          "bullish" if value > signal_value else "bearish", _day(line),
                          f"MACD(12,26,9) {label}; threshold is the signal line"))
    else:
        out.append(_unknown("macd", None, "too little recent breadth or SPX data"))

    div = ad_divergence(spx, breadth, t.high_days) if (
        spx is not None and breadth is not None) else None
    if div is not None:
        out.append(Signal("ad_divergence", div, float(t.high_days),
                          div, min(_day(spx), _day(breadth)),
                          f"SPX vs A/D line at {t.high_days}-day closing highs and lows"))
    else:
        out.append(_unknown("ad_divergence", float(t.high_days),
                            "no recent breadth data" if breadth is None else "too little data"))

    events = upcoming_events(series, as_of, t.event_horizon_days)
    out += _event_signals(series, events, as_of, t)

    term = next((s.value for s in out  # VIX/VIX3M first, else VX1/VX2
                 if s.name in ("term_structure", "vx1_vx2") and s.value is not None), None)
    state, reason = regime(float(vix.values[-1]) if vix is not None else None, pct, term, t)

    beta = None
    if "vix" in prices and "spx" in prices:
        try:
            beta = calibrate(prices["vix"], prices["spx"], end=as_of).beta
        except InputError:
            pass  # too little common history: no calibrated beta
    return SignalSet(tuple(out), state, reason, beta, as_of, events, term_source, demo)
