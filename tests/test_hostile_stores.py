"""A hostile user's second round, one test per root cause, through `alvh` as typed: write
targets that are links or devices, files too large to read, a history store and a journal
edited by hand, calibrations that cannot be saved, a spot VIX above the map's cap, `[` in
paths, and file options given before the command."""
from __future__ import annotations

import json
import math
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from cockpit.cli import data as cli_data
from cockpit.session import fingerprint
from core.io import atomic
from core.history import store as history
from core.history import journal
from core.io import paths
from core.book.bookfile import load_book
from core.history.calibrate import Calibration
from core.engine import analyze
from core.model.errors import InputError
from core.pricing.legs import spot_vol
from core.market.marketfile import parse_market
from core.model.inputs import WhatIf
from cli_helpers import refused, run

DEMO_MARKET = paths.DEMO_MARKET.read_text()


def quantity(book_file: Path, pid: str) -> int | None:
    """The open quantity of a condor in a book file (None once it is gone)."""
    return next((c.quantity for c in load_book(book_file).condors if c.id == pid), None)


@pytest.fixture
def files(tmp_path):
    book, market = tmp_path / "book.toml", tmp_path / "market.toml"
    book.write_text(paths.DEMO_BOOK.read_text())
    market.write_text(DEMO_MARKET)
    return book, market, tmp_path / "h.sqlite"


# ---- write targets: links are followed, devices and fifos never replaced -----------------

def test_a_symlinked_book_is_written_through_its_link(files, capsys):
    book, market, db = files
    link = book.with_name("link.toml")
    link.symlink_to(book.name)
    old = book.read_text()
    assert run("--book", link, "--market", market, "--db", db, "close", "IC-Dec18",
               "--price", "3", "--quantity", "1") == 0
    assert link.is_symlink() and os.readlink(link) == "book.toml"
    assert book.with_name("book.toml.bak").read_text() == old  # the real file's .bak
    assert quantity(link, "IC-Dec18") == 1  # 2 in the demo, 1 closed
    out = capsys.readouterr().out
    assert f"wrote {link} (link to {book})" in out and "kept as book.toml.bak" in out


def test_a_fifo_or_a_folder_is_never_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    for target in (fifo, folder):
        with pytest.raises(OSError, match="not a regular file"):
            atomic.atomic_write_text(target, "x = 1\n")
    assert stat_kind(fifo) == "fifo" and folder.is_dir() and not list(folder.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "pipe"]  # no temporaries left


def stat_kind(p: Path) -> str:
    import stat
    return "fifo" if stat.S_ISFIFO(os.stat(p).st_mode) else "other"


def test_from_history_into_a_fifo_is_one_line(data_store, tmp_path, capsys):
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    err = refused(capsys, run("market", "from-history", "--db", data_store, "-o", fifo))
    assert err == f"alvh: {fifo}: cannot write: out is a fifo or a device, not a regular file: never replaced"


def test_a_huge_file_or_a_device_is_refused_not_slurped(tmp_path, capsys):
    err = refused(capsys, run("--book", "/dev/zero", "report"))
    assert err == "alvh: /dev/zero: a fifo or a device, not a book or market file"
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (9 << 20))
    err = refused(capsys, run("--market", big, "report"))
    assert err == f"alvh: {big}: larger than 8 MB: not a book or market file"
    assert fingerprint(Path("/dev/zero")) is None  # the change check never reads a device


def test_the_bak_of_a_large_file_is_streamed_and_keeps_the_mode(tmp_path):
    import hashlib
    import stat
    import tracemalloc
    target = tmp_path / "out.toml"
    with open(target, "wb") as f:
        for i in range(16):
            f.write(hashlib.sha256(bytes([i])).digest() * (1 << 15))  # 16 MB
    target.chmod(0o644)
    before = hashlib.sha256(target.read_bytes()).hexdigest()
    tracemalloc.start()
    atomic.atomic_write_text(target, "new = 1\n")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 << 20, peak  # 1 MB chunks: far under the 16 MB a whole read would hold
    assert target.read_text() == "new = 1\n"
    assert hashlib.sha256((tmp_path / "out.toml.bak").read_bytes()).hexdigest() == before
    for f in (target, tmp_path / "out.toml.bak"):  # a replaced file keeps its mode
        assert stat.S_IMODE(f.stat().st_mode) == 0o644


