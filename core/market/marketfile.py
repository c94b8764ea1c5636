"""The market file (TOML): levels, rates, vol surfaces, VIX futures and option marks."""
from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import date, datetime, time
from pathlib import Path

from core.model.instruments import NEW_YORK
from core.model.inputs import MARK_KINDS, SETTLE_UNDERLYINGS, Mark, Market, Settlement, Smile, VolSurface
from core.io.tomlsrc import SourceMap, Table, parse_toml, previous_text, read_text, too_large, within

_POS = (lambda v: v > 0, "must be above zero")
_RATE = (lambda v: -0.2 < v < 0.5, "is a continuous annual rate as a fraction (0.04 is 4%)")
# Ranges every number must fall in (README, "Market file"): beyond them a value is a typo.
LEVELS = {"spx": (1.0, 1e6), "vix": (1.0, 500.0), "vxx": (0.1, 1e5)}  # levels, strikes, prices
VOL = (0.01, 5.0)  # every implied vol, explicit or defaulted (vix / 100), and every surface vol
SKEW = (-5.0, 5.0)
_VOL = within(*VOL, what="is an annual vol as a fraction (0.16 is 16%) and")
MARK_TOL = 0.05  # points a vertical spread between marks may stray outside 0..width
PARITY_TOL = (0.25, 0.002)  # refused above 0.25 points + 0.2 % of the forward
_STRIKE_KEY = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def _level(name: str) -> dict:
    return within(*LEVELS[name])


def load_market(path: str | Path, *, demo: bool = False) -> Market:
    return parse_market(read_text(path), str(path), demo=demo)


def parse_market(text: str, source: str = "<market>", *, demo: bool = False) -> Market:
    root = Table(parse_toml(text, source), (), SourceMap(text), source, "")
    as_of = root.get("as_of", "datetime")
    as_of = as_of.replace(tzinfo=NEW_YORK) if as_of.tzinfo is None else as_of.astimezone(NEW_YORK)
    spx = root.get("spx", "num", **_level("spx"))
    vix = root.get("vix", "num", **_level("vix"))
    if not VOL[0] <= vix / 100 <= VOL[1]:  # the default SPX atm obeys the rule of an explicit one
        raise root.error("vix", f"gives a default [spx_vol] atm of {vix / 100:g}, outside {VOL[0]:g}..{VOL[1]:g}")
    market = Market(
        as_of=as_of,
        spx=spx,
        vix=vix,
        vix3m=root.get("vix3m", "num", default=None, **_level("vix")),
        vxx=root.get("vxx", "num", default=None, **_level("vxx")),
        rate=root.get("rate", "num", default=0.0, check=_RATE[0], why=_RATE[1]),
        dividend_yield=root.get("dividend_yield", "num", default=0.0, check=_RATE[0], why=_RATE[1]),
        spx_vol=_surface(root, "spx_vol", default_atm=vix / 100),
        vix_futures=_futures(root, as_of.date()),
        vix_vol=_surface(root, "vix_vol"),
        vxx_vol=_surface(root, "vxx_vol"),
        marks=(),
        settlements=_settlements(root),
        spx_smiles=_smiles(root, "spx_smile", ("SPX", "SPXW"), as_of),
        vix_smiles=_smiles(root, "vix_smile", ("VIX", "VIXW"), as_of),
        source=source,
        demo=demo,
    )
    market = replace(market, marks=_marks(root, market))
    root.finish()
    return market


def _surface(root: Table, key: str, default_atm: float | None = None) -> VolSurface | None:
    root.used.add(key)
    if key not in root.data:
        return VolSurface(default_atm) if default_atm is not None else None
    t = root.sub(key)
    atm = t.get("atm", "num", **({"default": default_atm} if default_atm is not None else {}), **_VOL)
    skew = t.get("skew", "num", default=0.0, **within(*SKEW))
    overrides = []
    if "overrides" in t.data:
        t.used.add("overrides")
        o = t.sub("overrides")
        for k in o.data:  # plain digits only: float() also takes "6_500", "inf", Arabic-Indic digits
            strike = float(k) if _STRIKE_KEY.fullmatch(k) else math.nan
            if not 0.01 <= strike <= 1e6:
                raise o.error(k, "override keys are strikes from 0.01 to 1,000,000,"
                                 " like \"5400\" = 0.24")
            overrides.append((strike, o.get(k, "num", **_VOL)))
    t.finish()
    return VolSurface(atm, skew, tuple(sorted(overrides)))


