"""A Cboe delayed-quote option chain (CSV as downloaded): quotes, parity forwards, IVs, smiles.

Layout (Cboe's "download CSV"): an optional blank line; the index name and `Last:` price;
the quote time (`Date: September 14, 2023 at 4:31 PM EDT`) and the index bid/ask; the
header; then one row per expiry and strike, call columns, `Strike`, put columns. The root
(SPX, SPXW; VIX, VIXW) is only in the option symbols, and SPX AM monthlies share third
Fridays with SPXW, so rows are keyed by root, expiry and strike.
"""
from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Mapping

import numpy as np
from scipy.special import ndtr

from core.io.atomic import not_regular
from core.market.smile import Svi, black_vega, constrained_svi, fit_svi, implied_vol
from core.model.errors import InputError
from core.model.instruments import NEW_YORK, SPX, VIX_OPT, settle_time

FAMILY = {"SPX": "SPX", "SPXW": "SPX", "VIX": "VIX", "VIXW": "VIX"}
YEAR = 365.0 * 86400.0
# Why a quote is not usable, in the order tested: each quote is counted under the first
# reason that applies. stale: its expiry had settled at the quote time (Cboe still lists
# the day's expiry after the close, at quotes no one can trade); no_ask: ask 0 (nothing
# offered, whatever the bid); zero_bid; crossed: bid above ask; locked: bid = ask (a
# delayed feed's locked market has one stale side); no_forward: its expiry has too few
# strikes for a parity fit; no_iv: the mid is outside Black's bounds at the fitted forward
# (below intrinsic value, or above the forward / strike).
REASONS = ("usable", "stale", "no_ask", "zero_bid", "crossed", "locked", "no_forward", "no_iv")
PARITY_STRIKES = 15  # the strikes nearest the money (smallest |C - P|) in the parity fit
MIN_PAIRS = 5
MIN_SMILE = 8  # OTM quotes an SVI slice needs (it has 5 parameters)
# The smile is fitted to OTM quotes of forward delta >= 1%: further out a quote is a tick or
# two (0.05 x 0.15 on a strike 85% below the forward), its vol spread 5 to 10 points wide,
# and SVI's straight wings would bend the fit where the book trades to reach it.
MIN_DELTA = 0.01
# A slice with arbitrage is refitted under the constraint and kept if that moves it at most
# half a half-spread (RMS) further from the mids than the free fit: the quotes allow it.
# Further, the quotes themselves carry the arbitrage, and the slice is refused.
REPAIR_SPREADS = 0.5
MAX_BYTES = 64 << 20
MAX_PRICE = 1e6
GRID = 4001  # points of the k grid the butterfly and calendar checks run on

_NUM = re.compile(r" *-?(?:\d+(?:\.\d*)?|\.\d+) *")
_SYMBOL = re.compile(r"([A-Z]{1,6})(\d{6})([CP])(\d{8})")
_EXPIRY = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) (\d{1,2}) (\d{4})")
_QUOTE_TIME = re.compile(r"Date:\s*([A-Za-z]+)\.?\s+(\d{1,2}),\s*(\d{4})\s+at\s+(\d{1,2}):(\d{2})"
                         r"\s*([AP]M)(?:\s+([A-Z]{3,4}))?")
