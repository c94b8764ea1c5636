"""`alvh serve`: the cockpit in a browser through textual-serve, locked to whoever holds the URL.

textual-serve's Server serves a page at /, a websocket at /ws that starts the app per connection
(through a shell: asyncio.create_subprocess_shell(command)), /download/{key} and /static. It checks
neither the Origin nor any secret, so any web page open in the same browser could drive the cockpit.
LockedServer wraps it without copying it:

* every route lives under a random per-run token, http://127.0.0.1:8000/<token>/, and a middleware
  refuses (403) any request whose first path segment is not the token (compared in constant time);
* a websocket upgrade (and any request carrying an Origin) must come from the served origin itself;
* the command is one shell word per argument (shlex.quote), so a path with `;` or a space is one
  argument and never shell syntax;
* only loopback addresses are served unless --allow-remote is given (then with a loud warning).
"""
from __future__ import annotations

import asyncio
import hmac
import ipaddress
import os
import secrets
import shlex
import socket
import subprocess
import sys

from core.model.errors import InputError

TITLE = "ALVH Cockpit"


def is_loopback(host: str) -> bool:
    """True for an address (or the name localhost) that only this machine can reach."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # any other name may resolve to an outside interface


def is_wildcard(host: str) -> bool:
    """True for a bind-everything address (0.0.0.0, ::, or empty)."""
    name = host.strip("[]")
    if not name:
        return True
    try:
        return ipaddress.ip_address(name).is_unspecified
    except ValueError:
        return False


def check_host(host: str, allow_remote: bool) -> str | None:
    """None for a loopback host; the warning to print for an allowed remote one; else InputError."""
    if is_loopback(host):
        return None
    shown = host or "''"
    if not allow_remote:
        raise InputError(f"--host {shown} is not a loopback address, so other machines could reach the cockpit;"
                         " add --allow-remote to serve it anyway", field="serve")
    reach = "every network interface of this machine" if is_wildcard(host) else shown
    return (f"WARNING: --allow-remote: serving on {reach}. Anyone on the network who gets the URL"
            " (its token) can read and edit the book, and the traffic is plain unencrypted HTTP.")


def url_host(host: str) -> str:
    """The host as it goes in a URL: IPv6 in brackets; a wildcard bind as this machine's name."""
    if is_wildcard(host):
        return socket.gethostname()
    name = host.strip("[]")
    try:
        if ipaddress.ip_address(name).version == 6:
            return f"[{name}]"
    except ValueError:
        pass
    return name


def cockpit_argv(*, book=None, market=None, db=None, theme=None) -> list[str]:
    """The argument vector that runs the cockpit with these options (paths made absolute)."""
    argv = [sys.executable, "-m", "cockpit"]
    for flag, value, is_path in (("--book", book, True), ("--market", market, True),
                                 ("--db", db, True), ("--theme", theme, False)):
        if value:
            argv += [flag, os.path.abspath(value) if is_path else str(value)]
    return argv


_CMD_META = set('&|<>^%!"\r\n')


def shell_command(argv: list[str]) -> str:
    """One shell command line whose words are exactly argv (textual-serve runs it through a shell)."""
    if os.name == "nt":  # cmd.exe: list2cmdline quotes for the program, not for cmd's own syntax
        bad = next((a for a in argv if _CMD_META & set(a)), None)
        if bad is not None:
            raise InputError(f"{bad!r}: on Windows alvh serve cannot pass an argument containing"
                             " any of & | < > ^ % ! \"", field="serve")
        return subprocess.list2cmdline(argv)
    return shlex.join(argv)


def _check_inputs(book, market, theme) -> None:
    """Fail here, in one line, rather than with a blank page in the browser."""
    from cockpit.cli.inputs import resolve_inputs
    from core.book.bookfile import load_book
    from core.market.marketfile import load_market

    book_path, book_demo, market_path, market_demo = resolve_inputs(book, market)
    load_book(book_path, demo=book_demo)
    load_market(market_path, demo=market_demo)
    if theme:
        from textual.theme import BUILTIN_THEMES
        from themes import THEMES
        names = set(BUILTIN_THEMES) | {t.name for t in THEMES}
        if theme not in names:
            raise InputError(f"unknown theme {theme!r}; themes: " + ", ".join(sorted(names)), field="--theme")


