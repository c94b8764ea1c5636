"""Themes: ours are registered with their P&L and gauge variables, `--theme` and the saved choice work."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from textual.color import Color

from cockpit.app import make_app
from cockpit.pane import Palette
from cockpit.settings import load_theme, save_theme
from core.model.errors import InputError
from themes import DEFAULT, FALLBACK, NAMES, THEMES
from cockpit_helpers import make_cockpit, sync, text_of

ANSI16 = {(r, g, b) for r in (0, 255) for g in (0, 255) for b in (0, 255)} | {(192, 192, 192)}


@pytest.fixture(autouse=True)
def _user_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def args(**kw):
    return SimpleNamespace(**{"book": None, "market": None, "db": None, "theme": None, **kw})


def test_our_themes_define_every_cockpit_variable():
    assert {"alvh-dark", "alvh-light", "alvh-contrast"} <= set(NAMES) and DEFAULT == "alvh-dark"
    for t in THEMES:
        assert set(FALLBACK) <= set(t.variables), t.name


def test_contrast_theme_uses_only_the_16_ansi_colours():
    t = next(t for t in THEMES if t.name == "alvh-contrast")
    colours = [t.primary, t.warning, t.error, t.success, t.foreground, t.background, *t.variables.values()]
    assert all(Color.parse(c).rgb in ANSI16 for c in colours)


def test_palette_falls_back_for_builtin_themes():
    p = Palette.from_variables({"success": "#00aa00", "error": "#aa0000", "warning": "#aaaa00",
                                "accent": "#0000aa", "foreground-muted": "#777777"})
    assert (p.up, p.down, p.warn, p.off) == ("#00aa00", "#aa0000", "#aaaa00", "#777777")


def test_theme_option_saved_choice_and_unknown_name(tmp_path):
    assert make_app(args(theme="alvh-light"), watch=False, signals=None).theme == "alvh-light"
    settings = tmp_path / "settings.toml"
    save_theme("alvh-contrast", settings)
    assert load_theme(settings) == "alvh-contrast"
    assert make_app(args(), watch=False, signals=None, settings=settings).theme == "alvh-contrast"
    save_theme("gone-theme", settings)  # a stale preference falls back quietly
    assert make_app(args(), watch=False, signals=None, settings=settings).theme == DEFAULT
    with pytest.raises(InputError, match="unknown theme"):
        make_app(args(theme="nope"), watch=False, signals=None)
    settings.write_text("theme = [broken")
    assert load_theme(settings) is None


@sync
async def test_every_theme_renders_the_numbers(tmp_path):
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        for name in sorted(app.available_themes):
            app.theme = name
            await pilot.press("]")
            await pilot.pause()
            assert f"SPX {app.session.view.at.spx:,.2f}" in text_of(app.query_one("#header"))
            assert app.palette.up  # every theme gives P&L colours


@sync
async def test_no_color_keeps_alerts_readable(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_cockpit(tmp_path, signals=False)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.no_color
        await pilot.press("}", "}")  # SPX +4%: condors near or through their short calls
        await pilot.pause()
        shown = text_of(app.query_one("#condors"))
        assert "!IC-Dec04" in shown or "!!IC-Dec04" in shown  # flagged without colour
