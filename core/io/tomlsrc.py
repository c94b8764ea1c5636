"""Reading hand-edited TOML with errors that name file, line and field.

tomllib gives plain values without positions, so `SourceMap` scans the text
for table headers and keys to find the line of each field.
"""
from __future__ import annotations

import difflib
import math
import re
import tomllib
from datetime import date, datetime
from pathlib import Path

from core.io.atomic import not_regular
from core.model.errors import InputError, printable

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)\s*=""")


class SourceMap:
    """Line numbers of tables and keys, by table path like ("hedge", 1, "leg", 0)."""

    def __init__(self, text: str):
        self.tables: dict[tuple, int] = {}
        self.keys: dict[tuple, dict[str, int]] = {}
        counts: dict[tuple, int] = {}
        current: tuple = ()
        self.keys[current] = {}
        # TOML lines end only at \n (str.splitlines would also split at U+2028, \x0c, ...)
        for n, line in enumerate(strip_bom(text).split("\n"), start=1):
            m = _HEADER.match(line)
            if m:
                parts = [p.strip().strip('"\'') for p in m.group(2).split(".")]
                current = self._resolve(parts, m.group(1) == "[[", counts)
                self.tables[current] = n
                self.keys.setdefault(current, {})
                continue
            m = _KEY.match(line)
            if m:
                self.keys[current].setdefault(m.group(1).strip('"\''), n)

    def _resolve(self, parts: list[str], is_array: bool, counts: dict) -> tuple:
        # An array table's children attach to its latest element: hedge.leg -> ("hedge", i, "leg", j).
        path: tuple = ()
        for i, name in enumerate(parts):
            path = path + (name,)
            last = i == len(parts) - 1
            if last and is_array:
                idx = counts.get(path, 0)
                counts[path] = idx + 1
                for k in [k for k in counts if len(k) > len(path) and k[:len(path)] == path]:
                    del counts[k]  # a new element restarts its children's numbering
                path = path + (idx,)
            elif path in counts:
                path = path + (counts[path] - 1,)
        return path

    def line(self, path: tuple, key: str | None = None) -> int | None:
        if key is not None and key in self.keys.get(path, {}):
            return self.keys[path][key]
        return self.tables.get(path)


MAX_DEPTH = 32  # arrays and inline tables nested deeper than this are refused (the files need 2)


def strip_bom(text: str) -> str:
    """A UTF-8 byte order mark, as some editors write it, is not part of the TOML."""
    return text[1:] if text.startswith("\ufeff") else text


def parse_toml(text: str, source: str) -> dict:
    text = strip_bom(text)
    _check_depth(text, source)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise InputError(f"malformed TOML: {msg}", file=source,
                         line=int(m.group(1)) if m else None) from None
    except RecursionError:  # the depth scan missed it: still one line, never a traceback
        raise InputError(f"malformed TOML: nested more than {MAX_DEPTH} levels deep", file=source) from None


def _check_depth(text: str, source: str) -> None:
    """Refuse deep nesting before tomllib recurses into it (RecursionError at ~500 levels)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth, line, i, n = 0, 1, 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        elif c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        elif c in "\"'":
            quote = text[i:i + 3] if text.startswith(c * 3, i) else c
            i += len(quote)
            while i < n and not text.startswith(quote, i):
                if text[i] == "\n":
                    line += 1
                    if len(quote) == 1:
                        break  # an unterminated string: tomllib will say so
                i += 2 if c == '"' and text[i] == "\\" else 1
            i += len(quote)
            continue
        elif c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError(f"malformed TOML: arrays or inline tables nested more than"
                                 f" {MAX_DEPTH} levels deep", file=source, line=line)
        elif c in "]}":
            depth = max(depth - 1, 0)
        i += 1


MAX_FILE_BYTES = 8 << 20  # a 1,000-condor book is ~150 kB; /dev/zero must not fill the memory


def read_text(path: str | Path) -> str:
    """The file's text, read with a size cap (a device or a huge file is refused, not slurped)."""
    return read_capped(path, "book or market", MAX_FILE_BYTES, by_line=False)


def read_capped(path: str | Path, what: str, cap: int, by_line: bool = True) -> str:
    """A regular file's UTF-8 text (a leading byte-order mark dropped), at most `cap`
    bytes: anything else is one InputError naming the file, and for a line-based file
    (`by_line`) the line of a bad byte."""
    file = str(path)
    kind = not_regular(path)
    if kind:
        raise InputError(f"{kind}, not a {what} file", file=file)
    try:
        with open(path, "rb") as f:
            data = f.read(cap + 1)
    except FileNotFoundError:
        raise InputError("file not found", file=file) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=file) from None
    if len(data) > cap:
        raise InputError(f"larger than {cap >> 20} MB: not a {what} file", file=file)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if by_line:
            raise InputError(f"not UTF-8 text (byte {exc.start + 1})", file=file,
                             line=data.count(b"\n", 0, exc.start) + 1) from None
        raise InputError(f"cannot read: not UTF-8 text (byte {exc.start + 1})", file=file) from None


