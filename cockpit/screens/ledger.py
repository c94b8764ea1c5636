"""L: the realized ledger — every close and settlement, where its price came from, and
the book's P&L split into unrealized, realized and total."""
from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from cockpit import fmt
from core.errors import printable


def ledger_body(closed, totals) -> Group:
    if not closed:
        return Group(Text("no closes or settlements yet: c closes a position at a fill"))
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for col in ("Closed", "ID", "What", "Qty", "Open", "Close", "Comm $", "Realized $", "How"):
        t.add_column(col, justify="right" if col in ("Qty", "Open", "Close", "Comm $", "Realized $") else "left")
    for c in closed:  # Text cells: an id or a source is data, never markup
        t.add_row(*(Text(printable(v)) for v in (
            str(c.closed), c.id, c.description, str(c.quantity), f"{c.open_price:.2f}", f"{c.close_price:.2f}",
            f"{c.commission:,.2f}", fmt.money(c.realized), c.how)))
    parts = [t]
    if totals is not None:
        parts.append(Text(f"P&L $: unrealized {fmt.money(totals.pnl)} · realized {fmt.money(totals.realized)}"
                          f" · total {fmt.money(totals.pnl_total)}"))
    parts.append(Text("Open/Close: points per condor (credit, debit) or per hedge unit;"
                      " settlements at intrinsic value against their settlement price", style="dim"))
    return Group(*parts)


class LedgerScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    LedgerScreen { align: center middle; }
    LedgerScreen > VerticalScroll { width: 118; max-width: 100%; height: auto; max-height: 100%;
                                    border: round $primary; background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,L,q", "app.pop_screen", "Close the ledger")]

    def __init__(self, closed, totals):
        super().__init__()
        self.body = ledger_body(closed, totals)

    def compose(self):
        with VerticalScroll() as v:
            v.border_title = "Realized ledger · esc closes"
            yield Static(self.body)
