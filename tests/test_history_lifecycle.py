"""History store lifecycle: series plausibility on import, stored opens, settlement
prices, and `data calibrate --save` without a book. Real files from ../shared/data."""
from __future__ import annotations

import hashlib
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from cockpit.cli import main as cli

from cockpit.cli import data as cli_data
from core.history import store as history
from core.model.errors import InputError

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"  # as tests/test_history.py


@pytest.fixture
def data() -> Path:
    if not (DATA / "vix_daily.csv").exists():
        pytest.skip(f"real market data not found at {DATA}")
    return DATA


def digest(db: Path) -> str:
    return hashlib.sha256(db.read_bytes()).hexdigest()


def one_line_error(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    return captured.err


# ---- series plausibility -------------------------------------------------------

def test_vix_imported_as_spx_is_refused_then_forced(data, tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    vix = str(data / "vix_daily.csv")
    assert cli.main(["data", "import", vix, "--series", "spx", "--db", str(db)]) == 2
    err = one_line_error(capsys)
    assert (f"{vix}: median level 17.6 is not an SPX level (SPX closes lie 50-50000);"
            " use --series vix, or --force") in err
    assert not db.exists()  # refused before the store is opened

    # with SPX already stored: refused, and the store keeps every byte
    history.import_file(data / "spx_daily.csv", "spx", db)
    before = digest(db)
    assert cli.main(["data", "import", vix, "--series", "spx", "--db", str(db)]) == 2
    assert "median level 17.6" in one_line_error(capsys)
    assert digest(db) == before

    assert cli.main(["data", "import", vix, "--series", "spx", "--force", "--db", str(db)]) == 0
    assert "spx: 924 inserted, 8311 updated" in capsys.readouterr().out
    assert history.load_all(db)["spx"]["2020-03-16"] == 82.69  # forced: VIX levels as SPX


def test_spx_imported_as_vix_is_refused(data, tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    spx = str(data / "spx_daily.csv")
    assert cli.main(["data", "import", spx, "--series", "vix", "--db", str(db)]) == 2
    assert (f"{spx}: median level 1252.8 is not a VIX level (VIX closes lie 5-200);"
            " use --series spx, or --force") in one_line_error(capsys)
    assert not db.exists()


def test_overlap_with_the_stored_series_must_agree(data, tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    history.import_file(data / "vix_daily.csv", "vix", db)
    before = digest(db)
    # VIX3M levels are VIX-like, so only the overlap gives them away (median ratio 1.13)
    v3 = str(data / "vix3m_daily.csv")
    assert cli.main(["data", "import", v3, "--series", "vix", "--db", str(db)]) == 2
    assert (f"{v3}: on 4136 dates also stored, the median ratio to the stored vix is 1.13"
            " (the same series agrees within 2%); check --series, or --force"
            ) in one_line_error(capsys)
    assert digest(db) == before
    # a second source of the same index passes: FRED after Yahoo differ by ~1 bp
    history.import_file(data / "spx_daily.csv", "spx", db)
    r = history.import_file(data / "spx_close_fred.csv", "spx", db)
    assert r.inserted == 2514 - 1734


def test_force_skips_the_overlap_check(data, tmp_path):
    db = tmp_path / "h.sqlite"
    history.import_file(data / "vix_daily.csv", "vix", db)
    with pytest.raises(InputError, match="median ratio"):
        history.import_file(data / "vix3m_daily.csv", "vix", db)
    r = history.import_file(data / "vix3m_daily.csv", "vix", db, force=True)
    assert r.updated + r.unchanged == 4136


def test_date_far_in_the_future_is_refused_with_its_line(tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    bad = tmp_path / "vix.csv"
    bad.write_text("date,close\n2024-12-23,16.8\n2609-12-24,17.1\n2024-12-26,14.7\n")
    latest = history._latest()  # today + 1 year
    with pytest.raises(InputError) as err:
        history.import_file(bad, "vix", db)
    assert (err.value.file, err.value.line, err.value.field) == (str(bad), 3, "date")
    assert str(err.value) == (f"{bad}:3: date: date 2609-12-24 is out of range"
                              f" (1900-01-01 to {latest})")
    assert cli.main(["data", "import", str(bad), "--series", "vix", "--force",
                     "--db", str(db)]) == 2  # --force does not cover impossible dates
    assert f"{bad}:3: date: date 2609-12-24 is out of range" in one_line_error(capsys)
    assert not db.exists()


@pytest.mark.parametrize("day, ok", [("1899-12-29", False), ("1900-01-02", True),
                                     ((date.today() + timedelta(days=300)).isoformat(), True)])
def test_date_range_edges(tmp_path, day, ok):
    path = tmp_path / "fomc.csv"
    path.write_text(f"date,type\n{day},scheduled\n")
    if ok:
        assert history.import_file(path, "fomc", tmp_path / "h.sqlite").inserted == 1
    else:
        with pytest.raises(InputError, match=r"fomc.csv:2: date: date 1899-12-29 is out of"):
            history.import_file(path, "fomc", tmp_path / "h.sqlite")


# ---- opens and settlement prices --------------------------------------------------

def test_spx_opens_are_stored_and_give_settlements(data, tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    assert cli.main(["data", "import", str(data / "spx_daily_2023_2026.csv"), "--series", "spx",
                     "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "spx: 912 inserted" in out and "spx_open: 912 inserted" in out
    # read by hand from spx_daily_2023_2026.csv, line 497 (a third Friday: SPX AM monthlies)
    #   2024-12-20,5842.00,5982.06,5832.30,5930.85,8223220000
    pm = history.settlement_price(db, "SPX", date(2024, 12, 20), "PM")
    assert pm == history.SettlementQuote(5930.85, "history store: SPX close 2024-12-20", False)
    am = history.settlement_price(db, "SPX", "2024-12-20", "AM")
    assert am.value == 5842.00 and am.approximate
    assert am.source == ("history store: SPX open 2024-12-20"
                         " (approximate: open, not the official SOQ)")
    assert history.settlement_price(db, "SPX", "2024-12-21", "PM") is None  # a Saturday
    assert history.settlement_price(db, "SPX", "2024-12-21", "AM") is None
    assert history.settlement_price(db, "VIX", "2024-12-20", "AM") is None  # no VIX stored
    assert history.settlement_price(db, "VXX", "2024-12-20", "PM") is None

    assert cli.main(["data", "status", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "spx_open" in out and "2026-08-21" in out
    assert [s.series for s in history.status(db)] == ["spx", "spx_open"]


def test_vix_settles_am_from_the_open(data, tmp_path):
    db = tmp_path / "h.sqlite"
    r = history.import_file(data / "vix_daily.csv", "vix", db)
    # 506 close-only placeholder rows (O=H=L=C, 1990-1991 and 2004-06-11) give no open
    assert (r.inserted, r.companions[0].series, r.companions[0].inserted) == (
        9235, "vix_open", 9235 - 506)
    # vix_daily.csv line 9235, the July 2026 VIX expiry: 2026-07-22,17.42,19.49,16.64,16.64
    for style in ("AM", "PM"):  # VIX settles AM whatever the caller asks
        q = history.settlement_price(db, "VIX", "2026-07-22", style)
        assert (q.value, q.approximate) == (17.42, True)
        assert q.source == ("history store: VIX open 2026-07-22"
                            " (approximate: open, not the official SOQ)")
    assert history.settlement_price(db, "VIX", "1991-03-04", "AM") is None  # placeholder
    assert history.settlement_price(db, "VIX", "2026-07-25", "AM") is None  # after the data
    assert history.load_all(db)["vix_open"]["2026-07-22"] == 17.42


def test_settlement_without_a_database_is_none_and_creates_nothing(tmp_path):
    db = tmp_path / "none.sqlite"
    assert history.settlement_price(db, "SPX", "2024-12-20", "PM") is None
    assert history.settlement_price(db, "VIX", "2024-12-18", "AM") is None
    assert not db.exists()
    with pytest.raises(ValueError, match="AM or PM"):
        history.settlement_price(db, "SPX", "2024-12-20", "close")


def test_reimport_with_opens_is_a_noop_and_closes_only_files_add_no_opens(data, tmp_path,
                                                                          capsys):
    db = tmp_path / "h.sqlite"
    history.import_file(data / "spx_daily.csv", "spx", db)
    before = digest(db)
    assert cli.main(["data", "import", str(data / "spx_daily.csv"), "--series", "spx",
                     "--db", str(db)]) == 0
    assert "(store not changed)" in capsys.readouterr().out
    assert digest(db) == before
    r = history.import_file(data / "spx_close_fred.csv", "spx", db)
    assert r.companions == ()
    with sqlite3.connect(db) as conn:
        n = dict(conn.execute("SELECT series, COUNT(*) FROM closes GROUP BY series"))
    assert n == {"spx": 8315 + 780, "spx_open": 8315}
    # FRED closes for 2023 have no open: no AM value, but a PM one
    assert history.settlement_price(db, "SPX", "2023-12-15", "AM") is None
    assert history.settlement_price(db, "SPX", "2023-12-15", "PM").value > 4000


def test_signals_ignore_the_opens(data, tmp_path):
    from core.history.signals import compute_signals
    with_opens, closes_only = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    history.import_file(data / "vix_daily.csv", "vix", with_opens)
    history.import_file(data / "spx_daily.csv", "spx", with_opens)
    history.import_file(data / "vix_daily.csv", "vix", closes_only)
    history.import_file(data / "spx_daily.csv", "spx", closes_only)
    with sqlite3.connect(closes_only) as conn:
        conn.execute("DELETE FROM closes WHERE series LIKE '%_open'")
    day = date(2022, 12, 30)
    a = compute_signals(history.load_all(with_opens), day)
    b = compute_signals(history.load_all(closes_only), day)
    assert a == b


# ---- calibrate --save without a book --------------------------------------------------

def test_calibrate_save_without_a_saved_book(data, tmp_path, capsys, monkeypatch):
    db = tmp_path / "h.sqlite"
    history.import_file(data / "vix_daily.csv", "vix", db)
    history.import_file(data / "spx_daily.csv", "spx", db)
    missing = tmp_path / "config" / "book.toml"
    monkeypatch.setattr(cli_data, "_user_book", lambda: missing)
    assert cli.main(["data", "calibrate", "--save", "--db", str(db)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # refused before calibrating
    assert captured.err == (f"alvh: --save: no saved book at {missing} to write beta into;"
                            " name one with --book FILE\n")
    assert not missing.exists() and not missing.parent.exists()

    book = tmp_path / "mine.toml"
    mine = "# my book\n[account]\nequity = 250000\n[model]\nbeta = -4.0\n"
    for argv in (["data", "calibrate", "--save", "--book", str(book), "--db", str(db)],
                 ["--book", str(book), "data", "calibrate", "--save", "--db", str(db)]):
        book.write_text(mine)
        assert cli.main(argv) == 0
        assert f"to {book}" in capsys.readouterr().out
        text = book.read_text()
        assert text.startswith("# my book") and "beta = -4.387" in text
