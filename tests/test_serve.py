"""`alvh serve`: a per-run token, the Origin check, a quoted command, loopback only unless asked.

The server tests start the real `alvh serve` on a free 127.0.0.1 port in a subprocess of its own
process group (stopped, and killed if need be, at the end) and talk to it with aiohttp's client.
"""
from __future__ import annotations

import asyncio
import json
import os
import queue
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cockpit.cli import serve as serve_mod
from cockpit.cli.main import main
from core.io import paths

aiohttp = pytest.importorskip("aiohttp")  # textual-serve's own dependency (the test extra has it)
pytest.importorskip("textual_serve")

HOSTILE = "x;touch PWNED;y b.toml"  # a shell would run `touch PWNED`; a space splits unquoted words


# --- the host ------------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "example.com", ""])
def test_non_loopback_host_refused_without_allow_remote(host, capsys, monkeypatch):
    monkeypatch.setattr(serve_mod, "make_server", lambda *a, **k: pytest.fail("must not serve"))
    assert main(["serve", "--host", host]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("alvh: serve: --host ")
    assert "--allow-remote" in err


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts_need_no_flag(host):
    assert serve_mod.check_host(host, allow_remote=False) is None


def test_allow_remote_serves_with_a_loud_warning(capsys, monkeypatch):
    seen = {}

    class Fake:
        def serve(self):
            seen["served"] = True

    monkeypatch.setattr(serve_mod, "make_server", lambda command, **kw: seen.update(kw) or Fake())
    assert main(["serve", "--host", "0.0.0.0", "--allow-remote"]) == 0  # nothing is bound: Fake
    assert seen["served"] and seen["host"] == "0.0.0.0"
    err = capsys.readouterr().err
    assert "WARNING" in err and "every network interface" in err and "unencrypted" in err


@pytest.mark.parametrize("port", ["0", "65536", "eighty"])
def test_bad_port_refused_in_one_line(port, capsys):
    assert main(["serve", "--port", port]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("alvh: serve: argument --port: ")


def test_ipv6_loopback_url_is_bracketed():
    server = serve_mod.make_server("true", host="::1", port=8123, token="t0k", quiet=True)
    assert server.url == "http://[::1]:8123/t0k/" and server.origin == "http://[::1]:8123"


# --- the command ---------------------------------------------------------------------------------

def _captured_command(monkeypatch, argv) -> list[str]:
    seen = {}

    class Fake:
        def serve(self):
            pass

    monkeypatch.setattr(serve_mod, "make_server", lambda command, **kw: seen.update(command=command) or Fake())
    assert main(argv) == 0
    return shlex.split(seen["command"])


def test_all_options_passed_through_quoted(tmp_path, monkeypatch):
    book = tmp_path / "my books" / HOSTILE
    book.parent.mkdir()
    shutil.copy(paths.DEMO_BOOK, book)
    market = tmp_path / "market $(touch PWNED).toml"
    shutil.copy(paths.DEMO_MARKET, market)
    db = tmp_path / "hist `touch PWNED`.db"
    words = _captured_command(monkeypatch, ["serve", "--book", str(book), "--market", str(market),
                                            "--db", str(db), "--theme", "alvh-light"])
    assert words == [sys.executable, "-m", "cockpit", "--book", str(book), "--market", str(market),
                     "--db", str(db), "--theme", "alvh-light"]
    # the top-level --theme reaches serve too
    words = _captured_command(monkeypatch, ["--theme", "alvh-contrast", "serve"])
    assert words[-2:] == ["--theme", "alvh-contrast"]
    assert not list(tmp_path.rglob("PWNED"))


def test_relative_paths_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(paths.DEMO_BOOK, tmp_path / "b.toml")
    words = _captured_command(monkeypatch, ["serve", "--book", "b.toml"])
    assert words[3:] == ["--book", str(tmp_path / "b.toml")]


def test_bad_inputs_refused_before_serving(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(serve_mod, "make_server", lambda *a, **k: pytest.fail("must not serve"))
    assert main(["serve", "--book", str(tmp_path / "none.toml")]) == 2
    assert main(["serve", "--theme", "no-such-theme"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "file not found" in err[0] and "unknown theme 'no-such-theme'" in err[1]


@pytest.mark.skipif(os.name == "nt", reason="POSIX shell quoting")
def test_hostile_path_through_a_real_shell_is_one_argument(tmp_path):
    """The command goes through a shell as textual-serve runs it; the words come out unchanged."""
    evil = str(tmp_path / "dir with space" / HOSTILE)
    echo = "import json, sys; print(json.dumps(sys.argv[1:]))"
    argv = [sys.executable, "-c", echo, "--book", evil, "--market", "a b'c\"d$(touch PWNED)&"]
    command = serve_mod.shell_command(argv)

    async def run():
        proc = await asyncio.create_subprocess_shell(command, stdout=subprocess.PIPE, cwd=tmp_path)
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
        return json.loads(out)

    assert asyncio.run(run()) == argv[3:]
    assert not (tmp_path / "PWNED").exists()


# --- the real server -----------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Runs the server in the process group it leads, and ends the whole group (the server and every
# cockpit it started) when the test closes this watchdog's stdin, when the test process dies (EOF
# too), or after LIMIT seconds, whichever comes first: no server or cockpit outlives the tests.
WATCHDOG = """
import os, signal, subprocess, sys, threading
limit, argv = float(sys.argv[1]), sys.argv[2:]
server = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
watch = threading.Thread(target=sys.stdin.read, daemon=True)
watch.start()
watch.join(limit)
server.send_signal(signal.SIGTERM)  # a graceful stop first: it tells its cockpits to quit
try:
    server.wait(10)
except subprocess.TimeoutExpired:
    pass
os.killpg(0, signal.SIGKILL)  # then whatever is left of the group, this watchdog last
"""
LIMIT = 300  # seconds: the server tests take about 5


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`alvh serve` on a free loopback port with a hostile book path; yields (url, origin, cwd)."""
    cwd = tmp_path_factory.mktemp("serve")
    book = cwd / "dir with space" / HOSTILE
    book.parent.mkdir()
    shutil.copy(paths.DEMO_BOOK, book)
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    err = open(cwd / "stderr.txt", "w+")
    proc = subprocess.Popen([sys.executable, "-c", WATCHDOG, str(LIMIT),
                             sys.executable, "-m", "cockpit", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--book", str(book), "--market", str(paths.DEMO_MARKET)],
                            cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                            text=True, start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        url, deadline = None, time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                assert proc.poll() is None, f"alvh serve exited: {(cwd / 'stderr.txt').read_text()}"
                continue
            if line.startswith("alvh serve: open "):
                url = line.split()[-1]
        assert url, "alvh serve printed no URL within 30 s"
        yield url, f"http://127.0.0.1:{port}", cwd
    finally:
        proc.stdin.close()  # the watchdog stops the server, then ends the group
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the group started above, if anything is left of it
        except ProcessLookupError:
            pass
        err.close()


def _get(url: str) -> tuple[int, str]:
    async def go():
        async with aiohttp.ClientSession() as http:
            async with http.get(url, timeout=aiohttp.ClientTimeout(total=10)) as r:
                return r.status, await r.text()
    return asyncio.run(go())


def _ws(url: str, origin: str | None, *, until: bytes | None = None):
    """The handshake's status (101 when accepted); with until, also the app's screen bytes up to it."""
    async def go():
        async with aiohttp.ClientSession() as http:
            try:
                ws = await http.ws_connect(url, origin=origin)
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status, b""
            screen = b""
            async with ws:
                if until is not None:
                    await ws.send_str(json.dumps(["resize", {"width": 100, "height": 30}]))
                    deadline = time.monotonic() + 30
                    while until not in screen and time.monotonic() < deadline:
                        try:
                            msg = await asyncio.wait_for(ws.receive(), 1)
                        except asyncio.TimeoutError:
                            continue
                        if msg.type == aiohttp.WSMsgType.BINARY:
                            screen += msg.data
                        elif msg.type != aiohttp.WSMsgType.TEXT:
                            break  # closed: the app ended
            return 101, screen
    return asyncio.run(go())


def test_the_url_is_printed_with_a_long_random_token(served):
    url, origin, _ = served
    token = url.removeprefix(origin + "/").rstrip("/")
    assert url == f"{origin}/{token}/" and len(token) >= 32 and "/" not in token


def test_requests_without_the_token_are_refused(served):
    url, origin, _ = served
    for path in ("/", "/ws", "/static/js/textual.js", "/download/x", "/wrong-token/", "/wrong-token/ws"):
        status, body = _get(origin + path)
        assert status == 403, path
        assert "token" in body
    assert _ws(origin + "/ws", origin)[0] == 403


def test_the_page_and_its_files_are_served_with_the_token(served):
    url, origin, _ = served
    status, page = _get(url)
    assert status == 200
    ws_url = "ws" + url.removeprefix("http") + "ws"
    assert f'data-session-websocket-url="{ws_url}"' in page
    assert _get(url + "static/js/textual.js")[0] == 200


def test_websocket_from_a_foreign_origin_is_refused(served):
    url, origin, _ = served
    ws_url = url + "ws"
    for foreign in ("http://evil.example", "http://localhost:1", origin.replace("127.0.0.1", "127.0.0.2"),
                    origin + ".evil.example", "null"):
        assert _ws(ws_url, foreign)[0] == 403, foreign
    assert _ws(ws_url, None)[0] == 403  # a browser always sends one


def test_websocket_with_token_and_origin_runs_the_cockpit_and_nothing_else(served):
    url, origin, cwd = served
    status, screen = _ws(url + "ws", origin, until=b"Condors")
    assert status == 101
    assert b"Condors" in screen  # the cockpit drew its panes from the book at the hostile path
    assert not list(cwd.rglob("PWNED"))  # the hostile book path was one argument, never shell syntax
