"""The append-only journal of book edits and the daily book snapshots, both kept in
the history store (SQLite). Every edit is one record: its action, each position
before and after, and the ledger records it added (the fill). Replaying a book's
records from an empty book gives its positions and ledger back (the account and the
settings are the book file's own, not journaled).
"""
from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timezone
from pathlib import Path

from core.model.errors import InputError, printable
from core.model.inputs import Book, Closed, Condor, Hedge, HedgeLeg

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY, book TEXT, time TEXT, action TEXT,
    label TEXT, changes TEXT, fill TEXT);
CREATE INDEX IF NOT EXISTS journal_book ON journal (book, id);
CREATE TABLE IF NOT EXISTS snapshots (book TEXT, date TEXT, time TEXT, pnl REAL, pnl_realized REAL,
    theta REAL, delta REAL, vega REAL, positions TEXT, PRIMARY KEY (book, date)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshot_condors (book TEXT, date TEXT, pnl REAL, pnl_realized REAL,
    theta REAL, PRIMARY KEY (book, date)) WITHOUT ROWID;
"""
# The condors' own part of a snapshot (the live theta R² of the condors alone) is a table
# beside the snapshots, so that stores written before it need no change of their table.
CONDOR_TOTALS = ("condor_pnl", "condor_realized", "condor_theta")


@dataclass(frozen=True)
class Entry:
    id: int
    time: datetime
    action: str  # add, edit, delete, close, settle, apply, market, undo, redo, sync
    label: str  # what the trader saw said, e.g. "closed 1 of IC-Dec18 at 4.10: realized +930.00 $"
    changes: tuple[dict, ...]  # {"kind", "id", "before", "after"}; before/after None for add/remove
    fill: tuple[dict, ...]  # ledger records added
    removed: int = 0  # ledger records taken back (an undone close)


def book_key(path: str | Path) -> str:
    return str(Path(path).resolve())


def _connect(db) -> sqlite3.Connection:
    """The history store, with its own tables and the journal's (a new store gets both)."""
    from core.history import store as history
    path = Path(db) if db is not None else history.default_db()
    conn = history.connect(path, create=True)  # its own InputError: locked, read-only, ...
    try:
        conn.executescript(_SCHEMA)
        return conn
    except sqlite3.Error as exc:
        conn.close()
        raise history.db_error(exc, path, "the journal record") from None
    except OSError as exc:
        conn.close()
        raise InputError(f"cannot use the history store for the journal: {exc}", file=str(path)) from None


# ---- positions as JSON -------------------------------------------------------

def _plain(obj) -> dict:
    d = asdict(obj)
    d.pop("line", None)
    for k, v in list(d.items()):
        if isinstance(v, date):
            d[k] = v.isoformat()
    if "legs" in d:
        d["legs"] = [{**leg, "expiry": leg["expiry"].isoformat()} for leg in asdict(obj)["legs"]]
    return d


def _dates(cls, d: dict) -> dict:
    out = dict(d)
    for f in fields(cls):
        if f.name in ("expiry", "opened", "closed") and isinstance(out.get(f.name), str):
            out[f.name] = date.fromisoformat(out[f.name])
    return out


def _position(kind: str, d: dict):
    if kind == "condor":
        return Condor(**_dates(Condor, d))
    legs = tuple(HedgeLeg(**_dates(HedgeLeg, x)) for x in d["legs"])
    return Hedge(**{**_dates(Hedge, d), "legs": legs})


def closed_from(d: dict) -> Closed:
    return Closed(**_dates(Closed, d))


# ---- recording ---------------------------------------------------------------

def diff(before: Book, after: Book) -> tuple[list[dict], list[dict], int]:
    """(position changes, ledger records added, ledger records removed) from one book to another."""
    changes = []
    for kind, old, new in (("condor", before.condors, after.condors), ("hedge", before.hedges, after.hedges)):
        a, b = {x.id: x for x in old}, {x.id: x for x in new}
        for pid in list(a) + [p for p in b if p not in a]:
            if a.get(pid) != b.get(pid):
                changes.append({"kind": kind, "id": pid,
                                "before": _plain(a[pid]) if pid in a else None,
                                "after": _plain(b[pid]) if pid in b else None})
    n = _common_prefix(before.closed, after.closed)
    return changes, [_plain(c) for c in after.closed[n:]], len(before.closed) - n


def _common_prefix(a, b) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _levels(m) -> dict:
    return {"as_of": m.as_of.isoformat(), "spx": m.spx, "vix": m.vix, "vix3m": m.vix3m, "vxx": m.vxx,
            "rate": m.rate, "dividend_yield": m.dividend_yield,
            "vix_futures": {d.isoformat(): p for d, p in m.vix_futures},
            "settlements": [[s.underlying, s.date.isoformat(), s.style, s.value] for s in m.settlements]}


def record(db, key: str, action: str, before: Book, after: Book, when: datetime | None = None,
           markets=None, label: str = "") -> int:
    """Append one record for an edit; first a `sync` record when the journal does not
    replay to `before` (the file was edited by hand, or saved without a journal).
    `markets`: (before, after) for a market edit, kept in the record (replay skips it)."""
    from core.history.store import db_error
    when = when or datetime.now(timezone.utc)
    conn = _connect(db)
    try:
        with conn:
            have = _replay(_entries(conn, key))
            if not same(have, before):
                _append(conn, key, when, "sync", "the book file as found", *diff(have, before))
            changes, fill, removed = diff(before, after)
            if markets is not None:
                changes.append({"kind": "market", "id": "market", "before": _levels(markets[0]),
                                "after": _levels(markets[1])})
            return _append(conn, key, when, action, label or action, changes, fill, removed)
    except sqlite3.Error as exc:
        raise db_error(exc, db, "the journal record") from None
    finally:
        conn.close()


def _append(conn, key, when, action, label, changes, fill, removed) -> int:
    cur = conn.execute("INSERT INTO journal (book, time, action, label, changes, fill) VALUES (?, ?, ?, ?, ?, ?)",
                       (key, when.isoformat(timespec="seconds"), action, label, json.dumps(changes),
                        json.dumps({"added": fill, "removed": removed})))
    return int(cur.lastrowid)


def _reading(db, sql: str, args: tuple) -> list:
    """Rows of a query on the store as it is: nothing created by a read (no store, no table: none)."""
    from core.history import store as history
    conn = history.connect(db, create=False)  # its own InputError: locked, not a database, ...
    if conn is None:
        return []
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise history.db_error(exc, db, "the journal") from None
    except sqlite3.Error as exc:
        raise history.db_error(exc, db, "the journal") from None
    finally:
        conn.close()


_ENTRIES = "SELECT id, time, action, label, changes, fill FROM journal WHERE book = ? ORDER BY id"


def entries(db, key: str) -> list[Entry]:
    """The journal's records; one that the replay could not read is refused here too."""
    items = _to_entries(_reading(db, _ENTRIES, (key,)))
    _replay(items)
    return items


def _entries(conn, key: str) -> list[Entry]:
    return _to_entries(conn.execute(_ENTRIES, (key,)).fetchall())


# What a record edited by hand (or torn by another program) raises as it is read.
_UNREADABLE = (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError)


_CHANGE_KEYS = {"kind", "id", "before", "after"}
_TEXT, _NUMBERS = ("id", "what", "description", "how"), ("open_price", "close_price", "commission", "realized")


def _no_constant(name: str):
    raise ValueError(f"{name} is no number a journal writes")


def _ledger_record(d) -> bool:
    """A ledger record as the journal writes it: a Closed, with text and finite numbers."""
    c = closed_from(d) if isinstance(d, dict) else None
    return c is not None and all(isinstance(getattr(c, k), str) for k in _TEXT) \
        and type(c.quantity) is int and all(type(getattr(c, k)) in (int, float)
                                            and math.isfinite(getattr(c, k)) for k in _NUMBERS)


def _unreadable(rid, exc: Exception) -> InputError:
    """The journal is a log beside the book, which stays the record: say which row to drop."""
    why = printable(f"{type(exc).__name__}: {exc}")[:80]
    return InputError(f"journal record {rid} cannot be read ({why}); the book file is the record:"
                      f" delete that row (DELETE FROM journal WHERE id = {rid})",
                      field="journal")


def _to_entries(rows) -> list[Entry]:
    out = []
    for rid, t, action, label, changes, fill in rows:
        try:
            f = json.loads(fill, parse_constant=_no_constant)
            changes = tuple(json.loads(changes, parse_constant=_no_constant))
            when = datetime.fromisoformat(t)
            added, removed = tuple(f["added"]), f["removed"]
            if not (isinstance(action, str) and isinstance(label, str) and type(removed) is int
                    and removed >= 0 and all(_ledger_record(c) for c in added)
                    and all(isinstance(c, dict) and c.keys() >= _CHANGE_KEYS and isinstance(c["id"], str)
                            and c["kind"] in ("condor", "hedge", "market") for c in changes)):
                raise ValueError("fields of the wrong type")
        except _UNREADABLE as exc:
            raise _unreadable(rid, exc) from None
        out.append(Entry(rid, when, action, label, changes, added, removed))
    return out


def _replay(items: list[Entry]) -> Book:
    condors: dict[str, Condor] = {}
    hedges: dict[str, Hedge] = {}
    closed: list[Closed] = []
    for e in items:
        try:
            for ch in e.changes:
                if ch["kind"] == "market":
                    continue
                target = {"condor": condors, "hedge": hedges}[ch["kind"]]
                if ch["after"] is None:
                    target.pop(ch["id"], None)
                else:
                    target[ch["id"]] = _position(ch["kind"], ch["after"])
            del closed[max(len(closed) - e.removed, 0):]
            closed.extend(closed_from(d) for d in e.fill)
        except _UNREADABLE as exc:
            raise _unreadable(e.id, exc) from None
    return Book(equity=1.0, condors=tuple(condors.values()), hedges=tuple(hedges.values()),
                closed=tuple(closed))


def replay(db, key: str) -> Book:
    """The positions and ledger the journal describes (on a placeholder account)."""
    return _replay(entries(db, key))


def same(a: Book, b: Book) -> bool:
    """The same positions (by id, any order) and the same ledger."""
    return ({c.id: c for c in a.condors} == {c.id: c for c in b.condors}
            and {h.id: h for h in a.hedges} == {h.id: h for h in b.hedges}
            and tuple(a.closed) == tuple(b.closed))


# ---- daily snapshots ---------------------------------------------------------

def write_snapshot(db, key: str, day: date, totals: dict, positions: dict, replace_day: bool = True) -> bool:
    """Store the book's numbers for `day`; with replace_day False, only if none is stored yet.
    The condors' own P&L and theta (totals' CONDOR_TOTALS, when given) go beside them.
    Returns True when a row was written."""
    conn = _connect(db)
    try:
        with conn:
            verb = "INSERT OR REPLACE" if replace_day else "INSERT OR IGNORE"
            cur = conn.execute(
                f"{verb} INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, day.isoformat(), datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 totals["pnl"], totals["pnl_realized"], totals["theta"], totals["delta"], totals["vega"],
                 json.dumps(positions)))
            if cur.rowcount <= 0:
                return False
            if all(k in totals for k in CONDOR_TOTALS):
                conn.execute("INSERT OR REPLACE INTO snapshot_condors VALUES (?, ?, ?, ?, ?)",
                             (key, day.isoformat(), *(totals[k] for k in CONDOR_TOTALS)))
            else:  # a day written again without them: no stale part of the old one
                conn.execute("DELETE FROM snapshot_condors WHERE book = ? AND date = ?", (key, day.isoformat()))
            return True
    except sqlite3.Error as exc:
        from core.history.store import db_error
        raise db_error(exc, db, "the snapshot") from None
    finally:
        conn.close()