_MONTHS = {name: i for i, full in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"), 1) for name in (full, full[:3])}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_COLUMNS = ("Bid", "Ask", "IV", "Delta")  # read on each side; the other columns are not read


@dataclass(frozen=True)
class ChainHeader:
    index: str  # "Standard & Poors 500 Index"
    last: float  # the index's `Last:` price
    bid: float | None  # the index bid / ask on line 2, when given
    ask: float | None
    quote_time: datetime  # aware, America/New_York


@dataclass(frozen=True)
class Side:
    """The calls or the puts of one expiry, aligned with Expiry.strikes (read-only arrays)."""
    bid: np.ndarray
    ask: np.ndarray
    iv: np.ndarray  # ours, Black-76 from the mid; nan where the quote is not usable
    cboe_iv: np.ndarray  # Cboe's IV column (its own model; 0 where it has none)
    cboe_delta: np.ndarray
    reason: np.ndarray  # one of REASONS per quote ("usable" when it is)

    @property
    def mid(self) -> np.ndarray:
        return 0.5 * (self.bid + self.ask)

    @property
    def usable(self) -> np.ndarray:
        return self.reason == "usable"


@dataclass(frozen=True)
class Expiry:
    root: str
    expiry: date
    settle: datetime  # aware, New York: SPXW 16:00, SPX (AM) and VIX options 09:30
    t: float  # years of 365 days from the quote time to settlement
    strikes: np.ndarray  # ascending
    calls: Side
    puts: Side
    counts: Mapping[str, tuple[int, int]]  # reason: (calls, puts), every REASONS key
    forward: float | None  # from put-call parity; for VIX options, that expiry's future
    discount: float | None
    rate: float | None  # -ln(D) / T, continuous
    rate_se: float | None  # its standard error from the fit: large for short expiries
    dividend: float | None  # rate - ln(F / S) / T; None for VIX (its future is no carry forward)
    pairs: int  # strikes in the parity fit
    forward_reason: str | None  # why there is no forward
    svi: Svi | None  # the accepted smile, k = ln(K / forward)
    smile_reason: str | None  # why there is none: too few quotes, or the arbitrage refused
    repair: str | None  # an accepted slice refitted under the no-arbitrage constraints: why
    rmse: float | None  # the SVI fit's RMSE in vol points over the OTM quotes it was fitted to
    smile_quotes: int  # OTM quotes fitted: puts below the forward, calls at or above, delta >= 1%
    k_range: tuple[float, float] | None  # their ln(K / F) range: the arbitrage checks' domain


@dataclass(frozen=True)
class OptionQuote:
    bid: float
    ask: float
    mid: float
    iv: float  # nan when not usable
    reason: str  # "usable" or why not (REASONS)


@dataclass(frozen=True)
class Chain:
    source: str
    header: ChainHeader
    expiries: tuple[Expiry, ...]  # by settlement time, then root
    _keys: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_keys", {(e.root, e.expiry): e for e in self.expiries})

    def expiry(self, root: str, expiry: date) -> Expiry:
        try:
            return self._keys[(root, expiry)]
        except KeyError:
            raise KeyError(f"no {root} {expiry} in {self.source}") from None

    def quote(self, root: str, expiry: date, kind: str, strike: float) -> OptionQuote:
        """The listed bid/ask of one option, kind "call" or "put"; KeyError when not listed."""
        e = self.expiry(root, expiry)
        side = {"call": e.calls, "put": e.puts}[kind]
        i = int(np.searchsorted(e.strikes, strike))
        if i == e.strikes.size or abs(e.strikes[i] - strike) > 1e-6:
            raise KeyError(f"no {root} {expiry} {kind} at strike {strike:g} in {self.source}")
        bid, ask = float(side.bid[i]), float(side.ask[i])
        return OptionQuote(bid, ask, 0.5 * (bid + ask), float(side.iv[i]), str(side.reason[i]))

    @property
    def counts(self) -> dict[str, tuple[int, int]]:
        """Quotes per reason over the whole chain: (calls, puts)."""
        return {r: (sum(e.counts[r][0] for e in self.expiries),
                    sum(e.counts[r][1] for e in self.expiries)) for r in REASONS}


def read_chain(path: str | Path) -> Chain:
    file = str(path)
    kind = not_regular(path)
    if kind:
        raise InputError(f"{kind}, not a Cboe chain file", file=file)
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=file) from None
    if len(data) > MAX_BYTES:
        raise InputError(f"larger than {MAX_BYTES >> 20} MB: not a Cboe chain file", file=file)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"not UTF-8 text ({exc.reason})", file=file, line=line) from None
    return parse_chain(text, file)


def parse_chain(text: str, source: str) -> Chain:
    """The chain in Cboe's CSV; InputError naming the line and field of anything malformed."""
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InputError("a NUL byte: binary data, not a Cboe chain", file=source, line=line)
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header, rows = _read(reader, source)
    except csv.Error as exc:
        raise InputError(f"bad CSV: {exc}", file=source, line=max(reader.line_num, 1)) from None
    spot = header.last
    quote_ts = header.quote_time.timestamp()
    work = [_expiry(root, day, np.array(group, float), quote_ts, spot)
            for (root, day), group in rows.items()]
    _vols(work)
    for w in work:
        _sides(w)
    work.sort(key=lambda w: (w["settle"], w["root"]))
    _smiles(work)
    return Chain(source, header, tuple(_freeze(w) for w in work))


