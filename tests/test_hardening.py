"""A hostile user's reports, one test per root cause, through `alvh` as typed:
loose CSV numbers and dates, cut or column-swapped files, store dates pandas would wrap,
SQLite failures (locked, read-only, full, not a database), a closed stdout pipe,
non-finite what-ifs, and saves killed with SIGKILL."""
from __future__ import annotations

import hashlib
import json
import math
import os
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from core import export

from core.io import atomic

from core.history import store as history
from core.model.errors import InputError
from cli_helpers import refused, run

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def data() -> Path:
    if not (DATA / "spx_daily.csv").exists():
        pytest.skip(f"real market data not found at {DATA}")
    return DATA


def digest(db: Path) -> str:
    return hashlib.sha256(db.read_bytes()).hexdigest()




@pytest.fixture
def vix_store(tmp_path) -> Path:
    """A store holding a short, real-looking VIX series (2024-12-02 ... 2024-12-20)."""
    db = tmp_path / "h.sqlite"
    src = tmp_path / "vix_ok.csv"
    days = [f"2024-12-{d:02d}" for d in (2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 16, 17, 18, 19, 20)]
    src.write_text("date,close\n" + "".join(f"{d},{13 + i / 10:.2f}\n" for i, d in enumerate(days)))
    assert history.import_file(src, "vix", db).inserted == 15
    return db


# ---- 1. CSV values and dates: strict forms only, with file:line:field ----------------

@pytest.mark.parametrize("cell, field, reason", [
    ("1_000", "close", "not a valid price: '1_000'"),          # float() takes it
    ("\u0661\u0666.\u0665", "close", "not a valid price"),       # Arabic-Indic 16.5
    ("1e308", "close", "not a valid price: '1e308'"),
    ("inf", "close", "not a valid price: 'inf'"),
    ("nan", "close", "not a valid price: 'nan'"),
    ("-16.5", "close", "not a valid price"),
    ("16500000", "close", "16500000 is no VIX level"),           # strict, but no VIX
])
def test_loose_numbers_are_refused_with_file_line_field(vix_store, tmp_path, capsys, cell, field, reason):
    before = digest(vix_store)
    bad = tmp_path / "bad.csv"
    bad.write_text(f"date,close\n2024-12-19,15.87\n2024-12-23,{cell}\n2024-12-24,14.27\n",
                   encoding="utf-8")
    err = refused(capsys, run("data", "import", bad, "--series", "vix", "--db", vix_store))
    assert err.startswith(f"alvh: {bad}:3: {field}: {reason}"), err
    assert digest(vix_store) == before


@pytest.mark.parametrize("cell, reason", [
    ("20241223", "not a date: '20241223'"),        # date.fromisoformat takes it (3.11)
    ("2024-W52-1", "not a date: '2024-W52-1'"),    # so does this
    ("2024-12-23T00:00", "not a date"),
    ("\u0662\u0660\u0662\u0664-12-23", "not a date"),
    ("9999-12-31", "date 9999-12-31 is out of range"),
    ("12/23/24", "not a date"),
])
def test_loose_dates_are_refused_with_file_line_field(vix_store, tmp_path, capsys, cell, reason):
    before = digest(vix_store)
    bad = tmp_path / "bad.csv"
    bad.write_text(f"date,close\n2024-12-19,15.87\n{cell},16.78\n", encoding="utf-8")
    err = refused(capsys, run("data", "import", bad, "--series", "vix", "--db", vix_store))
    assert err.startswith(f"alvh: {bad}:3: date: {reason}"), err
    assert digest(vix_store) == before


def test_strict_forms_still_import(vix_store, tmp_path, capsys):
    ok = tmp_path / "ok.csv"
    ok.write_text("DATE,OPEN,HIGH,LOW,CLOSE\n12/23/2024,16.10,17.0,16.0, 16.78\n"
                  "2024-12-24,15.5,15.6,14.2,14.27\n2024-12-26,14.3,14.9,14.1,14.73\n")
    assert run("data", "import", ok, "--series", "vix", "--db", vix_store) == 0
    assert "vix: 3 inserted, 0 updated" in capsys.readouterr().out
    assert history.load_all(vix_store)["vix"]["2024-12-23"] == 16.78


