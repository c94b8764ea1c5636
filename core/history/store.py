"""The market history store: one SQLite file of closes, breadth and event dates.

Every function takes the database path (None: the user data directory).
Imports parse the whole file before touching the database, and write it in
one transaction, so a bad row leaves the store exactly as it was.

Series read back are `Daily` arrays (`load_daily`), or pandas Series with a
DatetimeIndex (`load_all`); numpy and pandas are imported inside functions so
importing this module stays cheap.
"""
from __future__ import annotations

import csv
import math
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from core.io import paths
from core.io.atomic import not_regular
from core.model.errors import InputError, printable

VX_SERIES = tuple(f"vx{n}" for n in range(1, 9))  # VIX futures: the n-th monthly contract
# every series of the closes table: index levels, VIX futures settles, the T-bill rate (% a year)
PRICE_SERIES = ("vix", "vix3m", "vix9d", "vvix", "skew", "spx", "spx_high", "spx_low",
                *VX_SERIES, "tbill_3m")
EVENT_SERIES = ("fomc", "cpi", "ppi")
SERIES = PRICE_SERIES + ("breadth",) + EVENT_SERIES
# an `open` column of a file imported as spx or vix is stored too, as this companion
# series (closes table): the AM settlement approximation. Not importable by name.
OPEN_SERIES = {"spx": "spx_open", "vix": "vix_open"}
# the order `status` lists series in: each companion right after its series
STORED_SERIES = tuple(x for s in SERIES for x in (s, OPEN_SERIES.get(s)) if x)

# Plausible levels of each price series, checked on the median of an imported file.
# SPX has not closed below 50 since 1960 (the 1990-2026 files run 295-7800), and
# 50,000 is about 6x its 2026 level. VIX's record closes are 9.14 and 82.69 and VIX3M's
# and the futures' lie inside those; 5-200 leaves room, and still catches pre-2007 CFE
# futures quoted at 10x the index (1,000s of points would be neither).
# VIX9D's record closes are 7.10 and 106.66. VVIX has closed 59.7-207.6 (2007-2026), so a
# VIX file (median 18) is no VVIX; SKEW 101-183 (1990-2026), and below 100 only if SPX's
# risk-neutral skewness turned positive. The 3-month bill's monthly average has
# run 0.01-16.3 % (16.3 in 1981): a rate in percent, never negative in this series.
LEVELS = {**{s: (50.0, 50_000.0) for s in ("spx", "spx_high", "spx_low")},
          **{s: (5.0, 200.0) for s in ("vix", "vix3m", "vix9d", *VX_SERIES)},
          "vvix": (30.0, 500.0), "skew": (100.0, 300.0), "tbill_3m": (0.0, 25.0)}
# The median ratio of imported to stored values on shared dates must lie within this of 1.
# Two sources of one index agree to about 1 bp (Yahoo vs FRED SPX); the nearest distinct
# series pairs lie outside it (median VIX/VX1 0.963, VX1/VX2 0.943, VIX/VIX3M 0.885).
OVERLAP_TOLERANCE = 0.02
EARLIEST = date(1900, 1, 1)  # import refuses dates before this, or over a year ahead
# Every single value (closes and opens) must lie within ROW_SLACK times LEVELS: not a check
# of the series (the median is, and --force skips it) but of the number: 1e20 is no price.
ROW_SLACK = 100.0
MAX_FILE_BYTES = 256_000_000  # the largest real history file here (SPX 1990-2022) is 0.44 MB
MAX_COUNT = 100_000  # advances or declines: US exchanges list a few thousand issues
# The largest plausible move of one day, as |ln(new / old)|: SPX's worst day is 1987's
# -20.5% (ln -0.23); VIX's largest is 2018-02-05's +116% (ln 0.77). A last line with no
# newline (a truncated download) that moves a value more than this is refused.
# VIX9D's is that same day's +215% (ln 1.15). The monthly T-bill rate is left out: near zero
# it moves by multiples (0.19 to 0.03 from November to December 2008).
DAILY_MOVE = {**{s: 0.25 for s in ("spx", "spx_high", "spx_low")}, "vix9d": 1.5,
              **{s: 1.0 for s in ("vix", "vix3m", "vvix", "skew", *VX_SERIES)}}
# An import that would change more than this share of the stored values (and more than
# CHANGE_FLOOR of them) is refused unless forced: swapped or reordered columns look so.
CHANGE_SHARE = 0.01
CHANGE_FLOOR = 5
BUSY_TIMEOUT = 5.0  # seconds a locked store is waited for (sqlite3's default)
# what pandas' nanosecond timestamps can hold (a later date wraps by ~584 years)
NS_FIRST, NS_LAST = "1677-09-22", "2262-04-11"