def _futures(root: Table, today: date) -> tuple[tuple[date, float], ...]:
    root.used.add("vix_futures")
    if "vix_futures" not in root.data:
        return ()
    t = root.sub("vix_futures")
    out = []
    for k in t.data:
        try:
            expiry = date.fromisoformat(k)
        except ValueError:
            raise t.error(k, "keys are expiry dates, like 2026-12-16 = 17.6") from None
        if not date(1990, 1, 1) <= expiry <= date(2100, 12, 31):
            raise t.error(k, "must be an expiry from 1990-01-01 to 2100-12-31")
        # a future that has settled stays listed harmlessly: the engine notes and skips it
        out.append((expiry, t.get(k, "num", **_level("vix"))))
    return tuple(sorted(out))


def settlement_problem(s: Settlement) -> tuple[str, str] | None:
    """(field, why) when a settlement cannot be right, else None: the file's rule and the
    cockpit form's, so both refuse the same values."""
    lo, hi = LEVELS[s.underlying.lower()]
    if not lo <= s.value <= hi:
        return "value", f"{s.underlying} settles from {lo:g} to {hi:g}, got {s.value:g}"
    if s.underlying == "VIX" and s.style != "AM":
        return "style", "VIX settles AM, on the special opening quotation"
    if s.underlying == "VXX" and s.style != "PM":
        return "style", "VXX options settle PM, on the close"
    return None


def _settlements(root: Table) -> tuple[Settlement, ...]:
    out: dict[tuple, Settlement] = {}
    for t in root.tables("settlement"):
        s = Settlement(
            underlying=t.get("underlying", "str", check=lambda v: v in SETTLE_UNDERLYINGS,
                             why="must be one of " + ", ".join(SETTLE_UNDERLYINGS)),
            date=t.get("date", "date"),
            style=t.get("style", "str", check=lambda v: v in ("AM", "PM"),
                        why="must be PM (the close) or AM (the opening quotation)"),
            value=t.get("value", "num", check=lambda v: math.isfinite(v), why="must be a number"))
        problem = settlement_problem(s)
        if problem:
            raise t.error(problem[0], problem[1])
        key = (s.underlying, s.date, s.style)
        if key in out and out[key].value != s.value:
            raise t.error("value", f"{s.underlying} {s.style} {s.date} given twice with different values")
        out[key] = s
        t.finish()
    return tuple(out.values())


def _mark(t: Table) -> Mark:
    kind = t.get("kind", "str", check=lambda v: v in MARK_KINDS, why="must be one of " + ", ".join(MARK_KINDS))
    lo, hi = LEVELS[kind.split("_")[0]]
    quote = dict(check=lambda v: 0 <= v <= hi, why=f"must be from 0 to {hi:,g}")
    bid, ask = t.get("bid", "num", default=None, **quote), t.get("ask", "num", default=None, **quote)
    if (bid is None) != (ask is None):
        raise t.error("ask" if ask is None else "bid", "missing: a quote needs both bid and ask")
    if bid is not None and not (bid <= ask and ask > 0):
        raise t.error("ask", f"must be above zero and at least the bid {bid:g}, got {ask!r}")
    positive = dict(check=lambda v: 0 < v <= hi, why=f"must be above zero and at most {hi:,g}")
    price = t.get("price", "num", **positive) if bid is None or "price" in t.data else (bid + ask) / 2
    m = Mark(
        kind=kind,
        expiry=t.get("expiry", "date"),
        strike=t.get("strike", "num", **within(lo, hi)),
        price=price,
        line=t.src.line(t.path),
        root=t.get("root", "str", default=None, check=lambda v: v in ROOTS[kind.split("_")[0]],
                   why="must be one of " + ", ".join(ROOTS[kind.split("_")[0]])),
        bid=bid, ask=ask)
    t.finish()
    return m


ROOTS = {"spx": ("SPX", "SPXW"), "vix": ("VIX", "VIXW"), "vxx": ("VXX",)}


