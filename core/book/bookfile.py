"""The book file (TOML): read with checks, write back keeping the user's comments."""
from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from core.io.atomic import atomic_write_text
from core.model.inputs import (DEFAULT_LAYERS, DEFAULT_STRESS, HEDGE_KINDS, AlvhSettings, Book,
                        CapitalSettings, Closed, Condor, Hedge, HedgeLeg, LayerTemplate, ModelSettings,
                        ROOTS, Stress)
from core.io.tomlsrc import SourceMap, Table, parse_toml, previous_text, read_text, too_large, within

_POS = (lambda v: v > 0, "must be above zero")
# Ranges every number must fall in (README, "Book file"): beyond them a value is a typo.
EQUITY = within(1, 1e10, " (USD)")
QUANTITY = within(1, 1_000_000)
SPX_STRIKE = within(1, 1e6)
RATIO = dict(check=lambda v: v != 0 and abs(v) <= 100, why="must be nonzero and from -100 to 100")
# hedge legs: strikes and entry prices by underlying (VIX options and futures, VXX options)
LEG_STRIKE = {"vix": within(1, 500), "vxx": within(0.1, 1e5)}
LEG_PRICE = {"vix": dict(check=lambda v: 0 < v <= 500, why="must be above zero and at most 500"),
             "vxx": dict(check=lambda v: 0 < v <= 1e5, why="must be above zero and at most 100,000")}
PRICE = within(-1e6, 1e6)  # ledger prices, points
DAYS = within(0, 3650)
MAX_LOSS_X_EQUITY = 100  # a condor losing more than 100x the account at worst is a typo
MIN_EQUITY_FOR_SIZE = 10_000.0  # ... the account counted as at least this much (USD)
_INSTRUMENTS = ("vix_call", "vix_call_spread", "vix_call_butterfly", "vix_future", "vxx_call")
BETA = (-50.0, 0.0)  # spot-vol beta a book accepts: VIX moves against SPX


def load_book(path: str | Path, *, demo: bool = False) -> Book:
    return parse_book(read_text(path), str(path), demo=demo)


def parse_book(text: str, source: str = "<book>", *, demo: bool = False) -> Book:
    root = Table(parse_toml(text, source), (), SourceMap(text), source, "")
    account = _table(root, "account", required=True)
    equity = account.get("equity", "num", **EQUITY)
    account.finish()
    condor_tables, hedge_tables = root.tables("condor"), root.tables("hedge")
    condors = tuple(_condor(t) for t in condor_tables)
    hedges = tuple(_hedge(t) for t in hedge_tables)
    _within_account(equity, condor_tables, condors, hedge_tables, hedges)
    _unique_ids(root, condors, hedges)
    closed = tuple(_closed(t) for t in root.tables("closed"))
    stress = tuple(_stress(t) for t in root.tables("stress")) or DEFAULT_STRESS
    model = _model(_table(root, "model"))
    alvh = _alvh(_table(root, "alvh"), stress)
    capital = _capital(_table(root, "capital"))
    root.finish()
    return Book(equity=equity, condors=condors, hedges=hedges, model=model, stress=stress,
                alvh=alvh, closed=closed, source=source, demo=demo, capital=capital)


def _table(root: Table, key: str, required: bool = False) -> Table:
    root.used.add(key)
    if key not in root.data:
        if required:
            raise root.error(key, "missing table")
        return Table({}, (key,), root.src, root.file, key)
    if not isinstance(root.data[key], dict):
        raise root.error(key, "must be a table")
    return root.sub(key)


def _condor(t: Table) -> Condor:
    cid = t.get("id", "str", check=lambda v: v.strip() != "", why="must not be empty")
    expiry = t.get("expiry", "date")
    qty = t.get("quantity", "int", **QUANTITY)
    names = ("long_put", "short_put", "short_call", "long_call")
    strikes = [t.get(n, "num", **SPX_STRIKE) for n in names]
    for lo, hi, a, b in zip(strikes, strikes[1:], names, names[1:]):
        if not lo < hi:
            raise t.error(b, f"strikes must rise long_put < short_put < short_call < long_call;"
                             f" {a} {lo:g} >= {b} {hi:g}")
    credit = t.get("credit", "num", check=_POS[0], why=_POS[1])
    width = max(strikes[1] - strikes[0], strikes[3] - strikes[2])
    if credit >= width:
        raise t.error("credit", f"credit {credit:g} must be below the wing width {width:g}")
    root = t.get("root", "str", default="SPXW", check=lambda v: v in ROOTS,
                 why="must be SPXW (PM-settled, the 16:00 close) or SPX (AM-settled monthly)")
    if root == "SPX" and not is_monthly_expiry(expiry):
        raise t.error("root", f"SPX (AM) options expire on the third Friday (or the Thursday before"
                              f" a holiday Friday); {expiry} is not one: use root = \"SPXW\"")
    opened = t.get("opened", "date", default=None)
    t.finish()
    return Condor(cid, expiry, qty, *strikes, credit=credit, line=t.src.line(t.path), root=root,
                  opened=opened)