def test_file_options_before_the_command_are_kept(files, capsys, monkeypatch, tmp_path):
    book, market, db = files
    mine = tmp_path / "config" / "book.toml"
    monkeypatch.setattr(paths, "user_book", lambda: mine)
    assert run("--book", book, "--market", market, "--db", db, "close", "IC-Dec04", "--price", "1") == 0
    assert not mine.exists() and quantity(book, "IC-Dec04") is None
    assert capsys.readouterr().out.startswith(f"wrote {book} ")


# ---- the history store as edited by hand ----------------------------------------------

@pytest.fixture
def data_store(tmp_path) -> Path:
    db = tmp_path / "store.sqlite"
    for name, level in (("vix", 16.0), ("spx", 6000.0)):
        src = tmp_path / f"{name}.csv"
        days = [f"2024-12-{d:02d}" for d in (2, 3, 4, 5, 6, 9, 10, 11, 12, 13)]
        src.write_text("date,open,close\n" + "".join(f"{d},{level + i:.2f},{level + i:.2f}\n"
                                                     for i, d in enumerate(days)))
        history.import_file(src, name, db)
    return db


@pytest.mark.parametrize("value, why", [
    ("abc", "not a finite number"), (None, "not a finite number"), (b"\x00\xff", "not a finite number"),
    (0.0, "not a level from 0.05 to 20000"), (-16.0, "not a level from 0.05 to 20000"),
    (math.inf, "not a finite number"), (1e6, "not a level from 0.05 to 20000"),
])
def test_bad_stored_values_are_refused_naming_the_row(data_store, capsys, value, why):
    with sqlite3.connect(data_store) as conn:
        conn.execute("UPDATE closes SET value = ? WHERE series = 'vix' AND date = '2024-12-04'", (value,))
    conn.close()
    for argv in (("market", "from-history"), ("data", "calibrate")):
        err = refused(capsys, run(*argv, "--db", data_store))
        assert err.startswith(f"alvh: {data_store}: vix: the store holds vix on 2024-12-04 as "), err
        assert why in err and "DELETE FROM closes WHERE series = 'vix' AND date = '2024-12-04'" in err


def test_bad_stored_open_refuses_its_settlement(data_store):
    with sqlite3.connect(data_store) as conn:
        conn.execute("UPDATE closes SET value = 0 WHERE series = 'spx_open' AND date = '2024-12-13'")
    conn.close()
    with pytest.raises(InputError, match="spx_open on 2024-12-13 as 0.0, which is not a level from 0.5 to"):
        history.settlement_price(data_store, "SPX", "2024-12-13", "AM")
    assert history.settlement_price(data_store, "SPX", "2024-12-13", "PM").value == 6009.0


def test_status_survives_a_garbled_import_record_and_escapes_paths(tmp_path, capsys):
    folder = tmp_path / "a[b]"
    folder.mkdir()
    db = folder / "h[red].sqlite"
    src = tmp_path / "v\x1b]52;c;Zm9v\x07.csv"
    src.write_text("date,close\n2024-12-02,13.1\n2024-12-03,13.2\n")
    assert run("data", "import", src, "--series", "vix", "--db", db) == 0
    assert "\x1b" not in capsys.readouterr().out
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE imports SET imported_at = 'garbage'")
    conn.close()
    assert run("data", "status", "--db", db) == 0
    out = capsys.readouterr().out
    assert "a[b]/h[red].sqlite" in out  # the title as written, not read as markup
    row = next(line for line in out.splitlines() if " vix " in line)
    assert "2024-12-02" in row and "2024-12-03" in row and row.rstrip(" │").endswith("-")  # no import shown
    assert "\x1b" not in out


# ---- the journal as edited by hand ---------------------------------------------------

@pytest.mark.parametrize("column, value", [
    ("changes", "{"), ("fill", "[1]"), ("time", "x"), ("fill", '{"added": [], "removed": -1}'),
    ("changes", '[{"kind": "condor", "id": "a", "after": {"bogus": 1}}]'),
    ("changes", '[{"kind": "zzz", "id": "a", "before": null, "after": {}}]'),
    ("fill", None), ("changes", "[" * 100_000),
    ("fill", '{"added": [{}], "removed": 0}'),
    ("fill", None), ("changes", '[{"kind": "condor", "id": ["x"], "before": null, "after": null}]'),
    ("changes", '[{"kind": "condor", "id": "x", "before": null, "after": {"credit": NaN}}]'),
], ids=["changes-cut", "fill-list", "time", "removed-negative", "no-before", "kind", "fill-null", "deep",
        "record-empty", "fill-null-2", "id-list", "nan"])
