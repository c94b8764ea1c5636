"""Base of the panes: a scrollable box around one Body showing a rich renderable.

Rich tables rendered once into strips repaint far faster than a DataTable; `show`
skips the update entirely when the pane's inputs did not change.
"""
from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group
from rich.segment import Segment
from rich.text import Text
from textual.containers import ScrollableContainer
from textual.strip import Strip
from textual.widget import Widget

from themes import FALLBACK


@dataclass(frozen=True)
class Palette:
    """Rich styles from the theme's variables (P&L, row alerts, gauge states)."""
    up: str
    down: str
    warn: str
    alert: str
    ok: str
    off: str
    badge: str

    @classmethod
    def from_variables(cls, v: dict[str, str]) -> Palette:
        def get(name):
            return v.get(name) or v.get(FALLBACK[name], "")
        return cls(get("pnl-up"), get("pnl-down"), get("row-warn"), get("row-alert"),
                   get("gauge-ok"), get("gauge-off"), get("badge"))

    def pnl(self, x: float) -> str:
        return self.up if x > 0 else self.down if x < 0 else ""


class Body(Widget):
    """A rich renderable rendered once per update into strips (Textual would render it
    three times: height, width and paint). Wide tables keep their width and scroll
    sideways; text wraps at the pane's width."""
    DEFAULT_CSS = "Body { width: auto; height: auto; }"

    def __init__(self) -> None:
        super().__init__()
        self.content = None
        self._lines: list[list] = []
        self._dims = (0, 0)
        self._view = 0
        self._cache: dict[int, Strip] = {}
        self._cache_key = None

    def update(self, renderable) -> None:
        self.content = renderable
        self._render_now()

    def on_resize(self) -> None:
        if self.parent and self.parent.scrollable_content_region.width != self._view:
            self._render_now()  # text re-wraps at the new width

    def _render_now(self) -> None:
        if self.content is None or not self.parent:
            return
        console = self.app.console
        self._view = view = self.parent.scrollable_content_region.width or 80
        parts = self.content.renderables if isinstance(self.content, Group) else [self.content]
        lines = []
        for part in parts:  # tables at their natural width, text wrapped to the pane
            if isinstance(part, Lines):
                lines += [list(t.render(console)) for t in part]
                continue
            width = view if isinstance(part, Text) else 1000
            lines += console.render_lines(part, console.options.update(width=width, height=None), pad=False)
        self._lines = lines
        self._cache.clear()
        dims = (max([view] + [Segment.get_line_length(line) for line in lines]), len(lines))
        if dims != self._dims:  # a new layout only when the size changed
            self._dims = dims
            self.styles.width, self.styles.height = dims
        self.refresh()

    def render_line(self, y: int) -> Strip:
        base = self.rich_style
        key = (base, self.size.width)
        if key != self._cache_key:
            self._cache_key = key
            self._cache.clear()
        strip = self._cache.get(y)
        if strip is None:
            line = self._lines[y] if y < len(self._lines) else []
            strip = Strip(line).apply_style(base).extend_cell_length(self.size.width, base).simplify()
            self._cache[y] = strip
        return strip


class Pane(ScrollableContainer, can_focus=True):
    """One pane; number keys focus it (and show it alone on a small screen)."""
    DEFAULT_CSS = """
    Pane { height: 1fr; border: round $panel-lighten-2; border-title-color: $foreground-muted;
           overflow: auto auto; scrollbar-size: 1 1; }
    Pane:focus { border: round $primary; border-title-color: $primary; }
    """
    number = 0
    title = ""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.body = self.make_body()
        self._key = None
        self.border_title = f"{self.number} {self.title}"

    def make_body(self) -> Widget:
        return Body()

    def compose(self):
        yield self.body

    def reveal(self, row: int) -> None:
        """Scroll so a table row (under the two header lines) is in view."""
        from textual.geometry import Region
        self.call_after_refresh(self.scroll_to_region, Region(0, row + 2, 1, 1), animate=False)

    def show(self, key, build) -> None:
        """Repaint with build() unless `key` (what the picture depends on) is unchanged."""
        if self._key is not None and len(key) == len(self._key) and all(map(_same, key, self._key)):
            return
        self._key = key
        self.body.update(build())


def _same(a, b) -> bool:
    # analyses are compared by identity: a new one means new numbers
    return a is b or (isinstance(a, (str, int, float, Palette)) and a == b)


class Lines(list):
    """Lines of Text that never wrap: what `grid` builds."""

    def __rich_console__(self, console, options):
        yield from self


def grid(cols: list[tuple[str, str]], rows: list[tuple[list, str | None]], title: str | None = None) -> Lines:
    """A table as plain padded lines, several times cheaper to render than a rich Table.

    cols: (header, "l" or "r"); rows: (cells, row style); a cell is a str or a styled Text."""
    cells = [[c if isinstance(c, Text) else Text(c) for c in r] for r, _ in rows]
    widths = [max([len(h)] + [row[j].cell_len for row in cells]) for j, (h, _) in enumerate(cols)]

    def line(items, style=""):
        out = Text(style=style or "")
        for j, (t, w) in enumerate(zip(items, widths)):
            pad = " " * (w - t.cell_len)
            out.append_text(Text(pad) + t if cols[j][1] == "r" else t + Text(pad))
            if j < len(widths) - 1:
                out.append(" ")
        return out
    out = Lines([Text(title, style="italic")] if title else [])
    out.append(line([Text(h, style="bold") for h, _ in cols]))
    out.append(Text("─" * (sum(widths) + len(widths) - 1)))
    out += [line(r, style) for r, (_, style) in zip(cells, rows)]
    return out