def make_server(command: str, *, host: str, port: int, token: str | None = None, quiet: bool = False):
    """A textual-serve Server for command, guarded by a token and the Origin check."""
    from aiohttp import web
    from textual_serve.server import Server

    class LockedServer(Server):
        """textual-serve with every route under /<token>/ and the websocket Origin checked."""

        def __init__(self):
            self.token = token or secrets.token_urlsafe(24)
            origin = f"http://{url_host(host)}" + ("" if port == 80 else f":{port}")
            super().__init__(command, host=host, port=port, title=TITLE, public_url=origin)
            self.origin = origin
            self.url = f"{origin}/{self.token}/"

        def allowed(self, request: web.Request) -> str | None:
            """None when the request may go on, else why it is refused."""
            first = request.path.lstrip("/").partition("/")[0]
            if not hmac.compare_digest(first.encode(), self.token.encode()):
                return "this cockpit needs the URL with its token (printed by alvh serve)"
            origin = request.headers.get("Origin")
            upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
            if origin is None and upgrade:
                return "a websocket needs an Origin"
            if origin is not None and origin != self.origin:
                return f"origin {origin} is not {self.origin}"
            return None

        async def _make_app(self) -> web.Application:
            inner = await super()._make_app()  # textual-serve's own routes, page and websocket
            outer = web.Application(middlewares=[self._guard])
            outer.add_subapp(f"/{self.token}", inner)
            outer.on_response_prepare.append(self._headers)
            return outer

        @web.middleware
        async def _guard(self, request: web.Request, handler):
            why = self.allowed(request)
            if why is not None:
                raise web.HTTPForbidden(text=f"403: {why}\n")
            return await handler(request)

        @staticmethod
        async def _headers(request: web.Request, response: web.StreamResponse) -> None:
            # the token is in the path: never send it on as a Referer; never frame or cache the page
            response.headers["Referrer-Policy"] = "no-referrer"
            response.headers["X-Frame-Options"] = "DENY"
            response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
            response.headers["Cache-Control"] = "no-store"

        async def on_startup(self, app: web.Application) -> None:
            # the sockets are bound only after startup: say where to go once they listen
            self._announce = asyncio.get_running_loop().create_task(self._announce_when_listening())

        async def _announce_when_listening(self) -> None:
            probe = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host.strip("[]"), host.strip("[]"))
            for _ in range(500):  # 10 s at most; a failed bind ends the server before then
                try:
                    _, writer = await asyncio.open_connection(probe, port)
                except OSError:
                    await asyncio.sleep(0.02)
                    continue
                writer.close()
                break
            if not quiet:
                print(f"alvh serve: open {self.url}", flush=True)
                print("alvh serve: the token in the URL is the key to this cockpit; Ctrl+C stops it",
                      flush=True)

        def initialize_logging(self) -> None:
            if not quiet:
                super().initialize_logging()

    return LockedServer()


def _check_port(host: str, port: int) -> None:
    """Refuse a taken port before anything is announced (the announcement probes the port,
    and would find the other program's server there)."""
    import socket
    try:
        infos = socket.getaddrinfo(host.strip("[]") or None, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
            probe.bind(address)
    except OSError as exc:
        raise _cannot_listen(host, port, exc) from None


def _cannot_listen(host: str, port: int, exc: OSError) -> InputError:
    return InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", field="serve")


def serve(*, book=None, market=None, db=None, theme=None, host: str = "127.0.0.1", port: int = 8000,
          allow_remote: bool = False) -> int:
    """`alvh serve`: check the host and inputs, then serve until Ctrl+C (or SIGTERM)."""
    warning = check_host(host, allow_remote)
    try:
        import textual_serve.server  # noqa: F401
    except ImportError:
        raise InputError("alvh serve needs textual-serve: pip install 'alvh-cockpit[serve]'") from None
    _check_inputs(book, market, theme)
    command = shell_command(cockpit_argv(book=book, market=market, db=db, theme=theme))
    if warning:
        bar = "!" * min(len(warning), 100)
        print(f"{bar}\n{warning}\n{bar}", file=sys.stderr, flush=True)
    _check_port(host, port)
    server = make_server(command, host=host, port=port)
    try:
        server.serve()
    except OSError as exc:  # the port is taken, or the address is not this machine's
        raise _cannot_listen(host, port, exc) from None
    return 0


__all__ = ["serve", "make_server", "cockpit_argv", "shell_command", "check_host", "is_loopback"]
