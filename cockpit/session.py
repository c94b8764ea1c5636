"""What the cockpit is working on: book, market, what-if, undo history, last good numbers.

Every number shown comes from `core.engine.analyze`: `live` at the market as it
is, `view` with the what-if applied. An engine error never loses them: the
last good pair stays and `error` says what went wrong.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field, replace
from pathlib import Path

from core.engine import analyze
from core.model import Book, Market, SignalInputs, WhatIf
from core.results import Analysis

# the hedge engine reads signals once analyze() accepts them
_TAKES_SIGNALS = "signals" in inspect.signature(analyze).parameters


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
    undo_stack: list[tuple[str, Book]] = field(default_factory=list)
    redo_stack: list[tuple[str, Book]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._saved = self.book
        self.recompute()

    @property
    def dirty(self) -> bool:
        return self.book is not self._saved

    # ---- numbers ------------------------------------------------------------

    def _analyze(self, whatif: WhatIf) -> Analysis:
        if _TAKES_SIGNALS and self.signals is not None:
            return analyze(self.book, self.market, whatif, signals=self.signals)
        return analyze(self.book, self.market, whatif)

    def recompute(self, live: bool = True) -> bool:
        """Re-run the engine (the live view too unless only the what-if moved)."""
        try:
            new_live = self._analyze(WhatIf()) if live or self.live is None else self.live
            new_view = new_live if self.whatif.is_live else self._analyze(self.whatif)
        except Exception as exc:  # noqa: BLE001 - any engine failure must leave the app running
            self.error = f"engine: {type(exc).__name__}: {exc}"
            return False
        self.live, self.view, self.error = new_live, new_view, None
        return True

    def shift(self, spx: float = 0.0, vix: float = 0.0, days: float = 0.0) -> bool:
        w = self.whatif
        # rounded so that +0.5% then -0.5% is exactly live again
        self.whatif = WhatIf(spx_move=round(w.spx_move + spx, 10), vix_move=round(w.vix_move + vix, 10),
                             days=round(w.days + days, 10))
        return self.recompute(live=False)

    def reset_whatif(self) -> bool:
        self.whatif = WhatIf()
        return self.recompute(live=False)

    def set_market(self, market: Market) -> bool:
        self.market = market
        return self.recompute()

    def set_signals(self, signals: SignalInputs | None) -> bool:
        self.signals = signals
        return self.recompute()

    # ---- edits --------------------------------------------------------------

    def edit(self, book: Book, label: str) -> bool:
        self.undo_stack.append((label, self.book))
        self.redo_stack.clear()
        self.book = book
        return self.recompute()

    def undo(self) -> str | None:
        return self._step(self.undo_stack, self.redo_stack)

    def redo(self) -> str | None:
        return self._step(self.redo_stack, self.undo_stack)

    def _step(self, source: list, target: list) -> str | None:
        if not source:
            return None
        label, book = source.pop()
        target.append((label, self.book))
        self.book = book
        self.recompute()
        return label

    def save(self) -> Path:
        """Atomic write (previous version kept as .bak); the session then holds the book as re-read."""
        from core.bookfile import save_book
        self.save_path.parent.mkdir(parents=True, exist_ok=True)
        saved = save_book(self.book, self.save_path)
        # undo history keeps working: it holds whole books, not file states
        self.book = self._saved = replace(saved, demo=False)
        self.recompute()
        return self.save_path
