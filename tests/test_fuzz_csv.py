"""CSV import under fuzzing: every file is imported whole or refused with one line (exit 2),
never a traceback, and a refused file leaves the store byte for byte as it was."""
from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.cli.main import main

GOOD = ("date,open,high,low,close\n2024-12-18,5900.1,5932.2,5860.5,5872.16\n"
        "2024-12-19,5912.7,5935.5,5866.1,5867.08\n2024-12-20,5842.0,5982.1,5832.3,5930.85\n")
SERIES = ("spx", "vix", "vx1", "fomc", "breadth")

cells = st.one_of(st.sampled_from(["5930.85", "17.2", "1e308", "inf", "nan", "-1", "0", "1_000", "٣٤", "",
                                   "2024-12-20", "20241220", "2024-W51-5", "9999-12-31", "12/20/2024",
                                   "\x1b]52;c;x\x07", '"', "a,b", " 5930 "]),
                  st.text(max_size=8))


def dump(db: Path) -> list:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return [tuple(r) for t in ("closes", "breadth", "events")
                for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2")]


def run(text: str | bytes, series: str, capsys) -> None:
    with tempfile.TemporaryDirectory() as d:
        db, f = Path(d) / "h.sqlite", Path(d) / "in.csv"
        f.write_bytes(GOOD.encode())
        assert main(["data", "import", str(f), "--series", "spx", "--db", str(db)]) == 0
        before = dump(db)
        f.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        capsys.readouterr()
        code = main(["data", "import", str(f), "--series", series, "--db", str(db)])
        out, err = capsys.readouterr()
        assert code in (0, 2), (code, err)
        assert "Traceback" not in err
        if code == 2:
            assert err.startswith("alvh: ") and err.count("\n") == 1, err
            assert dump(db) == before  # nothing half-written


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(rows=st.lists(st.lists(cells, min_size=1, max_size=7), max_size=6),
       header=st.sampled_from(["date,open,high,low,close", "date,close", "close,date", "date,type",
                               "date,advances,declines", "observation_date,value", "", "date"]),
       series=st.sampled_from(SERIES))
def test_generated_csv_is_imported_or_refused_in_one_line(capsys, rows, header, series):
    run(header + "\n" + "\n".join(",".join(r) for r in rows), series, capsys)


@FUZZ
@given(data=st.data(), series=st.sampled_from(SERIES))
def test_byte_mutations_of_a_good_file_are_imported_or_refused(capsys, data, series):
    raw = bytearray(GOOD.encode())
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        if op == "flip":
            raw[i] = data.draw(st.integers(0, 255))
        elif op == "delete":
            del raw[i]
        elif op == "insert":
            raw.insert(i, data.draw(st.sampled_from(list(b",\n\r\"0.9-e\xef\xbb\xbf\x00"))))
        else:
            del raw[i:]
        if not raw:
            raw = bytearray(b"\n")
    run(bytes(raw), series, capsys)