def test_a_corrupt_journal_row_is_named_and_a_close_still_lands_once(files, capsys, column, value):
    book, market, db = files
    assert run("--book", book, "--market", market, "--db", db, "close", "IC-Dec18", "--price", "1",
               "--quantity", "1") == 0
    with sqlite3.connect(db) as conn:
        conn.execute(f"UPDATE journal SET {column} = ?", (value,))
    conn.close()
    capsys.readouterr()
    err = refused(capsys, run("--book", book, "--db", db, "journal"))
    assert "journal record 1 cannot be read" in err and "DELETE FROM journal WHERE id = 1" in err
    # the close is done (exit 0) and said once; the journal being behind is a warning
    assert run("--book", book, "--market", market, "--db", db, "close", "IC-Dec18", "--price", "1") == 0
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "the journal is not" in out.err
    assert quantity(book, "IC-Dec18") is None


@pytest.mark.parametrize("field, value", [("realized", '"1,840"'), ("realized", "1e999"), ("id", "7"),
                                          ("quantity", "1.5")])
def test_a_ledger_record_of_the_wrong_shape_is_named(files, capsys, field, value):
    book, market, db = files
    assert run("--book", book, "--market", market, "--db", db, "close", "IC-Dec18", "--price", "1",
               "--quantity", "1") == 0
    with sqlite3.connect(db) as conn:
        (fill,) = conn.execute("SELECT fill FROM journal WHERE action = 'close'").fetchone()
        record = json.loads(fill)
        text = json.dumps(record).replace(f'"{field}": {json.dumps(record["added"][0][field])}',
                                          f'"{field}": {value}')
        assert text != json.dumps(record)
        conn.execute("UPDATE journal SET fill = ? WHERE action = 'close'", (text,))
    conn.close()
    capsys.readouterr()
    for argv in (("journal",), ("journal", "--json")):
        err = refused(capsys, run("--book", book, "--db", db, *argv))
        assert "journal record 2 cannot be read" in err, err


def test_a_reshaped_journal_position_replays_as_a_named_error(files):
    book, market, db = files
    b = load_book(book)
    journal.record(db, "k", "add", b, b)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE journal SET changes = ? WHERE id = 1",
                     ('[{"kind": "hedge", "id": "a", "before": null, "after": {"legs": [1]}}]',))
    conn.close()
    with pytest.raises(InputError, match=r"journal record 1 cannot be read \(TypeError"):
        journal.replay(db, "k")


# ---- calibrate --save ------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ('[account]\nequity = 1000\nmodel = "x"\n', ":3: account.model: unknown field"),
    ("[account]\nequity = 1000\n[[model]]\n", ":3: model: must be a table"),
    ("[account]\nequity = 1000\n[model]\nbeta = [1]\n", ":4: model.beta: must be a number"),
    ("x = 1\n", ": account: missing table"),
    ("\xff\xfe", ": cannot read: not UTF-8 text (byte 1)"),
])
def test_calibrate_save_refuses_a_book_the_cockpit_refuses(data_store, tmp_path, capsys, text, expected):
    book = tmp_path / "b.toml"
    book.write_bytes(text.encode("latin-1") if "\xff" in text else text.encode())
    before = book.read_bytes()
    err = refused(capsys, run("data", "calibrate", "--save", "--book", book, "--db", data_store))
    assert err.startswith(f"alvh: {book}{expected}"), err
    assert book.read_bytes() == before


@pytest.mark.parametrize("beta", [math.nan, 1.0, -51.0])
def test_calibrate_never_saves_a_beta_the_book_refuses(data_store, files, capsys, monkeypatch, beta):
    book = files[0]
    before = book.read_bytes()
    fit = Calibration(beta=beta, beta_down=beta, beta_up=beta, r2=0.5, n=9, start=None, end=None,
                      years=5, front_beta=None, front_n=0)
    import core.history.calibrate
    monkeypatch.setattr(core.history.calibrate, "calibrate", lambda *a, **k: fit)
    code = run("data", "calibrate", "--save", "--book", book, "--db", data_store)
    err = capsys.readouterr().err
    assert code == 2 and "outside what a book accepts (-50 to 0): not saved" in err
    assert book.read_bytes() == before