def is_monthly_expiry(d: date) -> bool:
    """The third Friday of its month, or the Thursday before it (exchange holiday)."""
    third_friday = date(d.year, d.month, 15 + (4 - date(d.year, d.month, 15).weekday()) % 7)
    return d in (third_friday, third_friday - timedelta(days=1))


def _hedge(t: Table) -> Hedge:
    hid = t.get("id", "str", check=lambda v: v.strip() != "", why="must not be empty")
    layer = t.get("layer", "int", check=lambda v: v in (1, 2, 3), why="must be 1, 2 or 3")
    qty = t.get("quantity", "int", **QUANTITY)
    legs = tuple(_leg(lt) for lt in t.tables("leg"))
    if not legs:
        raise t.error("leg", "a hedge needs at least one [[hedge.leg]]")
    opened = t.get("opened", "date", default=None)
    t.finish()
    return Hedge(hid, layer, qty, legs, line=t.src.line(t.path), opened=opened)


def _leg(t: Table) -> HedgeLeg:
    kind = t.get("kind", "str", check=lambda v: v in HEDGE_KINDS,
                 why="must be one of " + ", ".join(HEDGE_KINDS))
    expiry = t.get("expiry", "date")
    under = kind[:3]
    if kind == "vix_future":
        if "strike" in t.data:
            raise t.error("strike", "a future has no strike")
        strike = None
    else:
        strike = t.get("strike", "num", **LEG_STRIKE[under])
    ratio = t.get("ratio", "num", default=1.0, **RATIO)
    price = t.get("price", "num", **LEG_PRICE[under])
    t.finish()
    return HedgeLeg(kind, expiry, strike, ratio, price)


def _within_account(equity: float, condor_tables, condors, hedge_tables, hedges) -> None:
    """A position whose worst case (condor: wing width less credit; hedge: premium or
    futures notional) is over MAX_LOSS_X_EQUITY times the account is a mistyped quantity."""
    cap = MAX_LOSS_X_EQUITY * max(equity, MIN_EQUITY_FOR_SIZE)
    for t, c in zip(condor_tables, condors):
        loss = c.max_loss_each * c.quantity
        if loss > cap:
            raise t.error("quantity", f"{c.quantity:,} condors can lose ${loss:,.0f} at expiry,"
                                      f" over {MAX_LOSS_X_EQUITY}x the equity ${max(equity, MIN_EQUITY_FOR_SIZE):,.0f}")
    for t, h in zip(hedge_tables, hedges):
        at_risk = h.quantity * sum(abs(leg.ratio) * leg.price * (1000 if leg.kind == "vix_future" else 100)
                                   for leg in h.legs)
        if at_risk > cap:
            raise t.error("quantity", f"{h.quantity:,} units put ${at_risk:,.0f} at risk (premium or"
                                      f" futures notional), over {MAX_LOSS_X_EQUITY}x the equity"
                                      f" ${max(equity, MIN_EQUITY_FOR_SIZE):,.0f}")


def _unique_ids(root: Table, condors, hedges) -> None:
    seen: set[str] = set()
    for key, items in (("condor", condors), ("hedge", hedges)):
        for i, item in enumerate(items):
            if item.id in seen:
                raise root.sub(key, i).error("id", f"duplicate id {item.id!r}")
            seen.add(item.id)


