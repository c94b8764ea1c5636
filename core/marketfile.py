"""The market file (TOML): levels, rates, vol surfaces, VIX futures and option marks."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from core.model import MARK_KINDS, SETTLE_UNDERLYINGS, Mark, Market, Settlement, VolSurface
from core.tomlsrc import SourceMap, Table, parse_toml, read_text

NEW_YORK = ZoneInfo("America/New_York")
_POS = (lambda v: v > 0, "must be above zero")
_RATE = (lambda v: -0.2 < v < 0.5, "is a continuous annual rate as a fraction (0.04 is 4%)")


def load_market(path: str | Path, *, demo: bool = False) -> Market:
    return parse_market(read_text(path), str(path), demo=demo)


def parse_market(text: str, source: str = "<market>", *, demo: bool = False) -> Market:
    root = Table(parse_toml(text, source), (), SourceMap(text), source, "")
    as_of = root.get("as_of", "datetime")
    as_of = as_of.replace(tzinfo=NEW_YORK) if as_of.tzinfo is None else as_of.astimezone(NEW_YORK)
    vix = root.get("vix", "num", check=_POS[0], why=_POS[1])
    market = Market(
        as_of=as_of,
        spx=root.get("spx", "num", check=_POS[0], why=_POS[1]),
        vix=vix,
        vix3m=root.get("vix3m", "num", default=None, check=_POS[0], why=_POS[1]),
        vxx=root.get("vxx", "num", default=None, check=_POS[0], why=_POS[1]),
        rate=root.get("rate", "num", default=0.0, check=_RATE[0], why=_RATE[1]),
        dividend_yield=root.get("dividend_yield", "num", default=0.0, check=_RATE[0], why=_RATE[1]),
        spx_vol=_surface(root, "spx_vol", default_atm=vix / 100),
        vix_futures=_futures(root, as_of.date()),
        vix_vol=_surface(root, "vix_vol"),
        vxx_vol=_surface(root, "vxx_vol"),
        marks=tuple(_mark(t) for t in root.tables("mark")),
        settlements=_settlements(root),
        source=source,
        demo=demo,
    )
    root.finish()
    return market


def _surface(root: Table, key: str, default_atm: float | None = None) -> VolSurface | None:
    root.used.add(key)
    if key not in root.data:
        return VolSurface(default_atm) if default_atm is not None else None
    t = root.sub(key)
    vol = (lambda v: 0 < v < 10, "is an annual vol as a fraction (0.16 is 16%) and must be above zero")
    atm = t.get("atm", "num", **({"default": default_atm} if default_atm is not None else {}),
                check=vol[0], why=vol[1])
    skew = t.get("skew", "num", default=0.0)
    overrides = []
    if "overrides" in t.data:
        t.used.add("overrides")
        o = t.sub("overrides")
        for k in o.data:
            try:
                strike = float(k)
            except ValueError:
                raise o.error(k, "override keys are strikes, like \"5400\" = 0.24") from None
            overrides.append((strike, o.get(k, "num", check=vol[0], why=vol[1])))
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
        # a future that has settled stays listed harmlessly: the engine notes and skips it
        out.append((expiry, t.get(k, "num", check=_POS[0], why=_POS[1])))
    return tuple(sorted(out))


def _settlements(root: Table) -> tuple[Settlement, ...]:
    out: dict[tuple, Settlement] = {}
    for t in root.tables("settlement"):
        s = Settlement(
            underlying=t.get("underlying", "str", check=lambda v: v in SETTLE_UNDERLYINGS,
                             why="must be one of " + ", ".join(SETTLE_UNDERLYINGS)),
            date=t.get("date", "date"),
            style=t.get("style", "str", check=lambda v: v in ("AM", "PM"),
                        why="must be PM (the close) or AM (the opening quotation)"),
            value=t.get("value", "num", check=_POS[0], why=_POS[1]))
        if s.underlying == "VIX" and s.style != "AM":
            raise t.error("style", "VIX settles AM, on the special opening quotation")
        key = (s.underlying, s.date, s.style)
        if key in out and out[key].value != s.value:
            raise t.error("value", f"{s.underlying} {s.style} {s.date} given twice with different values")
        out[key] = s
        t.finish()
    return tuple(out.values())


def _mark(t: Table) -> Mark:
    m = Mark(
        kind=t.get("kind", "str", check=lambda v: v in MARK_KINDS, why="must be one of " + ", ".join(MARK_KINDS)),
        expiry=t.get("expiry", "date"),
        strike=t.get("strike", "num", check=_POS[0], why=_POS[1]),
        price=t.get("price", "num", check=_POS[0], why=_POS[1]))
    t.finish()
    return m


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
    _write_settlements(doc, market)
    if not previous and market.marks:
        marks = tomlkit.aot()
        for m in market.marks:
            t = tomlkit.table()
            t["kind"], t["expiry"], t["strike"], t["price"] = m.kind, m.expiry, m.strike, m.price
            marks.append(t)
        doc["mark"] = marks
    return tomlkit.dumps(doc)


def _write_settlements(doc, market: Market) -> None:
    """Settlements already in the file stay as written; new ones are appended."""
    import tomlkit

    aot = doc.get("settlement")
    have = {(t["underlying"], t["date"], t["style"]) for t in aot} if aot is not None else set()
    new = [s for s in market.settlements if (s.underlying, s.date, s.style) not in have]
    if not new:
        return
    if aot is None:
        aot = tomlkit.aot()
        doc.append("settlement", aot)
    for s in new:
        t = tomlkit.table()
        t["underlying"], t["date"], t["style"], t["value"] = s.underlying, s.date, s.style, s.value
        aot.append(t)


def save_market(market: Market, path: str | Path) -> Market:
    """Write atomically (previous version kept as .bak); returns the market as re-read."""
    from core.atomic import atomic_write_text

    path = Path(path)
    previous = path.read_text(encoding="utf-8") if path.exists() else None
    text = market_to_toml(market, previous)
    reread = parse_market(text, str(path))  # never write a file we could not read back
    atomic_write_text(path, text)
    return reread