def test_calibrate_save_keeps_a_bom_book_loadable(data_store, files):
    book = files[0]
    book.write_bytes(b"\xef\xbb\xbf" + book.read_bytes())
    cli_data.save_beta(book, book.read_text(encoding="utf-8"), -3.25, "test")
    assert load_book(book).model.beta == -3.25


@pytest.mark.parametrize("years", ["nan", "inf", "1e17", "0", "-1", "101", "x"])
def test_calibrate_window_outside_0_to_100_years_is_refused(data_store, capsys, years):
    err = refused(capsys, run("data", "calibrate", "--window", years, "--db", data_store))
    assert err.startswith("alvh: data calibrate: argument --window: a window ") and f"'{years}'" in err


# ---- spot VIX above the map's cap ---------------------------------------------------------

def market_at(vix: float):
    text = DEMO_MARKET.replace("vix = 16.5", f"vix = {vix}")
    assert vix == 16.5 or text != DEMO_MARKET
    return parse_market(text, "m.toml")


def test_spot_vol_caps_only_the_move():
    assert spot_vol(16.5, 0.5, -4.0) == 150.0  # 16.5 x 16 = 264 capped
    assert spot_vol(16.5, 0.9, -4.0) == pytest.approx(16.5 * 0.9 ** -4, rel=1e-15)
    assert spot_vol(200.0, 0.9, -4.0) == 200.0  # a live level above the cap is not raised ...
    assert spot_vol(200.0, 1.1, -4.0) == pytest.approx(200 * 1.1 ** -4, rel=1e-15)  # ... nor pinned


@pytest.mark.parametrize("vix", [149.0, 151.0, 200.0, 500.0])
def test_a_live_vix_above_the_cap_is_kept_and_every_number_is_finite(vix):
    book = load_book(paths.DEMO_BOOK, demo=True)
    with np.errstate(all="raise"):  # no NaN path anywhere: a RuntimeWarning is a failure
        a = analyze(book, market_at(vix), WhatIf())
    assert a.at.vix == vix  # priced at the level entered, not at 150
    assert not any("capped" in x for x in a.assumptions)  # no what-if, no cap note
    stress = {r.name: r.vix for r in a.alvh.stress}
    # by hand, beta -4: a fall lifts VIX to at most max(150, VIX); a rise lowers it
    assert stress["crash -10%"] == pytest.approx(min(vix * 0.9 ** -4, max(150.0, vix)), rel=1e-12)
    assert stress["melt-up +5%"] == pytest.approx(vix * 1.05 ** -4, rel=1e-12)
    numbers = [x for r in a.alvh.stress for x in (r.book_pnl, r.hedge_pnl, r.package_pnl, *r.layer_pnl)]
    numbers += [c.pnl for c in a.condors] + [h.pnl for h in a.hedges]
    assert numbers and all(math.isfinite(x) for x in numbers)


@pytest.mark.parametrize("vix, warned", [(16.9 * 0.39, True), (16.9 * 0.41, False), (16.5, False),
                                         (16.9 * 2.99, False), (16.9 * 3.01, True)])
def test_spot_vix_far_from_the_front_future_is_warned(vix, warned):
    a = analyze(load_book(paths.DEMO_BOOK, demo=True), market_at(round(vix, 4)), WhatIf())
    said = [x for x in a.assumptions if x.startswith("WARNING: spot VIX")]
    assert bool(said) == warned, said
    if warned:
        assert "x the 2026-11-25 future 16.9" in said[0] and "check the market file" in said[0]


FLOORED = """[account]
equity = 250000
[[condor]]
id = "IC"
expiry = 2027-01-15
quantity = 1
long_put = 6000
short_put = 6100
short_call = 7700
long_call = 7800
credit = 1.0
[[hedge]]
id = "F"
layer = 1
quantity = 1
[[hedge.leg]]
kind = "vix_future"
expiry = 2027-01-20
ratio = -1
price = 25.0
"""