def _closed(t: Table) -> Closed:
    c = Closed(
        id=t.get("id", "str", check=lambda v: v.strip() != "", why="must not be empty"),
        what=t.get("what", "str", check=lambda v: v in ("condor", "hedge"), why="must be condor or hedge"),
        description=t.get("description", "str", default=""),
        quantity=t.get("quantity", "int", **QUANTITY),
        open_price=t.get("open_price", "num", **PRICE),
        close_price=t.get("close_price", "num", **PRICE),
        opened=t.get("opened", "date", default=None),
        closed=t.get("closed", "date"),
        commission=t.get("commission", "num", default=0.0, **within(0, 1e9, " (USD)")),
        realized=t.get("realized", "num", **within(-1e12, 1e12, " (USD)")),
        how=t.get("how", "str", default="fill"),
        layer=t.get("layer", "int", default=None, check=lambda v: v in (1, 2, 3), why="must be 1, 2 or 3"))
    if c.opened is not None and c.opened > c.closed:
        raise t.error("opened", f"opened {c.opened} is after closed {c.closed}")
    if c.layer is not None and c.what == "condor":
        raise t.error("layer", "a condor record has no layer")
    # a condor's dollars follow from its prices; a hedge's multiplier (100 or 1000) is not kept
    if c.what == "condor" and abs((c.open_price - c.close_price) * c.quantity * 100 - c.commission - c.realized) > 0.015:
        raise t.error("realized", f"(open {c.open_price:g} - close {c.close_price:g}) x {c.quantity} x 100"
                                  f" - commission {c.commission:g} is not realized {c.realized:g}")
    t.finish()
    return c


def _stress(t: Table) -> Stress:
    s = Stress(
        name=t.get("name", "str", check=lambda v: v.strip() != "", why="must not be empty"),
        spx_move=t.get("spx_move", "num", check=lambda v: -1 < v < 1,
                       why="is a fraction (-0.10 is -10%) between -1 and 1"),
        days=t.get("days", "num", default=0.0, **DAYS),
        vix=t.get("vix", "num", default=None, **within(1, 500)))
    t.finish()
    return s


def _model(t: Table) -> ModelSettings:
    d = ModelSettings()
    beta = t.get("beta", "num", default=None, check=lambda v: BETA[0] <= v <= BETA[1],
                 why="spot-vol beta must be zero or negative, down to -50 (VIX moves against SPX)")
    m = ModelSettings(
        beta=d.beta if beta is None else beta,
        kappa=t.get("kappa", "num", default=d.kappa, **within(0, 100, " per year")),
        vxx_exponent=t.get("vxx_exponent", "num", default=d.vxx_exponent, **within(0.01, 5)),
        beta_source=t.get("beta_source", "str", default="book" if beta is not None else d.beta_source))
    t.finish()
    return m


def _alvh(t: Table, stress: tuple[Stress, ...]) -> AlvhSettings:
    d = AlvhSettings()
    weights = tuple(t.get("weights", "list", default=list(d.weights)))
    if len(weights) != 2 or not all(isinstance(w, (int, float)) and not isinstance(w, bool)
                                    and 0 <= w <= 1 for w in weights) \
            or abs(sum(weights) - 1) > 1e-9:
        raise t.error("weights", f"must be two shares [L1, L3] that sum to 1, got {list(weights)}")
    ref = t.get("reference_stress", "str", default=d.reference_stress)
    if ref not in {s.name for s in stress}:
        raise t.error("reference_stress", f"names no [[stress]]: {ref!r}")
    layers = dict(DEFAULT_LAYERS)
    names = {s.name for s in stress}
    falls = {s.name for s in stress if s.spx_move < 0}
    for key in list(t.data):
        if key.startswith("layer"):
            n = key[5:]
            if n not in ("1", "2", "3"):
                raise t.error(key, "unknown layer: use layer1, layer2 or layer3")
            layers[int(n)] = _layer(t, key, layers[int(n)], names, falls)
    for k, lt in layers.items():  # a default layer stress a book's own [[stress]] set leaves out
        if lt.stress not in names:
            layers[k] = replace(lt, stress=ref)
    a = AlvhSettings(
        base_ratio=t.get("base_ratio", "num", default=d.base_ratio, **within(0, 10)),
        l2_budget_pct=t.get("l2_budget_pct", "num", default=d.l2_budget_pct, **within(0, 100, " (%)")),
        weights=(float(weights[0]), float(weights[1])),
        drag_budget_pct=t.get("drag_budget_pct", "num", default=d.drag_budget_pct,
                              check=lambda v: 0 < v <= 100, why="must be above zero and at most 100 (%)"),
        premium_cap_pct=t.get("premium_cap_pct", "num", default=d.premium_cap_pct,
                              check=lambda v: 0 < v <= 100, why="must be above zero and at most 100 (%)"),
        reference_stress=ref,
        ppi_hot=t.get("ppi_hot", "bool", default=d.ppi_hot),
        usd_strong=t.get("usd_strong", "bool", default=d.usd_strong),
        macro_strength=t.get("macro_strength", "num", default=d.macro_strength,
                             check=lambda v: 1.15 <= v <= 1.25, why="must be from 1.15 to 1.25"),
        event_days=t.get("event_days", "num", default=d.event_days,
                         check=lambda v: 0 < v <= 365, why="must be above zero and at most 365"),
        layers=layers)
    t.finish()
    return a


