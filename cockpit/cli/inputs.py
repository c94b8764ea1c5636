"""Which book, market and history store a command (or the cockpit) works on, and loading them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.model.inputs import Book, Market


def resolve_inputs(book: str | None, market: str | None) -> tuple[Path, bool, Path, bool]:
    """The given files, else the user's own, else the bundled demo (flagged as demo)."""
    from core.io import paths

    def pick(given, user, demo):
        if given:
            return Path(given), False
        return (user, False) if user.exists() else (demo, True)
    book_path, book_demo = pick(book, paths.user_book(), paths.DEMO_BOOK)
    market_path, market_demo = pick(market, paths.user_market(), paths.DEMO_MARKET)
    return book_path, book_demo, market_path, market_demo


@dataclass
class Loaded:
    book: Book
    market: Market
    path: Path  # where the book is written (your own file when it came from the demo)
    db: Path | None


def load(args) -> Loaded:
    from core.io import paths
    from core.book.bookfile import load_book
    from core.market.marketfile import load_market

    book_path, book_demo, market_path, market_demo = resolve_inputs(args.book, args.market)
    book = load_book(book_path, demo=book_demo)
    market = load_market(market_path, demo=market_demo)
    return Loaded(book, market, paths.user_book() if book_demo else book_path,
                  Path(args.db) if getattr(args, "db", None) else None)


def settle_loaded(x: Loaded):
    from core.history.store import settlement_lookup
    from core.book.lifecycle import settle
    return settle(x.book, x.market, settlement_lookup(x.market, x.db))
