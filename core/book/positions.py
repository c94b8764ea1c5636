"""A broker's position file (a CSV naming each option by its OCC symbol) read into legs,
and the legs grouped into the book's iron condors and ALVH hedges (`alvh positions import`).

Pure: the file's text, the book and the time are handed in and a plan comes back; the
command line writes it. The rules are the README's ("Importing broker positions").
"""
from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Callable

from core.book.bookfile import book_to_toml, parse_book
from core.book.lifecycle import describe_condor, describe_legs
from core.model.errors import InputError
from core.model.instruments import MULT, NEW_YORK, SPX, VIX_FUT, VIX_OPT, VXX_OPT, settle_time
from core.model.inputs import Book, Condor, Hedge, HedgeLeg

MAX_BYTES = 8 << 20  # a broker's export of a few hundred lines is ~50 kB
SPX_ROOTS, VIX_ROOTS, VXX_ROOTS = ("SPX", "SPXW"), ("VIX", "VIXW"), ("VXX",)
SYMBOL_COLS = ("Symbol",)
QTY_COLS = ("Qty", "Quantity", "Position")
# entry prices before "Price", which several brokers use for the current mark
PRICE_COLS = ("Trade Price", "Avg Price", "Cost Basis", "Price")
TOTAL_COST_COL = "costbasis"  # the one read as the line's total cost in $, not points per contract

# padded (root to 6 characters) or compact OCC: root, YYMMDD, C/P, strike x 1000 in 8 digits
_OCC = re.compile(r"([A-Z]{1,6}) *([0-9]{6})([CP])([0-9]{8})")
_DOTTED = re.compile(r"\.([A-Z]{1,6})([0-9]{6})([CP])([0-9]+(?:\.[0-9]+)?)")  # .SPXW261218P6450
_FUTURE = re.compile(r"/?VX/?([FGHJKMNQUVXZ])([0-9]{2})")  # /VXZ26, VX/Z26, VXZ26: month code, year
_MONTH_CODES = "FGHJKMNQUVXZ"
_QTY = re.compile(r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.0*)?")
_MONEY = re.compile(r"[+-]?\$?[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)?(?:\.[0-9]+)?")

FutureExpiry = Callable[[int, int], date]  # (year, month) -> the VX future's settlement day


@dataclass(frozen=True)
class Leg:
    """One contract as its symbol names it."""
    root: str  # SPX, SPXW, VIX, VIXW, VXX, VX (the future), or a root not booked
    expiry: date
    right: str  # "C", "P", or "F" for a future
    strike: float | None  # None for a future


@dataclass(frozen=True)
class Row:
    """A contract held: the file's lines of one symbol, lots summed."""
    lines: tuple[int, ...]
    symbol: str  # as the file writes it
    leg: Leg
    quantity: int  # signed contracts: below zero is short
    price: float  # points per contract, unsigned


@dataclass(frozen=True)
class Leftover:
    lines: tuple[int, ...]
    what: str
    reason: str


@dataclass(frozen=True)
class Columns:
    """Header names given by flags (None: the usual names); matched ignoring case and spaces."""
    symbol: str | None = None
    qty: str | None = None
    price: str | None = None


@dataclass(frozen=True)
class Plan:
    book: Book  # the book with the new positions appended
    condors: tuple[Condor, ...]  # the new ones
    hedges: tuple[Hedge, ...]
    why: dict[str, str]  # new id -> how it was recognised (a hedge's structure and layer)
    existing: tuple[tuple[str, int, int], ...]  # (book id, quantity in the book, in the file)
    leftovers: tuple[Leftover, ...]


def parse_symbol(text: str, future_expiry: FutureExpiry | None = None) -> Leg | None:
    """The leg an OCC symbol (padded, compact or dotted) or a VX future names; None when the
    text is no such symbol (a stock, a cash line); ValueError when it is one that cannot be."""
    s = text.strip().upper()
    m = _OCC.fullmatch(s) or _DOTTED.fullmatch(s)
    if m:
        root, ymd, right, k = m.groups()
        try:
            expiry = date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]))
        except ValueError:
            raise ValueError(f"{text.strip()!r}: {ymd} is no YYMMDD expiry date") from None
        strike = int(k) / 1000 if m.re is _OCC else float(k)
        if not 0 < strike < math.inf:
            raise ValueError(f"{text.strip()!r}: a strike must be a number above zero")
        return Leg(root, expiry, right, strike)
    m = _FUTURE.fullmatch(s)
    if m and future_expiry is not None:
        return Leg("VX", future_expiry(2000 + int(m[2]), _MONTH_CODES.index(m[1]) + 1), "F", None)
    return None


