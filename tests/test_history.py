"""History store: imports of the real files in ../shared/data, errors, read-back."""
from __future__ import annotations

import argparse
import hashlib
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from cockpit.cli import data as cli_data
from core.history import store as history
from core.io import paths
from core.model.errors import InputError

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FILES = {  # file: (series, rows imported)
    "vix_daily.csv": ("vix", 9235),
    "vix3m_daily.csv": ("vix3m", 4136),
    "spx_daily.csv": ("spx", 8315),
    "vix_futures_vx1_vx2.csv": ("vx1", 2999),
    "fomc_dates.csv": ("fomc", 229),
    "cpi_release_dates.csv": ("cpi", 65),
}


@pytest.fixture
def data() -> Path:
    if not (DATA / "vix_daily.csv").exists():
        pytest.skip(f"real market data not found at {DATA}")
    return DATA


def rows_of(db: Path) -> list:
    with sqlite3.connect(db) as conn:
        return [conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
                for t in ("closes", "breadth", "events", "imports")]


def digest(db: Path) -> str:
    return hashlib.sha256(db.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", FILES)
def test_import_each_real_file(data, tmp_path, name):
    series, n = FILES[name]
    db = tmp_path / "h.sqlite"
    r = history.import_file(data / name, series, db)
    assert (r.inserted, r.updated, r.unchanged) == (n, 0, 0)
    assert history.status(db)[0].rows == n
    again = history.import_file(data / name, series, db)
    assert (again.inserted, again.updated, again.unchanged, again.changed) == (0, 0, n, 0)


def test_known_values_and_reimport_is_a_noop(data, tmp_path):
    db = tmp_path / "h.sqlite"
    history.import_file(data / "vix_daily.csv", "vix", db)
    vix = history.load_all(db)["vix"]
    assert vix[date(2008, 11, 20).isoformat()] == 80.86
    assert vix["2020-03-16"] == 82.69
    assert vix.max() == 82.69
    assert (vix.index[0].date(), vix.index[-1].date()) == (date(1990, 1, 2), date(2026, 7, 23))
    before = digest(db)
    history.import_file(data / "vix_daily.csv", "vix", db)
    assert digest(db) == before


def test_overlapping_file_updates_rows(data, tmp_path):
    db = tmp_path / "h.sqlite"
    history.import_file(data / "spx_daily.csv", "spx", db)
    r = history.import_file(data / "spx_close_fred.csv", "spx", db)
    # FRED adds 2023-2026 and differs from Yahoo on a few overlapping days (README)
    assert r.inserted == 2514 - 1734
    assert 7 <= r.updated <= 12
    assert r.updated + r.unchanged == 1734
    spx = history.load_all(db)["spx"]
    assert spx["2021-08-11"] == 4447.70  # FRED's value replaced Yahoo's 4442.41
    assert len(spx) == 8315 + r.inserted
    last = history.status(db)[0].last_import
    assert (last.inserted, last.updated) == (r.inserted, r.updated)


def test_futures_pick_their_contract_and_settle(data, tmp_path):
    db = tmp_path / "h.sqlite"
    history.import_file(data / "vix_futures_vx1_vx2.csv", "vx1", db)
    r = history.import_file(data / "vix_futures_vx1_vx2.csv", "vx2", db)
    assert r.inserted == 2894
    s = history.load_all(db)
    assert s["vx1"]["2016-06-01"] == 15.275 and s["vx2"]["2016-06-01"] == 17.525
    assert s["vx1"].max() == 67.95 and s["vx2"].max() == 62.90


def test_events_keep_their_notes(data, tmp_path):
    db = tmp_path / "h.sqlite"
    history.import_file(data / "fomc_dates.csv", "fomc", db)
    history.import_file(data / "cpi_release_dates.csv", "cpi", db)
    s = history.load_all(db)
    assert s["fomc"]["2026-12-09"] == "scheduled"
    assert s["fomc"]["2020-03-16"] == "unscheduled"
    assert s["cpi"]["2026-12-10"] == "2026-11"


def corrupt(data: Path, tmp_path: Path, line: int, new: str) -> Path:
    """A copy of vix_daily.csv with physical line `line` replaced."""
    lines = (data / "vix_daily.csv").read_text().splitlines(keepends=True)
    lines[line - 1] = new + "\n"
    path = tmp_path / "bad.csv"
    path.write_text("".join(lines))
    return path


@pytest.mark.parametrize("line, new, field, reason", [
    (5000, "2009-13-40,20.0,21.0,19.0,20.5", "date", "not a date"),
    (7000, "2017-10-23,11.0,11.5,10.5,eleven", "close", "not a valid price"),
    (9236, "2026-07-23,15.0,15.0,15.0,-1", "close", "not a valid price"),
    (3001, "2001-12-06,,,,", "close", "not a valid price"),
])
def test_bad_row_aborts_and_leaves_store_untouched(data, tmp_path, line, new, field, reason):
    db = tmp_path / "h.sqlite"
    history.import_file(data / "vix3m_daily.csv", "vix3m", db)
    history.import_file(data / "vix_daily.csv", "vix", db)
    before_rows, before_bytes = rows_of(db), digest(db)
    bad = corrupt(data, tmp_path, line, new)
    with pytest.raises(InputError) as err:
        history.import_file(bad, "vix", db)
    assert (err.value.file, err.value.line, err.value.field) == (str(bad), line, field)
    assert str(err.value).startswith(f"{bad}:{line}: {field}: {reason}")
    assert rows_of(db) == before_rows and digest(db) == before_bytes


def test_duplicated_date_with_other_value_names_the_line(data, tmp_path):
    db = tmp_path / "h.sqlite"
    history.import_file(data / "vix_daily.csv", "vix", db)
    before = digest(db)
    # line 4000 is 2005-11-10 with close 11.90; line 4001 repeats the date with 11.63
    bad = corrupt(data, tmp_path, 4001, "2005-11-10,11.82,11.96,11.63,11.63")
    with pytest.raises(InputError) as err:
        history.import_file(bad, "vix", db)
    assert err.value.line == 4001 and "first on line 4000" in str(err.value)
    assert digest(db) == before


def test_bad_file_never_creates_the_db(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,close\n2020-01-02,12.5\n2020-01-03,abc\n")
    with pytest.raises(InputError, match=r"bad.csv:3: close: not a valid price"):
        history.import_file(bad, "vix", tmp_path / "h.sqlite")
    assert not (tmp_path / "h.sqlite").exists()


def test_cboe_format_same_value_duplicates_and_breadth(tmp_path):
    db = tmp_path / "h.sqlite"
    cboe = tmp_path / "VIX_History.csv"
    cboe.write_text("\ufeffDATE,OPEN,HIGH,LOW,CLOSE\n01/02/2024,13.2,14.2,13.1,13.20\n"
                    "01/03/2024,13.9,14.9,13.8,14.04\n01/03/2024,13.9,14.9,13.8,14.04\n\n")
    r = history.import_file(cboe, "vix", db)
    assert (r.inserted, r.unchanged) == (2, 0)
    breadth = tmp_path / "breadth.csv"
    breadth.write_text("date,advances,declines\n2024-01-02,1200,1800\n2024-01-03,2100,900\n")
    history.import_file(breadth, "breadth", db)
    ppi = tmp_path / "ppi.csv"
    ppi.write_text("release_date\n2024-01-12\n2024-02-16\n")
    history.import_file(ppi, "ppi", db)
    s = history.load_all(db)
    assert s["vix"].tolist() == [13.2, 14.04]
    assert s["breadth"].tolist() == [-600.0, 1200.0]
    assert [d.date() for d in s["ppi"].index] == [date(2024, 1, 12), date(2024, 2, 16)]
    # the Cboe file has an OPEN column: its opens are stored too, listed after vix
    assert [x.series for x in history.status(db)] == ["vix", "vix_open", "breadth", "ppi"]
    breadth.write_text("date,advances,declines\n2024-01-04,-5,900\n")
    with pytest.raises(InputError, match="breadth.csv:2: advances: not a valid count"):
        history.import_file(breadth, "breadth", db)


def test_missing_and_empty_store(tmp_path):
    assert history.load_all(tmp_path / "none.sqlite") == {}
    assert history.status(tmp_path / "none.sqlite") == []
    assert not (tmp_path / "none.sqlite").exists()
    with pytest.raises(InputError, match="cannot read"):
        history.import_file(tmp_path / "nope.csv", "vix", tmp_path / "h.sqlite")
    with pytest.raises(InputError, match="unknown series"):
        history.import_file(tmp_path / "nope.csv", "vxn", tmp_path / "h.sqlite")


def test_demo_history_is_labelled_and_ends_on_the_demo_day():
    s = history.demo_series()
    assert all(x.attrs["demo"] for x in s.values())
    assert {k: s[k]["2026-11-20"] for k in ("spx", "vix", "vix3m")} == {
        "spx": 6850.0, "vix": 16.5, "vix3m": 18.9}
    assert 480 < len(s["vix"]) < 560
    assert s["fomc"].index[-1].date() == date(2026, 12, 9)
    assert date(2026, 12, 10) in {d.date() for d in s["cpi"].index}
    assert (paths.DEMO_DIR / "history_demo.csv").read_text().startswith("# DEMO")


# ---- command line ------------------------------------------------------------

def run(*argv) -> int:
    parser = argparse.ArgumentParser(prog="alvh")
    cli_data.add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_import_and_status(data, tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    assert run("data", "import", str(data / "vix_daily.csv"), "--series", "vix",
               "--db", str(db)) == 0
    assert "9235 inserted" in capsys.readouterr().out
    assert run("data", "status", "--db", str(db)) == 0
    out = capsys.readouterr().out
    assert "1990-01-02" in out and "2026-07-23" in out and "9235" in out


def test_cli_bad_file_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,close\n2020-01-02,12.5\n2020-02-30,13\n")
    assert run("data", "import", str(bad), "--series", "vix", "--db",
               str(tmp_path / "h.sqlite")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{bad}:3: date: not a date" in err
    assert "Traceback" not in err


def test_cli_status_of_empty_store(tmp_path, capsys):
    assert run("data", "status", "--db", str(tmp_path / "h.sqlite")) == 0
    assert "DEMO" in capsys.readouterr().out


def test_db_given_before_the_command_is_kept(data, tmp_path, capsys):
    cli = pytest.importorskip("cockpit.cli.main")
    db = tmp_path / "h.sqlite"
    assert cli.main(["--db", str(db), "data", "import", str(data / "cpi_release_dates.csv"),
                     "--series", "cpi"]) == 0
    assert [s.series for s in history.status(db)] == ["cpi"]