def test_a_floored_future_is_the_same_in_tables_curve_and_delta():
    from core.book.bookfile import parse_book
    book = parse_book(FLOORED, "b.toml")
    market = parse_market(DEMO_MARKET.replace("vix = 16.5", "vix = 60"), "m.toml")
    # +30%: VIX' = 60 x 1.3^-4 = 21.0, dVIX = -39.0; the Jan future takes e^(-2 x 61/365) = 0.716
    # of it, 25 - 27.9 < 0: floored at 0.01, so the short future gains (25 - 0.01) x 1000
    up = analyze(book, market, WhatIf(spx_move=0.3))
    assert up.hedges[0].pnl == pytest.approx((25.0 - 0.01) * 1000, abs=1e-6)
    assert up.hedges[0].beta_delta == 0.0  # floored: SPX moving further changes nothing
    live = analyze(book, market, WhatIf())
    curve = live.alvh.curve
    assert curve.spx[-1] == curve.t0_spx[-1] == pytest.approx(1.3 * market.spx, rel=1e-12)
    assert curve.t0[-1] == pytest.approx(up.totals.pnl, rel=1e-9)  # the graph agrees with the table


def test_the_cap_note_appears_when_a_what_if_hits_it():
    book = load_book(paths.DEMO_BOOK, demo=True)
    a = analyze(book, market_at(16.5), WhatIf(spx_move=-0.5))  # 16.5 x 0.5^-4 = 264
    assert "Spot VIX capped at 150 by the spot-vol map in this what-if" in a.assumptions
    a = analyze(book, market_at(200.0), WhatIf(spx_move=-0.1))
    assert "Spot VIX capped at 200 by the spot-vol map in this what-if" in a.assumptions


def test_report_json_at_vix_500_has_no_nan(files, capsys):
    book, market, _ = files
    market.write_text(DEMO_MARKET.replace("vix = 16.5", "vix = 500"))
    assert run("--book", book, "--market", market, "report", "--json") == 0
    doc = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(c))
    assert doc["market"]["vix"] == 500


# ---- history files that are not files; outputs that cannot be written ------------------

def test_import_refuses_devices_folders_and_huge_files_before_reading(tmp_path, capsys):
    sparse = tmp_path / "huge.csv"
    with open(sparse, "wb") as f:
        f.truncate(300_000_000)  # sparse: 300 MB of NULs that take no disk
    for src, why in (("/dev/zero", "a fifo or a device, not a history file"),
                     (tmp_path, "a folder, not a history file"),
                     (sparse, "300 MB is larger than any history file (256 MB at most)")):
        err = refused(capsys, run("data", "import", src, "--series", "vix", "--db", tmp_path / "h.db"))
        assert err == f"alvh: {src}: {why}"
    assert not (tmp_path / "h.db").exists()


def alvh(*argv, **kw):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "cockpit", *map(str, argv)], capture_output=False,
                          stderr=subprocess.PIPE, text=True, timeout=120, **kw)


@pytest.mark.parametrize("argv", [("report",), ("report", "--json"), ("ledger",), ("journal",),
                                  ("data", "status"), ("market", "from-history")])
def test_a_closed_or_full_stdout_is_one_line(files, data_store, argv):
    book, market, _ = files
    full = open("/dev/full", "w")
    for kw, said in (({"preexec_fn": lambda: os.close(1)}, "standard output is closed; nothing was done"),
                     ({"stdout": full}, "cannot write the output: No space left on device")):
        r = alvh("--book", book, "--market", market, "--db", data_store, *argv, **kw)
        assert r.returncode == 2 and r.stderr == f"alvh: {said}" + (
            " (> /dev/null discards it)\n" if "closed" in said else "\n"), r.stderr
    full.close()


def test_a_close_with_stdout_closed_does_nothing(files):
    book, market, db = files
    before = book.read_bytes()
    r = alvh("--book", book, "--market", market, "--db", db, "close", "IC-Dec04", "--price", "1",
             preexec_fn=lambda: os.close(1))
    assert r.returncode == 2 and book.read_bytes() == before and not db.exists()


# ---- small ones: fills over a bound, loose override keys, twin CSV columns, empty paths ------

@pytest.mark.parametrize("price, ok", [(10.0, True), (10.0049, False), (0.0, True), (-0.0001, False)])
def test_a_call_spread_fill_lies_within_its_width_exactly(files, capsys, price, ok):
    book, market, db = files  # L2-Jan-20/30: +1 VIX C20 / -1 C30, worth 0 to 10 points
    code = run("--book", book, "--market", market, "--db", db, "close", "L2-Jan-20/30",
               "--price", price, "--quantity", 1)
    if ok:
        assert code == 0
    else:
        assert refused(capsys, code) == f"alvh: price: hedge L2-Jan-20/30: a unit is worth from 0 to 10 points, got {price:g}"


