"""Edit a hedge: id, layer, quantity and its legs written one per `;`."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

from rich.markup import escape
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Input, Label, Static

from cockpit.screens.condor_form import check_in_book
from cockpit.screens.form import FormScreen
from core.model.inputs import Book, Hedge, HedgeLeg

LEGS_HELP = "legs: RATIO KIND EXPIRY [STRIKE] @PRICE; … e.g. +1 vix_call 2027-01-20 20 @1.35; -1 vix_call 2027-01-20 30 @0.55"


def legs_text(h: Hedge) -> str:
    return "; ".join(f"{leg.ratio:+g} {leg.kind} {leg.expiry}" + (f" {leg.strike:g}" if leg.strike is not None else "")
                     + f" @{leg.price:g}" for leg in h.legs)


def parse_legs(text: str) -> tuple[HedgeLeg, ...]:
    legs = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        words = part.split()
        if len(words) not in (4, 5) or not words[-1].startswith("@"):
            raise ValueError(f"legs: {part!r} is not RATIO KIND EXPIRY [STRIKE] @PRICE")
        try:
            strike = float(words[3]) if len(words) == 5 else None
            legs.append(HedgeLeg(words[1], date.fromisoformat(words[2]), strike, float(words[0]),
                                 float(words[-1][1:])))
        except ValueError:
            raise ValueError(f"legs: cannot read {part!r} (numbers, YYYY-MM-DD date)") from None
    return tuple(legs)


def parse_hedge(values: dict[str, str], book: Book, old_id: str | None) -> tuple[Hedge | None, str | None]:
    try:
        hid = values["id"].strip()
        if not hid:
            raise ValueError("id: must not be empty")
        try:
            layer, qty = int(values["layer"]), int(values["quantity"])
        except ValueError:
            raise ValueError("layer and quantity: whole numbers") from None
        hedge = Hedge(hid, layer, qty, parse_legs(values["legs"]))
    except ValueError as exc:
        return None, str(exc)
    error = check_in_book(book, Book(equity=book.equity, hedges=(hedge,)), hid, old_id)
    return (None, error) if error else (hedge, None)


class HedgeForm(FormScreen):
    DEFAULT_CSS = """
    HedgeForm > VerticalScroll { width: 100; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Save hedge")]

    def __init__(self, session, hedge: Hedge):
        super().__init__()
        self.session = session
        self.old = hedge
        self.result: Hedge | None = None

    def compose(self):
        h = self.old
        with VerticalScroll() as v:
            v.border_title = f"Edit hedge {escape(h.id)}"  # titles are markup
            v.border_subtitle = "enter or ctrl+s saves · esc cancels"
            for name, value in (("id", h.id), ("layer", str(h.layer)), ("quantity", str(h.quantity)),
                                ("legs", legs_text(h))):
                yield Label(name)
                yield Input(value, id=name)
            yield Static(LEGS_HELP, classes="hint", markup=False)  # [STRIKE] is text, not markup
            yield Static(id="problem", markup=False)  # messages hold [tables]: text, not markup

    def check(self) -> None:
        values = {n: self.query_one(f"#{n}", Input).value for n in ("id", "layer", "quantity", "legs")}
        hedge, problem = parse_hedge(values, self.session.book, self.old.id)
        if hedge is not None:  # the engine the panes use must price the book with it
            book = self.session.book
            would_be = replace(book, hedges=tuple(hedge if h.id == self.old.id else h for h in book.hedges))
            problem = self.session.problem(would_be, edited=(self.old.id, hedge.id))
            hedge = None if problem else hedge
        self.result = hedge
        self.query_one("#problem", Static).update(problem or "")

    def outcome(self):
        return self.old.id, replace(self.result, line=None, opened=self.old.opened)
