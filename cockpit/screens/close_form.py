"""Close a position, or part of it, at a fill: quantity, price (default: the current mark)
and commission. The closed part goes to the realized ledger; the form shows its dollars."""
from __future__ import annotations

from rich.markup import escape
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.widgets import Input, Label, Static

from cockpit.screens.form import FormScreen
from core.model.errors import InputError


class CloseForm(FormScreen):
    """Dismisses with the book after the close and its ledger record, None on cancel."""
    DEFAULT_CSS = """
    CloseForm Label { padding: 1 0 0 0; }
    CloseForm > VerticalScroll { width: 78; }
    #outcome { height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Close at this fill")]

    def __init__(self, session, position, mark: float, what: str):
        super().__init__()
        self.session, self.position, self.mark, self.what = session, position, mark, what

    def compose(self):
        p = self.position
        unit = "per condor: debit to buy back" if self.what == "condor" else "per unit: price received"
        with VerticalScroll() as v:
            v.border_title = f"Close {self.what} {escape(p.id)} at a fill"  # a title is markup: ids are not
            v.border_subtitle = "enter or ctrl+s closes · esc cancels · tab next field"
            with Grid():
                yield Label("Quantity")
                yield Input(str(p.quantity), id="quantity", placeholder=f"1 to {p.quantity}")
                yield Label("Price")
                yield Input(f"{max(self.mark, 0.0) if self.what == 'condor' else self.mark:.2f}", id="price",
                            placeholder="points")
                yield Label("Commission")
                yield Input("0", id="commission", placeholder="$ total")
            yield Static(f"price in points {unit} (default: the model mark {self.mark:.2f});"
                         " commission in $ for the whole close", markup=False)
            yield Static(id="problem", markup=False)
            yield Static(id="outcome", markup=False)

    def check(self) -> None:
        from core.book.lifecycle import close_position
        values = {k: self.query_one(f"#{k}", Input).value.strip().replace(",", "") for k in
                  ("quantity", "price", "commission")}
        self.result, problem, outcome = None, "", ""
        try:
            qty = int(values["quantity"])
            price, commission = float(values["price"]), float(values["commission"] or 0)
        except ValueError:
            problem = "quantity must be a whole number; price and commission numbers"
        else:
            try:
                book, rec = close_position(self.session.book, self.position.id, qty, price, commission,
                                           self.session.market.as_of.date())
            except InputError as exc:
                problem = f"{exc.field}: {exc.message}"
            else:
                self.result = (book, rec)
                left = self.position.quantity - qty
                outcome = (f"realized {rec.realized:+,.2f} $ on {qty} (opened at {rec.open_price:.2f},"
                           f" closed at {rec.close_price:.2f}, commission {rec.commission:,.2f} $);"
                           f" {left} left open")
        self.query_one("#problem", Static).update(problem)
        self.query_one("#outcome", Static).update(outcome)