def read_positions(path, columns: Columns = Columns(), future_expiry: FutureExpiry | None = None
                   ) -> tuple[list[Row], list[Leftover]]:
    """parse_positions of a file: a regular file of UTF-8 text, up to MAX_BYTES."""
    from core.io.tomlsrc import read_capped
    file = str(path)
    text = read_capped(path, "position", MAX_BYTES)
    return parse_positions(text, file, columns, future_expiry)


def _norm(name: str) -> str:
    return "".join(name.split()).lower()


def _find(header: list[str], given: str | None, usual: tuple[str, ...], flag: str, file: str, line: int) -> int:
    names = [_norm(given)] if given else [_norm(n) for n in usual]
    for n in names:
        if n in header:
            return header.index(n)
    wanted = repr(given) if given else " or ".join(filter(None, (", ".join(usual[:-1]), usual[-1])))
    raise InputError(f"no {wanted} column ({flag} names another)", file=file, line=line, field="header")


def parse_positions(text: str, file: str = "<positions>", columns: Columns = Columns(),
                    future_expiry: FutureExpiry | None = None) -> tuple[list[Row], list[Leftover]]:
    """The file's contracts, and the lines that name none. Lines before the header (the
    first with a symbol column: a broker's title lines) are skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)  # a broken quote is refused, not guessed at
    try:
        for raw in reader:
            header = [_norm(c) for c in raw]
            if _norm(columns.symbol or SYMBOL_COLS[0]) in header:
                break
        else:
            raise InputError(f"no header line with a {columns.symbol or SYMBOL_COLS[0]!r} column"
                             " (--symbol-col names another)", file=file, line=1, field="header")
        at = reader.line_num
        cols = [_find(header, columns.symbol, SYMBOL_COLS, "--symbol-col", file, at),
                _find(header, columns.qty, QTY_COLS, "--qty-col", file, at),
                _find(header, columns.price, PRICE_COLS, "--price-col", file, at)]
        names = [raw[i].strip() for i in cols]
        total_cost = header[cols[2]] == TOTAL_COST_COL
        held: dict[Leg, Row] = {}
        leftovers: list[Leftover] = []
        for cells in reader:
            line = reader.line_num
            if any(c.strip() for c in cells[len(header):]):
                raise InputError(f"{len(cells)} fields, the header has {len(header)}", file=file, line=line)
            symbol, qty, price = (cells[i].strip() if i < len(cells) else "" for i in cols)
            if not any(c.strip() for c in cells):
                continue
            try:
                leg = parse_symbol(symbol, future_expiry)
            except ValueError as exc:
                raise InputError(str(exc), file=file, line=line, field=names[0]) from None
            if leg is None:
                leftovers.append(Leftover((line,), symbol or "(no symbol)", "not an option or VX future symbol"))
                continue
            n = _quantity(qty, file, line, names[1])
            if n == 0:
                leftovers.append(Leftover((line,), symbol, "quantity 0: nothing held"))
                continue
            p = _money(price, file, line, names[2])
            if total_cost:
                p /= abs(n) * MULT[VIX_FUT if leg.right == "F" else SPX]
            row = Row((line,), symbol, leg, n, p)
            if leg in held:
                row = _add_lot(held[leg], row, file, names[1])
            held[leg] = row
    except csv.Error as exc:
        raise InputError(f"bad CSV: {exc}", file=file, line=max(reader.line_num, 1)) from None
    return list(held.values()), leftovers


def _quantity(text: str, file: str, line: int, name: str) -> int:
    neg = text.startswith("(") and text.endswith(")")  # accounting style: (3) is -3
    body = text[1:-1].strip() if neg else text
    if not _QTY.fullmatch(body) or (neg and body[:1] in "+-"):  # (-3): which sign was meant?
        raise InputError(f"a quantity is a signed whole number of contracts, not {text[:20]!r}",
                         file=file, line=line, field=name)
    n = int(body.split(".")[0].replace(",", ""))
    if abs(n) > 1_000_000:
        raise InputError(f"{n:,} contracts is more than the book holds (1,000,000 at most)",
                         file=file, line=line, field=name)
    return -n if neg else n


def _money(text: str, file: str, line: int, name: str) -> float:
    body = text[1:-1].strip() if text.startswith("(") and text.endswith(")") else text
    if not (_MONEY.fullmatch(body) and any(c.isdigit() for c in body)):
        raise InputError(f"a price is a number like 12.35 or $1,235.00, not {text[:20]!r}",
                         file=file, line=line, field=name)
    x = float(body.replace("$", "").replace(",", "").lstrip("+-"))  # the sign is the quantity's to give
    if not math.isfinite(x):
        raise InputError(f"a price must be finite, not {text[:20]!r}", file=file, line=line, field=name)
    return x


def _add_lot(a: Row, b: Row, file: str, name: str) -> Row:
    """Two lines of one contract are lots of one position: summed, the price their average."""
    if (a.quantity > 0) != (b.quantity > 0):
        raise InputError(f"{b.symbol} is held long and short (line {a.lines[0]}): a position file"
                         " gives each contract's net", file=file, line=b.lines[-1], field=name)
    n = a.quantity + b.quantity
    return Row(a.lines + b.lines, a.symbol, a.leg, n, (a.price * a.quantity + b.price * b.quantity) / n)


# ---- grouping ------------------------------------------------------------------

@dataclass
class _Open:
    """A row's contracts not yet given to a position."""
    row: Row
    left: int = field(init=False)

    def __post_init__(self):
        self.left = abs(self.row.quantity)

    @property
    def strike(self) -> float:
        return self.row.leg.strike


