"""No control character from a file reaches the terminal: refused in the files, escaped in errors,
stripped by the panes (an OSC 52 clipboard write arrived through a condor id)."""
from __future__ import annotations

from cockpit.cli.main import main
from cockpit_helpers import make_cockpit, sync
from core.io import paths
from core.model.errors import InputError, printable

OSC52 = "\x1b]52;c;cHduZWQ=\x07"


def test_printable_escapes_c0_c1_and_bidi_overrides():
    assert printable(f"IC{OSC52}x") == "IC\\x1b]52;c;cHduZWQ=\\x07x"
    assert printable("a\u202eb\x9bc") == "a\\u202eb\\x9bc"
    assert printable("6350/6450·7150/7250 σ Θ") == "6350/6450·7150/7250 σ Θ"  # ordinary text untouched


def test_an_id_with_an_escape_is_refused_naming_its_line(tmp_path, capsys):
    book = tmp_path / "book.toml"
    text = paths.DEMO_BOOK.read_text().replace('id = "IC-Dec04"', 'id = "IC-\\u001b]52;c;cHduZWQ=\\u0007"', 1)
    book.write_text(text)
    line = text.splitlines().index(next(x for x in text.splitlines() if "IC-\\u001b" in x)) + 1
    assert main(["report", "--book", str(book), "--market", str(paths.DEMO_MARKET)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert f"book.toml:{line}: condor[1].id: must not contain control characters" in err


def test_error_text_never_carries_raw_escapes():
    e = InputError("bad", file=f"/tmp/x{OSC52}.toml", field="id")
    assert "\x1b" not in str(e) and "\\x1b" in str(e)


def test_event_note_with_an_escape_is_refused(tmp_path, capsys):
    f = tmp_path / "fomc.csv"
    f.write_text(f"date,type\n2026-12-09,scheduled{OSC52}\n")
    assert main(["data", "import", str(f), "--series", "fomc", "--db", str(tmp_path / "h.sqlite")]) == 2
    err = capsys.readouterr().err
    assert "fomc.csv:2: type: not a valid note" in err and "\x1b" not in err


@sync
async def test_panes_strip_escapes_from_what_they_show(tmp_path):
    """Defence in depth: a book built in code (not from a file) with an escape in an id."""
    from dataclasses import replace
    from core.book.bookfile import load_book
    book = load_book(paths.DEMO_BOOK, demo=True)
    book = replace(book, condors=(replace(book.condors[0], id=f"IC{OSC52}"),) + book.condors[1:])
    app = make_cockpit(tmp_path, book=book, signals=False)
    async with app.run_test(size=(120, 40)):
        body = app.query_one("#condors").body
        text = "".join(seg.text for y in range(len(body._lines)) for seg in body.segments(y))
        assert "IC\\x1b]52" in text and "\x1b" not in text and "\x07" not in text