# ---- reading -------------------------------------------------------------------------


def _rows(reader):
    """(line, cells) of the non-blank rows, each with the line it starts on (a quoted
    field may run over several)."""
    end = 0
    for cells in reader:
        start, end = end + 1, reader.line_num
        if any(c.strip() for c in cells):
            yield start, cells


def _read(reader, file: str):
    lines = _rows(reader)
    first = next(lines, None)
    if first is None:
        raise InputError("empty file", file=file, line=1)
    header = _header(first, next(lines, None), file)
    head = next(lines, None)
    if head is None:
        raise InputError("no column header (it follows the quote time line)", file=file)
    line, names = head
    col = _columns([n.strip() for n in names], file, line)
    ncols, c_day, c_call, c_put = len(names), col["Expiration Date"], col["Calls"], col["Puts"]
    c_strike = col["Strike"]
    fields = [(f"{name} ({side}s)", lo, hi) for side in ("call", "put")
              for name, lo, hi in (("Bid", 0.0, MAX_PRICE), ("Ask", 0.0, MAX_PRICE),
                                   ("IV", 0.0, 100.0), ("Delta", -1.0, 1.0))]
    numbers = [col[side, name] for side in ("call", "put") for name in _COLUMNS]
    keys, texts, at = [], [], []
    seen: dict[tuple[str, date, float], int] = {}
    days: dict[str, tuple[date, str]] = {}
    family = None
    for line, cells in lines:
        if len(cells) != ncols:
            raise InputError(f"{len(cells)} fields, the header has {ncols}", file=file, line=line)
        where = dict(file=file, line=line)
        text = cells[c_day]
        if text not in days:
            day = _expiry_date(text.strip(), where)
            days[text] = (day, day.strftime("%y%m%d"))
        day, ymd = days[text]
        strike = _num(cells[c_strike], 0.0, MAX_PRICE, where, "Strike")
        if strike <= 0:
            raise InputError(f"strike {strike:g} is not above zero", field="Strike", **where)
        root = _symbol(cells[c_call], "C", ymd, strike, where, "Calls")
        if _symbol(cells[c_put], "P", ymd, strike, where, "Puts") != root:
            raise InputError(f"{cells[c_put].strip()} has another root than the call's {root}",
                             field="Puts", **where)
        if family is None:
            family = FAMILY[root]
        elif FAMILY[root] != family:
            raise InputError(f"{root} options in a {family} chain: one index per file",
                             field="Calls", **where)
        key = (root, day, strike)
        if key in seen:
            raise InputError(f"{root} {day} {strike:g} listed twice (first on line {seen[key]})",
                             field="Strike", **where)
        seen[key] = line
        keys.append(key)
        texts.append([cells[c] for c in numbers])
        at.append(line)
    if not keys:
        raise InputError("no option rows under the header", file=file, line=line + 1)
    values = _columns_of(texts, fields, at, file)
    rows: dict[tuple[str, date], list] = {}
    for (root, day, strike), v in zip(keys, values):
        rows.setdefault((root, day), []).append([strike, *v])
    return header, rows


def _columns_of(texts: list[list[str]], fields, at: list[int], file: str) -> np.ndarray:
    """The quote columns as floats, checked a column at a time (per row and field, the
    checks were most of the parse): the first field that is not a plain decimal in its
    range raises, naming its line."""
    out = np.empty((len(texts), len(fields)))
    for j, (name, lo, hi) in enumerate(fields):
        column = [row[j] for row in texts]
        if not all(map(_NUM.fullmatch, column)):
            i = next(i for i, t in enumerate(column) if not _NUM.fullmatch(t))
            _num(column[i], lo, hi, dict(file=file, line=at[i]), name)
        out[:, j] = np.array(column, dtype=float)
        bad = np.flatnonzero((out[:, j] < lo) | (out[:, j] > hi))
        if bad.size:
            _num(column[bad[0]], lo, hi, dict(file=file, line=at[bad[0]]), name)
    return out