def _settles_at(leg: Leg) -> float:
    if leg.root in SPX_ROOTS:
        return settle_time(leg.expiry, SPX, am=leg.root == "SPX")
    return settle_time(leg.expiry, VXX_OPT if leg.root in VXX_ROOTS else VIX_OPT)


def _spreads(shorts: list[_Open], longs: list[_Open], sign: int) -> list[tuple[_Open, _Open, int]]:
    """Vertical spreads (short, long, n): each short, from the highest put (the lowest call)
    outward, takes the nearest free longs beyond it, so the wings are the narrowest. sign
    +1 for puts (wings below), -1 for calls (above). One pass: a long passed over is not
    beyond any short still to come."""
    out = []
    longs = sorted(longs, key=lambda o: -sign * o.strike)
    j = 0
    for s in sorted(shorts, key=lambda o: -sign * o.strike):
        while s.left and j < len(longs):
            w = longs[j]
            if sign * w.strike >= sign * s.strike:
                j += 1
                continue
            n = min(s.left, w.left)
            s.left, w.left = s.left - n, w.left - n
            out.append((s, w, n))
            j += not w.left
    return sorted(out, key=lambda x: (x[0].strike, x[1].strike))


def _group_condors(rows: list[Row], leftovers: list[Leftover]) -> list[tuple[Condor, tuple[int, ...]]]:
    """One root and expiry at a time: put spreads and call spreads, then the i-th put spread
    contract with the i-th call spread contract, both in strike order (lowest first)."""
    out = []
    groups: dict[tuple[str, date], list[_Open]] = {}
    for r in rows:
        groups.setdefault((r.leg.root, r.leg.expiry), []).append(_Open(r))
    for (root, expiry), items in sorted(groups.items()):
        side = {(right, short): [o for o in items if o.row.leg.right == right and (o.row.quantity < 0) == short]
                for right in "PC" for short in (True, False)}
        puts = _spreads(side["P", True], side["P", False], +1)
        calls = _spreads(side["C", True], side["C", False], -1)
        i = j = 0
        pn, cn = (puts[0][2] if puts else 0), (calls[0][2] if calls else 0)
        while i < len(puts) and j < len(calls):
            (sp, lp, _), (sc, lc, _) = puts[i], calls[j]
            n = min(pn, cn)
            credit = sp.row.price + sc.row.price - lp.row.price - lc.row.price  # the book checks strikes
            out.append((Condor("", expiry, n, lp.strike, sp.strike, sc.strike, lc.strike,
                               credit=round(credit, 6), root=root), _lines(sp, lp, sc, lc)))
            pn, cn = pn - n, cn - n
            if not pn:
                i += 1
                pn = puts[i][2] if i < len(puts) else 0
            if not cn:
                j += 1
                cn = calls[j][2] if j < len(calls) else 0
        n_puts, n_calls = sum(x[2] for x in puts), sum(x[2] for x in calls)
        for spreads, k, first, what in ((puts, i, pn, "put"), (calls, j, cn, "call")):
            for m, (s, w, n) in enumerate(spreads[k:]):
                lo, hi = sorted((s.strike, w.strike))
                leftovers.append(Leftover(_lines(s, w), f"{root} {expiry} {what} spread {lo:g}/{hi:g}"
                                          f" x{first if m == 0 else n}", f"unequal quantities: {n_puts} put"
                                          f" spreads against {n_calls} call spreads at this expiry"))
        for o in items:
            if o.left:
                put = o.row.leg.right == "P"
                if o.row.quantity < 0:
                    reason = f"missing wing: no unpaired long {'put below' if put else 'call above'} it"
                else:
                    reason = f"stray leg: no unpaired short {'put above' if put else 'call below'} it"
                leftovers.append(Leftover(o.row.lines, _held(o.row, o.left), reason))
    return out


