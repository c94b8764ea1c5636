"""n: a new condor tranche by DTE, delta and wings (core.capital.suggest), previewed with the
book it would make; enter or ctrl+s proposes it: a what-if the panes price with the book (never
saved), which N adds by the same path as a typed condor (a), so undo, saving and the journal
treat it alike."""
from __future__ import annotations

from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.widgets import Input, Label, Static

from cockpit.screens.condor_form import with_condor
from cockpit.screens.form import FormScreen
from core.model.errors import InputError

FIELDS = (("dte", "DTE", "45"), ("delta", "Delta", "0.16"), ("wings", "Wings", "50"),
          ("quantity", "Quantity", ""), ("max_loss_pct", "Max loss %", "2"))


def parse(values: dict[str, str]) -> tuple[dict | None, str | None]:
    """(arguments of suggest(), None), or (None, 'field: what is wrong'); a blank quantity is
    the largest within the max loss."""
    out = {}
    for name, label, _ in FIELDS:
        text = values[name].strip().replace(",", "")
        if name == "quantity" and not text:
            out[name] = None
            continue
        try:
            out[name] = int(text) if name == "quantity" else float(text)
        except ValueError:
            return None, f"{label}: {text!r} is not a {'whole ' if name == 'quantity' else ''}number"
    return out, None


class SuggestForm(FormScreen):
    """Dismisses with (None, condor) on enter or ctrl+s, None on escape."""
    DEFAULT_CSS = """
    SuggestForm > VerticalScroll { width: 100; }
    SuggestForm Grid { grid-size: 6; grid-columns: 8 1fr 8 1fr 11 1fr; }
    #suggestion { height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Propose the condor")]

    def __init__(self, session):
        super().__init__()
        self.session = session
        self.suggestion = None
        self.closes = None  # the store's SPX closes, read at the first check
        self.store_note = ""  # why they could not be read

    def spx_closes(self):
        """For the real-world odds and the realized vol; a store that cannot be read gives none."""
        from cockpit.capital import spx_closes
        if self.closes is None:
            try:
                self.closes = spx_closes(self.session.db, self.session.market.demo) or ()
            except (InputError, OSError) as exc:  # the odds then have no real-world side: said
                self.closes, self.store_note = (), f"history store not read ({exc}): no real-world odds"
        return self.closes or None

    def compose(self):
        with VerticalScroll() as v:
            v.border_title = "New tranche: a condor by DTE, delta and wings"
            v.border_subtitle = "enter or ctrl+s proposes it (N adds) · esc cancels · tab next field"
            with Grid():
                for name, label, default in FIELDS:
                    yield Label(label)
                    yield Input(default, placeholder="largest that fits" if name == "quantity" else label, id=name)
            yield Static(id="problem", markup=False)
            yield Static(id="suggestion", markup=False)

    def check(self) -> None:
        from cockpit.cli.suggest import suggestion_lines
        from core.backtest.calendar import nearest_expiry
        from core.capital.suggest import suggest
        s = self.session
        self.result = self.suggestion = None
        args, problem = parse({n: self.query_one(f"#{n}", Input).value for n, _, _ in FIELDS})
        if args is not None:
            try:  # the book as the panes price it; ids set aside there stay taken
                got = suggest(s.live.book, s.market, args["dte"], args["delta"], args["wings"], args["quantity"],
                              args["max_loss_pct"], nearest_expiry, s.signals,
                              taken=frozenset(x.id for x in s.book.condors + s.book.hedges),
                              spx_closes=self.spx_closes())
            except InputError as exc:
                problem = f"{(exc.field or '').lstrip('-')}: {exc.message}"
            else:  # the engine the panes use must price the book with it
                problem = s.problem(with_condor(s.book, got.condor, None), edited=(None, got.condor.id))
                self.suggestion = got
                self.result = None if problem else got.condor
        self.query_one("#problem", Static).update(problem or "")
        lines = suggestion_lines(self.suggestion) + [self.store_note] if self.suggestion else []
        self.query_one("#suggestion", Static).update("\n".join(filter(None, lines)))

    def outcome(self):
        return None, self.result
