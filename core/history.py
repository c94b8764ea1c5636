"""The market history store: one SQLite file of closes, breadth and event dates.

Every function takes the database path (None: the user data directory).
Imports parse the whole file before touching the database, and write it in
one transaction, so a bad row leaves the store exactly as it was.

Series read back are pandas Series with a DatetimeIndex; pandas is imported
inside functions so importing this module stays cheap.
"""
from __future__ import annotations

import csv
import math
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from core.errors import InputError

PRICE_SERIES = ("vix", "vix3m", "spx", "vx1", "vx2")
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
LEVELS = {"spx": (50.0, 50_000.0), **{s: (5.0, 200.0) for s in ("vix", "vix3m", "vx1", "vx2")}}
# The median ratio of imported to stored values on shared dates must lie within this of 1.
# Two sources of one index agree to about 1 bp (Yahoo vs FRED SPX); the nearest distinct
# series pairs lie outside it (median VIX/VX1 0.963, VX1/VX2 0.943, VIX/VIX3M 0.885).
OVERLAP_TOLERANCE = 0.02
EARLIEST = date(1900, 1, 1)  # import refuses dates before this, or over a year ahead

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
DEMO_DIR = Path(__file__).parent / "demo"


@dataclass(frozen=True)
class ImportResult:
    series: str
    file: str
    inserted: int
    updated: int
    unchanged: int
    companions: tuple = ()  # ImportResults of the companion series (the opens) written too

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

def _parse_date(text: str) -> date:
    text = text.strip()
    if "/" in text:  # Cboe's MM/DD/YYYY
        month, day, year = text.split("/")
        if len(year) != 4:
            raise ValueError
        return date(int(year), int(month), int(day))
    return date.fromisoformat(text)


def _parse_price(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise ValueError
    return value


def _parse_count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError
    return value


def _parse_open(text: str) -> float | None:
    return _parse_price(text) if text.strip() else None  # a blank open is no open


def _all_equal(cells: list[str], cols: list[int], value: float) -> bool:
    """Whether high and low (when the file has both) equal `value`: a placeholder row."""
    try:
        return len(cols) == 2 and all(float(cells[c]) == value for c in cols)
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
        return date_col, None, [(note_col, str.strip)] if note_col is not None else []
    date_col = need("date", "observation_date")
    if kind == "breadth":
        return date_col, None, [(need("advances"), _parse_count), (need("declines"), _parse_count)]
    contract_col = find("contract") if series in ("vx1", "vx2") else None
    value_col = find("settle") if series in ("vx1", "vx2") else None
    if value_col is None:
        value_col = find("close")
    if value_col is None and len(header) == 2:  # plain `date,<value>`
        value_col = 1 - date_col
    if value_col is None:
        raise InputError("no close column", file=file, line=1, field="header")
    values = [(value_col, _parse_price)]
    if series in OPEN_SERIES and "open" in header:
        values.append((header.index("open"), _parse_open))
    return date_col, contract_col, values


def parse_file(path: str | Path, series: str) -> dict[str, tuple]:
    """Rows of a history file as {ISO date: values}; InputError on the first bad row."""
    return _parse_rows(path, series)[0]


def _parse_rows(path: str | Path, series: str) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """(rows of `series`, rows of its open companion) of a history file.

    Opens are kept only where they are real: not blank and not a close-only
    placeholder row (O = H = L = C, as in Cboe's VIX history before 1992)."""
    kind = _kind(series)
    latest = _latest()
    file = str(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = [h.strip().lower() for h in next(reader, [])]
            if not any(header):
                raise InputError("empty file", file=file, line=1)
            date_col, contract_col, values = _columns(series, kind, header, file)
            rows: dict[str, tuple] = {}
            opens: dict[str, tuple] = {}
            lines: dict[str, int] = {}
            hl = [header.index(c) for c in ("high", "low") if c in header]
            has_open = kind == "price" and len(values) == 2
            for cells in reader:
                line = reader.line_num
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
                    raise InputError(f"not a date: {cells[date_col]!r}", file=file, line=line,
                                     field=header[date_col]) from None
                if not EARLIEST <= when <= latest:
                    raise InputError(f"date {when} is out of range ({EARLIEST} to {latest})",
                                     file=file, line=line, field=header[date_col])
                day = when.isoformat()
                parsed = []
                for col, parse in values:
                    try:
                        parsed.append(parse(cells[col]))
                    except ValueError:
                        what = "price" if parse is _parse_price else "count"
                        raise InputError(f"not a valid {what}: {cells[col]!r}", file=file,
                                         line=line, field=header[col]) from None
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
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", file=file) from None
    except csv.Error as exc:
        raise InputError(f"bad CSV: {exc}", file=file) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=file) from None
    if not rows:
        raise InputError(f"no {series} rows", file=file)
    return rows, opens


# ---- the store -------------------------------------------------------------

def _connect(db: str | Path | None, create: bool) -> sqlite3.Connection | None:
    path = Path(db) if db is not None else default_db()
    if not path.exists():
        if not create:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(path)
        if create:
            conn.executescript(_SCHEMA)
        return conn
    except sqlite3.DatabaseError as exc:
        raise InputError(f"not a history database: {exc}", file=str(path)) from None


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
    what = "settles" if series in ("vx1", "vx2") else "closes"
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


def import_file(path: str | Path, series: str, db: str | Path | None = None, *,
                force: bool = False) -> ImportResult:
    """Import one file into `series` (and an spx or vix file's opens into its
    `OPEN_SERIES` companion), in one transaction. Nothing is written when no row
    changes. Unless `force`, a file whose levels contradict the series (its median
    outside `LEVELS`, or a median ratio to the stored values on shared dates off 1
    by more than `OVERLAP_TOLERANCE`) is refused with an InputError."""
    rows, opens = _parse_rows(path, series)
    kind = _kind(series)
    table, cols = _TABLES[kind]
    if kind == "price" and not force:
        _plausible_levels(rows, series, str(path))
    parts = [(series, rows)] + ([(OPEN_SERIES[series], opens)] if opens else [])
    conn = _connect(db, create=True)
    try:
        with conn:  # one transaction; rolled back on any error
            results = []
            for name, part in parts:
                old = {r[0]: tuple(r[1:]) for r in conn.execute(
                    f"SELECT date, {', '.join(cols)} FROM {table} WHERE series = ?", (name,))}
                if name == series and kind == "price" and not force:
                    _plausible_overlap(part, old, series, str(path))
                new = [(name, d, *v) for d, v in part.items() if old.get(d) != v]
                inserted = sum(1 for row in new if row[1] not in old)
                results.append(ImportResult(name, str(path), inserted, len(new) - inserted,
                                            len(part) - len(new)))
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
                            main.unchanged, tuple(companions))
    finally:
        conn.close()