def _lines(*opens: _Open) -> tuple[int, ...]:
    return tuple(sorted({n for o in opens for n in o.row.lines}))


def _held(row: Row, n: int) -> str:
    return f"{row.symbol} x{n if row.quantity > 0 else -n:+d}"


_KIND = {("VIX", "C"): "vix_call", ("VIX", "P"): "vix_put", ("VXX", "C"): "vxx_call",
         ("VXX", "P"): "vxx_put", ("VX", "F"): "vix_future"}


def _group_hedges(rows: list[Row], leftovers: list[Leftover]) -> list[tuple[Hedge, str, tuple[int, ...]]]:
    """(hedge, structure, lines) per underlying, expiry and right: a single leg, a vertical spread
    (+q/-q), a butterfly (+q/-2q/+q, even wings); legs all long are singles; a future is
    always its own hedge."""
    out = []
    groups: dict[tuple, list[Row]] = {}
    for r in rows:
        under = "VIX" if r.leg.root in VIX_ROOTS else r.leg.root
        if r.leg.right == "F":
            out.append(_hedge([r], "future"))
            continue
        groups.setdefault((under, r.leg.expiry, r.leg.right), []).append(r)
    for key, legs in sorted(groups.items()):
        legs.sort(key=lambda r: r.leg.strike)
        q = [r.quantity for r in legs]
        name = {"C": "call", "P": "put"}[key[2]]
        if len(legs) == 1:
            out.append(_hedge(legs, f"single {name}"))
        elif len(legs) == 2 and q[0] == -q[1]:
            out.append(_hedge(legs, f"{name} spread"))
        elif len(legs) == 3 and q[0] == q[2] == -q[1] / 2 and \
                legs[1].leg.strike - legs[0].leg.strike == legs[2].leg.strike - legs[1].leg.strike:
            out.append(_hedge(legs, f"{name} butterfly"))
        elif all(n > 0 for n in q):
            out.extend(_hedge([r], f"single {name}") for r in legs)
        else:
            why = ("unequal quantities" if len(legs) == 2 and q[0] * q[1] < 0 else
                   "not a single leg, spread or butterfly")
            leftovers.append(Leftover(tuple(sorted(n for r in legs for n in r.lines)),
                                      ", ".join(_held(r, abs(r.quantity)) for r in legs),
                                      f"{why} ({key[0]} {key[1]} {name}s)"))
    return out


def _hedge(legs: list[Row], structure: str) -> tuple[Hedge, str, tuple[int, ...]]:
    unit = min(abs(r.quantity) for r in legs)
    under = "VIX" if legs[0].leg.root in VIX_ROOTS else legs[0].leg.root
    return Hedge("", 0, unit, tuple(HedgeLeg(_KIND[under, r.leg.right], r.leg.expiry, r.leg.strike,
                                             r.quantity / unit, round(r.price, 6)) for r in legs)), \
        structure, tuple(sorted(n for r in legs for n in r.lines))


def pick_layer(book: Book, days: int) -> tuple[int, str]:
    """The layer whose tenor window holds `days` to expiry, else the nearest window (ties: the
    lower layer), and why."""
    def gap(t) -> float:
        return max(t.min_days - days, days - (math.inf if t.max_days is None else t.max_days), 0)
    n, t = min(sorted(book.alvh.layers.items()), key=lambda kv: gap(kv[1]))
    window = f"{t.min_days:g}+" if t.max_days is None else f"{t.min_days:g}-{t.max_days:g}"
    return n, f"{days} days to expiry, {'in' if gap(t) == 0 else 'nearest'} the L{n} window {window} days"


