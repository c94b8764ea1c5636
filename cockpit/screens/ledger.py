"""L: the realized ledger — every close and settlement, where its price came from, and
the book's P&L split into unrealized, realized and total."""
from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from cockpit import fmt
from core.model.errors import printable


def ledger_body(closed, totals) -> Group:
    if not closed:
        return Group(Text("no closes or settlements yet: c closes a position at a fill"))
    parts = []  # two lines a record, not a table: it reads at 80 columns too
    for c in closed:
        parts.append(Text.assemble(
            (printable(f"{c.closed} {c.id}"), "bold"), f"  x{c.quantity}  {c.open_price:.2f} → {c.close_price:.2f}",
            f"  commission {c.commission:,.2f} $  realized ", (fmt.money(c.realized), "bold"), " $"))
        parts.append(Text(printable(f"    {c.description} · {c.how}"), style="dim"))
    if totals is not None:
        parts.append(Text(f"P&L $: unrealized {fmt.money(totals.pnl)} · realized {fmt.money(totals.realized)}"
                          f" · total {fmt.money(totals.pnl_total)}"))
    parts.append(Text("open → close: points per condor (credit, debit) or per hedge unit;"
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
