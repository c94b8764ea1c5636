"""Market TOML text from the history store's closes (`alvh market from-history`)."""
from __future__ import annotations

from datetime import date, timedelta

from core.model.errors import InputError

VIX3M_DAYS = 93  # VIX3M's constant maturity, calendar days
STALE_DAYS = 7  # a requested date may fall this far after the last close


def _good_friday(year: int) -> date:
    """Easter Sunday (anonymous Gregorian computus) minus two days."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (b - (b + 8) // 25 + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1) - timedelta(days=2)


def _cboe_holiday(d: date) -> bool:
    # the only exchange holidays that can fall on a VIX expiry Wednesday or the Friday
    # it counts from (days 15-22 of a month)
    return d == _good_friday(d.year) or ((d.month, d.day) == (6, 19) and d.year >= 2022)


def vix_expiry(year: int, month: int) -> date:
    """Final settlement day of the VIX future of `month`: the Wednesday 30 days before
    the third Friday of the next month; counted from the Thursday when that Friday is
    a holiday, and a day earlier when the Wednesday itself is one."""
    y, m = (year + 1, 1) if month == 12 else (year, month + 1)
    first = date(y, m, 1)
    friday = first + timedelta(days=(4 - first.weekday()) % 7 + 14)
    if _cboe_holiday(friday):
        friday -= timedelta(days=1)
    expiry = friday - timedelta(days=30)
    if _cboe_holiday(expiry):
        expiry -= timedelta(days=1)
    return expiry


def next_expiries(after: date, n: int) -> list[date]:
    """The next `n` monthly VIX expiries strictly after `after`."""
    out, y, m = [], after.year, after.month
    while len(out) < n:
        e = vix_expiry(y, m)
        if e > after:
            out.append(e)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _num(x: float, places: int = 4) -> str:
    return repr(round(float(x), places))


def _line(key: str, value: str, comment: str) -> str:
    return f"{key} = {value}".ljust(31) + f"# {comment}"


def market_from_history(series: dict, date: date | None = None) -> str:
    """Market file text from the closes of `date` (default: the last day with both SPX
    and VIX). A date without closes uses the last day before it, up to a week back."""
    import pandas as pd

    vix, spx = series.get("vix"), series.get("spx")
    if vix is None or spx is None or vix.empty or spx.empty:
        raise InputError("the history has no SPX and VIX closes; import them first",
                         field="history")
    days = vix.index.intersection(spx.index)
    if date is not None:
        days = days[days <= pd.Timestamp(date)]
    if not len(days) or date is not None and (date - days[-1].date()).days > STALE_DAYS:
        raise InputError(f"no SPX and VIX closes on or shortly before {date}", field="date")
    day = days[-1]
    d = day.date()
    v, s = float(vix[day]), float(spx[day])
    vix3m = series.get("vix3m")
    v3 = float(vix3m[day]) if vix3m is not None and day in vix3m.index else None

    demo = any(x.attrs.get("demo") for x in series.values())
    out = ["# DEMO market: made from the synthetic demo history, not market data"] if demo else []
    out += [
        f"# Market from the history store's closes of {d} (alvh market from-history)",
        _line("as_of", f"{d}T16:15:00", "New York time"),
        f"spx = {_num(s)}",
        f"vix = {_num(v)}",
        *([f"vix3m = {_num(v3)}"] if v3 is not None else []),
        _line("rate", "0.04", "default continuous rate, not from history: edit"),
        _line("dividend_yield", "0.013", "default continuous SPX yield: edit"),
        "",
        "[spx_vol]",
        _line("atm", _num(v / 100), "VIX / 100"),
        _line("skew", "-0.9", "default dIV per unit ln(K/F)"),
        "",
        *_futures(series, day, v, v3),
        "",
        "[vix_vol]",
        _line("atm", "0.85", "default VIX option vol"),
        _line("skew", "0.5", "default dIV per unit ln(K/F)"),
    ]
    return "\n".join(out) + "\n"


def _futures(series: dict, day, vix: float, vix3m: float | None) -> list[str]:
    d = day.date()
    settles = [float(s[day]) if s is not None and day in s.index else None
               for s in (series.get("vx1"), series.get("vx2"))]
    if any(x is not None for x in settles):
        if d == vix_expiry(d.year, d.month):
            # VX1's row is the final settlement of a contract that expired this morning
            pairs = zip(next_expiries(d, 1), settles[1:])
        else:
            pairs = zip(next_expiries(d, 2), settles)
        lines = [f"{e} = {_num(p)}" for e, p in pairs if p is not None]
        return ["[vix_futures]".ljust(31) + f"# expiry = settle of {d}", *lines]
    # none stored: estimate each future as the 30-day vol that starts at its expiry,
    # interpolated linearly between VIX (30 days out) and VIX3M (93 days out)
    top = vix3m if vix3m is not None else vix
    lines = []
    for e in next_expiries(d, 2):
        tenor = min((e - d).days + 30, VIX3M_DAYS)
        lines.append(f"{e} = {_num(vix + (top - vix) * (tenor - 30) / (VIX3M_DAYS - 30), 2)}")
    source = "VIX and VIX3M" if vix3m is not None else "VIX alone (no VIX3M): flat"
    return ["[vix_futures]", f"# ESTIMATED: no futures stored for {d}; interpolated from {source}",
            *lines]