@pytest.mark.parametrize("key", ["6_500", "\u0666\u0665\u0660\u0660", " 6500", "inf", "6.5e3", "+6500"])
def test_override_strikes_are_plain_digits(key):
    text = DEMO_MARKET.replace("skew = -0.8", f'skew = -0.8\n[spx_vol.overrides]\n"{key}" = 0.2')
    with pytest.raises(InputError, match="override keys are strikes from 0.01 to 1,000,000"):
        parse_market(text, "m.toml")
    text = DEMO_MARKET.replace("skew = -0.8", 'skew = -0.8\n[spx_vol.overrides]\n"6500.5" = 0.2')
    assert parse_market(text, "m.toml").spx_vol.overrides == ((6500.5, 0.2),)


def test_a_csv_with_a_column_twice_is_refused(tmp_path, capsys):
    src = tmp_path / "v.csv"
    src.write_text("date,close,close\n2024-12-02,13.1,31.1\n")
    err = refused(capsys, run("data", "import", src, "--series", "vix", "--db", tmp_path / "h.db"))
    assert err == f"alvh: {src}:1: header: column 'close' appears twice"


@pytest.mark.parametrize("argv", [("--db", "", "report"), ("--book", "", "report"), ("report", "--market", " "),
                                  ("data", "status", "--db", ""), ("market", "from-history", "-o", "")])
def test_an_empty_path_is_refused_not_read_as_the_default(capsys, argv):
    err = refused(capsys, run(*argv))
    assert err.endswith(": an empty value names no file"), err


def test_serve_on_a_taken_port_says_so_before_any_url(capsys):
    import socket
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        pytest.importorskip("textual_serve.server")
        err = refused(capsys, run("serve", "--port", port))
    finally:
        taken.close()
    assert err.startswith(f"alvh: serve: cannot listen on 127.0.0.1:{port}: ") and "in use" in err
    assert "open http" not in capsys.readouterr().out


# ---- the second attack: store rows in the wrong table, outputs after the deed, ... ----------

@pytest.mark.parametrize("sql, said", [
    ("INSERT INTO closes VALUES (x'00', '2024-12-20', 18)",
     "the store's closes table holds a series name that is not text; delete such rows"
     " (DELETE FROM closes WHERE typeof(series) != 'text')"),
    ("INSERT INTO events VALUES ('vix', '2024-12-20', 'x')",
     "the store holds vix rows in its events table (vix lives in closes); delete them"
     " (DELETE FROM events WHERE series = 'vix')"),
    ("UPDATE closes SET date = x'32303234' WHERE series = 'vix' AND date = '2024-12-04'",
     "the store holds a vix date that is not text"),
    ("INSERT INTO breadth VALUES ('breadth', '2024-12-20', 'abc', 5)",
     "the store holds breadth on 2024-12-20 as ('abc', 5), which is not two counts of issues"),
    ("INSERT INTO breadth VALUES ('breadth', '2024-12-20', 9223372036854775807, 0)",
     "which is not two counts of issues from 0 to 100,000"),
])
def test_hand_edited_rows_are_refused_by_every_reader(data_store, capsys, sql, said):
    with sqlite3.connect(data_store) as conn:
        conn.execute(sql)
    conn.close()
    for argv in (("market", "from-history"), ("data", "calibrate"), ("data", "status")):
        if argv == ("data", "status") and "counts of issues" in said:
            continue  # status reads names and date ranges, not values
        err = refused(capsys, run(*argv, "--db", data_store))
        assert said in err, (argv, err)


@pytest.mark.parametrize("value", ["abc", None, 0.0, -5.0])
def test_import_names_a_bad_stored_row_before_comparing_with_it(data_store, tmp_path, capsys, value):
    with sqlite3.connect(data_store) as conn:
        conn.execute("UPDATE closes SET value = ? WHERE series = 'vix' AND date = '2024-12-13'", (value,))
    conn.close()
    src = tmp_path / "more.csv"
    src.write_text("date,close\n2024-12-13,16.2\n2024-12-16,16.4")  # no final newline
    err = refused(capsys, run("data", "import", src, "--series", "vix", "--db", data_store))
    assert "the store holds vix on 2024-12-13 as " in err and "DELETE FROM closes" in err, err


