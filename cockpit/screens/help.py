"""F1: every key (from the one key table), the units on screen and the model's assumptions."""
from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from cockpit.keymap import KEYS

UNITS = (
    "P&L, cost, stress: US dollars for the whole position",
    "Δ: $ per SPX point, SPX-equivalent (hedges through the spot-vol map)",
    "Γ: change of Δ per SPX point · Θ: $ per calendar day · V: $ per vol point",
    "Marks, credits and break-evens: index points per condor",
    "Rows: ! inside 1σ or 1% of the nearest short strike, !! at or through it",
)


def help_body(assumptions: tuple[str, ...], themes: list[str]) -> Group:
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    t.add_column("Key", no_wrap=True)
    t.add_column("Does")
    t.add_column("Group", style="dim")
    for k in KEYS:
        alts = [a.strip() for a in k.keys.split(",")]
        shown = (k.display or alts[0]) + (f" or {alts[1]}" if len(alts) > 1 and len(alts[1]) <= 6 else "")
        t.add_row(shown, k.description, k.group)
    t.add_row("ctrl+p", "Command palette: search every action", "App")
    t.add_row("tab", "Next pane · pgup/pgdn/home/end scroll it", "Panes")
    parts = [Text("Keys", style="bold"), t, Text("Units", style="bold")]
    parts += [Text(f"  • {u}") for u in UNITS]
    parts.append(Text("Model assumptions", style="bold"))
    parts += [Text(f"  • {a}") for a in assumptions]
    parts.append(Text("Themes (t cycles): " + ", ".join(themes), style="dim"))
    return Group(*parts)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 100; max-width: 100%; height: 100%; max-height: 40;
                                  border: round $primary; background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,f1,q,question_mark", "app.pop_screen", "Close help")]

    def __init__(self, assumptions: tuple[str, ...], themes: list[str]):
        super().__init__()
        self.body = help_body(assumptions, themes)

    def compose(self):
        with VerticalScroll() as v:
            v.border_title = "Help · esc closes · ↑↓ pgup pgdn scroll"
            yield Static(self.body)
