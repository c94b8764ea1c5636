"""Base of the panes: a scrollable box around one Static holding a rich renderable.

Rich tables in a Static repaint far faster than a DataTable; `show` skips the
update entirely when the pane's inputs did not change.
"""
from __future__ import annotations

from dataclasses import dataclass

from rich import box
from rich.console import Group
from rich.table import Table
from rich.measure import Measurement
from rich.text import Text
from textual.containers import ScrollableContainer
from textual.widgets import Static

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


class Body(Static):
    """A Static as wide as its content wants: wide tables scroll sideways instead of squeezing."""

    def get_content_width(self, container, viewport) -> int:
        if isinstance(self.content, str):
            return super().get_content_width(container, viewport)
        console = self.app.console
        options = console.options.update_width(1000)

        def natural(r) -> int:  # text wraps; tables keep their width
            if isinstance(r, Group):
                return max((natural(x) for x in r.renderables), default=0)
            if isinstance(r, Text):
                return 0
            return Measurement.get(console, options, r).maximum
        return natural(self.content)


class Pane(ScrollableContainer, can_focus=True):
    """One pane; number keys focus it (and show it alone on a small screen)."""
    DEFAULT_CSS = """
    Pane { height: 1fr; border: round $panel-lighten-2; border-title-color: $foreground-muted;
           overflow: auto auto; scrollbar-size: 1 1; }
    Pane:focus { border: round $primary; border-title-color: $primary; }
    Pane > Static { width: auto; height: auto; min-width: 100%; }
    """
    number = 0
    title = ""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.body = self.make_body()
        self._key = None
        self.border_title = f"{self.number} {self.title}"

    def make_body(self) -> Static:
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


def table(caption: str | None = None, **kw) -> Table:
    """The compact table every pane uses: one space between columns, a rule under the header."""
    return Table(box=box.SIMPLE_HEAD, padding=0, pad_edge=False, show_edge=False, caption=caption, **kw)