def _smiles(root: Table, key: str, roots: tuple[str, ...], as_of) -> tuple[Smile, ...]:
    """[[spx_smile]] / [[vix_smile]]: one raw SVI slice per expiry and root."""
    out: dict[tuple, Smile] = {}
    for t in root.tables(key):
        expiry = t.get("expiry", "date", check=lambda v: v >= as_of.date(), why=f"must not be before as_of {as_of.date()}")
        name = t.get("root", "str", check=lambda v: v in roots, why="must be one of " + ", ".join(roots))
        params = t.get("svi", "list", check=lambda v: len(v) == 5 and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v),
            why="must be five numbers [a, b, rho, m, sigma]")
        a, b, rho, m, sig = (float(x) for x in params)
        if not (b >= 0 and abs(rho) < 1 and sig > 0 and a + b * sig * math.sqrt(1 - rho * rho) >= 0):
            raise t.error("svi", "needs b >= 0, |rho| < 1, sigma > 0 and a + b sigma sqrt(1 - rho^2) >= 0"
                                 f" (total variance never negative), got {params!r}")
        smile = Smile(expiry, name,
                      forward=t.get("forward", "num", check=lambda v: v > 0, why="must be above zero"),
                      discount=t.get("discount", "num", check=lambda v: 0 < v <= 1.5, why="must be above 0, at most 1.5"),
                      svi=(a, b, rho, m, sig),
                      rmse_vol=t.get("rmse_vol", "num", default=0.0, check=lambda v: 0 <= v < 5, why="must be 0 to 5"),
                      line=t.src.line(t.path))
        if (expiry, name) in out:
            raise t.error("expiry", f"{name} {expiry} has a smile already (line {out[(expiry, name)].line})")
        out[(expiry, name)] = smile
        t.finish()
    return tuple(sorted(out.values(), key=lambda x: (x.expiry, x.root)))


def _marks(root: Table, market: Market) -> tuple[Mark, ...]:
    """The [[mark]]s, refused when they allow a static arbitrage: a vertical spread of one
    kind and expiry worth below 0 or above its width, or call - put off parity."""
    tables = root.tables("mark")
    marks = [_mark(t) for t in tables]
    groups: dict[tuple, list[int]] = {}
    for i, m in enumerate(marks):
        groups.setdefault((m.kind, m.expiry, m.root), []).append(i)
    for (kind, _, _), idx in groups.items():
        bad = _vertical_breaks(marks, idx)
        if bad:
            i, j, why = bad[0]
            # blame the mark whose removal clears most breaks (a lone typo among good marks)
            culprit = min((j, i), key=lambda k: len(_vertical_breaks(marks, [x for x in idx if x != k])))
            other = marks[j if culprit == i else i]
            raise tables[culprit].error("price", f"{why} against the {other.strike:g} mark"
                                        f"{_at(other)}: a mistyped mark?")
    by_key = {(m.kind, m.expiry, m.strike, m.root): i for i, m in enumerate(marks)}
    futures, r = dict(market.vix_futures), market.rate
    spot = {"spx": (market.spx, market.dividend_yield), "vxx": (market.vxx, 0.0)}
    for (kind, expiry, strike, mroot), ci in by_key.items():
        under = kind.split("_")[0]
        pi = by_key.get((f"{under}_put", expiry, strike, mroot))
        if not kind.endswith("_call") or pi is None:
            continue
        am = under == "vix" or mroot == "SPX"  # VIX and SPX monthlies settle on opening prints
        settle = datetime.combine(expiry, time(9, 30) if am else time(16, 0), NEW_YORK)
        T = (settle.timestamp() - market.as_of.timestamp()) / (365 * 86400)
        if under == "vix":
            fwd = futures.get(expiry)
        else:
            S, q = spot[under]
            fwd = None if S is None else S * math.exp((r - q) * T)
        if T <= 0 or fwd is None:
            continue
        fair = math.exp(-r * T) * (fwd - strike)
        dev = marks[ci].price - marks[pi].price - fair
        tol = PARITY_TOL[0] + PARITY_TOL[1] * fwd
        if abs(dev) > tol:
            culprit = max(ci, pi, key=lambda k: marks[k].line or 0)
            other = marks[pi if culprit == ci else ci]
            raise tables[culprit].error("price", f"call - put at {strike:g} {expiry} is {dev:+.2f} off"
                                        f" parity (fair {fair:.2f}, more than {tol:.2f}) with the"
                                        f" {other.kind} mark{_at(other)}: a mistyped mark?")
    return tuple(marks)


def _at(m: Mark) -> str:
    return f" (line {m.line})" if m.line else ""


def _vertical_breaks(marks: list[Mark], idx: list[int]) -> list[tuple[int, int, str]]:
    """Adjacent strikes of one kind and expiry: puts rise with strike, calls fall, and no
    spread is worth more than its width."""
    out = []
    order = sorted(idx, key=lambda k: marks[k].strike)
    for i, j in zip(order, order[1:]):
        a, b = marks[i], marks[j]
        width = b.strike - a.strike
        if width <= 0:
            continue
        spread = (b.price - a.price) if a.kind.endswith("_put") else (a.price - b.price)
        side = "put" if a.kind.endswith("_put") else "call"
        if spread < -MARK_TOL:
            out.append((i, j, f"the {a.strike:g}/{b.strike:g} {side} spread is worth {spread:.2f},"
                              f" below zero ({side} prices must {'rise' if side == 'put' else 'fall'}"
                              f" with strike)"))
        elif spread > width + MARK_TOL:
            out.append((i, j, f"the {a.strike:g}/{b.strike:g} {side} spread is worth {spread:.2f},"
                              f" more than its width {width:g}"))
    return out


