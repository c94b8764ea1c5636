"""Header / status line: market, regime, freshness, the what-if and its shifts, last message or error."""
from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text

from cockpit import fmt
from cockpit.pane import FastGroup, Palette, Steady, one_line_each
from core.model.errors import printable
from core.model.results import Analysis

STALE_AFTER = timedelta(hours=1)  # an hour-old quote is amber: hand-entered data ages fast


def lines(live: Analysis, view: Analysis, pal: Palette, *, now: datetime, regime: str | None,
          demo: bool, message: str, error: str | None, dirty: bool) -> FastGroup:
    m = live.market
    age = (now - m.as_of).total_seconds()
    stale = age > STALE_AFTER.total_seconds()
    first = Text.assemble(
        (" DEMO ", f"reverse {pal.badge}") if demo else "", (" ALVH ", "bold"),
        f"as of {m.as_of:%Y-%m-%d %H:%M} NY ", (f"({fmt.age(age)}{' old' if age >= 0 else ' of the clock'}"
                                                   f"{', STALE' if stale else ''})",
                                                   pal.warn if stale else pal.off),
        f" · SPX {m.spx:,.2f} · VIX {m.vix:.2f}", f" · VIX3M {m.vix3m:.2f}" if m.vix3m else "",
        f" · regime {regime or '…'}")
    if not fmt.moved(live, view):
        t = view.totals
        # valued at as_of (line one): the room goes to P&L, which must fit 80 columns
        second = Text.assemble(("LIVE", pal.ok), " · P&L $ unrealized ", (fmt.money(t.pnl), pal.pnl(t.pnl)),
                               f" · realized {fmt.money(t.realized)} · total ",
                               (fmt.money(t.pnl_total), pal.pnl(t.pnl_total)))
    else:
        second = Text.assemble(
            (" " + fmt.whatif(view, len(fmt.proposed(live, view))) + " ", f"reverse {pal.warn}"),
            f" SPX {view.at.spx:,.2f} ({fmt.chg(view.at.spx, live.at.spx, '+,.2f') or '0'})",
            f" · VIX {view.at.vix:.2f} ({fmt.chg(view.at.vix, live.at.vix, '+.2f') or '0'})",
            f" · valued {view.at.time:%Y-%m-%d %H:%M}",
            " · P&L ", (fmt.money(view.totals.pnl), pal.pnl(view.totals.pnl)),
            f" ({fmt.chg(view.totals.pnl, live.totals.pnl) or '0'} vs live)")
    warning = next((n for n in live.assumptions if n.startswith("WARNING")), "")
    third = Text.assemble(("● unsaved edits  " if dirty else "", pal.warn),
                          (printable(warning) + ("  " if warning else ""), pal.alert),
                          (printable(error or ""), pal.alert),
                          ("  " if error and message else "") + printable(message))
    return FastGroup(first, second, third) if third.plain else FastGroup(first, second)


class HeaderBar(Steady):
    DEFAULT_CSS = "HeaderBar { height: auto; max-height: 6; background: $panel; padding: 0 1; }"

    def shape(self, content) -> tuple | None:
        # as tall as its lines while each fits the width (the width is the screen's)
        width = self.content_region.width
        texts = one_line_each(content)
        if not width or texts is None or any(t.cell_len > width for t in texts):
            return None
        return len(texts), width