def test_after_the_deed_a_full_stdout_exits_0_and_says_so(files, data_store, tmp_path):
    book, market, db = files
    src = tmp_path / "more.csv"
    src.write_text("date,close\n2024-12-16,16.4\n")
    full = open("/dev/full", "w")
    for argv in (("close", "IC-Dec04", "--price", "1"), ("snapshot",),
                 ("data", "import", src, "--series", "vix", "--db", data_store),
                 ("market", "from-history", "--db", data_store, "-o", tmp_path / "m.toml")):
        before = book.read_bytes()
        r = alvh("--book", book, "--market", market, "--db", db, *argv, stdout=full)
        assert r.returncode == 0, (argv, r.stderr)
        assert r.stderr.startswith("alvh: done (do not repeat it); its report could not be written:")
    full.close()
    assert quantity(book, "IC-Dec04") is None and book.read_bytes() == before  # closed once
    assert (tmp_path / "m.toml").exists()


def test_a_refusal_with_stderr_closed_or_full_still_exits_2(tmp_path):
    for kw in ({"preexec_fn": lambda: os.close(2)}, {"stderr": open("/dev/full", "w")}):
        import subprocess
        import sys
        r = subprocess.run([sys.executable, "-m", "cockpit", "report", "--book", tmp_path / "none.toml"],
                           stdout=subprocess.PIPE, timeout=60, **kw)
        assert r.returncode == 2 and r.stdout == b""


def test_a_save_the_reader_would_refuse_is_not_made(files, capsys):
    book, market, db = files
    book.write_text(book.read_text() + "#" * ((8 << 20) - len(book.read_bytes()) - 10) + "\n")
    before = book.read_bytes()
    err = refused(capsys, run("--book", book, "--market", market, "--db", db, "close", "IC-Dec04", "--price", "1",
                              "--quantity", "1"))  # a [[closed]] record more: over the cap
    assert err.startswith(f"alvh: {book}: the book would be 8.4 MB, over the 8 MB a book file may be: not saved")
    assert book.read_bytes() == before


def test_a_bak_that_is_a_folder_is_named_and_a_linked_bak_is_written_through(tmp_path):
    target = tmp_path / "b.toml"
    target.write_text("old = 1\n")
    (tmp_path / "b.toml.bak").mkdir()
    with pytest.raises(OSError, match="b.toml.bak is a folder, not a regular file"):
        atomic.atomic_write_text(target, "new = 1\n")
    assert target.read_text() == "old = 1\n"
    (tmp_path / "b.toml.bak").rmdir()
    keep = tmp_path / "keep.bak"
    (tmp_path / "b.toml.bak").symlink_to(keep.name)
    atomic.atomic_write_text(target, "new = 1\n")
    assert (tmp_path / "b.toml.bak").is_symlink() and keep.read_text() == "old = 1\n"


@pytest.mark.parametrize("argv, said", [
    (("close", "X", "--price", "1_0"), "a fill price needs a number, not '1_0'"),
    (("close", "X", "--price", "\uff15"), "a fill price needs a number"),
    (("close", "X", "--price", "1", "--quantity", "\u0662"), "needs a whole number"),
    (("data", "calibrate", "--window", "5_0"), "a window needs a number, not '5_0'"),
    (("--theme", "", "report"), "an empty value names no theme"),
])
def test_command_line_numbers_are_plain_digits(capsys, argv, said):
    assert said in refused(capsys, run(*argv))


def test_calibrating_closes_that_do_not_move_is_refused(tmp_path, capsys):
    db = tmp_path / "flat.sqlite"
    for name, level in (("vix", 16.0), ("spx", 6000.0)):
        src = tmp_path / f"{name}.csv"
        src.write_text("date,close\n" + "".join(f"2024-{m:02d}-{d:02d},{level}\n" for m in range(1, 13)
                                                for d in (2, 9, 16, 23)))
        history.import_file(src, name, db)
    err = refused(capsys, run("data", "calibrate", "--db", db))
    assert "does not move from 2024-01-02 to 2024-12-23: no beta to fit" in err


def test_a_csv_error_names_its_line_and_a_device_is_no_store(tmp_path, capsys):
    src = tmp_path / "v.csv"
    src.write_text("date,close\n2024-12-02,13.1\n2024-12-03," + "9" * 200_000 + "\n")
    err = refused(capsys, run("data", "import", src, "--series", "vix", "--db", tmp_path / "h.db"))
    assert err.startswith(f"alvh: {src}:3: bad CSV: "), err
    assert refused(capsys, run("--db", "/dev/null", "data", "status")) == \
        "alvh: /dev/null: a fifo or a device, not a history store"
