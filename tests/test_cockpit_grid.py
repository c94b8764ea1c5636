"""The cockpit's g (the SPX x VIX grid) and n (the new-tranche form): opened by their keys
and from the palette, the grid toggling T+0 and the what-if date, its day keys moving the
what-if, fitting 80x24; the form proposing the suggested condor, N adding it by the typed-condor path."""
from __future__ import annotations

import pytest

from cockpit import keymap
from cockpit.screens.grid import GridScreen, cell_text
from cockpit.screens.suggest_form import SuggestForm, parse
from cockpit_helpers import make_cockpit, sync, text_of


@pytest.fixture(autouse=True)
def _user_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def body(screen, selector: str) -> str:
    return text_of(screen.query_one(selector))


def test_g_and_n_are_each_bound_once():
    for action, key in (("scenario_grid", "g"), ("suggest_tranche", "n")):
        ours = [k for k in keymap.KEYS if k.action == action]
        assert len(ours) == 1 and ours[0].keys == key
    taken = [a.strip() for k in keymap.KEYS for a in k.keys.split(",")]
    assert len(taken) == len(set(taken)), "a key is bound twice"


@pytest.mark.parametrize("x,text", [(-44312.4, "-44.3k"), (1346.0, "+1.3k"), (512.4, "+512"), (-0.3, "0"),
                                    (999.4, "+999"), (999.6, "+1.0k")])
def test_cells_are_signed_and_abbreviated(x, text):
    assert cell_text(x) == text


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@sync
async def test_the_grid_opens_toggles_moves_days_and_closes(tmp_path, size):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=size) as pilot:
        await pilot.press("g")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, GridScreen)
        shown = body(screen, "#grid-body")
        assert "$ P&L, package (condors + hedges) at T+0" in shown
        assert "0*" in shown and "~" in shown and "k = $1,000" in shown
        row = next(line for line in shown.splitlines() if line.strip().startswith("-20%"))
        assert len(row.split()) == 9 and "…" not in shown  # every cell in full
        box = screen.query_one("VerticalScroll").region
        assert box.right <= size[0] and box.bottom <= size[1]
        await pilot.press("space")
        await pilot.pause()
        assert "at what-if date (+0 d)" in body(screen, "#grid-body")
        await pilot.press("greater_than_sign")
        await pilot.pause()
        assert app.session.whatif.days == 7 and screen.grid.days == 7
        assert "at what-if date (+7 d)" in body(screen, "#grid-body")
        await pilot.press("space")
        await pilot.pause()
        assert "at T+0" in body(screen, "#grid-body")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, GridScreen)


@sync
async def test_the_palette_opens_the_grid(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"SPX x VIX grid")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, GridScreen)


def test_the_form_parses_a_blank_quantity_as_the_largest():
    values = {"dte": "45", "delta": "0.16", "wings": "50", "quantity": "", "max_loss_pct": "2"}
    assert parse(values) == ({"dte": 45.0, "delta": 0.16, "wings": 50.0, "quantity": None,
                              "max_loss_pct": 2.0}, None)
    assert parse(values | {"quantity": "two"}) == (None, "Quantity: 'two' is not a whole number")


@sync
async def test_n_suggests_previews_and_proposes_the_condor_N_adds_it_undo_takes_it_back(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(80, 24)) as pilot:
        s = app.session
        before = s.book
        await pilot.press("n")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, SuggestForm)
        shown = body(form, "#suggestion")
        assert "SPXW 2027-01-04" in shown and "Book after" in shown and "Hedge ratio" in shown
        condor = form.suggestion.condor
        form.query_one("#delta").value = "0.7"
        await pilot.pause()
        assert "delta: 0.7" in str(form.query_one("#problem").content) and form.result is None
        form.query_one("#delta").value = "0.16"
        form.query_one("#quantity").value = "3"
        await pilot.pause()
        assert "3 x SPXW" in body(form, "#suggestion") and "WARNING: 3 lose up to" in body(form, "#suggestion")
        form.query_one("#quantity").value = ""
        await pilot.pause()
        assert "PoP at expiry" in body(form, "#suggestion") and "After: PASS expirations" in body(form, "#suggestion")
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, SuggestForm)
        assert s.proposed == condor and s.book is before  # a what-if until N
        await pilot.press("N")
        await pilot.pause()
        assert s.book.condors[-1] == condor and len(s.book.condors) == len(before.condors) + 1
        assert s.dirty and s.pending[-1][0] == "add"  # journaled on save like a typed condor
        await pilot.press("u")
        await pilot.pause()
        assert s.book is before