def _header(first, second, file: str) -> ChainHeader:
    line, cells = first
    index = cells[0].strip()
    last = _labelled(cells, "Last:", line, file)
    if last is None:
        raise InputError("no 'Last:' price (line 1 of a Cboe chain names the index and its"
                         " last price)", file=file, line=line, field="Last")
    if not index or index.startswith("Last:") or last <= 0:
        raise InputError("needs the index name, then a last price above zero", file=file,
                         line=line, field="Last")
    if second is None:
        raise InputError("no quote time ('Date: ...', the line after the index's)", file=file)
    line, cells = second
    when = _quote_time(cells[0].strip(), file, line)
    bid, ask = (_labelled(cells, label, line, file) for label in ("Bid:", "Ask:"))
    return ChainHeader(index, last, bid, ask, when)


def _labelled(cells, label: str, line: int, file: str) -> float | None:
    for cell in cells:
        cell = cell.strip()
        if cell.startswith(label):
            return _num(cell[len(label):], 0.0, MAX_PRICE, dict(file=file, line=line), label[:-1])
    return None


def _quote_time(text: str, file: str, line: int) -> datetime:
    m = _QUOTE_TIME.fullmatch(text)
    month = _MONTHS.get(m.group(1).lower()) if m else None
    bad = InputError(f"not a quote time: {text[:60]!r} (like 'Date: September 14, 2023 at 4:31"
                     " PM EDT')", file=file, line=line, field="Date")
    if month is None or not 1 <= int(m.group(4)) <= 12 or int(m.group(5)) > 59:
        raise bad
    hour = int(m.group(4)) % 12 + (12 if m.group(6) == "PM" else 0)
    try:
        when = datetime(int(m.group(3)), month, int(m.group(2)), hour, int(m.group(5)),
                        tzinfo=NEW_YORK)
    except ValueError:
        raise bad from None
    if not 1990 <= when.year <= 2100:
        raise InputError(f"quote time {when:%Y-%m-%d} is out of range (1990 to 2100)",
                         file=file, line=line, field="Date")
    zone = m.group(7)
    if zone and when.tzname() != zone:  # the repeated hour of November: the zone says which
        when = when.replace(fold=1)
        if when.tzname() != zone:
            raise InputError(f"{zone} is not New York's time zone on {when:%B %d, %Y at %H:%M}",
                             file=file, line=line, field="Date")
    return when


def _columns(names: list[str], file: str, line: int) -> dict:
    where = dict(file=file, line=line, field="header")
    for name in ("Expiration Date", "Calls", "Strike", "Puts"):
        if names.count(name) != 1:
            raise InputError(f"{'no' if name not in names else 'more than one'} {name!r} column"
                             " (not a Cboe chain header)", **where)
    col = {name: names.index(name) for name in ("Expiration Date", "Calls", "Strike", "Puts")}
    if not col["Calls"] < col["Strike"] < col["Puts"]:
        raise InputError("the columns must run Calls ..., Strike, Puts ... as Cboe writes them",
                         **where)
    for side, lo, hi in (("call", col["Calls"], col["Strike"]), ("put", col["Puts"], len(names))):
        block = names[lo + 1:hi]
        for name in _COLUMNS:
            if block.count(name) != 1:
                raise InputError(f"{'no' if name not in block else 'more than one'} {name!r}"
                                 f" column for the {side}s", **where)
            col[side, name] = lo + 1 + block.index(name)
    return col


def _num(text: str, lo: float, hi: float, where: dict, name: str) -> float:
    if not _NUM.fullmatch(text):
        raise InputError(f"not a number: {text[:40]!r} (plain decimal digits, like 12.35)",
                         field=name, **where)
    x = float(text)
    if not lo <= x <= hi:
        raise InputError(f"{text.strip()[:40]} is out of range ({lo:g} to {hi:g})", field=name, **where)
    return x


def _expiry_date(text: str, where: dict) -> date:
    m = _EXPIRY.fullmatch(text)
    month = _MONTHS.get(m.group(2).lower()) if m else None
    try:
        day = date(int(m.group(4)), month, int(m.group(3))) if month else None
    except ValueError:
        day = None
    if day is None or _DAYS[day.weekday()] != m.group(1) or not 1990 <= day.year <= 2100:
        raise InputError(f"not an expiry date: {text[:40]!r} (like 'Thu Sep 14 2023', weekday"
                         " matching, 1990 to 2100)", field="Expiration Date", **where)
    return day


