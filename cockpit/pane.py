"""Base of the panes: a scrollable box around one Body showing a rich renderable.

Rich tables rendered once into strips repaint far faster than a DataTable; `show`
skips the update entirely when the pane's inputs did not change.
"""
from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Group
from rich.control import strip_control_codes
from rich.measure import Measurement
from rich.segment import Segment
from rich.text import Span, Text
from textual.containers import ScrollableContainer
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

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
    """A rich renderable laid out once per update (Textual would render it three times:
    height, width and paint); a table's lines become segments only when painted, so a
    long table costs only the rows in view. Wide tables keep their width and scroll
    sideways; text wraps at the pane's width."""
    DEFAULT_CSS = "Body { width: auto; height: auto; }"

    def __init__(self) -> None:
        super().__init__()
        self.content = None
        self._lines: list[tuple | list[Segment]] = []  # (table or text, line number), or segments
        self._dims = (0, 0)
        self._view = 0
        self._cache: dict[int, Strip] = {}
        self._cache_key = self._base = None
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
        rows_of = next((p for p in parts if isinstance(p, Grid) and p.selectable), None)
        lines, width = [], view
        for part in parts:  # tables at their natural width, text wrapped to the pane
            if isinstance(part, Grid):
                chosen = part is rows_of or (rows_of is None and not lines)
                if part.width > view:  # no sideways scrolling: the least worth columns
                    part = part.fit(view)  # left out, then any overflow folds under the row
                if chosen:
                    self.table_shape = (len(lines) + part.header_lines, part.row_lines)
                lines += [(part, i) for i in range(len(part))]  # made when painted
                width = max(width, part.width)
                continue
            count = _lines_of(part, view, console)
            if count is not None:  # a text that wraps as counted: rendered when painted
                wrapped = _Wrapped(part, view, console)
                lines += [(wrapped, k) for k in range(count)]
                continue
            rendered = console.render_lines(part, console.options.update(
                width=view if isinstance(part, Text) else 1000, height=None), pad=False)
            lines += rendered
            width = max([width] + [Segment.get_line_length(line) for line in rendered])
        self._lines = lines
        self._cache.clear()
        dims = (width, len(lines))
        if dims != self._dims:  # a new layout only when the size changed
            self._dims = dims
            self.styles.width, self.styles.height = dims
        self.refresh()

    def segments(self, y: int) -> list[Segment]:
        """Line y as painted: no string reaches the terminal with its control characters
        (an id from a file, a note)."""
        line = self._lines[y] if y < len(self._lines) else []
        if isinstance(line, tuple):
            source, k = line
            line = source[k]
            if isinstance(line, Text):  # a table's
                text, line = line, line.render(self.app.console)
                if printable(text.plain) == text.plain:  # one check for the line, not one per segment
                    return list(line)
        return [Segment(printable(seg.text), seg.style) if not seg.control else seg for seg in line]

    def render_lines(self, crop):
        self._base = self.rich_style  # once per paint, not per line: it walks every ancestor's style
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        base = self._base
        key = (base, self.size.width)
        if key != self._cache_key:
            self._cache_key = key
            self._cache.clear()
        strip = self._cache.get(y)
        if strip is None:  # one Strip, not one per step: each carries seven caches
            line = list(Segment.apply_style(self.segments(y), base))
            length, width = Segment.get_line_length(line), self.size.width
            if length < width:
                line.append(Segment(" " * (width - length), base))
            strip = self._cache[y] = Strip(Segment.simplify(line), max(length, width))
        return strip


class FastGroup(Group):
    """A Group rendered as rich renders one, its Texts that fit on a line several times faster."""

    def __rich_console__(self, console, options):
        yield from fast_render(self.renderables, console, options)


def fast_render(parts, console, options):
    """Renderables as a Group renders them, a Text that fits on one line without rich's wrapping."""
    for part in parts:
        line = _one_line(part, options.max_width, console)
        if line is None:
            yield part
            continue
        yield from line[0]
        if part.end:
            yield Segment(part.end)