# table and value columns of each kind of series; every table is keyed by (series, date)
_TABLES = {
    "price": ("closes", ("value",)),
    "breadth": ("breadth", ("advances", "declines")),
    "event": ("events", ("note",)),
}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS closes (series TEXT, date TEXT, value REAL,
    PRIMARY KEY (series, date)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS breadth (series TEXT, date TEXT, advances INTEGER, declines INTEGER,
    PRIMARY KEY (series, date)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (series TEXT, date TEXT, note TEXT,
    PRIMARY KEY (series, date)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS imports (id INTEGER PRIMARY KEY, series TEXT, file TEXT,
    imported_at TEXT, inserted INTEGER, updated INTEGER, unchanged INTEGER);
"""


@dataclass(frozen=True)
class ImportResult:
    series: str
    file: str
    inserted: int
    updated: int
    unchanged: int
    companions: tuple = ()  # ImportResults of the companion series (the opens) written too
    kept: int = 0  # dates whose stored value differs and stayed (`import_series` keep_stored)

    @property
    def changed(self) -> int:
        return self.inserted + self.updated


@dataclass(frozen=True)
class SeriesStatus:
    series: str
    first: date
    last: date
    rows: int
    last_import: ImportResult | None
    imported_at: datetime | None


@dataclass(frozen=True)
class SettlementQuote:
    """A settlement value read from the store; `approximate` when it is not the
    official figure (an open standing in for the special opening quotation)."""
    value: float
    source: str
    approximate: bool


def default_db() -> Path:
    from platformdirs import user_data_dir
    return Path(user_data_dir("alvh-cockpit")) / "history.sqlite"


def _kind(series: str) -> str:
    if series in PRICE_SERIES:
        return "price"
    if series == "breadth":
        return "breadth"
    if series in EVENT_SERIES:
        return "event"
    raise InputError(f"unknown series {series!r}; one of {', '.join(SERIES)}", field="series")


# ---- parsing ---------------------------------------------------------------

# Strict forms only: float() and date.fromisoformat() also take "1_000", Arabic-Indic
# digits, "1e308", "inf", "nan", "20200101" and "2020-W01-1", none of which a price file means.
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_US_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")  # Cboe's MM/DD/YYYY
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_INTEGER = re.compile(r"[0-9]+")


def _parse_date(text: str) -> date:
    text = text.strip(" \t")
    m = _ISO_DATE.fullmatch(text)
    if m:
        year, month, day = m.groups()
    else:
        m = _US_DATE.fullmatch(text)
        if not m:
            raise ValueError
        month, day, year = m.groups()
    return date(int(year), int(month), int(day))


def _parse_price(text: str) -> float:
    text = text.strip(" \t")
    if not _DECIMAL.fullmatch(text):
        raise ValueError
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise ValueError
    return value


def _parse_note(text: str) -> str:
    """An event's note (FOMC type, CPI month): text shown in the gauges, so no control characters."""
    text = text.strip()
    if printable(text) != text:
        raise ValueError
    return text


def _parse_count(text: str) -> int:
    text = text.strip(" \t")
    if not _INTEGER.fullmatch(text):
        raise ValueError
    return int(text)


def _parse_rate(text: str) -> float:
    """A rate in percent: as a price, but 0.00 is a rate (a bill's yield can round to it)."""
    return 0.0 if _DECIMAL.fullmatch(text.strip(" \t")) and float(text) == 0 else _parse_price(text)


def _parse_open(text: str) -> float | None:
    return _parse_price(text) if text.strip() else None  # a blank open is no open


def _all_equal(cells: list[str], cols: list[int], value: float) -> bool:
    """Whether high and low (when the file has both) equal `value`: a placeholder row."""
    try:
        return len(cols) == 2 and all(_parse_price(cells[c]) == value for c in cols)
    except ValueError:
        return False


def _latest() -> date:
    today = date.today()
    try:
        return today.replace(year=today.year + 1)
    except ValueError:  # 29 February
        return today + timedelta(days=365)


def _columns(series: str, kind: str, header: list[str], file: str):
    """(date column, contract column or None, [(value column, parser)]) for this file.
    An spx or vix file's `open` column comes second, parsed by `_parse_open`."""
    named = [h for h in header if h]
    twice = next((h for h in named if named.count(h) > 1), None)
    if twice is not None:  # which of them is the close? neither is taken
        raise InputError(f"column {twice!r} appears twice", file=file, line=1, field="header")

    def find(*names):
        return next((header.index(n) for n in names if n in header), None)

    def need(*names):
        col = find(*names)
        if col is None:
            raise InputError(f"no {' or '.join(names)} column", file=file, line=1,
                             field="header")
        return col

    if kind == "event":
        date_col = need("date", "release_date")
        note_col = find("type", "reference_month")
        return date_col, None, [(note_col, _parse_note)] if note_col is not None else []
    date_col = need("date", "observation_date")
    if kind == "breadth":
        return date_col, None, [(need("advances"), _parse_count), (need("declines"), _parse_count)]
    contract_col = find("contract") if series in VX_SERIES else None
    value_col = None
    if series in ("spx_high", "spx_low"):
        value_col = need(series.removeprefix("spx_"))
    elif series in VX_SERIES:  # the wide term-structure file's vxN column, else the settle
        value_col = find(series, "settle")
    if value_col is None:
        value_col = find("close")
    if value_col is None and len(header) == 2:  # plain `date,<value>`
        value_col = 1 - date_col
    if value_col is None:
        raise InputError("no close column", file=file, line=1, field="header")
    values = [(value_col, _parse_rate if series == "tbill_3m" else _parse_price)]
    if series in OPEN_SERIES and "open" in header:
        values.append((header.index("open"), _parse_open))
    return date_col, contract_col, values


@dataclass
class _Parsed:
    """A parsed file: its rows, its opens, and where each row came from."""
    rows: dict[str, tuple]  # ISO date: values
    opens: dict[str, tuple]  # ISO date: (open,) for the companion series
    lines: dict[str, int]  # ISO date: the line it was first on
    fields: tuple  # header names of the value columns (the first: rows; "open": opens)
    unterminated: str | None = None  # the last row's date when the file ends without a newline


def parse_file(path: str | Path, series: str) -> dict[str, tuple]:
    """Rows of a history file as {ISO date: values}; InputError on the first bad row."""
    return _parse_rows(path, series).rows


def _bounds(series: str) -> tuple[float, float]:
    low, high = LEVELS[series]
    return low / ROW_SLACK, high * ROW_SLACK


def _parse_rows(path: str | Path, series: str) -> _Parsed:
    """The rows of `series` and of its open companion in a history file.

    Opens are kept only where they are real: not blank and not a close-only
    placeholder row (O = H = L = C, as in Cboe's VIX history before 1992)."""
    kind = _kind(series)
    latest = _latest()
    file = str(path)
    bounds = _bounds(series) if kind == "price" else None
    try:
        _readable_file(path, file)
        fh = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=file) from None
    with fh:
        return _parse_open_file(fh, series, kind, file, latest, bounds)


def _readable_file(path, file: str) -> None:
    """A regular file under MAX_FILE_BYTES: a device, fifo or 300 MB of NULs is refused
    before it is read (a file is parsed line by line, never held whole)."""
    kind = not_regular(path)
    if kind:
        raise InputError(f"{kind}, not a history file", file=file)
    st = os.stat(path)
    if st.st_size > MAX_FILE_BYTES:
        raise InputError(f"{st.st_size / 1e6:,.0f} MB is larger than any history file"
                         f" ({MAX_FILE_BYTES / 1e6:,.0f} MB at most)", file=file)


class _Lines:
    """The file's lines as csv reads them, remembering the last (is it terminated?)."""

    def __init__(self, fh):
        self.fh, self.last = fh, ""

    def __iter__(self):
        for line in self.fh:
            self.last = line
            yield line


def _parse_open_file(fh, series: str, kind: str, file: str, latest: date, bounds) -> _Parsed:
    lines_read = _Lines(fh)
    reader = csv.reader(lines_read)
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        if not any(header):
            raise InputError("empty file", file=file, line=1)
        date_col, contract_col, values = _columns(series, kind, header, file)
        rows: dict[str, tuple] = {}
        opens: dict[str, tuple] = {}
        lines: dict[str, int] = {}
        hl = [header.index(c) for c in ("high", "low") if c in header]
        has_open = kind == "price" and len(values) == 2
        last_day = None  # the date of the file's last record, when it is one of ours
        for cells in reader:
            line = reader.line_num
            last_day = None
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise InputError(f"{len(cells)} fields, header has {len(header)}",
                                 file=file, line=line)
            if contract_col is not None and cells[contract_col].strip().lower() != series:
                continue
            try:
                when = _parse_date(cells[date_col])
            except ValueError:
                raise InputError(f"not a date: {cells[date_col]!r} (YYYY-MM-DD or MM/DD/YYYY)",
                                 file=file, line=line, field=header[date_col]) from None
            if not EARLIEST <= when <= latest:
                raise InputError(f"date {when} is out of range ({EARLIEST} to {latest})",
                                 file=file, line=line, field=header[date_col])
            day = when.isoformat()
            parsed = []
            for col, parse in values:
                try:
                    parsed.append(parse(cells[col]))
                except ValueError:
                    what = "price" if parse in (_parse_price, _parse_open, _parse_rate) else \
                        "note" if parse is _parse_note else "count"
                    hint = {"price": "plain decimal digits, like 17.24", "count": "plain decimal digits,"
                            " like 1520", "note": "text without control characters"}[what]
                    raise InputError(f"not a valid {what}: {cells[col]!r} ({hint})", file=file, line=line,
                                     field=header[col]) from None
                x = parsed[-1]
                if x is None:
                    continue
                if bounds and not bounds[0] <= x <= bounds[1]:
                    raise InputError(f"{cells[col].strip()} is no {series.upper()} level (not"
                                     f" within {bounds[0]:g} to {bounds[1]:,.0f})", file=file,
                                     line=line, field=header[col])
                if kind == "breadth" and x > MAX_COUNT:
                    raise InputError(f"{x} is more issues than any exchange lists"
                                     f" ({MAX_COUNT:,} at most)", file=file, line=line,
                                     field=header[col])
            if has_open:  # (close, open): the open goes to the companion
                close, op = parsed
                parsed = [close]
                if op is not None and not (op == close and _all_equal(cells, hl, op)):
                    opens[day] = (op,)
            parsed = tuple(parsed) or ("",)
            if day in rows and rows[day] != parsed:
                raise InputError(f"{day} repeated with a different value "
                                 f"(first on line {lines[day]})", file=file, line=line,
                                 field=header[date_col])
            rows[day] = parsed
            lines.setdefault(day, line)
            last_day = day
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", file=file) from None
    except csv.Error as exc:
        raise InputError(f"bad CSV: {exc}", file=file, line=max(reader.line_num, 1)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=file) from None
    if not rows:
        raise InputError(f"no {series} rows", file=file)
    fields = tuple(header[col] if col is not None else "" for col, _ in values)
    unterminated = last_day if lines_read.last and not lines_read.last.endswith(("\n", "\r")) else None
    return _Parsed(rows, opens, lines, fields, unterminated)


# ---- the store -------------------------------------------------------------

# what each SQLite failure means for the user (primary result codes)
_DB_ERRORS = {
    5: "the history store is locked by another program (another alvh, or a SQLite"
       " browser?); close it and try again",
    6: "the history store is locked by another program; close it and try again",
    8: "the history store is read-only (check the file's and its folder's permissions)",
    13: "the disk is full: the history store cannot grow (free some space and try again)",
    14: "cannot open the history store (check that its folder exists and is writable)",
    26: "not a history database (not an SQLite file)",
    11: "the history store is damaged (SQLite says it is malformed)",
    10: "disk I/O error on the history store",
    3: "no permission to use the history store",
}
_DB_MESSAGES = (("locked", 5), ("readonly", 8), ("read-only", 8), ("disk is full", 13),
                ("unable to open", 14), ("not a database", 26), ("malformed", 11),
                ("disk i/o", 10))


def db_error(exc: sqlite3.Error, db: str | Path | None, doing: str = "") -> InputError:
    """One InputError line saying what happened to the store (locked, read-only, full...)."""
    code = getattr(exc, "sqlite_errorcode", None)
    code = code & 0xFF if isinstance(code, int) else None
    if code not in _DB_ERRORS:
        text = str(exc).lower()
        code = next((c for word, c in _DB_MESSAGES if word in text), None)
    what = _DB_ERRORS.get(code) or f"history store error: {exc}"
    if code in (8, 13) and doing:
        what += f"; {doing} was not saved"
    return InputError(what, file=str(db if db is not None else default_db()))


def _create_private(path: Path) -> None:
    """Create an empty store file readable by its owner only (0600), as the book is."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass


def connect(db: str | Path | None, create: bool) -> sqlite3.Connection | None:
    path = Path(db) if db is not None else default_db()
    if not path.exists():
        if not create:
            return None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _create_private(path)
        except OSError as exc:
            raise InputError(f"cannot create the history store: {exc.strerror or exc}",
                             file=str(path)) from None
    kind = not_regular(path)
    if kind:
        raise InputError(f"{kind}, not a history store", file=str(path))
    conn = None
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT)
        if create:
            conn.executescript(_SCHEMA)
        else:
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # a database at all?
        return conn
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        raise db_error(exc, path) from None


def _plausible_levels(rows: dict[str, tuple], series: str, file: str) -> None:
    """InputError when the file's median level is not a level of `series`."""
    import statistics
    low, high = LEVELS[series]
    median = statistics.median(v[0] for v in rows.values())
    if low <= median <= high:
        return
    fits = [s for s in ("spx", "vix") if LEVELS[s][0] <= median <= LEVELS[s][1]]
    hint = f"use --series {fits[0]}" if fits else "check the file and --series"
    name = series.upper()
    what = "settles" if series in VX_SERIES else "closes"
    raise InputError(f"median level {median:.1f} is not {'an' if name == 'SPX' else 'a'} {name}"
                     f" level ({name} {what} lie {low:g}-{high:g}); {hint}, or --force",
                     file=file)


def _plausible_overlap(rows: dict[str, tuple], old: dict[str, tuple], series: str,
                       file: str) -> None:
    """InputError when the file contradicts the stored series on their shared dates."""
    import statistics
    ratios = [rows[d][0] / old[d][0] for d in rows.keys() & old.keys() if old[d][0]]
    if not ratios:
        return
    ratio = statistics.median(ratios)
    if abs(ratio - 1) <= OVERLAP_TOLERANCE:
        return
    raise InputError(f"on {len(ratios)} dates also stored, the median ratio to the stored "
                     f"{series} is {ratio:.3g} (the same series agrees within "
                     f"{OVERLAP_TOLERANCE:.0%}); check --series, or --force", file=file)


def _plausible_changes(part: dict[str, tuple], old: dict[str, tuple], name: str,
                       parsed: _Parsed, field: str, file: str) -> None:
    """InputError when the file would rewrite more than CHANGE_SHARE of the stored values:
    a file with swapped or reordered columns overwrites nearly every one."""
    changed = [d for d, v in part.items() if d in old and old[d] != v]
    if len(changed) <= max(CHANGE_SHARE * len(old), CHANGE_FLOOR):
        return
    first = min(changed, key=lambda d: parsed.lines[d])
    raise InputError(f"would change {len(changed)} of the {len(old)} stored {name} values"
                     f" ({len(changed) / len(old):.0%}; more than {CHANGE_SHARE:.0%} looks like"
                     f" swapped or reordered columns), the first {first}: stored"
                     f" {old[first][0]:g}, file {part[first][0]:g}; check the header, or --force",
                     file=file, line=parsed.lines[first], field=field)


def _plausible_last_line(parsed: _Parsed, old: dict[str, tuple], series: str,
                         file: str) -> None:
    """InputError when the file ends without a newline (a cut download?) and its last
    value moves more than a day can from the stored value of that day, or of the day
    before it."""
    day = parsed.unterminated
    if day is None or series not in DAILY_MOVE:
        return
    value = parsed.rows[day][0]
    if day in old:
        ref, what = old[day][0], f"the stored {day}"
    else:
        earlier = [d for d in (parsed.rows.keys() | old.keys()) if d < day]
        if not earlier:
            return
        prev = max(earlier)
        ref, what = (parsed.rows.get(prev) or old[prev])[0], f"{prev}"
    if ref > 0 and abs(math.log(value / ref)) <= DAILY_MOVE[series]:
        return
    raise InputError(f"the last line has no newline (cut short?) and its {value:g} is"
                     f" {value / ref - 1:+.0%} from {what} {ref:g}, more than a day's move;"
                     " complete the line, or --force", file=file, line=parsed.lines[day],
                     field=parsed.fields[0])


def import_file(path: str | Path, series: str, db: str | Path | None = None, *,
                force: bool = False) -> ImportResult:
    """Import one file into `series` (and an spx or vix file's opens into its
    `OPEN_SERIES` companion), in one transaction. Nothing is written when no row
    changes. Unless `force`, a file whose levels contradict the series (its median
    outside `LEVELS`, or a median ratio to the stored values on shared dates off 1
    by more than `OVERLAP_TOLERANCE`), that would change more than CHANGE_SHARE of
    the stored values, or whose unterminated last line moves more than DAILY_MOVE,
    is refused with an InputError."""
    return import_series(path, (series,), db, force=force)[0]


def import_series(path: str | Path, names: tuple[str, ...], db: str | Path | None = None, *,
                  force: bool = False, keep_stored: bool = False) -> list[ImportResult]:
    """`import_file` for several series of one file (a wide file's VX1 ... VX8 columns, a
    long file's contracts, an OHLC file's close, high and low), all in one transaction:
    a refusal of any leaves the store as it was. With `keep_stored` the file is the lesser
    source of its series: a date already stored keeps its value (counted as `kept`), so
    the file only fills the dates the store lacks, whichever order files come in."""
    file = str(path)
    parsed = []
    for series in names:
        p = _parse_rows(path, series)
        if _kind(series) == "price" and not force:
            _plausible_levels(p.rows, series, file)
        parsed.append((series, p))
    conn = connect(db, create=True)
    try:
        with conn:  # one transaction; rolled back on any error
            return [_store(conn, path, series, p, db, force, keep_stored) for series, p in parsed]
    except sqlite3.Error as exc:
        raise db_error(exc, db, "the import") from None
    finally:
        conn.close()


def _store(conn, path, series: str, parsed: _Parsed, db, force: bool,
           keep_stored: bool) -> ImportResult:
    """Write one parsed series and its opens inside the caller's transaction."""
    kind = _kind(series)
    table, cols = _TABLES[kind]
    file = str(path)
    parts = [(series, parsed.rows, parsed.fields[:1])]
    if parsed.opens:
        parts.append((OPEN_SERIES[series], parsed.opens, ("open",)))
    results = []
    for name, part, field in parts:
        old = {r[0]: tuple(r[1:]) for r in conn.execute(
            f"SELECT date, {', '.join(cols)} FROM {table} WHERE series = ?", (name,))}
        for day, values in old.items():  # hand-edited rows are named, not compared
            check_row(name, table, day, values, db)
        if kind == "price" and not force:
            if name == series:
                _plausible_last_line(parsed, old, series, file)
                _plausible_overlap(part, old, series, file)
            if not keep_stored:
                _plausible_changes(part, old, name, parsed, field[0] if field else "", file)
        differ = [(name, d, *v) for d, v in part.items() if old.get(d) != v]
        new = [row for row in differ if row[1] not in old] if keep_stored else differ
        inserted = sum(1 for row in new if row[1] not in old)
        results.append(ImportResult(name, file, inserted, len(new) - inserted,
                                    len(part) - len(differ), kept=len(differ) - len(new)))
        if not new:
            continue
        marks = ", ".join("?" * (len(cols) + 2))
        conn.executemany(f"INSERT OR REPLACE INTO {table} VALUES ({marks})", new)
        r = results[-1]
        conn.execute("INSERT INTO imports (series, file, imported_at, inserted, updated,"
                     " unchanged) VALUES (?, ?, ?, ?, ?, ?)",
                     (name, str(Path(path).resolve()),
                      datetime.now(timezone.utc).isoformat(timespec="seconds"),
                      r.inserted, r.updated, r.unchanged))
    main, *companions = results
    return ImportResult(main.series, main.file, main.inserted, main.updated,
                        main.unchanged, tuple(companions), main.kept)


def status(db: str | Path | None = None) -> list[SeriesStatus]:
    """Each stored series with its first and last date, row count and last import."""
    conn = connect(db, create=False)
    if conn is None:
        return []
    out = []
    try:
        for table, _ in _TABLES.values():
            for series, first, last, n in conn.execute(
                    f"SELECT series, MIN(date), MAX(date), COUNT(*) FROM {table} GROUP BY series"):
                check_row(series, table, first, None, db)  # the name and table only: no values
                rec = conn.execute("SELECT file, imported_at, inserted, updated, unchanged"
                                   " FROM imports WHERE series = ? ORDER BY id DESC LIMIT 1",
                                   (series,)).fetchone()
                out.append(SeriesStatus(
                    series, _stored_day(first, series, table, db), _stored_day(last, series, table, db),
                    n, *_import_record(series, rec)))
    except sqlite3.Error as exc:
        raise db_error(exc, db) from None
    finally:
        conn.close()
    order = {name: i for i, name in enumerate(STORED_SERIES)}  # unknown names last
    return sorted(out, key=lambda s: (order.get(s.series, len(order)), s.series))


def _not_text_date(series: str, table: str, db) -> InputError:
    return InputError(f"the store holds a {series} date that is not text (written by hand?);"
                      f" delete such rows (DELETE FROM {table} WHERE typeof(date) != 'text')",
                      file=str(db or default_db()), field=series)


def _stored_day(text, series: str, table: str, db) -> date:
    if not isinstance(text, str):
        raise _not_text_date(series, table, db)
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise InputError(f"the store holds {series} on {printable(repr(text)[:40])}, which is not"
                         f" a YYYY-MM-DD date; delete that row (DELETE FROM {table} WHERE"
                         f" series = '{series}' AND date = '{printable(text)[:40].replace(chr(39), chr(39) * 2)}')",
                         file=str(db or default_db()), field=series) from None


def _import_record(series: str, rec) -> tuple[ImportResult | None, datetime | None]:
    """The last import as stored; a record edited into nonsense is shown as none."""
    if rec is None:
        return None, None
    file, when, *counts = rec
    try:
        stamp = datetime.fromisoformat(when)
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None, None
    if not 1990 <= stamp.year <= 2100:  # also keeps astimezone() clear of year 1 / 9999
        return None, None
    if not isinstance(file, str) or not all(type(c) is int for c in counts):
        return None, None
    return ImportResult(series, file, *counts), stamp


def settlement_lookup(market, db: str | Path | None = None):
    """Settlement prices in order: the market file's [[settlement]], then this store (the
    close; for AM the open, approximate). The demo market never reads the store: a demo
    position must not settle on the user's real prices."""
    from core.book.lifecycle import market_file_lookup
    given = market_file_lookup(market)

    def lookup(underlying: str, day: date, style: str):
        found = given(underlying, day, style)
        if found is not None or market.demo:
            return found
        q = settlement_price(db, underlying, day, style)
        return None if q is None else (q.value, q.source)
    return lookup


def settlement_price(db: str | Path | None, underlying: str, day: date | str,
                     style: str = "PM") -> SettlementQuote | None:
    """The store's value for an option settling on `day`: "PM" the close, "AM" the open.

    The official AM value is the special opening quotation (SOQ), which the store does
    not hold, so an AM quote is the day's open, flagged approximate. VIX options and
    futures settle AM always, whatever `style` says. VXX (and anything but SPX or VIX)
    has no stored series: None. None too when the day has no row or no database
    exists; reading never creates one."""
    style = style.upper()
    if style not in ("AM", "PM"):
        raise ValueError(f"settlement style {style!r}: AM or PM")
    name = underlying.upper()
    if name not in ("SPX", "VIX"):
        return None
    if name == "VIX":
        style = "AM"
    day = day.isoformat() if isinstance(day, date) else date.fromisoformat(str(day)).isoformat()
    series = name.lower() if style == "PM" else OPEN_SERIES[name.lower()]
    conn = connect(db, create=False)
    if conn is None:
        return None
    try:
        row = conn.execute("SELECT value FROM closes WHERE series = ? AND date = ?",
                           (series, day)).fetchone()
    except sqlite3.Error as exc:
        raise db_error(exc, db) from None
    finally:
        conn.close()
    if row is None:
        return None
    check_row(series, "closes", day, (row[0],), db)
    if style == "PM":
        return SettlementQuote(float(row[0]), f"history store: {name} close {day}", False)
    return SettlementQuote(float(row[0]), f"history store: {name} open {day}"
                           " (approximate: open, not the official SOQ)", True)


def _daily(dates: list[str], values: list, name: str, dtype, db=None, demo: bool = False):
    """A Daily of rows already checked (`check_row`); a date that is no calendar day
    (2023-02-30) is refused."""
    import numpy as np
    from core.history.daily import Daily
    try:
        days = np.array(dates, dtype="datetime64[D]")
    except ValueError as exc:  # 2023-02-30
        raise InputError(f"the store holds a {name} date that is no calendar day ({exc});"
                         " delete that row", file=str(db) if db is not None else None, field=name) from None
    return Daily(days, np.array(values, dtype=dtype), demo)


def _series(name: str, d):
    """A Daily as a pandas Series on a DatetimeIndex; a demo one carries attrs["demo"]."""
    import pandas as pd
    index = pd.DatetimeIndex(d.days.astype("datetime64[ns]"), name="date")
    s = pd.Series(d.values, index=index, name=name, dtype=d.values.dtype)
    if d.demo:
        s.attrs["demo"] = True
    return s


def _home(series: str) -> str | None:
    """The table a known series lives in (None for a name this version does not know)."""
    if series in PRICE_SERIES or series in OPEN_SERIES.values():
        return "closes"
    return "breadth" if series == "breadth" else "events" if series in EVENT_SERIES else None


def check_row(series, table: str, day, values: tuple, db) -> None:
    """Refuse a stored row that cannot be used, naming it and the SQL that removes it:
    SQLite keeps any type in any column, so a store edited by hand may hold a blob for a
    name or a date, text or 9e999 for a price, a date pandas would wrap (after 2262)."""
    file = str(db or default_db())
    if not isinstance(series, str):
        raise InputError(f"the store's {table} table holds a series name that is not text;"
                         f" delete such rows (DELETE FROM {table} WHERE typeof(series) != 'text')",
                         file=file, field=table)
    home = _home(series)
    if home is not None and home != table:
        raise InputError(f"the store holds {series} rows in its {table} table ({series} lives in"
                         f" {home}); delete them (DELETE FROM {table} WHERE series = '{series}')",
                         file=file, field=series)
    if not isinstance(day, str):
        raise _not_text_date(series, table, db)
    where = f"DELETE FROM {table} WHERE series = '{series}' AND date = '{_sql_text(day)}'"
    if not (_ISO_DATE.fullmatch(day) and NS_FIRST <= day <= NS_LAST):
        raise InputError(f"the store holds {series} on {printable(repr(day)[:40])}, which is not a"
                         f" date from {NS_FIRST} to {NS_LAST} (written by an older version?);"
                         f" delete that row ({where})", file=file, field=series)
    why = None if values is None else _bad_stored(series, table, values)
    if why:
        shown = printable(repr(values[0] if len(values) == 1 else values)[:40])
        raise InputError(f"the store holds {series} on {day} as {shown}, which is not {why}"
                         f" (written by hand or an older version?); delete that row ({where})",
                         file=file, field=series)


def _sql_text(text: str) -> str:
    return printable(text)[:40].replace("'", "''")


def _bad_stored(name: str, table: str, values: tuple) -> str | None:
    """Why stored values cannot be used (None when they can)."""
    if table == "events":
        return None if isinstance(values[0], str) else "a note"
    if table == "breadth":
        ok = all(type(x) is int and 0 <= x <= MAX_COUNT for x in values)
        return None if ok else f"two counts of issues from 0 to {MAX_COUNT:,}"
    value = values[0]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "a finite number"
    base = next((k for k, v in OPEN_SERIES.items() if v == name), name)  # spx_open: spx
    low, high = _bounds(base) if base in LEVELS else (0.0, math.inf)
    if not (low <= value <= high and (value > 0 or name == "tbill_3m")):  # as the import checks it
        return f"a level from {low:g} to {high:g}"
    return None


def load_all(db: str | Path | None = None) -> dict:
    """`load_daily` as pandas Series."""
    return {s: _series(s, d) for s, d in load_daily(db).items()}


def load_daily(db: str | Path | None = None) -> dict:
    """Every stored series by name: prices as floats, `breadth` as net advances
    (advances - declines) per day, events as their notes (FOMC type, CPI month)."""
    conn = connect(db, create=False)
    if conn is None:
        return {}
    queries = {  # (sql, dtype, the value a row gives)
        "closes": ("SELECT series, date, value FROM closes ORDER BY series, date", float, lambda v: v[0]),
        "breadth": ("SELECT series, date, advances, declines FROM breadth ORDER BY date", float,
                    lambda v: v[0] - v[1]),
        "events": ("SELECT series, date, note FROM events ORDER BY series, date", object, lambda v: v[0]),
    }
    grouped: dict[str, tuple[list, list, type]] = {}
    try:
        for table, (sql, dtype, value_of) in queries.items():
            for series, day, *values in conn.execute(sql):
                check_row(series, table, day, tuple(values), db)
                dates, got, _ = grouped.setdefault(series, ([], [], dtype))
                dates.append(day)
                got.append(value_of(values))
    except sqlite3.Error as exc:
        raise db_error(exc, db) from None
    finally:
        conn.close()
    path = db if db is not None else default_db()
    return {s: _daily(d, v, s, t, path) for s, (d, v, t) in grouped.items()}


def demo_series() -> dict:
    """`demo_daily` as pandas Series, each with attrs["demo"] = True."""
    return {s: _series(s, d) for s, d in demo_daily().items()}


def demo_daily() -> dict:
    """The bundled DEMO history (synthetic, ends 2026-11-20), shaped like `load_daily`.

    Each series is marked demo, which `signals.compute_signals` reads.
    """
    out = {}
    with open(paths.DEMO_DIR / "history_demo.csv", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(fh) if r and not r[0].startswith("#")]
    header, body = rows[0], rows[1:]
    dates = [r[0] for r in body]
    for i, name in enumerate(header[1:], start=1):
        out[name] = _daily(dates, [float(r[i]) for r in body], name, float, demo=True)
    with open(paths.DEMO_DIR / "history_demo_events.csv", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(fh) if r and not r[0].startswith("#")][1:]
    for name in sorted({r[0] for r in rows}):
        picked = [r for r in rows if r[0] == name]
        out[name] = _daily([r[1] for r in picked], [r[2] for r in picked], name, object, demo=True)
    return out


def series_for(db: str | Path | None, demo_market: bool) -> dict:
    """What the signals read: the user's store; the DEMO history only when the store
    is empty and the market is the demo too, so DEMO signals never steer a real book."""
    series = load_daily(db)
    return series or (demo_daily() if demo_market else {})


def load_signals(db: str | Path | None, market):
    """The signal set for a market: computed as of its day from `series_for`."""
    from core.history.signals import compute_signals
    return compute_signals(series_for(db, market.demo), market.as_of.date())
