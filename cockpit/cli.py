"""`alvh`: the cockpit, and the report, data and market commands."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.errors import InputError


def resolve_inputs(book: str | None, market: str | None) -> tuple[Path, bool, Path, bool]:
    """The given files, else the user's own, else the bundled demo (flagged as demo)."""
    from core import paths

    def pick(given, user, demo):
        if given:
            return Path(given), False
        return (user, False) if user.exists() else (demo, True)
    book_path, book_demo = pick(book, paths.user_book(), paths.DEMO_BOOK)
    market_path, market_demo = pick(market, paths.user_market(), paths.DEMO_MARKET)
    return book_path, book_demo, market_path, market_demo


def _report(args) -> int:
    from cockpit.report import run_report
    return run_report(args)


def _cockpit(args) -> int:
    from cockpit.app import run_app
    return run_app(args)


def _serve(args) -> int:
    try:
        from textual_serve.server import Server
    except ImportError:
        raise InputError("alvh serve needs textual-serve: pip install 'alvh-cockpit[serve]'") from None
    extra = "".join(f" --{k} {v}" for k, v in (("book", args.book), ("market", args.market)) if v)
    Server(f"{sys.executable} -m cockpit{extra}", host=args.host, port=args.port).serve()
    return 0


def build_parser() -> argparse.ArgumentParser:
    files = argparse.ArgumentParser(add_help=False)
    files.add_argument("--book", metavar="FILE", help="book TOML (default: your saved book, else the demo)")
    files.add_argument("--market", metavar="FILE", help="market TOML (default: your saved market, else the demo)")
    files.add_argument("--db", metavar="PATH", help="history database (default: the user data folder)")
    p = argparse.ArgumentParser(prog="alvh", parents=[files], description="ALVH Cockpit: SPX iron condors"
                                " hedged by the Adaptive Layered VIX Hedge. With no command, opens the cockpit.")
    p.add_argument("--theme", metavar="NAME", help="colour theme (default: your saved choice)")
    p.set_defaults(func=_cockpit)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser("report", parents=[files], help="print the analysis (tables or --json)")
    r.add_argument("--json", action="store_true", help="one JSON object on stdout")
    r.add_argument("--spx-move", type=float, default=0.0, metavar="PCT", help="what-if SPX move in %%")
    r.add_argument("--vol-move", type=float, default=0.0, metavar="PTS",
                   help="what-if VIX move in points on top of the spot-vol map")
    r.add_argument("--days", type=float, default=0.0, metavar="N", help="what-if calendar days forward")
    r.set_defaults(func=_report)

    s = sub.add_parser("serve", parents=[files], help="serve the cockpit in a browser (textual-serve)")
    s.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=8000)
    s.set_defaults(func=_serve)

    from cockpit.cli_data import add_parsers
    add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except InputError as exc:
        print(f"alvh: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