def _one_line(part, width: int, console) -> list[list[Segment]] | None:
    """A Text that fits on one line, rendered as console.render_lines would, several times
    faster (None for any other renderable)."""
    if not isinstance(part, Text) or part.justify not in (None, "default"):
        return None
    plain = part.plain
    if not plain or "\n" in plain or "\t" in plain or cell_len(plain) > width:
        return None
    spans = ([Span(0, len(plain), part.style)] if part.style else []) + part.spans
    return [list(Text(plain, spans=spans).render(console))]


def _lines_of(part, width: int, console) -> int | None:
    """How many lines a Text takes wrapped at `width` (None: not a plain one-paragraph Text,
    or another renderable)."""
    if not isinstance(part, Text) or part.justify not in (None, "default") or part.overflow not in (None, "fold") \
            or part.no_wrap:
        return None
    plain = part.plain
    if not plain or "\n" in plain or "\t" in plain:
        return None
    return 1 if cell_len(plain) <= width else len(part.wrap(console, width))


class _Wrapped:
    """A Text wrapped at a width, rendered when one of its lines is first painted."""

    def __init__(self, text: Text, width: int, console) -> None:
        self.text, self.width, self.console, self._lines = text, width, console, None

    def __getitem__(self, k: int) -> list[Segment]:
        if self._lines is None:
            c = self.console
            self._lines = _one_line(self.text, self.width, c) or c.render_lines(
                self.text, c.options.update(width=self.width, height=None), pad=False)
        return self._lines[k]


class Steady(Static):
    """A Static that asks for a new layout of the screen only when its size may change:
    re-laying the whole screen out costs more than repainting the widget."""
    _shape = None

    def update(self, content="", *, layout: bool = True) -> None:
        shape = self.shape(content)
        super().update(content, layout=layout and (shape is None or shape != self._shape))
        self._shape = shape

    def shape(self, content) -> tuple | None:
        """What the widget's size depends on (None: unknown, lay out): here its lines, when
        none holds a newline, by count and widest."""
        texts = one_line_each(content)
        return None if texts is None else (len(texts), max((t.cell_len for t in texts), default=0))


def one_line_each(content) -> list[Text] | None:
    """The Texts of a Text, Group or Lines when none holds a newline (else None): each
    then takes one line, unless wider than its box."""
    texts = content.renderables if isinstance(content, Group) else content if isinstance(content, Lines) \
        else [content]
    if all(isinstance(t, Text) and "\n" not in t.plain for t in texts):
        return texts
    return None


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
    """Lines of Text that never wrap (the stress list: a table and the lines under it)."""

    def __rich_console__(self, console, options):
        yield from fast_render(self, console, options)

    def __rich_measure__(self, console, options):
        # as wide as the widest line: a `width: auto` box (the stress list) takes no more
        width = max((t.cell_len for t in self), default=0)
        return Measurement(width, width)


def grid(cols: list[tuple[str, str]], rows: list[tuple[list, str | None]], title: str | None = None,
         drop: tuple[str, ...] = ()) -> Grid:
    """A table as plain padded lines, several times cheaper to render than a rich Table.

    cols: (header, "l" or "r"); rows: (cells, row style); a cell is a str or a styled Text;
    drop: headers of the columns a narrow pane leaves out, the least worth first (`fit`)."""
    heads = [_cell(Text(h, style="bold")) for h, _ in cols]
    cells = [[_cell(c) for c in r] for r, _ in rows]
    widths = [max([len(h)] + [row[j][1] for row in cells]) for j, (h, _) in enumerate(cols)]
    names = [h for h, _ in cols]
    order = tuple(names.index(h) for h in drop if h in names)
    return Grid([a == "r" for _, a in cols], heads, cells, [style for _, style in rows], widths, title, order)