def _symbol(text: str, kind: str, ymd: str, strike: float, where: dict, name: str) -> str:
    """The root of an option symbol (SPXW230914C04500000) that must match its row."""
    text = text.strip()
    m = _SYMBOL.fullmatch(text)
    if not m:
        raise InputError(f"not an option symbol: {text[:40]!r} (like SPXW230914C04500000)",
                         field=name, **where)
    root, got, cp, digits = m.groups()
    if root not in FAMILY:
        raise InputError(f"root {root} is not one of {', '.join(FAMILY)}", field=name, **where)
    if cp != kind:
        raise InputError(f"{text} is a {'call' if cp == 'C' else 'put'} in the {name} column",
                         field=name, **where)
    if got != ymd:
        raise InputError(f"{text} expires 20{got}, the row 20{ymd}", field=name, **where)
    if int(digits) != round(strike * 1000):
        raise InputError(f"{text} has strike {int(digits) / 1000:g}, the row {strike:g}",
                         field=name, **where)
    return root


# ---- per expiry: filter, parity forward, implied vols, smile ---------------------------


def _reasons(bid, ask, stale: bool) -> np.ndarray:
    code = np.zeros(bid.shape, np.int8)  # 0 usable; the first test that applies wins
    for i, bad in enumerate((np.full(bid.shape, stale), ask <= 0, bid <= 0, bid > ask, bid == ask), 1):
        code[(code == 0) & bad] = i
    return code


def _parity(strikes, cmid, pmid, spread):
    """Forward, discount and the discount's standard error from C - P = D (F - K): a Huber
    fit (iteratively reweighted least squares), each residual in units of its
    half-spread, over the strikes nearest the money."""
    y = cmid - pmid
    near = np.argsort(np.abs(y), kind="stable")[:PARITY_STRIKES]
    k, y, s = strikes[near], y[near], np.maximum(spread[near], 1e-6)
    k0 = float(k[np.argmin(np.abs(y))])  # centred: the two parameters are then nearly independent
    x, y = np.column_stack([np.ones_like(k), -(k - k0)]) / s[:, None], y / s
    weight = np.ones_like(y)
    for _ in range(50):
        p = np.linalg.lstsq(x * weight[:, None], y * weight, rcond=None)[0]
        r = x @ p - y
        # Huber at one half-spread: a residual beyond it counts linearly, not squared
        new = np.sqrt(np.minimum(1.0, 1.0 / np.maximum(np.abs(r), 1e-300)))
        if np.allclose(new, weight, rtol=0, atol=1e-12):
            break
        weight = new
    level, disc = p
    xw, rw = x * weight[:, None], r * weight
    cov = np.linalg.pinv(xw.T @ xw) * float(rw @ rw) / max(k.size - 2, 1)
    return k0 + level / disc, float(disc), math.sqrt(max(cov[1, 1], 0.0)), k.size


def _expiry(root: str, day: date, a: np.ndarray, quote_ts: float, spot: float) -> dict:
    """One expiry's quotes filtered, and its forward and discount from parity. Calls are
    side 0, puts side 1 of bid, ask, code (the REASONS index) and iv."""
    a = a[np.argsort(a[:, 0])]
    strikes, cb, ca, civ, cdel, pb, pa, piv, pdel = a.T
    vix = FAMILY[root] == "VIX"
    settle_ts = settle_time(day, VIX_OPT if vix else SPX, am=root == "SPX")
    t = (settle_ts - quote_ts) / YEAR
    w = dict(root=root, expiry=day, settle=settle_ts, t=t, strikes=strikes, forward=None,
             discount=None, rate=None, rate_se=None, dividend=None, pairs=0, forward_reason=None,
             svi=None, smile_reason=None, repair=None, rmse=None, smile_quotes=0, fit_data=None,
             k_range=None, bid=(cb, pb), ask=(ca, pa), cboe=((civ, cdel), (piv, pdel)),
             code=(_reasons(cb, ca, t <= 0), _reasons(pb, pa, t <= 0)),
             iv=(np.full(strikes.shape, np.nan), np.full(strikes.shape, np.nan)))
    both = (w["code"][0] == 0) & (w["code"][1] == 0)
    if t <= 0:
        w["forward_reason"] = w["smile_reason"] = "settled before the quote time"
    elif both.sum() < MIN_PAIRS:
        w["forward_reason"] = w["smile_reason"] = (
            f"{both.sum()} strikes with a usable call and put, {MIN_PAIRS} needed for parity")
    else:
        fwd, disc, disc_se, w["pairs"] = _parity(strikes[both], 0.5 * (cb + ca)[both],
                                                 0.5 * (pb + pa)[both],
                                                 0.5 * (ca - cb + pa - pb)[both])
        if not (fwd > 0 and 0 < disc <= 1.5):
            w["forward_reason"] = w["smile_reason"] = (
                f"parity gives forward {fwd:.6g} and discount {disc:.6g}: no market")
        else:
            rate = -math.log(disc) / t
            w.update(forward=fwd, discount=disc, rate=rate, rate_se=disc_se / (disc * t),
                     dividend=None if vix else rate - math.log(fwd / spot) / t)
    if w["forward"] is None and t > 0:
        for code in w["code"]:
            code[code == 0] = REASONS.index("no_forward")
    return w