def _layer(parent: Table, key: str, d: LayerTemplate, stresses: set[str], falls: set[str]) -> LayerTemplate:
    parent.used.add(key)
    t = parent.sub(key)
    named = t.get("stress", "str", default=None)
    if named is not None and named not in stresses:
        raise t.error("stress", f"names no [[stress]]: {named!r}")
    if named is not None and named not in falls:
        raise t.error("stress", f"{named!r} is not a fall: ALVH layers hedge falls in SPX")
    lt = LayerTemplate(
        stress=named or d.stress,
        instrument=t.get("instrument", "str", default=d.instrument, check=lambda v: v in _INSTRUMENTS,
                         why="must be one of " + ", ".join(_INSTRUMENTS)),
        min_days=t.get("min_days", "num", default=d.min_days, **DAYS),
        max_days=t.get("max_days", "num", default=d.max_days,
                       check=lambda v: 0 < v <= 3650, why="must be above zero and at most 3,650"),
        strike_mult=t.get("strike_mult", "num", default=d.strike_mult, **within(0.5, 5)),
        width=t.get("width", "num", default=d.width, **within(0.5, 100, " VIX points")),
        roll_below_days=t.get("roll_below_days", "num", default=d.roll_below_days, **DAYS))
    if lt.max_days is not None and lt.max_days < lt.min_days:
        raise t.error("max_days", f"must be at least min_days {lt.min_days:g}")
    t.finish()
    return lt


PCT = within(0, 100, " (%)")
WEIGHTS = ("margin", "box", "collateral", "equity")


def _capital(t: Table) -> CapitalSettings:
    """[capital]: the capital calculator's inputs (README, "Capital"); absent keys take the defaults."""
    d = CapitalSettings()
    box_rate = t.get("box_rate_pct", "num", default=None, **PCT)
    box = None
    if any(k in t.data for k in ("box_width", "box_price", "box_days")):
        if box_rate is not None:
            raise t.error("box_rate_pct", "give box_rate_pct or a box (box_width, box_price, box_days), not both")
        width = t.get("box_width", "num", **within(0.01, 1e6, " points"))
        price = t.get("box_price", "num", check=lambda v: 0 < v < width,
                      why=f"must be above zero and below the box width {width:g} (a positive rate)")
        box = (width, price, t.get("box_days", "num", check=lambda v: 0 < v <= 3650,
                                   why="must be above zero and at most 3,650"))
        rate = math.log(width / price) * 365.0 / box[2]  # core.capital.finance.box_rate; 5e-324 days: inf
        if not rate <= 1.0:  # the range box_rate_pct takes when entered
            raise t.error("box_price", f"the box lends at ln({width:g} / {price:g}) / ({box[2]:g} / 365)"
                                       f" = {100 * rate:,.4g}% a year, over 100%: check its price and days")
    c = CapitalSettings(
        rf_pct=t.get("rf_pct", "num", default=d.rf_pct, **PCT),
        mrp_pct=t.get("mrp_pct", "num", default=d.mrp_pct, **within(0, 30, " (%)")),
        margin_rate_pct=t.get("margin_rate_pct", "num", default=d.margin_rate_pct, **PCT),
        tax_pct=t.get("tax_pct", "num", default=d.tax_pct, **PCT),
        box_rate_pct=box_rate, box=box,
        collateral_yield_pct=t.get("collateral_yield_pct", "num", default=d.collateral_yield_pct, **PCT),
        weights=_weights(t, d.weights),
        beta_band=_pair(t, "beta_band", d.beta_band, -10, 10),
        vol_window_days=t.get("vol_window_days", "int", default=d.vol_window_days, **within(20, 2520, " days")),
        futures_margin=t.get("futures_margin", "num", default=d.futures_margin, **within(0, 1e6, " (USD)")),
        expirations=_pair(t, "expirations", d.expirations, 1, 100, whole=True),
        notional_pct=_pair(t, "notional_pct", d.notional_pct, 0, 100),
        wacc_trigger_pct=t.get("wacc_trigger_pct", "num", default=d.wacc_trigger_pct, **PCT),
        spread_bp=_pair(t, "spread_bp", d.spread_bp, -10_000, 10_000),
        pm_range_pct=_pair(t, "pm_range_pct", d.pm_range_pct, -50, 50))
    if not c.pm_range_pct[0] < 0 < c.pm_range_pct[1]:
        raise t.error("pm_range_pct", f"must run from a fall to a rise, like [-8, 6], got {list(c.pm_range_pct)}")
    t.finish()
    return c


