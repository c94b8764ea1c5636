"""Base of the panes: a scrollable box around one Body showing a rich renderable.

Rich tables rendered once into strips repaint far faster than a DataTable; `show`
skips the update entirely when the pane's inputs did not change.
"""
from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group
from rich.measure import Measurement
from rich.segment import Segment
from rich.text import Text
from textual.containers import ScrollableContainer
from textual.strip import Strip
from textual.widget import Widget

from core.model.errors import printable
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
        self.table_shape = (2, 1)  # lines of the first table's header and of each row

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
        # the table whose rows ↑ ↓ select: one marked selectable, else a table on top
        rows_of = next((p for p in parts if isinstance(p, Lines) and p.selectable), None)
        lines = []
        for part in parts:  # tables at their natural width, text wrapped to the pane
            if isinstance(part, Lines):
                chosen = part is rows_of or (rows_of is None and not lines)
                if part.fold and max((t.cell_len for t in part), default=0) > view:
                    part = part.fold(view)  # no sideways scrolling: overflow folds under the row
                if chosen:
                    self.table_shape = (len(lines) + part.header_lines, part.row_lines)
                lines += [list(t.render(console)) for t in part]
                continue
            width = view if isinstance(part, Text) else 1000
            lines += console.render_lines(part, console.options.update(width=width, height=None), pad=False)
        # no string reaches the terminal with its control characters (an id from a file, a note)
        self._lines = [[Segment(printable(seg.text), seg.style) if not seg.control else seg for seg in line]
                       for line in lines]
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

    def on_resize(self) -> None:
        # the body keeps the width it was given, so it never sees the pane narrow or widen:
        # re-fold its tables here (e.g. a terminal resized to 80x24 with this pane shown)
        if isinstance(self.body, Body):
            self.body.on_resize()

    def reveal(self, row: int) -> None:
        """Scroll so a table row (all of its lines, when folded) is in view."""
        from textual.geometry import Region
        header, per_row = getattr(self.body, "table_shape", (2, 1))
        self.call_after_refresh(self.scroll_to_region, Region(0, header + row * per_row, 1, per_row),
                                animate=False)

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
    """Lines of Text that never wrap: what `grid` builds. A grid's lines also carry
    `fold(width)`, the same table folded to fit, and how many lines a header and a row take."""
    fold = None
    header_lines, row_lines = 2, 1
    selectable = False  # the table ↑ ↓ move in, when it is not the pane's first

    def __rich_console__(self, console, options):
        yield from self

    def __rich_measure__(self, console, options):
        # as wide as the widest line: a `width: auto` box (the stress list) takes no more
        width = max((t.cell_len for t in self), default=0)
        return Measurement(width, width)


def grid(cols: list[tuple[str, str]], rows: list[tuple[list, str | None]], title: str | None = None) -> Lines:
    """A table as plain padded lines, several times cheaper to render than a rich Table.

    cols: (header, "l" or "r"); rows: (cells, row style); a cell is a str or a styled Text.
    Folded to a width, columns that do not fit go on indented lines under the first."""
    cells = [[c if isinstance(c, Text) else Text(c) for c in r] for r, _ in rows]
    widths = [max([len(h)] + [row[j].cell_len for row in cells]) for j, (h, _) in enumerate(cols)]

    def bands(width: int) -> list[list[int]]:
        out, used = [[]], 0
        for j, w in enumerate(widths):
            if out[-1] and used + 1 + w > width:
                out.append([])
                used = INDENT - 1
            used += w + (1 if out[-1] else 0)
            out[-1].append(j)
        return out

    def line(items, band, lead, style=""):
        out = Text(" " * lead, style=style or "")
        for n, j in enumerate(band):
            t = items[j]
            pad = " " * (widths[j] - t.cell_len)
            out.append_text(Text(pad) + t if cols[j][1] == "r" else t + Text(pad))
            if n < len(band) - 1:
                out.append(" ")
        return out

    def render(width: int) -> Lines:
        split = bands(width)
        out = Lines([Text(title, style="italic")] if title else [])
        heads = [Text(h, style="bold") for h, _ in cols]
        out += [line(heads, band, INDENT * (k > 0)) for k, band in enumerate(split)]
        out.append(Text("─" * min(width, sum(widths) + len(widths) - 1)))
        for r, (_, style) in zip(cells, rows):
            out += [line(r, band, INDENT * (k > 0), style) for k, band in enumerate(split)]
        out.fold = render
        out.header_lines, out.row_lines = len(out) - len(rows) * len(split), len(split)
        return out

    return render(10_000)


INDENT = 2