def _refusal(equity: float, pos) -> str | None:
    """Why the book file would refuse the position, by its own checks (a one-position book
    with the same equity): None when it takes it."""
    pos = replace(pos, id="new")  # its own id is chosen once it is taken
    one = Book(equity, condors=(pos,) if isinstance(pos, Condor) else (),
               hedges=(pos,) if isinstance(pos, Hedge) else ())
    try:
        parse_book(book_to_toml(one))
    except InputError as exc:
        where = (exc.field or "").partition(".")[2] or exc.field  # condor[1].credit: credit
        return f"{where}: {exc.message}" if where else exc.message
    return None


def _condor_key(c: Condor) -> tuple:
    return c.root, c.expiry, c.long_put, c.short_put, c.short_call, c.long_call


def _hedge_key(h: Hedge) -> tuple:
    return tuple(sorted((x.kind, x.expiry, x.strike or 0.0, x.ratio) for x in h.legs))


def _unique(base: str, taken: set[str], tried: dict[str, int]) -> str:
    """`base`, else the first free of base-2, base-3, ... (`tried` keeps each base's count,
    so a thousand alike cost no search)."""
    k = tried.get(base, 1)
    pid = base if k == 1 else f"{base}-{k}"
    while pid in taken:
        k += 1
        pid = f"{base}-{k}"
    tried[base] = k
    taken.add(pid)
    return pid


def plan_import(book: Book, rows: list[Row], leftovers: list[Leftover], as_of: datetime,
                layer: int | None = None) -> Plan:
    """Group the rows into condors and hedges, leave out what is expired, unknown, cannot
    be grouped or is in the book already, and append the rest under ids of their own."""
    leftovers = list(leftovers)
    spx, vix = [], []
    for r in sorted(rows, key=lambda r: r.lines):
        leg = r.leg
        if leg.right != "F" and leg.root not in SPX_ROOTS + VIX_ROOTS + VXX_ROOTS:  # futures are VX
            leftovers.append(Leftover(r.lines, _held(r, abs(r.quantity)), f"unknown root {leg.root}: the"
                                      " book holds SPX, SPXW, VIX, VIXW and VXX options and VX futures"))
        elif _settles_at(leg) <= as_of.timestamp():
            leftovers.append(Leftover(r.lines, _held(r, abs(r.quantity)),
                                      f"expired: settled {leg.expiry}, by the market's as_of"))
        else:
            (spx if leg.root in SPX_ROOTS else vix).append(r)
    taken, tried = {p.id for p in book.condors + book.hedges}, {}
    held_c = {_condor_key(c): c for c in book.condors}
    held_h = {_hedge_key(h): h for h in book.hedges}
    today = as_of.astimezone(NEW_YORK).date()
    condors, hedges, existing, why = [], [], [], {}
    for c, lines in sorted(_group_condors(spx, leftovers), key=lambda x: _condor_key(x[0])):
        if _condor_key(c) in held_c:
            existing.append((held_c[_condor_key(c)].id, held_c[_condor_key(c)].quantity, c.quantity))
            continue
        refused = _refusal(book.equity, c)
        if refused:
            leftovers.append(Leftover(lines, f"{describe_condor(c)} x{c.quantity}", refused))
            continue
        condors.append(replace(c, id=_unique(f"IC-{c.expiry}-{c.short_put:g}", taken, tried)))
    for h, structure, lines in sorted(_group_hedges(vix, leftovers), key=lambda x: _hedge_key(x[0])):
        if _hedge_key(h) in held_h:
            existing.append((held_h[_hedge_key(h)].id, held_h[_hedge_key(h)].quantity, h.quantity))
            continue
        days = (h.legs[0].expiry - today).days
        n, reason = (layer, f"layer {layer} as asked") if layer else pick_layer(book, days)
        h = replace(h, layer=n)
        refused = _refusal(book.equity, h)
        if refused:
            leftovers.append(Leftover(lines, f"{structure} {describe_legs(h)} x{h.quantity}", refused))
            continue
        h = replace(h, id=_unique(_hedge_id(h), taken, tried))
        hedges.append(h)
        why[h.id] = f"{structure}; {reason}"
    after = replace(book, condors=book.condors + tuple(condors), hedges=book.hedges + tuple(hedges))
    return Plan(after, tuple(condors), tuple(hedges), why, tuple(existing),
                tuple(sorted(leftovers, key=lambda x: x.lines)))


def _hedge_id(h: Hedge) -> str:
    first = h.legs[0]
    if first.kind == "vix_future":
        return f"L{h.layer}-VX-{first.expiry}"
    strikes = "/".join(f"{x.strike:g}" for x in h.legs)
    return f"L{h.layer}-{first.kind[:3].upper()}-{first.expiry}-{strikes}{first.kind[4].upper()}"