def _weights(t: Table, default) -> tuple[float, float, float, float]:
    """weights = { margin = .., box = .., collateral = .., equity = .. }: each 0 to 1, sum 1."""
    given = t.get("weights", "table", default=None)
    if given is None:
        return default
    for k, v in given.items():
        if k not in WEIGHTS:
            raise t.error("weights", f"unknown weight {k!r}: use " + ", ".join(WEIGHTS))
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
            raise t.error("weights", f"{k} must be a share from 0 to 1, got {v!r}")
    w = tuple(float(given.get(k, 0.0)) for k in WEIGHTS)
    if abs(sum(w) - 1) > 1e-9:
        raise t.error("weights", f"must sum to 1, got {sum(w):.6g} ("
                      + ", ".join(f"{k} {v:g}" for k, v in zip(WEIGHTS, w)) + ")")
    return w


def _pair(t: Table, key: str, default, lo: float, hi: float, whole: bool = False):
    """[low, high]: two numbers from lo to hi, the first at most the second."""
    v = t.get(key, "list", default=None)
    if v is None:
        return default
    kinds = (int,) if whole else (int, float)
    if len(v) != 2 or not all(isinstance(x, kinds) and not isinstance(x, bool) and lo <= x <= hi for x in v) \
            or v[0] > v[1]:
        what = "whole numbers" if whole else "numbers"
        raise t.error(key, f"must be [low, high], two {what} from {lo:g} to {hi:g}, low <= high, got {v!r}")
    return (int(v[0]), int(v[1])) if whole else (float(v[0]), float(v[1]))


# ---- writing -------------------------------------------------------------

def book_to_toml(book: Book, previous: str | None = None) -> str:
    """The book as TOML. With the previous file text, everything the app does not own
    (comments, layout, settings) is kept, and unchanged positions stay byte for byte."""
    import tomlkit

    doc = tomlkit.parse(previous) if previous else tomlkit.document()
    if "account" not in doc:
        doc["account"] = tomlkit.table()
    doc["account"]["equity"] = book.equity
    if not previous:
        _write_settings(doc, book)
    _sync(doc, "condor", book.condors, _condor_table)
    _sync(doc, "hedge", book.hedges, _hedge_table)
    _sync_closed(doc, book.closed)
    return tomlkit.dumps(doc)


def _sync_closed(doc, closed) -> None:
    """The file's ledger records that match the book's, in order, stay as written; from
    the first that differs (an undone close, a record deleted by hand) it is rewritten."""
    import tomlkit

    aot = doc.get("closed")
    old = list(aot) if isinstance(aot, list) else []
    keep = 0
    while keep < min(len(old), len(closed)) and \
            old[keep].unwrap() == _closed_table(closed[keep]).unwrap():  # 5 == 5.0: layout aside
        keep += 1
    if keep == len(old) == len(closed):
        return
    if aot is not None:
        del doc["closed"]
    if not closed:
        return
    aot = tomlkit.aot()
    for i, c in enumerate(closed):
        t = old[i] if i < keep else _closed_table(c)
        if i >= keep:
            t.add(tomlkit.nl())
        aot.append(t)
    doc.append("closed", aot)


def _closed_table(c: Closed):
    import tomlkit
    t = tomlkit.table()
    for k in ("id", "what", "description", "quantity", "open_price", "close_price", "opened",
              "closed", "commission", "realized", "how", "layer"):
        v = getattr(c, k)
        if v is not None:
            t[k] = v
    return t


def _says_same(written: dict, fresh: dict, item) -> bool:
    """The file's table says what the book holds: the same values, where the file may also
    spell out a default the writer leaves out (root = "SPXW")."""
    extra = {k: v for k, v in written.items() if k not in fresh}
    return {k: v for k, v in written.items() if k in fresh} == fresh and \
        all(getattr(item, k, object()) == v for k, v in extra.items())