def _vols(work: list[dict]) -> None:
    """The implied vol of every usable quote of the chain, in one vectorized solve; a quote
    without one (its mid outside Black's bounds) becomes no_iv."""
    jobs = [(w, n, np.flatnonzero(w["code"][n] == 0)) for w in work if w["forward"] is not None
            for n in (0, 1)]
    if not jobs:
        return
    columns = zip(*(_iv_inputs(w, n, i) for w, n, i in jobs))
    iv = implied_vol(*(np.concatenate(c) for c in columns))
    for (w, n, i), part in zip(jobs, np.split(iv, np.cumsum([i.size for _, _, i in jobs])[:-1])):
        w["iv"][n][i] = part
        w["code"][n][i[np.isnan(part)]] = REASONS.index("no_iv")


def _iv_inputs(w: dict, n: int, i: np.ndarray):
    def full(x):
        return np.full(i.size, x)
    mid = 0.5 * (w["bid"][n] + w["ask"][n])[i]
    return full(n == 0), mid, full(w["forward"]), w["strikes"][i], full(w["t"]), full(w["discount"])


def _sides(w: dict) -> None:
    """The counts per reason and the two Side records; then the smile's quotes."""
    names = np.array(REASONS)
    bid, ask, cboe, code, iv = (w.pop(key) for key in ("bid", "ask", "cboe", "code", "iv"))
    w["counts"] = {r: (int((code[0] == i).sum()), int((code[1] == i).sum())) for i, r in enumerate(REASONS)}
    w["calls"], w["puts"] = (Side(bid[n], ask[n], iv[n], *cboe[n], names[code[n]]) for n in (0, 1))
    if w["forward"] is not None:
        _smile_data(w, w["strikes"], iv[0], iv[1], ask[0] - bid[0], ask[1] - bid[1])


def _smile_data(w: dict, strikes, iv_c, iv_p, spread_c, spread_p) -> None:
    """The OTM quotes the smile is fitted to (puts below the forward, calls at or above it,
    forward delta >= MIN_DELTA): k, total variance, its half-spread, and the vol."""
    fwd, disc, t = w["forward"], w["discount"], w["t"]
    call = strikes >= fwd
    iv = np.where(call, iv_c, iv_p)
    half = 0.5 * np.where(call, spread_c, spread_p)
    with np.errstate(invalid="ignore"):
        d1 = np.log(fwd / strikes) / (iv * math.sqrt(t)) + 0.5 * iv * math.sqrt(t)
    delta = ndtr(np.where(call, d1, -d1))  # forward delta of the OTM option, 0 to 0.5
    ok = np.isfinite(iv) & (delta >= MIN_DELTA)
    w["smile_quotes"] = n = int(ok.sum())
    if n < MIN_SMILE:
        w["smile_reason"] = f"{n} usable OTM quotes of delta >= {MIN_DELTA:g}, {MIN_SMILE} needed"
        return
    k, iv, half = np.log(strikes[ok] / fwd), iv[ok], half[ok]
    # the half-spread in vol, then in total variance (dw = 2 vol T dvol); floored at a
    # hundredth of a vol point so no quote gets an unbounded weight
    dvol = np.maximum(half / (disc * black_vega(fwd, strikes[ok], t, iv)), 1e-4)
    w["fit_data"] = (k, iv * iv * t, 2.0 * iv * t * dvol, iv)


