"""C: the capital calculator — the rules' pass / warn / fail lines, beta, CAPM, WACC, IRR and
buying power of the book as shown (the what-if included), from core.capital."""
from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from core.model.errors import InputError, printable

STYLE = {"pass": "bold", "warn": "bold reverse", "fail": "bold reverse"}


def capital_body(result, palette=None) -> Group:
    from cockpit.capital import capital_lines
    colour = {"pass": palette.ok, "warn": palette.warn, "fail": palette.alert} if palette else {}
    return Group(*(Text(printable(text), style=f"{STYLE[status]} {colour.get(status, '')}".strip() if status else "")
                   for text, status in capital_lines(result)))


class CapitalScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    CapitalScreen { align: center middle; }
    CapitalScreen > VerticalScroll { width: 118; max-width: 100%; height: auto; max-height: 100%;
                                     border: round $primary; background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,C,q", "app.pop_screen", "Close the capital screen")]

    def __init__(self, analysis, db, palette=None, proposed: str | None = None):
        """proposed: the id of the condor the analysis holds as a what-if (n), not in the book."""
        super().__init__()
        self.analysis, self.db, self.palette, self.proposed = analysis, db, palette, proposed

    def compose(self):
        with VerticalScroll() as v:
            live = "" if self.analysis.whatif.is_live else " · at the what-if"
            live += f" · with +{self.proposed} proposed (not in the book)" if self.proposed else ""
            v.border_title = f"Capital{live} · esc closes"
            yield Static("computing…", id="capital-body")

    def on_mount(self) -> None:
        self.run_worker(self._compute, thread=True, group="capital")

    def _compute(self) -> None:
        from cockpit.capital import load_capital
        try:
            body = capital_body(load_capital(self.analysis, self.db), self.palette)
        except (InputError, OSError) as exc:  # a bad history store: said, never a traceback
            body = Text(printable(f"capital: {exc}"))
        self.app.call_from_thread(self.query_one("#capital-body", Static).update, body)
