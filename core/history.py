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
from datetime import date, datetime, timezone
from pathlib import Path

from core.errors import InputError

PRICE_SERIES = ("vix", "vix3m", "spx", "vx1", "vx2")
EVENT_SERIES = ("fomc", "cpi", "ppi")
SERIES = PRICE_SERIES + ("breadth",) + EVENT_SERIES

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


def _columns(series: str, kind: str, header: list[str], file: str):
    """(date column, contract column or None, [(value column, parser)]) for this file."""
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
    return date_col, contract_col, [(value_col, _parse_price)]


def parse_file(path: str | Path, series: str) -> dict[str, tuple]:
    """Rows of a history file as {ISO date: values}; InputError on the first bad row."""
    kind = _kind(series)
    file = str(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = [h.strip().lower() for h in next(reader, [])]
            if not any(header):
                raise InputError("empty file", file=file, line=1)
            date_col, contract_col, values = _columns(series, kind, header, file)
            rows: dict[str, tuple] = {}
            lines: dict[str, int] = {}
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
                    day = _parse_date(cells[date_col]).isoformat()
                except ValueError:
                    raise InputError(f"not a date: {cells[date_col]!r}", file=file, line=line,
                                     field=header[date_col]) from None
                parsed = []
                for col, parse in values:
                    try:
                        parsed.append(parse(cells[col]))
                    except ValueError:
                        what = "price" if parse is _parse_price else "count"
                        raise InputError(f"not a valid {what}: {cells[col]!r}", file=file,
                                         line=line, field=header[col]) from None
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
    return rows


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


def import_file(path: str | Path, series: str, db: str | Path | None = None) -> ImportResult:
    """Import one file into `series`. Nothing is written when no row changes."""
    rows = parse_file(path, series)
    table, cols = _TABLES[_kind(series)]
    conn = _connect(db, create=True)
    try:
        with conn:  # one transaction; rolled back on any error
            old = {r[0]: tuple(r[1:]) for r in conn.execute(
                f"SELECT date, {', '.join(cols)} FROM {table} WHERE series = ?", (series,))}
            new = [(series, d, *v) for d, v in rows.items() if old.get(d) != v]
            inserted = sum(1 for row in new if row[1] not in old)
            result = ImportResult(series, str(path), inserted, len(new) - inserted,
                                  len(rows) - len(new))
            if not new:
                return result
            marks = ", ".join("?" * (len(cols) + 2))
            conn.executemany(f"INSERT OR REPLACE INTO {table} VALUES ({marks})", new)
            conn.execute("INSERT INTO imports (series, file, imported_at, inserted, updated,"
                         " unchanged) VALUES (?, ?, ?, ?, ?, ?)",
                         (series, str(Path(path).resolve()),
                          datetime.now(timezone.utc).isoformat(timespec="seconds"),
                          result.inserted, result.updated, result.unchanged))
        return result
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
    return sorted(out, key=lambda s: SERIES.index(s.series))


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