def test_cut_last_line_is_refused(data, tmp_path, capsys):
    """A download cut short: `2022-12-30,38` (no newline) where the close is 3839.50."""
    db = tmp_path / "h.sqlite"
    history.import_file(data / "spx_close_fred.csv", "spx", db)
    before = digest(db)
    lines = (data / "spx_daily.csv").read_text().splitlines()
    assert lines[-1].startswith("2022-12-30,") and lines[-1].endswith(",3839.50,2979870000")
    cut = tmp_path / "cut.csv"
    cut.write_text("date,close\n2022-12-29,3849.28\n2022-12-30,38")
    err = refused(capsys, run("data", "import", cut, "--series", "spx", "--db", db))
    assert err.startswith(f"alvh: {cut}:3: close: the last line has no newline"), err
    assert "-99% from the stored 2022-12-30 3839.5" in err
    # a new day cut short is measured against the day before it
    cut.write_text("date,close\n2026-02-12,6941.81\n2026-02-13,69")
    err = refused(capsys, run("data", "import", cut, "--series", "spx", "--db", db))
    assert f"{cut}:3: close:" in err and "from 2026-02-12 6941.81" in err
    assert digest(db) == before
    # a whole last line without a newline is fine, and so is a cut one with --force
    cut.write_text("date,close\n2022-12-29,3849.28\n2022-12-30,3839.50")
    assert run("data", "import", cut, "--series", "spx", "--db", db) == 0
    assert "(store not changed)" in capsys.readouterr().out