def too_large(text: str, path, what: str) -> None:
    """Refuse to write a file the reader would refuse (MAX_FILE_BYTES)."""
    size = len(text.encode("utf-8"))
    if size > MAX_FILE_BYTES:
        raise InputError(f"the {what} would be {size / 1e6:,.1f} MB, over the {MAX_FILE_BYTES >> 20} MB"
                         f" a {what} file may be: not saved", file=str(path))


def previous_text(path: str | Path) -> str | None:
    """The text a save replaces, to keep its comments and layout; None when there is none
    usable (absent, unreadable, too large, not UTF-8): the file is then written fresh."""
    try:
        return read_text(path) if Path(path).exists() else None
    except InputError:
        return None


_TYPES = {
    "str": (str,), "int": (int,), "num": (int, float), "bool": (bool,),
    "date": (date,), "datetime": (datetime,), "table": (dict,), "list": (list,),
}
_NAMES = {"str": "text", "int": "a whole number", "num": "a number", "bool": "true or false",
          "date": "a date like 2026-12-18", "datetime": "a date-time like 2026-11-20T16:15:00",
          "table": "a table", "list": "a list"}
_MISSING = object()
DATES = (date(1990, 1, 1), date(2100, 12, 31))  # every date and date-time in the files


def within(lo: float, hi: float, unit: str = "", what: str = "") -> dict:
    """check/why for Table.get: a number from lo to hi, both included. The message says
    "above zero" or "not negative" first when that is what the value missed."""
    span = f"from {_g(lo)} to {_g(hi)}{unit}"

    def why(v: float) -> str:
        lead = f"{what} " if what else ""
        if v <= 0 < lo:
            return f"{lead}must be above zero ({span})"
        if v < 0 == lo:
            return f"{lead}must not be negative ({span})"
        return f"{lead}must be {span}"
    return dict(check=lambda v: lo <= v <= hi, why=why)


def _g(x: float) -> str:
    return f"{x:,.0f}" if x == int(x) and abs(x) < 1e7 else f"{x:g}"


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class Table:
    """One TOML table with its position, handing out checked fields."""

    def __init__(self, data: dict, path: tuple, src: SourceMap, file: str, label: str):
        self.data, self.path, self.src, self.file, self.label = data, path, src, file, label
        self.used: set[str] = set()

    def error(self, key: str | None, message: str) -> InputError:
        field = f"{self.label}.{key}" if key and self.label else (key or self.label)
        line = self.src.line(self.path, key)
        if key is not None and key not in self.src.keys.get(self.path, {}):
            line = self.src.tables.get(self.path + (key,), line)  # [parent.key] written as a table
            line = self.src.tables.get(self.path + (key, 0), line)  # or as [[parent.key]]
            if line is None:  # or only through deeper headers, like [parent.key.sub]
                head = self.path + (key,)
                line = min((n for p, n in self.src.tables.items() if p[:len(head)] == head), default=None)
        return InputError(message, file=self.file, line=line, field=field)

    def get(self, key: str, kind: str, default=_MISSING, check=None, why: str = ""):
        self.used.add(key)
        if key not in self.data:
            if default is _MISSING:
                typo = difflib.get_close_matches(key, [k for k in self.data if k not in self.used], 1, 0.7)
                if typo:
                    raise self.error(typo[0], f"unknown field: did you mean {key}?")
                raise self.error(key, "missing")
            return default
        value = self.data[key]
        ok = isinstance(value, _TYPES[kind]) and not (kind in ("int", "num") and isinstance(value, bool))
        if kind == "date" and isinstance(value, datetime):
            ok = False
        if not ok:
            raise self.error(key, f"must be {_NAMES[kind]}, got {_short(value)}")
        if kind == "str" and printable(value) != value:
            raise self.error(key, f"must not contain control characters, got {printable(value)!r}")
        if kind == "num":
            try:
                value = float(value)
            except OverflowError:
                value = math.inf
            if not math.isfinite(value):
                raise self.error(key, f"must be a finite number, got {_short(self.data[key])}")
        if kind in ("date", "datetime"):
            day = value.date() if isinstance(value, datetime) else value
            if not DATES[0] <= day <= DATES[1]:
                raise self.error(key, f"must be from {DATES[0]} to {DATES[1]}, got {value}")
        if check is not None and not check(value):
            raise self.error(key, f"{why(value) if callable(why) else why}, got {value!r}")
        return value

    def sub(self, key: str, index: int | None = None) -> Table:
        data = self.data[key] if index is None else self.data[key][index]
        if not isinstance(data, dict):
            self.used.add(key)
            got = f"[[{key}]] tables" if isinstance(data, list) and data and \
                all(isinstance(v, dict) for v in data) else _short(data)
            raise self.error(key, f"must be a table [{self.label + '.' if self.label else ''}{key}],"
                                  f" got {got}")
        path = self.path + (key,) + (() if index is None else (index,))
        label = f"{self.label}.{key}" if self.label else key
        if index is not None:
            label += f"[{index + 1}]"
        return Table(data, path, self.src, self.file, label)

    def tables(self, key: str) -> list[Table]:
        self.used.add(key)
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(key, f"must be [[{key}]] tables")
        return [self.sub(key, i) for i in range(len(value))]

    def finish(self) -> None:
        """Unknown keys are typos until proven otherwise."""
        for key in self.data:
            if key not in self.used:
                raise self.error(key, "unknown field")
