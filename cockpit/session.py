"""What the cockpit is working on: book, market, what-if, undo history, last good numbers.

Every number shown comes from `core.engine.analyze`: `live` at the market as it
is, `view` with the what-if applied and the proposed condor (`n`) added: that one is
in the view alone, never in the book, until committed as an edit. A position the
engine cannot price (its error names it) is set aside in `broken` with the reason,
and the rest prices.
Any other engine error never loses the numbers: the last good pair stays and
`error` says what went wrong.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Callable

from cockpit.saving import SaveJob, Written, fingerprint, write_beside
from core.engine import analyze
from core.model.errors import InputError
from core.model.inputs import Book, Condor, Market, SignalInputs, WhatIf
from core.model.results import Analysis

# the hedge engine reads signals once analyze() accepts them
_TAKES_SIGNALS = "signals" in inspect.signature(analyze).parameters


def position_named(exc: InputError, book: Book) -> tuple[str, str] | None:
    """(id, reason) of the condor or hedge an engine error names, else None.

    core.pricing.legs names a position in the field ("condor ID: expiry", "hedge ID leg 2:
    expiry") and by its line in the book file."""
    field = exc.field or ""
    for kind, items in (("condor", book.condors), ("hedge", book.hedges)):
        for x in sorted(items, key=lambda x: -len(x.id)):  # "H1" must not claim "H10"'s error
            head = f"{kind} {x.id}"
            if field.startswith(head + ":") or field.startswith(head + " "):
                where = field[len(head):].lstrip(" :")
                return x.id, f"{where}: {exc.message}" if where else exc.message
    if exc.line is not None and exc.file == book.source:
        for x in book.condors + book.hedges:
            if x.line == exc.line:
                return x.id, f"{field}: {exc.message}" if field else exc.message
    return None


def _no_demo(text: str, market: Market) -> str:
    """The bundled demo market is never the file to fix: `m` enters levels by hand."""
    if market.demo and market.source:
        return text.replace(market.source, "the market (m enters it by hand)")
    return text


def _expired_text(book: Book, pid: str, market: Market) -> str:
    pos = next(x for x in book.condors + book.hedges if x.id == pid)
    expiry = pos.expiry if isinstance(pos, Condor) else min(leg.expiry for leg in pos.legs)
    return f"expiry: expiry {expiry} is not after as_of {market.as_of:%Y-%m-%d %H:%M}"


def _now():
    from datetime import datetime, timezone
    return datetime.now(timezone.utc)


def without(book: Book, ids) -> Book:
    """The book with these positions set aside."""
    if not ids:
        return book
    return replace(book, condors=tuple(c for c in book.condors if c.id not in ids),
                   hedges=tuple(h for h in book.hedges if h.id not in ids))


@dataclass
class Session:
    book: Book
    market: Market
    save_path: Path  # where `save` writes: the book file, or the user's book for the demo
    market_path: Path | None = None
    whatif: WhatIf = WhatIf()
    signals: SignalInputs | None = None
    live: Analysis | None = None
    view: Analysis | None = None
    error: str | None = None
    broken: dict[str, str] = field(default_factory=dict)  # position id -> why the engine cannot price it
    # whole books, or whole markets for market edits (`m`): undo swaps the one it holds
    undo_stack: list[tuple[str, Book | Market]] = field(default_factory=list)
    redo_stack: list[tuple[str, Book | Market]] = field(default_factory=list)
    db: Path | None = None  # history store: settlement prices, the journal, daily snapshots
    awaiting: dict = field(default_factory=dict)  # id -> core.book.lifecycle.Awaiting: expired, no price yet
    notice: str = ""  # what settling on load did, for the app to say
    journal_error: str | None = None  # why the last save's edits are not in the journal yet
    # book edits since the last save, (action, label, book before, after, when): journaled on save
    pending: list[tuple] = field(default_factory=list)
    proposed: Condor | None = None  # a what-if condor (n): priced in the view only, never saved
    _proposal: tuple = field(default=(None, None, None), init=False, repr=False)  # (book, condor, book with it)

    def __post_init__(self) -> None:
        self._saved = self.book
        self._disk = fingerprint(self.save_path)
        self.settle_expired()
        self.recompute()

    def changed_on_disk(self) -> bool:
        """Another program wrote (or removed) the book file since it was loaded or saved here."""
        return fingerprint(self.save_path) != self._disk

    def overwrite_disk(self) -> None:
        """The next save may write over the other program's version (kept as the .bak)."""
        self._disk = fingerprint(self.save_path)

    def reload_from_disk(self) -> None:
        """Take the file as it is now; the edits since the last save are dropped (undo keeps them)."""
        from core.book.bookfile import load_book
        book = load_book(self.save_path)
        self.undo_stack.append(("your edits before reloading the file", self.book))
        self.book = self._saved = book
        self._disk = fingerprint(self.save_path)
        self.pending.clear()
        self.settle_expired()
        self.recompute()

    def beside(self) -> tuple[Path, Callable[[], None]]:
        """Where the book goes next to its file (NAME.mine), and the write of it as held now."""
        path = self.save_path.with_name(self.save_path.name + ".mine")
        return path, partial(write_beside, self.book, path)

    @property
    def dirty(self) -> bool:
        return self.book is not self._saved

    # ---- numbers ------------------------------------------------------------

    def _analyze(self, whatif: WhatIf, book: Book | None = None, market: Market | None = None) -> Analysis:
        book, market = book or self.book, market or self.market
        if _TAKES_SIGNALS and self.signals is not None:
            return analyze(book, market, whatif, signals=self.signals)
        return analyze(book, market, whatif)

    def _run(self, whatif: WhatIf, book: Book, market: Market) -> Analysis:
        # the session's own book and market go through _analyze(whatif) alone, as they always have
        if book is self.book and market is self.market:
            return self._analyze(whatif)
        return self._analyze(whatif, book, market)

    def price(self, book: Book, market: Market, proposed: Condor | None = None):
        """(live, view, broken, awaiting) for a would-be book and market: what has expired is
        settled in memory (or, with no price yet, set aside as awaiting), each position whose
        error names it set aside with its reason, and the rest priced. Any other error raises.
        The view holds `proposed` too."""
        done = self._settled(book, market)
        broken: dict[str, str] = {w.id: f"{w.label}: S enters it" for w in done.awaiting}
        for _ in range(len(book.condors) + len(book.hedges) + 1):
            rest = without(done.priceable, broken)
            try:
                live = self._run(WhatIf(), rest, market)
                break
            except InputError as exc:
                named = position_named(exc, rest)
                if named is None:
                    raise
                broken[named[0]] = _no_demo(named[1], market)
        else:  # every position set aside and still failing: cannot happen, but bounded
            raise InputError("no position of the book can be priced")
        return live, self._view(live, market, proposed), broken, done.awaiting

    def _view(self, live: Analysis, market: Market, proposed: Condor | None) -> Analysis:
        """The what-if of the book as priced live, with the proposed condor if any."""
        if proposed is None:
            return live if self.whatif.is_live else self._run(self.whatif, live.book, market)
        held, condor, book = self._proposal
        if held is not live.book or condor is not proposed:  # one book object: the engine's cache keeps it
            book = replace(live.book, condors=live.book.condors + (proposed,))
            self._proposal = (live.book, proposed, book)
        try:
            return self._run(self.whatif, book, market)
        except InputError as exc:  # e.g. a market it cannot price at: the book's numbers still show
            self.proposed, self.notice = None, f"proposed condor {proposed.id} dropped: {exc}"
            return self._view(live, market, None)

    def _settled(self, book: Book, market: Market):
        """Expired positions settled on the market file's and the store's prices; on the market
        file's alone when the store cannot be read (said in `notice`)."""
        from core.history.store import settlement_lookup
        from core.book.lifecycle import market_file_lookup, settle
        try:
            return settle(book, market, settlement_lookup(market, self.db))
        except (InputError, OSError) as exc:
            self.notice = f"history store not read for settlement prices: {exc}"
            return settle(book, market, market_file_lookup(market))

    def problem(self, book: Book | None = None, market: Market | None = None,
                edited: tuple[str | None, ...] = ()) -> str | None:
        """Why the would-be book and market must not be taken (None when fine): the engine
        fails, or sets aside a position that prices now or one of `edited` (the ids a form
        edits: its old and new id); the reason of an edited one comes without its id."""
        book, market = book or self.book, market or self.market
        try:
            live, _, broken, awaiting = self.price(book, market)
        except InputError as exc:  # a file is named only when the fix is in it (not the demo's)
            hidden = exc.file in (book.source, market.source if market.demo else None)
            return str(InputError(_no_demo(exc.message, market), field=exc.field,
                                  file=None if hidden else exc.file, line=None if hidden else exc.line))
        except Exception as exc:  # noqa: BLE001 - any engine failure rejects the edit
            return f"engine: {type(exc).__name__}: {exc}"
        # a position added or edited must still be open: it may not settle (or await a price) at once
        gone = {w.id for w in awaiting} | {r.id for r in live.book.closed[len(book.closed):]}
        for pid in set(edited) & gone:
            return _expired_text(book, pid, market)
        # set aside already, or expired and waiting for its price: not this edit's doing
        allowed = (set(self.broken) | {w.id for w in awaiting}) - set(edited)
        for pid, why in broken.items():
            if pid not in allowed:
                return why if pid in edited else f"{pid}: {why}"
        return None

    def recompute(self, live: bool = True) -> bool:
        """Re-run the engine (the live view too unless only the what-if moved). A proposed
        condor whose id the book now holds, or that no longer prices, is dropped (said in notice)."""
        p = self.proposed
        if p and p.id in {x.id for x in self.book.condors + self.book.hedges}:
            self.proposed, self.notice = None, f"proposed condor {p.id} dropped: the book holds {p.id} now"
        try:
            if live or self.live is None:
                new_live, new_view, broken, awaiting = self.price(self.book, self.market, self.proposed)
                self.awaiting = {w.id: w for w in awaiting}
            else:  # the what-if alone moved: the book as last priced (settled, set aside)
                broken, new_live = self.broken, self.live
                new_view = self._view(new_live, self.market, self.proposed)
        except Exception as exc:  # noqa: BLE001 - any engine failure must leave the app running
            self.error = f"engine: {type(exc).__name__}: {exc}"
            return False
        self.live, self.view, self.broken, self.error = new_live, new_view, broken, None
        return True

    def propose(self, condor: Condor | None) -> bool:
        """Price the book with this condor as the view (None drops it); the book is unchanged."""
        self.proposed = condor
        return self.recompute(live=False)

    def shift(self, spx: float = 0.0, vix: float = 0.0, days: float = 0.0) -> bool:
        w = self.whatif
        # rounded so that +0.5% then -0.5% is exactly live again
        self.whatif = WhatIf(spx_move=round(w.spx_move + spx, 10), vix_move=round(w.vix_move + vix, 10),
                             days=round(w.days + days, 10))
        return self.recompute(live=False)

    def reset_whatif(self) -> bool:
        self.whatif, self.proposed = WhatIf(), None
        return self.recompute(live=False)

    def set_market(self, market: Market, label: str | None = None) -> bool:
        """A new market; with a label it is an edit that `undo` takes back (journaled now:
        the market file is written at once, not at the book's ctrl+s)."""
        if label is not None:
            self.undo_stack.append((label, self.market))
            self.redo_stack.clear()
            self._journal_market("market", label, self.market, market)
        self.market = market
        self.settle_expired()
        return self.recompute()

    def _journal_market(self, action: str, label: str, before: Market, after: Market) -> None:
        from core.history import journal
        try:
            journal.record(self.db, journal.book_key(self.save_path), action, self._saved, self._saved,
                           markets=(before, after), label=label)
        except InputError as exc:
            self.journal_error = f"journal not written: {exc}"

    def settle_expired(self) -> None:
        """Settle what has expired by as_of into the ledger (an edit, saved with ctrl+s)."""
        self.notice = ""
        done = self._settled(self.book, self.market)
        if done.records:
            label = "settled " + ", ".join(f"{r.id} {r.realized:+,.0f} $" for r in done.records)
            self.undo_stack.append((label, self.book))
            self.redo_stack.clear()
            self.pending.append(("settle", label, self.book, done.book, _now()))
            self.book = done.book
            self.notice = label + " (ctrl+s saves)"
        elif done.awaiting:
            self.notice = f"{len(done.awaiting)} expired, awaiting a settlement price: S enters it"

    def set_signals(self, signals: SignalInputs | None) -> bool:
        self.signals = signals
        return self.recompute()

    # ---- edits --------------------------------------------------------------

    def edit(self, book: Book, label: str, action: str = "edit") -> bool:
        """A book edit; `action` names it in the journal (add, edit, delete, close, apply)."""
        self.undo_stack.append((label, self.book))
        self.redo_stack.clear()
        self.pending.append((action, label, self.book, book, _now()))
        self.book = book
        return self.recompute()

    def undo(self) -> str | None:
        return self._step(self.undo_stack, self.redo_stack)

    def redo(self) -> str | None:
        return self._step(self.redo_stack, self.undo_stack)

    def _step(self, source: list, target: list) -> str | None:
        if not source:
            return None
        label, state = source.pop()
        verb = "undo" if source is self.undo_stack else "redo"
        if isinstance(state, Market):
            target.append((label, self.market))
            self._journal_market(verb, label, self.market, state)
            self.market = state
        else:
            target.append((label, self.book))
            self.pending.append((verb, label, self.book, state, _now()))
            self.book = state
        self.recompute()
        return label

    def start_save(self) -> SaveJob:
        """What ctrl+s writes, taken now: edits made while it is written stay unsaved."""
        return SaveJob(self.book, self.save_path, tuple(self.pending), self.db, self.save_path.exists())

    def finish_save(self, job: SaveJob, done: Written) -> None:
        """Take a finished save: the session then holds the book as re-read, unless it was
        edited meanwhile (those edits stay unsaved)."""
        self._disk = done.disk
        del self.pending[:done.journaled]  # the rest are journaled on the next save
        self.journal_error = done.journal_error
        if self.book is not job.book:
            self._saved = job.book
            return
        # undo history keeps working: it holds whole books, not file states
        self.book = self._saved = done.book
        if not done.same:  # the file kept settings of its own (another program's, written over)
            self.recompute()

    def snapshot_today(self) -> None:
        """Store today's snapshot once (the first analysis of the day): InputError when the store
        cannot be written."""
        from core.history import journal
        from core.export import snapshot_numbers
        if self.live is None or self.book.demo or self.market.demo:  # demo numbers never feed the backtest
            return
        totals, positions = snapshot_numbers(self.live)
        # positions not priced today are in the snapshot too, without a value, with the reason
        positions.update({pid: {"value": None, "pnl": None, "why": why} for pid, why in self.broken.items()})
        journal.write_snapshot(self.db, journal.book_key(self.save_path), self.market.as_of.date(),
                               totals, positions, replace_day=False)