class Grid:
    """A table from `grid`, its lines each made only when asked for: a pane pays for the rows
    in view. `fit(width)` leaves out the columns `drop` names, the least worth first, until a
    row fits (the rule under the header names them), and folds what still does not fit:
    `fold(width)` is the same table with the columns that do not fit on indented lines under
    the first; header_lines and row_lines: how many lines a header and a row take."""
    selectable = False  # the table ↑ ↓ move in, when it is not the pane's first

    def __init__(self, right, heads, cells, styles, widths, title, drop: tuple[int, ...] = (),
                 hidden: tuple[str, ...] = (), width: int = 10_000) -> None:
        self._right, self._cells, self._styles, self._widths = right, cells, styles, widths
        self._data = (right, heads, cells, styles, widths, title, drop, hidden)
        self._bands = bands = _bands(widths, width)
        top = [Text(title, style="italic")] if title else []
        top += [self._line(heads, band, INDENT * (k > 0)) for k, band in enumerate(bands)]
        top.append(Text(_rule(min(width, sum(widths) + len(widths) - 1), hidden)))
        self._top, self.header_lines, self.row_lines = top, len(top), len(bands)
        # every row line of a band is as wide: its cells are padded to the column widths
        rows = [INDENT * (k > 0) + sum(widths[j] for j in band) + len(band) - 1 for k, band in enumerate(bands)]
        self.width = max([t.cell_len for t in top] + (rows if cells else []))

    def fold(self, width: int) -> Grid:
        return Grid(*self._data, width=width)

    def fit(self, width: int) -> Grid:
        """Within `width`: the `drop` columns left out in their order while a row is wider,
        then the rest folded if it still is."""
        right, heads, cells, styles, widths, title, drop, hidden = self._data
        keep = list(range(len(widths)))
        for j in drop:
            if sum(widths[i] for i in keep) + len(keep) - 1 <= width:
                break
            keep.remove(j)
        if len(keep) == len(widths):
            return self.fold(width) if self.width > width else self
        out = Grid([right[j] for j in keep], [heads[j] for j in keep], [[row[j] for j in keep] for row in cells],
                   styles, [widths[j] for j in keep], title, (),
                   hidden + tuple(heads[j][0] for j in range(len(widths)) if j not in keep))
        return out.fold(width) if out.width > width else out

    def __len__(self) -> int:
        return self.header_lines + len(self._cells) * self.row_lines

    def __getitem__(self, i: int) -> Text:
        if not 0 <= i < len(self):
            raise IndexError(i)
        if i < self.header_lines:
            return self._top[i]
        row, k = divmod(i - self.header_lines, self.row_lines)
        return self._line(self._cells[row], self._bands[k], INDENT * (k > 0), self._styles[row])

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __rich_console__(self, console, options):
        yield from self

    def __rich_measure__(self, console, options):
        return Measurement(self.width, self.width)

    def _line(self, items, band, lead: int, style: str | None = "") -> Text:
        """One line of cells: one join, not a Text per cell; a left cell's own style covers
        its padding too, as appending Texts would."""
        parts, spans, at = [" " * lead], [], lead
        for j in band:
            text, w, cell_style, cell_spans = items[j]
            pad = " " * (self._widths[j] - w)
            right = self._right[j]
            start = at + len(pad) if right else at
            if cell_style and (text if right else text or pad):
                spans.append(Span(start, start + len(text) + (0 if right else len(pad)), cell_style))
            if cell_spans:
                spans += [Span(start + a, start + b, st) for a, b, st in cell_spans]
            parts += (pad, text, " ") if right else (text, pad, " ")
            at += len(pad) + len(text) + 1
        parts.pop()  # no space after the last column
        return Text("".join(parts), style=style or "", spans=spans)


def _rule(width: int, hidden: tuple[str, ...]) -> str:
    """The line under the header: with the columns a narrow pane left out named in it."""
    if hidden:
        for note in (f"── not shown at this width: {', '.join(hidden)} ", f"── {len(hidden)} columns not shown at this width "):
            if len(note) + 2 <= width:
                return note + "─" * (width - len(note))
    return "─" * width


def _bands(widths: list[int], width: int) -> list[list[int]]:
    """The columns of each line of a row, the first line's as many as fit in `width`."""
    out, used = [[]], 0
    for j, w in enumerate(widths):
        if out[-1] and used + 1 + w > width:
            out.append([])
            used = INDENT - 1
        used += w + (1 if out[-1] else 0)
        out[-1].append(j)
    return out


def _cell(c: str | Text) -> tuple[str, int, str, list[Span] | tuple]:
    """A cell's text, width, style and spans."""
    if isinstance(c, Text):
        plain = c.plain
        return plain, cell_len(plain), c.style, c.spans
    if c.isascii() and c.isprintable():  # most cells: nothing to strip, a cell a character
        return c, len(c), "", ()
    c = strip_control_codes(c)
    return c, cell_len(c), "", ()


INDENT = 2
