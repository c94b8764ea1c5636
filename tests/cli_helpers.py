"""Running `alvh` in-process as typed, and reading its one-line refusals."""
from __future__ import annotations

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
