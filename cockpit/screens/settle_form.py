"""Enter the settlement price an expired position awaits (the close for PM, the special
opening quotation for AM and VIX): it is kept in the market file as a [[settlement]]."""
from __future__ import annotations

import math

from rich.markup import escape
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.widgets import Input, Label, Static

from cockpit.screens.form import FormScreen
from core.market.marketfile import settlement_problem
from core.model.inputs import Settlement

_WHAT = {"PM": "the official close", "AM": "the special opening quotation (SOQ)"}


class SettleForm(FormScreen):
    """Dismisses with a Settlement, None on cancel."""
    DEFAULT_CSS = """
    SettleForm Label { padding: 1 0 0 0; }
    SettleForm > VerticalScroll { width: 72; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Settle")]

    def __init__(self, awaiting):
        super().__init__()
        self.awaiting = awaiting

    def compose(self):
        a = self.awaiting
        with VerticalScroll() as v:
            v.border_title = f"Settlement price for {escape(a.id)}"
            v.border_subtitle = "enter or ctrl+s settles · esc cancels"
            yield Static(f"{a.underlying} {a.style} {a.day}: {_WHAT[a.style]}", markup=False)
            with Grid():
                yield Label("Value")
                yield Input("", id="value", placeholder=f"{a.underlying} level")
            yield Static(id="problem", markup=False)

    def check(self) -> None:
        a, text = self.awaiting, self.query_one("#value", Input).value.strip().replace(",", "")
        self.result, problem = None, ""
        try:
            value = float(text)
        except ValueError:
            problem = f"value: {text!r} is not a number" if text else "value: the settlement level"
        else:
            s = Settlement(a.underlying, a.day, a.style, value)
            why = settlement_problem(s) if math.isfinite(value) else ("value", "must be a number")
            if why:
                problem = f"{why[0]}: {why[1]}"
            else:
                self.result = s
        self.query_one("#problem", Static).update(problem)
