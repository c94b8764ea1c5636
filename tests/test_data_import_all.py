"""`alvh data import FILE...` without --series: every file of ../shared/data recognised by
name and header, all of them in one command, which file wins where two overlap, and what
happens to a file it cannot recognise (reported, exit 2, the others imported)."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from cli_helpers import run
from core.history import store as history
from core.history.recognise import recognise
from core.model.errors import InputError

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
VX = tuple(f"vx{n}" for n in range(1, 9))
EXPECTED = {  # file: the series it is imported into (none: skipped)
    "vix_daily.csv": ("vix",),
    "vix3m_daily.csv": ("vix3m",),
    "vix9d_daily.csv": ("vix9d",),
    "vvix_daily.csv": ("vvix",),
    "skew_daily.csv": ("skew",),
    "spx_daily.csv": ("spx", "spx_high", "spx_low"),
    "spx_daily_2023_2026.csv": ("spx", "spx_high", "spx_low"),
    "spx_close_fred.csv": ("spx",),
    "vix_futures_vx1_vx2.csv": ("vx1", "vx2"),
    "vix_futures_vx1_vx8.csv": VX,
    "tbill_3m_monthly.csv": ("tbill_3m",),
    "fomc_dates.csv": ("fomc",),
    "cpi_release_dates.csv": ("cpi",),
    "spx_chain_2023-09-14.csv": (),
}
# first and last dates in the store once all files are in (the data README's ranges):
# spx runs 1990 (Yahoo) to 2026-08-21 (Yahoo 2023-2026); vx1/vx2 start with the long file
SPANS = {
    "vix": ("1990-01-02", "2026-07-23", 9235), "vix_open": ("1992-01-02", "2026-07-23", 8729),
    "vix3m": ("2009-09-18", "2026-02-27", 4136), "vix9d": ("2011-01-04", "2026-07-22", 3909),
    "vvix": ("2007-01-03", "2026-07-22", 4916), "skew": ("1990-01-02", "2026-07-22", 9189),
    "spx": ("1990-01-02", "2026-08-21", 9227), "spx_open": ("1990-01-02", "2026-08-21", 9227),
    "spx_high": ("1990-01-02", "2026-08-21", 9227), "spx_low": ("1990-01-02", "2026-08-21", 9227),
    "vx1": ("2005-06-20", "2021-12-23", 4159), "vx2": ("2005-11-17", "2021-12-23", 4053),
    **{s: ("2007-04-02", "2021-12-23", 3711) for s in VX[2:]},
    "tbill_3m": ("1990-01-01", "2023-11-01", 407), "fomc": ("2000-02-02", "2026-12-09", 229),
    "cpi": ("2021-07-13", "2026-12-10", 65),
}


@pytest.fixture
def data() -> Path:
    if not (DATA / "vix_daily.csv").exists():
        pytest.skip(f"real market data not found at {DATA}")
    return DATA


def stored(db: Path) -> list:
    """Every stored row (not the import log)."""
    with sqlite3.connect(db) as conn:
        return [conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
                for t in ("closes", "breadth", "events")]


def test_every_file_of_the_folder_is_recognised_as_its_series(data):
    assert sorted(p.name for p in data.glob("*.csv")) == sorted(EXPECTED)  # a new file: add it
    for name, series in EXPECTED.items():
        assert recognise(data / name).series == series, name
    assert "chain" in recognise(data / "spx_chain_2023-09-14.csv").what
    assert recognise(data / "spx_daily.csv").keep_stored  # Yahoo's closes give way to FRED's
    assert not recognise(data / "spx_close_fred.csv").keep_stored


def test_all_files_in_one_command(data, tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    files = sorted(data.glob("*.csv"))
    assert run("data", "import", *files, "--db", db) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert len(lines) == len(files) and out.err == ""  # one line per file
    by_file = {Path(line.split(": ")[0]).name: line for line in lines}
    assert "skipped: a Cboe option chain, not history" in by_file["spx_chain_2023-09-14.csv"]
    assert by_file["vix_daily.csv"].endswith("Cboe VIX, OHLC: vix 9235 new; vix_open 8729 new")
    # FRED's closes are imported first; Yahoo's fill 1990-2016 and keep FRED's where they differ
    assert "spx 6581 new, 1724 unchanged, 10 kept as stored" in by_file["spx_daily.csv"]
    assert "vx1 448 new, 1874 unchanged, 677 kept as stored" in by_file["vix_futures_vx1_vx2.csv"]

    spans = {s.series: (str(s.first), str(s.last), s.rows) for s in history.status(db)}
    assert spans == SPANS
    assert run("data", "status", "--db", db) == 0
    table = capsys.readouterr().out
    for series, (first, last, rows) in SPANS.items():
        assert any(series in row and first in row and last in row and str(rows) in row
                   for row in table.splitlines()), series

    s = history.load_all(db)
    assert s["vix"]["2020-03-16"] == 82.69  # vix_daily.csv line 7608: 57.83,83.56,57.83,82.69
    assert s["vix9d"]["2026-07-22"] == 14.88  # its last line
    assert s["vvix"]["2007-01-03"] == 87.63 and s["skew"]["1990-01-02"] == 126.09
    # spx_daily.csv line 2: 1990-01-02 O 353.40 / H 359.69 / L 351.98 / C 359.69
    assert [s[k]["1990-01-02"] for k in ("spx_open", "spx_high", "spx_low", "spx")] == [
        353.40, 359.69, 351.98, 359.69]
    assert s["spx"]["2021-08-11"] == 4447.70  # FRED's, not Yahoo's 4442.41
    assert s["spx_high"]["2024-12-20"] == 5982.06  # spx_daily_2023_2026.csv line 497
    # 2007-04-18, an expiry day: the wide file's rolled VX1 (13.13), not the long file's
    # final settlement of the April contract (12.03); before April 2007 only the long file
    assert s["vx1"]["2007-04-18"] == 13.13 and s["vx1"]["2005-06-20"] == 14.83
    assert s["vx8"]["2021-12-23"] == 26.18 and s["tbill_3m"]["1990-01-01"] == 7.64
    assert s["fomc"]["2026-12-09"] == "scheduled" and s["cpi"]["2026-12-10"] == "2026-11"

    before = stored(db)
    assert run("data", "import", *files, "--db", db) == 0  # again: nothing changes
    assert "new" not in capsys.readouterr().out and stored(db) == before
    other = tmp_path / "reversed.sqlite"  # the order files are named in does not matter
    assert run("data", "import", *reversed(files), "--db", other) == 0
    assert stored(other) == before


def test_the_chain_alone_is_skipped_with_a_note(data, tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    assert run("data", "import", data / "spx_chain_2023-09-14.csv", "--db", db) == 0
    assert "`alvh chain import FILE` reads it" in capsys.readouterr().out
    assert not db.exists()


def test_an_unknown_file_is_named_with_the_reason_and_the_others_go_in(tmp_path, capsys):
    # exit 2: the good files are imported (one transaction each), and the status says that
    # one was not, so a script or a shell `&&` does not go on as if everything were loaded
    good = tmp_path / "vix_daily.csv"
    good.write_text("date,open,high,low,close\n2024-12-02,13.1,13.5,12.9,13.3\n"
                    "2024-12-03,13.3,13.9,13.0,13.8\n")
    junk = tmp_path / "trades.csv"
    junk.write_text("when,price\n2024-12-02,5\n")
    vague = tmp_path / "prices.csv"
    vague.write_text("date,close\n2024-12-04,14.1\n")
    db = tmp_path / "h.sqlite"
    assert run("data", "import", junk, good, vague, "--db", db) == 2
    out = capsys.readouterr()
    assert out.out == f"{good}: Cboe VIX, OHLC: vix 2 new; vix_open 2 new\n"
    assert out.err.splitlines() == [
        f"alvh: {junk}: not recognised: header 'when,price' has no date column;"
        " name its series with --series",
        f"alvh: {vague}: not recognised: header 'date,close' is the layout of vix, vix3m,"
        " vix9d, vvix, skew, spx closes, and its name says none of them; name its series"
        " with --series"]
    assert [s.series for s in history.status(db)] == ["vix", "vix_open"]
    assert run("data", "import", vague, "--series", "vix", "--db", db) == 0  # as it says


def test_a_recognised_file_that_is_refused_leaves_the_others_imported(tmp_path, capsys):
    spx_levels = tmp_path / "vvix_history.csv"  # named VVIX, holds SPX levels
    spx_levels.write_text("date,close\n2024-12-02,6047.15\n")
    skew = tmp_path / "SKEW_History.csv"
    skew.write_text("DATE,CLOSE\n2024-12-02,163.5\n")
    db = tmp_path / "h.sqlite"
    assert run("data", "import", spx_levels, skew, "--db", db) == 2
    out = capsys.readouterr()
    assert out.out == f"{skew}: Cboe SKEW: skew 1 new\n"
    assert out.err.startswith(f"alvh: {spx_levels}: median level 6047.1 is not a VVIX level")
    assert run("data", "import", spx_levels, "--force", "--db", db) == 0


def test_misnamed_files_are_recognised_by_their_header(data, tmp_path, capsys):
    renamed = {"vix_futures_vx1_vx8.csv": "term_structure.csv", "tbill_3m_monthly.csv": "rates.csv",
               "spx_daily.csv": "export.csv", "fomc_dates.csv": "meetings.csv",
               "vix_futures_vx1_vx2.csv": "front.csv"}
    for src, dst in renamed.items():
        shutil.copy(data / src, tmp_path / dst)
        assert recognise(tmp_path / dst) == recognise(data / src), dst
    fred = tmp_path / "download.csv"  # FRED's own header names the series
    fred.write_text("observation_date,SP500\n2026-02-11,6941.47\n")
    assert recognise(fred).series == ("spx",)
    db = tmp_path / "h.sqlite"
    assert run("data", "import", tmp_path / "term_structure.csv", fred, "--db", db) == 0
    assert "VIX futures VX1-VX8, wide format" in capsys.readouterr().out
    s = history.load_all(db)
    assert s["vx3"]["2007-04-02"] == 14.61 and s["spx"]["2026-02-11"] == 6941.47


def test_what_cannot_be_told_is_refused_not_guessed(tmp_path):
    cases = {
        "release_dates.csv": ("release_date,reference_month\n", "neither"),
        "vix_vix3m.csv": ("date,close\n", "name vix and vix3m"),
        "README.md": ("# Market data\n", "no date column"),
        "empty.csv": ("\n", "no header"),
    }
    for name, (text, why) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(InputError, match=why.replace("neither", "does not say of cpi")):
            recognise(tmp_path / name)
    (tmp_path / "ppi_release_dates.csv").write_text("release_date,reference_month\n")
    assert recognise(tmp_path / "ppi_release_dates.csv").series == ("ppi",)


def test_keep_stored_fills_only_missing_dates(tmp_path):
    db = tmp_path / "h.sqlite"
    official = tmp_path / "a.csv"
    official.write_text("date,close\n2024-12-02,6047.15\n2024-12-03,6049.88\n")
    history.import_file(official, "spx", db)
    lesser = tmp_path / "b.csv"
    lesser.write_text("date,open,high,low,close\n2024-11-29,6003.98,6044.17,6003.98,6032.38\n"
                      "2024-12-02,6040.11,6053.58,6035.33,6047.10\n"
                      "2024-12-03,6042.97,6052.07,6033.39,6049.88\n")
    r = history.import_series(lesser, ("spx", "spx_high"), db, keep_stored=True)
    assert [(x.series, x.inserted, x.updated, x.unchanged, x.kept) for x in r] == [
        ("spx", 1, 0, 1, 1), ("spx_high", 3, 0, 0, 0)]
    assert r[0].companions[0].series == "spx_open"
    spx = history.load_all(db)["spx"]
    assert spx["2024-12-02"] == 6047.15 and spx["2024-11-29"] == 6032.38


def test_one_file_is_one_transaction(tmp_path):
    wide = tmp_path / "vx.csv"  # vx2's second value is no number: neither column is stored
    wide.write_text("date,vx1,vx2\n2024-12-02,15.1,16.2\n2024-12-03,15.3,x\n")
    db = tmp_path / "h.sqlite"
    with pytest.raises(InputError, match="vx.csv:3: vx2: not a valid price"):
        history.import_series(wide, ("vx1", "vx2"), db)
    assert history.status(db) == []


def test_a_zero_rate_is_a_rate(tmp_path):
    f = tmp_path / "tb3ms.csv"
    f.write_text("date,rate_pct\n2011-09-01,0.01\n2011-10-01,0.00\n2011-11-01,0.01\n")
    assert history.import_file(f, "tbill_3m", tmp_path / "h.sqlite").inserted == 3
    assert history.load_all(tmp_path / "h.sqlite")["tbill_3m"]["2011-10-01"] == 0.0
    (tmp_path / "vix.csv").write_text("date,close\n2011-10-03,0.00\n")
    with pytest.raises(InputError, match="not a valid price"):  # a zero index is no level
        history.import_file(tmp_path / "vix.csv", "vix", tmp_path / "h.sqlite")


def test_series_given_applies_to_every_file(tmp_path, capsys):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("date,vx1,vx3\n2024-12-02,15.1,17.2\n")
    b.write_text("date,settle\n2024-12-03,17.4\n")
    db = tmp_path / "h.sqlite"
    assert run("data", "import", a, b, "--series", "vx3", "--db", db) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"vx3: 1 inserted, 0 updated, 0 unchanged from {a}",  # its vx3 column, not vx1
        f"vx3: 1 inserted, 0 updated, 0 unchanged from {b}"]
    assert list(history.load_all(db)["vx3"]) == [17.2, 17.4]
