"""Running `alvh` in-process as typed, and reading its one-line refusals."""
from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.cli import main as cli


def run(*argv) -> int:
    return cli.main([str(a) for a in argv])


def refused(capsys, code: int) -> str:
    """The one stderr line of a refusal (exit 2, nothing on stdout, no traceback)."""
    out = capsys.readouterr()
    assert code == 2, out
    assert out.err.count("\n") == 1 and out.err.startswith("alvh: "), out.err
    assert "Traceback" not in out.err and out.out == ""
    return out.err.strip()


DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def real_store(tmp_path_factory, name: str = "store") -> Path:
    """A store holding every file of ../shared/data, imported as a user does it; the test
    skips, saying why, when the data is absent."""
    if not (DATA / "vix_daily.csv").exists():
        pytest.skip(f"the real market data is not at {DATA}: these tests need ../shared/data")
    db = tmp_path_factory.mktemp(name) / "h.sqlite"
    assert run("data", "import", *sorted(DATA.glob("*.csv")), "--db", db) == 0
    return db
