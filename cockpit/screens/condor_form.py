"""Add or edit a condor: checked by the book file's own rules and by the engine on the would-be book
(a past expiry, a vol the skew drives negative: an error on the problem line), previewed before saving."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

from rich.text import Text
from rich.markup import escape
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.widgets import Input, Label, Static

from cockpit import fmt
from cockpit.screens.form import FormScreen
from core.model.errors import InputError
from core.model.inputs import Book, Condor

FIELDS = (("id", "ID"), ("expiry", "Expiry (YYYY-MM-DD)"), ("quantity", "Quantity"),
          ("long_put", "Long put"), ("short_put", "Short put"), ("short_call", "Short call"),
          ("long_call", "Long call"), ("credit", "Credit (points)"),
          ("root", "Root (SPXW: PM, the 16:00 close; SPX: AM monthly, the opening print)"))


def check_in_book(book: Book, item_book: Book, item_id: str, old_id: str | None) -> str | None:
    """The core book rules on the item alone, and its id unique in the book; None when fine."""
    from core.book.bookfile import book_to_toml, parse_book
    taken = {x.id for x in book.condors + book.hedges} - {old_id}
    if item_id in taken:
        return f"id: {item_id!r} is already in the book"
    if item_id != old_id and item_id in {c.id for c in book.closed}:  # its realized P&L would count as this one's
        return f"id: {item_id!r} is a closed position's in the ledger: choose another"
    try:
        parse_book(book_to_toml(item_book))
    except InputError as exc:
        return f"{(exc.field or '').split('.')[-1]}: {exc.message}"
    return None


def parse_condor(values: dict[str, str], book: Book, old_id: str | None) -> tuple[Condor | None, str | None]:
    """(condor, None) when the form is good, else (None, 'field: what is wrong')."""
    def number(name, kind=float):
        text = values[name].strip().replace(",", "")
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"{name}: {text!r} is not a {'whole ' if kind is int else ''}number") from None
    try:
        cid = values["id"].strip()
        if not cid:
            raise ValueError("id: must not be empty")
        try:
            expiry = date.fromisoformat(values["expiry"].strip())
        except ValueError:
            raise ValueError(f"expiry: {values['expiry'].strip()!r} is not a YYYY-MM-DD date") from None
        condor = Condor(cid, expiry, number("quantity", int), number("long_put"), number("short_put"),
                        number("short_call"), number("long_call"), number("credit"),
                        root=values.get("root", "SPXW").strip().upper())
    except ValueError as exc:
        return None, str(exc)
    error = check_in_book(book, Book(equity=book.equity, condors=(condor,)), cid, old_id)
    return (None, error) if error else (condor, None)


def with_condor(book: Book, condor: Condor, old_id: str | None) -> Book:
    """The would-be book: the condor added, or in place of the one it edits."""
    if old_id is None:
        return replace(book, condors=book.condors + (condor,))
    return replace(book, condors=tuple(condor if c.id == old_id else c for c in book.condors))


def preview(condor: Condor, session, old_id: str | None = None) -> Text:
    """The engine on this condor alone (break-evens, Greeks) and on the book with it."""
    from core.engine import analyze
    book = session.book
    alone = analyze(Book(equity=book.equity, condors=(condor,), model=book.model), session.market)
    c = alone.condors[0]
    # priced as the panes price it: positions the engine cannot price set aside
    after = session.price(with_condor(book, condor, old_id), session.market)[0].totals
    now = session.live.totals if session.live else after
    return Text("\n".join([
        f"Break-evens at expiry {fmt.levels(c.breakevens_expiry)} · T+0 {fmt.levels(c.breakevens_t0)}",
        f"Mark {c.mark:.2f} · P&L {fmt.money(c.pnl)} · max profit {c.max_profit:,.0f} · max loss {c.max_loss:,.0f}",
        f"Δ {c.greeks.delta:+.1f} $/SPX pt · Γ {c.greeks.gamma:+.4f} · Θ {c.greeks.theta:+.0f} $/day"
        f" · V {c.greeks.vega:+.0f} $/vol-pt · {c.distance_pct:+.1f}% ({c.distance_sd:+.1f}σ) to the {c.nearest_short}",
        f"Book after: net Δ {after.beta_weighted_delta:+.1f} ({fmt.chg(after.beta_weighted_delta, now.beta_weighted_delta, '+.1f') or '0'})"
        f" · Θ {after.greeks.theta:+.0f} ({fmt.chg(after.greeks.theta, now.greeks.theta) or '0'})"
        f" · V {after.greeks.vega:+.0f} ({fmt.chg(after.greeks.vega, now.greeks.vega) or '0'})"]))


class CondorForm(FormScreen):
    """Dismisses with (old id or None, condor) on save, None on cancel."""
    DEFAULT_CSS = """
    CondorForm Label { padding: 1 0 0 0; }
    CondorForm > VerticalScroll { width: 96; }
    #preview { height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Save condor")]

    def __init__(self, session, condor: Condor | None):
        super().__init__()
        self.session = session
        self.old = condor
        self.result: Condor | None = None

    def compose(self):
        c = self.old
        with VerticalScroll() as v:
            v.border_title = ("Edit condor " + escape(c.id)) if c else "Add a condor"  # titles are markup
            v.border_subtitle = "enter or ctrl+s saves · esc cancels · tab next field"
            with Grid():
                for name, label in FIELDS:
                    yield Label(label.split(" (")[0])
                    value = ("SPXW" if name == "root" else "") if c is None else \
                        (f"{getattr(c, name):g}" if isinstance(getattr(c, name), float) else str(getattr(c, name)))
                    yield Input(value, placeholder=label, id=name)
            yield Static(id="problem", markup=False)  # messages hold [tables]: text, not markup
            yield Static(id="preview")

    def values(self) -> dict[str, str]:
        return {name: self.query_one(f"#{name}", Input).value for name, _ in FIELDS}

    def check(self) -> None:
        old_id = self.old.id if self.old else None
        condor, problem = parse_condor(self.values(), self.session.book, old_id)
        if condor is not None:  # the engine the panes use must price the book with it
            problem = self.session.problem(with_condor(self.session.book, condor, old_id),
                                           edited=(old_id, condor.id))
            condor = None if problem else condor
        self.result = condor
        self.query_one("#problem", Static).update(problem or "")
        pv = self.query_one("#preview", Static)
        if condor is None:
            pv.update("")
            return
        try:
            pv.update(preview(condor, self.session, old_id))
        except Exception as exc:  # noqa: BLE001 - a preview failure must not close the form
            pv.update(f"preview failed: {exc}")

    def outcome(self):
        # a new condor is opened at the market's as_of; an edit keeps its trade date
        opened = self.old.opened if self.old else self.session.market.as_of.date()
        return self.old.id if self.old else None, replace(self.result, line=None, opened=opened)
