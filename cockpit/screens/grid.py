"""g: the SPX x VIX scenario grid — the package P&L (condors + hedges) with SPX moved and spot
VIX set, at T+0 and at the what-if date; the spot-vol map's own path through it marked.

Every number is core.capital.grid's; this module lays it out. A cell reads without colour:
its sign, and a marker (* the market now, ~ the cell nearest the map's VIX for that move).
Colour: red losses, green gains, the background deeper the larger the cell.
"""
from __future__ import annotations

from rich import box
from rich.color import Color, blend_rgb
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

NOW, ON_MAP = "*", "~"
UNITS = "$ P&L, package (condors + hedges)"


def cell_text(x: float, compact: bool = False) -> str:
    """Dollars, signed, in thousands from 1,000 up ("-44.3k", "+512"; zero is "0");
    `compact`: whole thousands ("-44k"), for a terminal too narrow for the tenths."""
    if abs(x) >= 999.5:
        return f"{x / 1000:+.0f}k" if compact else f"{x / 1000:+.1f}k"
    return "0" if round(x) == 0 else f"{x:+.0f}"


def _style(x: float, scale: float, pal, background: str | None) -> str:
    """The cell's colour: the P&L colour over a background blended toward it by |x| / scale."""
    if pal is None or not pal.pnl(x) or round(x) == 0:
        return ""
    colour = pal.pnl(x)
    if not background or scale <= 0:
        return colour
    try:
        bg, fg = Color.parse(background).get_truecolor(), Color.parse(colour).get_truecolor()
    except Exception:  # noqa: BLE001 - a theme colour rich cannot read: the text colour alone
        return colour
    mix = blend_rgb(bg, fg, 0.15 + 0.55 * min(abs(x) / scale, 1.0))
    return f"bold {Color.from_triplet(bg).name} on {Color.from_triplet(mix).name}" if abs(x) / scale > 0.5 \
        else f"{colour} on {Color.from_triplet(mix).name}"


def grid_table(g, horizon: bool, pal=None, background: str | None = None, compact: bool = False) -> Table:
    """Rows SPX moves (highest first), columns VIX levels; the title says when and in what.
    `compact`: cells in whole thousands (cell_text), so 8 columns fit 56 characters."""
    pnl = g.pnl_horizon if horizon else g.pnl_t0
    when = f"what-if date ({g.days:+g} d)" if horizon else "T+0"
    # the box's one-space divider between columns, no padding: 8 VIX columns of "-44.3k~" fit 76
    t = Table(title=f"{UNITS} at {when}", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
              padding=0, show_edge=False)
    t.add_column(f"SPX\n{g.spx:,.0f}", justify="right", no_wrap=True)
    for shift, level in zip(g.vix_shifts, g.vix_levels):
        t.add_column(f"{'VIX' if shift == 0 else f'{shift:+g}'}\n{level:.1f}", justify="right", no_wrap=True)
    scale = float(abs(pnl).max()) if pnl.size else 0.0
    for i in reversed(range(len(g.spx_moves))):
        move = g.spx_moves[i]
        cells = []
        for j in range(len(g.vix_shifts)):
            mark = NOW if (i, j) == g.current else ON_MAP if g.map_path[i] == j else " "
            style = _style(float(pnl[i, j]), scale, pal, background)
            if mark != " ":
                style = (style + " underline").strip()
            cells.append(Text(cell_text(float(pnl[i, j]), compact) + mark, style=style))
        label = "0%" if move == 0 else f"{move:+.1%}".replace(".0%", "%")
        t.add_row(Text(label, style="bold" if move == 0 else ""), *cells)
    return t


def full_width(g, horizon: bool) -> int:
    """Characters the grid needs with every cell in tenths of a thousand."""
    from rich.console import Console
    from rich.measure import Measurement
    console = Console(width=1000, file=None, color_system=None)
    return Measurement.get(console, console.options, grid_table(g, horizon)).maximum


def legend(g) -> str:
    return (f"{NOW} now (SPX {g.spx:,.0f}, VIX {g.vix:.1f}) · {ON_MAP} the spot-vol map's VIX for the row's"
            " SPX move · rows: SPX move; columns: spot VIX shift and level · k = $1,000")


class GridScreen(ModalScreen[None]):
    """The grid of the book the panes price; space toggles T+0 and the what-if date, whose
    day keys (. , > <) move it here as on the main screen."""
    DEFAULT_CSS = """
    GridScreen { align: center middle; }
    GridScreen > VerticalScroll { width: 100%; max-width: 100; height: auto; max-height: 100%;
                                  border: round $primary; background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("space,h", "toggle", "T+0 / what-if date"),
                Binding("full_stop", "days(1)", "+1 day", show=False),
                Binding("comma", "days(-1)", "-1 day", show=False),
                Binding("greater_than_sign", "days(7)", "+7 days", show=False),
                Binding("less_than_sign", "days(-7)", "-7 days", show=False),
                Binding("escape,g,q", "app.pop_screen", "Close the grid")]

    def __init__(self, session):
        super().__init__()
        self.session = session
        self.horizon = bool(session.whatif.days)
        self.grid = None

    def compose(self):
        with VerticalScroll() as v:
            v.border_title = "SPX × VIX grid · space: T+0 / what-if date · . > , < days · esc closes"
            yield Static(id="grid-body")

    def on_mount(self) -> None:
        self.recompute()

    def recompute(self) -> None:
        from core.capital.grid import scenario_grid
        from core.model.errors import InputError
        s = self.session
        try:  # the book as the panes price it (what is set aside stays out, a proposed condor in)
            self.grid = scenario_grid(s.view.book, s.market, s.whatif.days)
        except InputError as exc:
            self.query_one("#grid-body", Static).update(Text(f"no grid: {exc}"))
            return
        self.show()

    def show(self) -> None:
        from cockpit.pane import Palette
        g, pal = self.grid, Palette.from_variables(self.app.theme_variables)
        # the box's border, padding and scroll bar take 6 of the terminal's columns
        compact = full_width(g, self.horizon) > min(self.app.size.width, 100) - 6
        note = "" if g.days else " (today: . or > moves the what-if date)"
        p = self.session.proposed
        self.query_one("#grid-body", Static).update(Group(
            grid_table(g, self.horizon, pal, self.app.theme_variables.get("surface"), compact),
            *([Text(f"with +{p.id} proposed: a what-if, not in the book", style="bold")] if p else []),
            Text(legend(g), style="dim"),
            Text(f"space: {'T+0' if self.horizon else 'the what-if date'}" + note, style="dim")))

    def on_resize(self, _) -> None:
        if self.grid is not None:
            self.show()

    def action_toggle(self) -> None:
        self.horizon = not self.horizon
        self.show()

    def action_days(self, days: float) -> None:
        self.app.action_days(days)  # the session's what-if, as on the main screen
        self.horizon = bool(self.session.whatif.days)
        self.recompute()