def _smiles(work: list[dict]) -> None:
    """Fit each slice in time order; a slice with butterfly arbitrage (g(k) < 0 on its
    quoted k range) or calendar arbitrage (total variance below the previous accepted
    slice's of the same index, SPX and SPXW together, on their common k range) is refitted
    under those constraints, and refused when that fails."""
    last: dict[str, dict] = {}
    for w in work:
        data = w.pop("fit_data")
        if data is None:
            continue
        k, tv, err, iv = data
        t, family = w["t"], FAMILY[w["root"]]
        grid = np.linspace(k.min(), k.max(), GRID)
        prev = last.get(family)
        floor = floor_grid = None
        if prev is not None:
            lo, hi = max(k.min(), prev["k_range"][0]), min(k.max(), prev["k_range"][1])
            if lo < hi:
                floor, floor_grid = prev["svi"], np.linspace(lo, hi, GRID)
        w["k_range"] = (float(k.min()), float(k.max()))
        try:
            svi = fit_svi(k, tv, err)
            rmse = _rmse(svi, k, iv, t)
            problem = _arbitrage(svi, grid, floor, floor_grid, prev)
            fixed = constrained_svi(k, tv, err, svi, grid, floor, floor_grid) if problem else None
        except (ArithmeticError, ValueError, np.linalg.LinAlgError) as exc:  # quotes the model cannot fit
            w["smile_reason"] = f"refused: the SVI fit failed on {len(k)} quotes ({type(exc).__name__})"
            continue
        if problem:
            if fixed is None or _arbitrage(fixed, grid, floor, floor_grid, prev):
                w["smile_reason"] = (f"refused: {problem} (fit RMSE {rmse:.2f} vol points);"
                                     " no slice without it")
                continue
            before, after = _spreads(svi, k, tv, err), _spreads(fixed, k, tv, err)
            if after - before > REPAIR_SPREADS:
                w["smile_reason"] = (f"refused: {problem} (fit RMSE {rmse:.2f} vol points); the"
                                     f" slice without it misses the mids by {after:.2f} half-spreads"
                                     f" RMS, the free fit by {before:.2f}")
                continue
            w["repair"] = (f"repaired: {problem} in the free fit (RMSE {rmse:.3f} vol points,"
                           f" {before:.2f} half-spreads RMS); refitted under the constraint:"
                           f" RMSE {_rmse(fixed, k, iv, t):.3f}, {after:.2f} half-spreads")
            svi = fixed
        w["svi"], w["rmse"] = svi, _rmse(svi, k, iv, t)
        last[family] = w


def _spreads(svi: Svi, k, tv, err) -> float:
    """The RMS distance of the slice from the quotes' mids, in half-spreads."""
    return float(np.sqrt(np.mean(((svi.w(k) - tv) / err) ** 2)))


def _rmse(svi: Svi, k, iv, t: float) -> float:
    return 100.0 * float(np.sqrt(np.mean((np.sqrt(np.maximum(svi.w(k), 0.0) / t) - iv) ** 2)))


def _arbitrage(svi: Svi, grid, floor: Svi | None, floor_grid, prev) -> str | None:
    g = svi.g(grid)
    if g.min() < 0:
        i = int(np.argmin(g))
        return f"butterfly arbitrage, g(k) = {g[i]:.3g} < 0 at k = {grid[i]:.4f}"
    if floor is not None:
        gap = svi.w(floor_grid) - floor.w(floor_grid)
        if gap.min() < 0:
            i = int(np.argmin(gap))
            return (f"calendar arbitrage, total variance {gap[i]:.3g} below {prev['root']}"
                    f" {prev['expiry']}'s at k = {floor_grid[i]:.4f}")
    return None


def _freeze(w: dict) -> Expiry:
    for side in (w["calls"], w["puts"]):
        for arr in (side.bid, side.ask, side.iv, side.cboe_iv, side.cboe_delta, side.reason):
            arr.flags.writeable = False
    w["strikes"].flags.writeable = False
    w["settle"] = datetime.fromtimestamp(w["settle"], NEW_YORK)
    return Expiry(**w)