def _sync(doc, key: str, items, to_table) -> None:
    """Edit the [[key]] array in place: re-appending it would add blank lines each save."""
    import tomlkit

    fresh = [to_table(x) for x in items]
    if key not in doc:
        if fresh:
            aot = tomlkit.aot()
            for t in fresh:
                aot.append(t)
            doc.append(key, aot)
        return
    if not fresh:
        del doc[key]
        return
    aot = doc[key]
    old = {t.get("id"): t for t in aot}
    keep = []
    for x, t in zip(items, fresh):
        if x.id in old and _says_same(old[x.id].unwrap(), t.unwrap(), x):
            t = old[x.id]
        else:
            t.add(tomlkit.nl())  # the blank line the kept tables already end with
        keep.append(t)
    while len(aot):
        del aot[0]
    for t in keep:
        aot.append(t)


def _write_settings(doc, book: Book) -> None:
    """Settings that differ from the defaults, for a book written without a previous file."""
    import tomlkit

    if book.model != ModelSettings():
        m = tomlkit.table()
        m["beta"], m["kappa"], m["vxx_exponent"] = book.model.beta, book.model.kappa, book.model.vxx_exponent
        m["beta_source"] = book.model.beta_source
        doc["model"] = m
    if book.stress != DEFAULT_STRESS:
        aot = tomlkit.aot()
        for x in book.stress:
            t = tomlkit.table()
            t["name"], t["spx_move"], t["days"] = x.name, x.spx_move, x.days
            if x.vix is not None:
                t["vix"] = x.vix
            aot.append(t)
        doc.append("stress", aot)
    d, a = AlvhSettings(), book.alvh
    if a != d:
        t = tomlkit.table()
        for name in ("base_ratio", "l2_budget_pct", "drag_budget_pct", "premium_cap_pct", "reference_stress", "ppi_hot",
                     "usd_strong", "macro_strength", "event_days"):
            if getattr(a, name) != getattr(d, name):
                t[name] = getattr(a, name)
        if a.weights != d.weights:
            t["weights"] = list(a.weights)
        for k, layer in a.layers.items():
            if layer != d.layers[k]:
                lt = tomlkit.table()
                for name, value in vars(layer).items():
                    if value is not None:
                        lt[name] = value
                t[f"layer{k}"] = lt
        doc["alvh"] = t
    if book.capital != CapitalSettings():
        doc["capital"] = _capital_table(book.capital)


def _capital_table(c: CapitalSettings):
    """[capital] with the settings that differ from the defaults."""
    import tomlkit
    d, t = CapitalSettings(), tomlkit.table()
    for name, value in vars(c).items():
        if value == getattr(d, name):
            continue
        if name == "box":
            t["box_width"], t["box_price"], t["box_days"] = value
        elif name == "weights":
            w = tomlkit.inline_table()
            w.update(dict(zip(WEIGHTS, value)))
            t["weights"] = w
        else:
            t[name] = list(value) if isinstance(value, tuple) else value
    return t


def _condor_table(c: Condor):
    import tomlkit
    t = tomlkit.table()
    for k in ("id", "expiry", "quantity", "long_put", "short_put", "short_call", "long_call"):
        t[k] = _plain(getattr(c, k))
    t["credit"] = c.credit
    if c.root != "SPXW":
        t["root"] = c.root
    if c.opened is not None:
        t["opened"] = c.opened
    return t


def _hedge_table(h: Hedge):
    import tomlkit
    t = tomlkit.table()
    t["id"], t["layer"], t["quantity"] = h.id, h.layer, h.quantity
    if h.opened is not None:
        t["opened"] = h.opened
    legs = tomlkit.aot()
    for leg in h.legs:
        lt = tomlkit.table()
        lt["kind"], lt["expiry"] = leg.kind, leg.expiry
        if leg.strike is not None:
            lt["strike"] = _plain(leg.strike)
        lt["ratio"], lt["price"] = _plain(leg.ratio), leg.price
        legs.append(lt)
    t["leg"] = legs
    return t


def _plain(v):
    """Whole strikes and ratios are written as people write them: 5400, not 5400.0."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


def save_book(book: Book, path: str | Path) -> Book:
    """Write atomically (previous version kept as .bak); returns the book as re-read."""
    path = Path(path)
    previous = previous_text(path)
    try:
        text = book_to_toml(book, previous)
    except Exception:  # noqa: BLE001 - tomlkit raises many types on a reshaped file (`condor = 5`)
        text = book_to_toml(book, None)  # written fresh; the odd file is kept as the .bak
    too_large(text, path, "book")
    reread = parse_book(text, str(path), demo=False)  # never write a file we could not read back
    atomic_write_text(path, text)
    return replace(reread, source=str(path))

