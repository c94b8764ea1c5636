"""`alvh`: the cockpit, and the report, data and market commands."""
from __future__ import annotations

import argparse
import errno
import sys

from cockpit.cli.args import DAYS, days, nonempty, path_arg, port_number, spx_move, vol_move
from cockpit.cli.blas import one_blas_thread
from cockpit.cli.output import quiet_stdout
from core.model.errors import InputError


def _report(args) -> int:
    from cockpit.cli.report import run_report
    one_blas_thread()
    return run_report(args)


def _cockpit(args) -> int:
    from cockpit.app import run_app
    one_blas_thread()
    return run_app(args)


def _serve(args) -> int:
    from cockpit.cli.serve import serve
    return serve(book=args.book, market=args.market, db=args.db, theme=getattr(args, "theme", None),
                 host=args.host, port=args.port, allow_remote=args.allow_remote)


def version() -> str:
    """The installed package's version (package metadata, so it is never out of step)."""
    from importlib.metadata import PackageNotFoundError, version as dist_version
    try:
        return dist_version("alvh-cockpit")
    except PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


class _Version(argparse.Action):
    """--version, the package metadata read only when asked (importlib.metadata takes ~10 ms)."""

    def __init__(self, option_strings, dest):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show program's version number and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        try:
            sys.stdout.write(f"{parser.prog} {version()}\n")
        except (AttributeError, OSError):  # no or a closed stdout, as argparse's own --version
            pass
        parser.exit()


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line refusal, 'alvh: report: argument --days: ...', and exit 2 (no usage dump)."""

    def error(self, message: str):
        where = self.prog.partition(" ")[2]
        self.exit(2, f"alvh: {where + ': ' if where else ''}{message}\n")


def _file_options(default) -> argparse.ArgumentParser:
    files = argparse.ArgumentParser(add_help=False)
    files.add_argument("--book", metavar="FILE", default=default, type=path_arg,
                       help="book TOML (default: your saved book, else the demo)")
    files.add_argument("--market", metavar="FILE", default=default, type=path_arg,
                       help="market TOML (default: your saved market, else the demo)")
    files.add_argument("--db", metavar="PATH", default=default, type=path_arg,
                       help="history database (default: the user data folder)")
    return files


_OUTPUT_ERRORS = {errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG, errno.EBADF}


def build_parser() -> argparse.ArgumentParser:
    # A command's copy of the file options SUPPRESSes its default, so a --book given before
    # the command (`alvh --book X close ...`) is not overwritten by the command's None.
    files = _file_options(argparse.SUPPRESS)
    p = _Parser(prog="alvh", parents=[_file_options(None)], description="ALVH Cockpit: SPX iron condors"
                                " hedged by the Adaptive Layered VIX Hedge. With no command, opens the cockpit.")
    p.add_argument("--theme", metavar="NAME", type=nonempty("theme"), help="colour theme (default: your saved choice)")
    p.add_argument("--version", action=_Version)
    p.set_defaults(func=_cockpit)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    r = sub.add_parser("report", parents=[files], help="print the analysis (tables or --json)")
    r.add_argument("--json", action="store_true", help="one JSON object on stdout")
    r.add_argument("--spx-move", type=spx_move, default=0.0, metavar="PCT", help="what-if SPX move in %%")
    r.add_argument("--vol-move", type=vol_move, default=0.0, metavar="PTS",
                   help="what-if VIX move in points on top of the spot-vol map")
    r.add_argument("--days", type=days, default=0.0, metavar="N",
                   help=f"what-if calendar days forward ({DAYS[0]:g} to {DAYS[1]:g})")
    r.add_argument("--grid", action="store_true",
                   help="the SPX x VIX scenario grid of the package P&L, at T+0 and at --days")
    r.set_defaults(func=_report)

    s = sub.add_parser("serve", parents=[files], help="serve the cockpit in a browser (textual-serve)")
    s.add_argument("--theme", metavar="NAME", default=argparse.SUPPRESS, type=nonempty("theme"),
                   help="colour theme (default: your saved choice)")
    s.add_argument("--host", default="127.0.0.1",
                   help="bind address (default 127.0.0.1: this machine only; others need --allow-remote)")
    s.add_argument("--port", type=port_number, default=8000, help="TCP port (default 8000)")
    s.add_argument("--allow-remote", action="store_true",
                   help="allow a --host other machines can reach (plain HTTP: anyone with the URL drives the cockpit)")
    s.set_defaults(func=_serve)

    from cockpit.cli.data import add_parsers
    add_parsers(sub)
    from cockpit.cli import book as cli_book
    cli_book.add_parsers(sub, files)
    from cockpit.cli import positions as cli_positions
    cli_positions.add_parsers(sub, files)
    from cockpit.cli import chain as cli_chain
    cli_chain.add_parsers(sub, files)
    from cockpit.cli import backtest as cli_backtest
    cli_backtest.add_parsers(sub)
    from cockpit.cli import sweep as cli_sweep
    cli_sweep.add_parsers(sub)
    from cockpit.cli import suggest as cli_suggest
    cli_suggest.add_parsers(sub, files)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code. Bad input (InputError, a failing history store)
    is one line `alvh: ...` and exit 2; a closed pipe (`alvh report --json | head`) ends
    quietly with 141, as a program killed by SIGPIPE would."""
    import sqlite3
    args = None
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version, or a refused argument (already said, exit 2)
            return exc.code if isinstance(exc.code, int) else 0
        if sys.stdout is None and args.command:  # started with >&-: nothing done, said once
            print("alvh: standard output is closed; nothing was done (> /dev/null discards it)",
                  file=sys.stderr)
            return 2
        try:
            code = args.func(args)
            sys.stdout.flush()  # a closed pipe shows here, not at exit as "Exception ignored"
            return code
        except BrokenPipeError:
            raise
        except OSError as exc:  # the output itself failed: a full disk (/dev/full), EIO
            if exc.filename is None and exc.errno in _OUTPUT_ERRORS:
                quiet_stdout()
                print(f"alvh: cannot write the output: {exc.strerror}", file=sys.stderr)
                return 2
            raise
        except InputError as exc:
            return _refuse(str(exc))
        except sqlite3.Error as exc:  # a store error no command turned into an InputError
            from core.history.store import db_error
            return _refuse(str(db_error(exc, getattr(args, 'db', None))))
        except KeyboardInterrupt:
            return 130
    except BrokenPipeError:
        quiet_stdout()
        return 141


def _refuse(message: str) -> int:
    """Say a refusal; what was printed before it is flushed now, or quietly dropped when
    the output cannot take it (so the exit shows no second error)."""
    try:
        if sys.stderr is not None:  # print(file=None) would write to stdout
            print(f"alvh: {message}", file=sys.stderr, flush=True)
    except OSError:  # stderr full: the exit code still says it
        pass
    try:
        sys.stdout.flush()
    except (OSError, AttributeError):
        quiet_stdout()
    return 2


if __name__ == "__main__":
    sys.exit(main())