def test_swapped_columns_are_refused_naming_the_first_changed_line(data, tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    history.import_file(data / "spx_daily.csv", "spx", db)
    before = digest(db)
    text = (data / "spx_daily.csv").read_text()
    header, body = text.split("\n", 1)
    assert header == "date,open,high,low,close,volume"
    swapped = tmp_path / "swapped.csv"
    swapped.write_text("date,close,high,low,open,volume\n" + body)  # open/close names swapped
    err = refused(capsys, run("data", "import", swapped, "--series", "spx", "--db", db))
    assert err.startswith(f"alvh: {swapped}:2: close: would change 8308 of the 8315 stored spx"
                          " values"), err
    assert "the first 1990-01-02: stored 359.69, file 353.4; check the header, or --force" in err
    reordered = tmp_path / "reordered.csv"  # the values moved, the header kept
    reordered.write_text(header + "\n" + "".join(
        ",".join([r[0], r[4], r[2], r[3], r[1], r[5]]) + "\n"
        for r in (line.split(",") for line in body.splitlines())))
    err = refused(capsys, run("data", "import", reordered, "--series", "spx", "--db", db))
    assert f"{reordered}:2: close: would change 8308 of the 8315" in err
    assert digest(db) == before
    # a second source that corrects a few closes (FRED after Yahoo: 10 of 8315) passes
    assert run("data", "import", data / "spx_close_fred.csv", "--series", "spx", "--db", db) == 0
    assert "10 updated" in capsys.readouterr().out
    assert run("data", "import", swapped, "--series", "spx", "--force", "--db", db) == 0


# ---- 2. store dates beyond pandas' nanoseconds -----------------------------------------

@pytest.mark.parametrize("day", ["2300-01-02", "1600-06-01", "20240102", "2024-02-30"])
def test_store_dates_out_of_ns_range_are_refused_not_wrapped(vix_store, capsys, day):
    with sqlite3.connect(vix_store) as conn:  # as an older version may have written it
        conn.execute("INSERT INTO closes VALUES ('vix', ?, 20.0)", (day,))
    conn.close()
    before = digest(vix_store)
    err = refused(capsys, run("market", "from-history", "--db", vix_store))
    assert err.startswith(f"alvh: {vix_store}: vix: the store holds"), err
    if "-02-30" not in day:
        assert f"'{day}', which is not a date from 1677-09-22 to 2262-04-11" in err
        assert f"DELETE FROM closes WHERE series = 'vix' AND date = '{day}'" in err
    with pytest.raises(InputError):
        history.load_all(vix_store)
    assert digest(vix_store) == before


def test_store_dates_at_the_ns_edges_read_back(vix_store):
    with sqlite3.connect(vix_store) as conn:
        conn.execute("INSERT INTO closes VALUES ('vix9d', '2262-04-11', 20.0)")
        conn.execute("INSERT INTO closes VALUES ('vix9d', '1677-09-22', 21.0)")
    conn.close()
    s = history.load_all(vix_store)["vix9d"]
    assert [d.date().isoformat() for d in s.index] == ["1677-09-22", "2262-04-11"]


# ---- 3. SQLite failures: one line saying what happened -------------------------------

def _read_only(monkeypatch):
    real = sqlite3.connect
    # root ignores chmod 0444, so open the store the way a read-only file would be
    monkeypatch.setattr(sqlite3, "connect", lambda path, **kw: real(
        f"file:{Path(path).resolve()}?mode=ro", uri=True, **kw))


def _full(monkeypatch):
    real = sqlite3.connect

    def tight(path, **kw):  # SQLite reports SQLITE_FULL when the file may grow no further
        conn = real(path, **kw)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn
    monkeypatch.setattr(sqlite3, "connect", tight)


@pytest.mark.parametrize("failure, expected", [
    ("locked", "the history store is locked by another program"),
    ("read-only", "the history store is read-only"),
    ("full", "the disk is full: the history store cannot grow"),
    ("not-a-db", "not a history database (not an SQLite file)"),
])
def test_store_failures_are_one_line(vix_store, tmp_path, capsys, monkeypatch, failure, expected):
    csv_file = tmp_path / "more.csv"
    csv_file.write_text("date,close\n" + "".join(f"2025-{m:02d}-{d:02d},{15 + d / 10:.2f}\n"
                                                 for m in range(1, 13) for d in range(1, 29)))
    holder = None
    if failure == "locked":
        monkeypatch.setattr(history, "BUSY_TIMEOUT", 0.05)
        holder = sqlite3.connect(vix_store, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
    elif failure == "read-only":
        _read_only(monkeypatch)
    elif failure == "full":
        _full(monkeypatch)
    else:
        vix_store.write_bytes(b"PK\x03\x04 this is a zip file, not SQLite" * 100)
    before = digest(vix_store)
    try:
        t0 = time.monotonic()
        err = refused(capsys, run("data", "import", csv_file, "--series", "vix", "--db", vix_store))
        assert err.startswith(f"alvh: {vix_store}: {expected}"), err
        assert time.monotonic() - t0 < 5
        if failure in ("locked", "not-a-db"):  # reading fails the same way (read-only reads)
            err = refused(capsys, run("market", "from-history", "--db", vix_store))
            assert err.startswith(f"alvh: {vix_store}: {expected}"), err
    finally:
        if holder is not None:
            holder.rollback()
            holder.close()
    monkeypatch.undo()
    assert digest(vix_store) == before
    if failure != "not-a-db":  # the store was left as it was, and still works
        assert history.load_all(vix_store)["vix"].size == 15


def test_db_error_names_each_failure():
    for message, expected in [("database is locked", "locked by another program"),
                              ("attempt to write a readonly database", "read-only"),
                              ("database or disk is full", "the disk is full"),
                              ("file is not a database", "not a history database"),
                              ("something new", "history store error: something new")]:
        assert expected in str(history.db_error(sqlite3.OperationalError(message), "h.db"))


def test_new_store_is_created_owner_only(tmp_path, capsys):
    db = tmp_path / "sub" / "h.sqlite"
    src = tmp_path / "v.csv"
    src.write_text("date,close\n2024-12-19,15.87\n")
    old = os.umask(0o022)
    try:
        assert run("data", "import", src, "--series", "vix", "--db", db) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


# ---- 4. stdout closed early; strict JSON; finite what-ifs ------------------------------

def _alvh(*argv):
    return [sys.executable, "-m", "cockpit", *argv]


def test_report_into_a_closed_pipe_is_quiet():
    shell = subprocess.run(f"{' '.join(_alvh('report', '--json'))} | head -c 100", shell=True,
                           cwd=ROOT, capture_output=True, timeout=60)
    assert shell.stderr == b"" and len(shell.stdout) == 100
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte: EPIPE on every write
    try:
        for argv in (("report", "--json"), ("report",)):
            p = subprocess.run(_alvh(*argv), cwd=ROOT, stdout=write, stderr=subprocess.PIPE, timeout=60)
            assert (p.returncode, p.stderr) == (141, b""), p.stderr.decode()
    finally:
        os.close(write)


@pytest.mark.parametrize("flag, value", [
    ("--days", "nan"), ("--days", "inf"), ("--days", "1e12"), ("--days", "-inf"),
    ("--vol-move", "nan"), ("--vol-move", "1e6"), ("--spx-move", "inf"), ("--spx-move", "nan"),
    ("--spx-move", "1e12"), ("--spx-move", "-100"),
])
def test_non_finite_or_absurd_what_ifs_are_refused(capsys, flag, value):
    err = refused(capsys, run("report", "--json", flag, value))
    assert flag in err or "what-if" in err, err


def test_json_is_strict_and_numbers_stay_numbers(monkeypatch, capsys):
    """For finite what-ifs the analysis has no NaN or inf anywhere. The one non-finite
    number is a condor's distance in sd once it has expired at the horizon (infinitely
    far: nothing can move it any more), which JSON shows as null beside its dte <= 0."""
    seen = []

    def walk(v, path):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{path}.{k}")
        elif isinstance(v, (list, tuple)):
            for i, x in enumerate(v):
                walk(x, f"{path}[{i}]")
        elif isinstance(v, float) and not math.isfinite(v):
            seen.append(path)

    real, depth = export.clean, []

    def spy(v):  # clean() recurses through this module global: look at the outermost call
        if not depth:
            walk(v, "$")
        depth.append(1)
        try:
            return real(v)
        finally:
            depth.pop()
    monkeypatch.setattr(export, "clean", spy)
    for argv in ([], ["--spx-move", "-30", "--vol-move", "40"], ["--spx-move", "25", "--days", "10"],
                 ["--vol-move", "-100", "--days", "-365"], ["--spx-move", "-50", "--days", "60"]):
        seen.clear()
        assert run("report", "--json", *argv) == 0
        text = capsys.readouterr().out

        def no_constant(name):
            raise AssertionError(f"{name} in --json {argv}")
        doc = json.loads(text, parse_constant=no_constant)
        for path in seen:
            assert path.startswith("$.condors[") and path.endswith("].distance.sd"), (argv, path)
            c = doc["condors"][int(path.split("[")[1].split("]")[0])]
            assert c["distance"]["sd"] is None and c["dte"] <= 0, (argv, c)


# ---- 5. saves: atomic .bak, no stray temporaries, 0600 ---------------------------------

def test_save_keeps_bak_atomically_and_clears_strays(tmp_path):
    book = tmp_path / "book.toml"
    atomic.atomic_write_text(book, "equity = 1\n")
    stray = tmp_path / ".book.toml.abc123.tmp"  # a save killed before its rename
    stray.write_text("equity = 9")
    other = tmp_path / ".market.toml.abc123.tmp"  # another file's: not ours to take
    other.write_text("x")
    atomic.atomic_write_text(book, "equity = 2\n")
    assert book.read_text() == "equity = 2\n"
    assert (tmp_path / "book.toml.bak").read_text() == "equity = 1\n"
    assert not stray.exists() and other.exists()
    for f in (book, tmp_path / "book.toml.bak"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".market.toml.abc123.tmp", "book.toml", "book.toml.bak"]


@pytest.mark.skipif(atomic.fcntl is None, reason="needs fcntl locks")
def test_a_live_saves_temporary_is_not_a_stray(tmp_path):
    book = tmp_path / "book.toml"
    name, fd = atomic._write_temp(book, b"equity = 3\n", 0o600)  # a save in progress, elsewhere
    try:
        assert atomic.remove_strays(book) == []
        assert Path(name).exists()
    finally:
        os.close(fd)
    assert atomic.remove_strays(book) == [Path(name)]


CHILD = """
import sys
from core.io.atomic import atomic_write_text
path, texts = sys.argv[1], (open(sys.argv[2]).read(), open(sys.argv[3]).read())
atomic_write_text(path, texts[0])
print("ready", flush=True)
i = 1
while True:
    atomic_write_text(path, texts[i % 2])
    i += 1
"""


def test_saves_killed_with_sigkill_leave_old_or_new(tmp_path):
    """~30 saves of a book killed at random moments (bounded to 30 s): the book and its
    .bak always parse and are one of the two versions, and the next save leaves no
    temporary behind."""
    old = (ROOT / "core" / "demo" / "book.toml").read_text(encoding="utf-8")
    new = old.replace("\n", "\n# edited\n", 3)
    assert old != new and tomllib.loads(old) and tomllib.loads(new)
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(old, encoding="utf-8")
    b.write_text(new, encoding="utf-8")
    book = tmp_path / "book.toml"
    bak = tmp_path / "book.toml.bak"
    atomic.atomic_write_text(book, new)
    atomic.atomic_write_text(book, old)  # a book with its .bak before the first trial
    rng = random.Random(20241220)
    deadline = time.monotonic() + 30
    trials = strays = 0
    while trials < 30 and time.monotonic() < deadline:
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(book), str(a), str(b)], cwd=ROOT,
                                 stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline() == "ready\n"
            time.sleep(rng.uniform(0.0, 0.05))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
            child.stdout.close()
        trials += 1
        for f in (book, bak):
            text = f.read_text(encoding="utf-8")
            assert text in (old, new), f"{f.name} torn after trial {trials}"
            tomllib.loads(text)
            assert stat.S_IMODE(f.stat().st_mode) == 0o600
        temps = list(tmp_path.glob(".book.toml.*.tmp"))
        strays += bool(temps)
        atomic.atomic_write_text(book, book.read_text(encoding="utf-8"))  # the next save
        assert list(tmp_path.glob(".book.toml.*.tmp")) == []
    assert trials >= 20
    print(f"{trials} kill -9 trials, {strays} left a temporary that the next save removed")