def market_to_toml(market: Market, previous: str | None = None) -> str:
    """The market as TOML. With the previous file text, its comments, overrides and marks
    stay; the levels, vols and futures are the market's."""
    import tomlkit

    doc = tomlkit.parse(previous) if previous else tomlkit.document()
    doc["as_of"] = market.as_of.astimezone(NEW_YORK).replace(tzinfo=None, microsecond=0)
    for key in ("spx", "vix", "vix3m", "vxx", "rate", "dividend_yield"):
        value = getattr(market, key)
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    for key in ("spx_vol", "vix_vol", "vxx_vol"):
        surface = getattr(market, key)
        if surface is None:
            doc.pop(key, None)
            continue
        table = doc.get(key) or tomlkit.table()
        table["atm"], table["skew"] = surface.atm, surface.skew
        if surface.overrides:
            over = tomlkit.table()
            for strike, vol in surface.overrides:
                over[f"{strike:g}"] = vol
            table["overrides"] = over
        doc[key] = table
    futures = tomlkit.table()
    for expiry, price in market.vix_futures:
        futures[expiry.isoformat()] = price
    doc["vix_futures"] = futures
    _write_tables(doc, "settlement", [{"underlying": x.underlying, "date": x.date, "style": x.style,
                                       "value": x.value} for x in market.settlements])
    _write_tables(doc, "mark", [_mark_row(m) for m in market.marks])
    for key in ("spx_smile", "vix_smile"):
        _write_tables(doc, key, [{"expiry": x.expiry, "root": x.root, "forward": x.forward,
                                  "discount": x.discount, "svi": list(x.svi)}
                                 | ({"rmse_vol": x.rmse_vol} if x.rmse_vol else {})
                                 for x in getattr(market, key + "s")])
    return tomlkit.dumps(doc)


def _mark_row(m: Mark) -> dict:
    row = {"kind": m.kind, "expiry": m.expiry, "strike": m.strike}
    if m.root:
        row["root"] = m.root
    if m.bid is not None:
        row["bid"], row["ask"] = m.bid, m.ask
    else:
        row["price"] = m.price
    return row


def _write_tables(doc, key: str, want: list[dict]) -> None:
    """An array of tables is the market's: each table that still says what the market says is
    kept as written (comments and all), the others are taken out, new entries appended."""
    import tomlkit

    aot = doc.get(key)
    if aot is not None:
        try:
            have = [{k: t[k] for k in t} for t in aot]
        except TypeError:  # reshaped by hand (`mark = 5`): rewritten
            have = None
        if have is None:
            del doc[key]
            aot = None
        else:
            left = list(want)
            for i in reversed(range(len(have))):
                j = next((j for j, w in enumerate(left) if _same([have[i]], [w])), None)
                if j is None:
                    del aot[i]
                else:
                    left.pop(j)
            want = left
            if not len(aot) and not want:
                del doc[key]
                return
    if not want:
        return
    rows = []
    for row in want:
        t = tomlkit.table()
        for k, v in row.items():
            t[k] = v
        rows.append(t)
    if aot is None:
        aot = tomlkit.aot()
        for t in rows:
            aot.append(t)
        doc.append(key, aot)
    else:
        for t in rows:
            aot.append(t)


def _same(have, want) -> bool:
    """Rows equal as values (a file's 6600 is the market's 6600.0; its price is bid/ask's mid)."""
    if have is None or len(have) != len(want):
        return False
    def plain(row):
        return {k: (float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else
                    [float(x) for x in v] if isinstance(v, list) else v) for k, v in row.items()}
    return all(plain({k: v for k, v in h.items() if not (k == "price" and "bid" in w)}) == plain(w)
               for h, w in zip(have, want))


def save_market(market: Market, path: str | Path) -> Market:
    """Write atomically (previous version kept as .bak); returns the market as re-read."""
    from core.io.atomic import atomic_write_text

    path = Path(path)
    try:
        text = market_to_toml(market, previous_text(path))
    except Exception:  # noqa: BLE001 - tomlkit raises many types on a reshaped file (`spx_vol = 5`)
        text = market_to_toml(market, None)  # written fresh; the odd file is kept as the .bak
    too_large(text, path, "market")
    reread = parse_market(text, str(path))  # never write a file we could not read back
    atomic_write_text(path, text)
    return reread