def snapshots(db, key: str) -> list[dict]:
    rows = _reading(db, "SELECT date, pnl, pnl_realized, theta, delta, vega, positions FROM snapshots"
                        " WHERE book = ? ORDER BY date", (key,))
    out = []
    for d, p, r, t, de, v, pos in rows:
        try:
            positions = json.loads(pos)
        except _UNREADABLE as exc:
            raise InputError(f"the snapshot of {printable(str(d))} cannot be read ({exc}); delete"
                             f" that row of the snapshots table", field="snapshots") from None
        out.append({"date": d, "pnl": p, "pnl_realized": r, "theta": t, "delta": de, "vega": v,
                    "positions": positions})
    return out


def snapshot_series(db, key: str) -> list[dict]:
    """The snapshots' daily numbers by date, without the positions: {date, pnl, pnl_realized,
    theta}, and condor_pnl, condor_realized, condor_theta (None on a day stored without them)."""
    rows = _reading(db, "SELECT date, pnl, pnl_realized, theta FROM snapshots WHERE book = ? ORDER BY date",
                    (key,))
    parts = {d: v for d, *v in _reading(db, "SELECT date, pnl, pnl_realized, theta FROM snapshot_condors"
                                            " WHERE book = ?", (key,))}
    return [{"date": d, "pnl": p, "pnl_realized": r, "theta": t,
             **dict(zip(CONDOR_TOTALS, parts.get(d, (None, None, None))))} for d, p, r, t in rows]