def status(db: str | Path | None = None) -> list[SeriesStatus]:
    """Each stored series with its first and last date, row count and last import."""
    conn = _connect(db, create=False)
    if conn is None:
        return []
    out = []
    try:
        for table, _ in _TABLES.values():
            for series, first, last, n in conn.execute(
                    f"SELECT series, MIN(date), MAX(date), COUNT(*) FROM {table} GROUP BY series"):
                rec = conn.execute("SELECT file, imported_at, inserted, updated, unchanged"
                                   " FROM imports WHERE series = ? ORDER BY id DESC LIMIT 1",
                                   (series,)).fetchone()
                out.append(SeriesStatus(
                    series, date.fromisoformat(first), date.fromisoformat(last), n,
                    ImportResult(series, rec[0], *rec[2:]) if rec else None,
                    datetime.fromisoformat(rec[1]) if rec else None))
    except sqlite3.DatabaseError as exc:
        raise InputError(f"not a history database: {exc}", file=str(db or default_db())) from None
    finally:
        conn.close()
    order = {name: i for i, name in enumerate(STORED_SERIES)}  # unknown names last
    return sorted(out, key=lambda s: (order.get(s.series, len(order)), s.series))


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
    conn = _connect(db, create=False)
    if conn is None:
        return None
    try:
        row = conn.execute("SELECT value FROM closes WHERE series = ? AND date = ?",
                           (series, day)).fetchone()
    except sqlite3.DatabaseError as exc:
        raise InputError(f"not a history database: {exc}", file=str(db or default_db())) from None
    finally:
        conn.close()
    if row is None:
        return None
    if style == "PM":
        return SettlementQuote(float(row[0]), f"history store: {name} close {day}", False)
    return SettlementQuote(float(row[0]), f"history store: {name} open {day}"
                           " (approximate: open, not the official SOQ)", True)


def _series(dates: list[str], values: list, name: str, dtype=None):
    import numpy as np
    import pandas as pd
    index = pd.DatetimeIndex(np.array(dates, dtype="datetime64[ns]"), name="date")
    return pd.Series(values, index=index, name=name, dtype=dtype)


def load_all(db: str | Path | None = None) -> dict:
    """Every stored series by name: prices as floats, `breadth` as net advances
    (advances - declines) per day, events as their notes (FOMC type, CPI month)."""
    conn = _connect(db, create=False)
    if conn is None:
        return {}
    queries = {
        "closes": ("SELECT series, date, value FROM closes ORDER BY series, date", float),
        "breadth": ("SELECT series, date, advances - declines FROM breadth ORDER BY date", float),
        "events": ("SELECT series, date, note FROM events ORDER BY series, date", object),
    }
    grouped: dict[str, tuple[list, list, type]] = {}
    try:
        for sql, dtype in queries.values():
            for series, day, value in conn.execute(sql):
                dates, values, _ = grouped.setdefault(series, ([], [], dtype))
                dates.append(day)
                values.append(value)
    except sqlite3.DatabaseError as exc:
        raise InputError(f"not a history database: {exc}", file=str(db or default_db())) from None
    finally:
        conn.close()
    return {s: _series(d, v, s, t) for s, (d, v, t) in grouped.items()}


def demo_series() -> dict:
    """The bundled DEMO history (synthetic, ends 2026-11-20), shaped like `load_all`.

    Each series carries attrs["demo"] = True, which `signals.compute_signals` reads.
    """
    out = {}
    with open(DEMO_DIR / "history_demo.csv", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(fh) if r and not r[0].startswith("#")]
    header, body = rows[0], rows[1:]
    dates = [r[0] for r in body]
    for i, name in enumerate(header[1:], start=1):
        out[name] = _series(dates, [float(r[i]) for r in body], name, float)
    with open(DEMO_DIR / "history_demo_events.csv", encoding="utf-8") as fh:
        rows = [r for r in csv.reader(fh) if r and not r[0].startswith("#")][1:]
    for name in sorted({r[0] for r in rows}):
        picked = [r for r in rows if r[0] == name]
        out[name] = _series([r[1] for r in picked], [r[2] for r in picked], name, object)
    for s in out.values():
        s.attrs["demo"] = True
    return out


def series_for(db: str | Path | None, demo_market: bool) -> dict:
    """What the signals read: the user's store; the DEMO history only when the store
    is empty and the market is the demo too, so DEMO signals never steer a real book."""
    series = load_all(db)
    return series or (demo_series() if demo_market else {})


def load_signals(db: str | Path | None, market):
    """The signal set for a market: computed as of its day from `series_for`."""
    from core.signals import compute_signals
    return compute_signals(series_for(db, market.demo), market.as_of.date())
