"""The dashboard's web server: aiohttp on its own thread and event loop.

The session never waits for a browser. Producers call :meth:`DashboardServer.publish`
from any thread; it serialises the message, appends it to a bounded hub (the
oldest message falls out when it is full) and wakes the loop, all without a
lock held across I/O. Each connected page has its own sender task with its own
cursor into the hub: a slow or frozen page only falls behind (and skips what
fell out), it never holds up the producers or the other pages.

Every URL carries a random token; a request without it (page, static file,
WebSocket, API) gets 403, as does one whose ``Host`` is not the address the
server listens on (a DNS-rebinding page names its own host; any name is
taken only when listening on every interface). Nothing sets CORS headers,
and a WebSocket opened from another origin is refused. The page changes the session only through the
actions registered with :meth:`DashboardServer.add_action` (``POST
/api/action/NAME``), which the token guards like everything else.

It stays over 400 lines because the server is one object with one lifetime:
its thread and event loop, the hub, the token guard and the routes share the
loop's state, and the page itself lives in ``static/``.
"""

from __future__ import annotations

import asyncio
import collections
import errno
import hmac
import json
import logging
import secrets
import threading
import time
from pathlib import Path

from .._json import dumps, loads_untrusted
from .._logging import logger
from ..errors import BiofeedbackError

__all__ = ["DashboardServer", "require_aiohttp", "STATIC_DIR"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
DEFAULT_PORT = 8765
#: Events (a stream lost and back, markers, blocks) a page that connects late
#: still gets, the newest ones (as many as the page lists).
EVENTS_KEPT = 60


def require_aiohttp():
    """Import aiohttp's web server, or say in one sentence how to get it.

    Raises
    ------
    MissingDependencyError
        aiohttp is not installed (``pip install "biofeedback[dashboard]"``).
    """
    from .._checks import _import_optional

    return _import_optional("aiohttp.web", "dashboard", "the dashboard", package="aiohttp")


class _Hub:
    """Numbered messages in a bounded deque, plus the latest of each kind and
    the last :data:`EVENTS_KEPT` events (sent first to a page that connects)."""

    def __init__(self, maxlen):
        self.messages = collections.deque(maxlen=maxlen)
        self.seq = 0
        self.latest = {}  # kind -> JSON text (sent first to a page that connects)
        # a page opened after a stream was lost and came back still lists it
        self.events = collections.deque(maxlen=EVENTS_KEPT)
        self.lock = threading.Lock()

    def add(self, kind, text, keep_latest):
        with self.lock:
            self.seq += 1
            self.messages.append((self.seq, text))
            if keep_latest:
                self.latest[kind] = text
            elif kind == "event":
                self.events.append(text)
            return self.seq

    def first(self):
        """What a page that connects gets first: the latest of each kind, then
        the kept events, oldest first; and the cursor after them."""
        with self.lock:
            return [*self.latest.values(), *self.events], self.seq

    def since(self, cursor):
        """(messages after ``cursor``, new cursor, how many were skipped)."""
        with self.lock:
            if not self.messages or self.seq <= cursor:
                return [], cursor, 0
            first = self.messages[0][0]
            skipped = max(0, first - cursor - 1)
            out = [text for seq, text in self.messages if seq > cursor]
            return out, self.seq, skipped


class DashboardServer:
    """Serve the dashboard page and push messages to it over a WebSocket.

    Parameters
    ----------
    host : str
        Address to listen on; ``127.0.0.1`` unless you need another machine to
        see the page (then every URL still needs the token).
    port : int
        Port to try first; when it is taken another free port is used and
        :attr:`port_note` says so. 0 picks a free port.
    token : str | None
        The access token (random when None).
    max_queue : int
        Messages kept for pages that fall behind; older ones are dropped.
    title : str
        Shown in the page's title bar.

    Attributes
    ----------
    url : str
        The page's address with its token (after :meth:`start`).
    stats : dict
        Messages published, pages connected, messages a page skipped.

    Examples
    --------
    >>> server = DashboardServer()
    >>> url = server.start()
    >>> server.publish({"type": "event", "text": "hello"})
    >>> server.stop()
    """

    def __init__(self, host="127.0.0.1", port=DEFAULT_PORT, token=None, max_queue=256,
                 title="biofeedback"):
        self.host = host
        self.requested_port = int(port)
        self.port = None
        self.port_note = ""
        self.token = token or secrets.token_urlsafe(18)
        self.title = title
        self._hub = _Hub(max_queue)
        self._actions = {}
        self._loop = None
        self._thread = None
        self._runner = None
        self._started = threading.Event()
        self._start_error = None
        self._waiters = set()  # asyncio.Event per page, set from any thread
        self._conns = set()  # (WebSocketResponse, sender task) per page
        self.stats = {"published": 0, "clients": 0, "connections": 0, "skipped": 0,
                      "send_errors": 0}

    # -- producers (any thread) ---------------------------------------------------------
    def publish(self, message: dict, keep_latest: bool = True) -> None:
        """Queue one message for every page; never blocks.

        Parameters
        ----------
        message : dict
            JSON-ready, with a ``"type"`` key; NaN becomes null.
        keep_latest : bool
            Keep it as the latest of its type, sent first to pages that connect
            later (meta, window, cue, status, check do; trace chunks do not).
        """
        text = dumps(message, separators=(",", ":"))
        self._hub.add(message.get("type", ""), text, keep_latest)
        self.stats["published"] += 1
        loop = self._loop
        if loop is not None and self._waiters:
            try:
                loop.call_soon_threadsafe(self._wake)
            except RuntimeError:  # loop closed while stopping
                pass

    def add_action(self, name: str, fn) -> None:
        """Let the page call ``fn(text)`` with ``POST /api/action/NAME`` (token required)."""
        self._actions[name] = fn

    @property
    def url(self) -> str:
        host = "127.0.0.1" if _unspecified(self.host) else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/?token={self.token}"

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> str:
        """Start serving on a thread; returns :attr:`url`.

        Raises
        ------
        BiofeedbackError
            aiohttp is missing, or no port could be opened on ``host``.
        """
        require_aiohttp()
        self._thread = threading.Thread(target=self._serve, name="dashboard", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise BiofeedbackError(f"The dashboard server did not start within {timeout:g} s.")
        if self._start_error is not None:
            raise self._start_error
        return self.url

    def stop(self, timeout: float = 5.0) -> None:
        """Close every page's connection and the server."""
        if self._thread is None:
            return
        self._started.wait(timeout)  # a start Ctrl-C cut short: stopped once it serves
        loop = self._loop
        if loop is None:  # it could not listen
            return
        try:
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout)
        except Exception as err:  # pragma: no cover - best effort at exit
            logger.debug("Dashboard shutdown: %s", err)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout)
        self._thread = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- the loop's side -----------------------------------------------------------------
    def _wake(self):
        for ev in list(self._waiters):
            ev.set()

    def _serve(self):
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._open())
        except BaseException as err:
            self._start_error = err if isinstance(err, BiofeedbackError) else BiofeedbackError(
                _cannot_listen(self.host, err))
            self._started.set()
            loop.close()
            return
        self._loop = loop
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._loop = None

    async def _open(self):
        web = require_aiohttp()

        @web.middleware
        async def guard(request, handler):
            return await self._guard(request, handler)

        app = web.Application(middlewares=[guard], client_max_size=64 * 1024)
        app.router.add_get("/", self._page)
        app.router.add_get("/ws", self._ws)
        app.router.add_get("/api/state", self._state)
        app.router.add_post("/api/action/{name}", self._action)
        app.router.add_get("/static/{name}", self._static)
        # no access log (URLs hold the token); a client's malformed request is
        # a debug line, never a traceback in the session's terminal
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                     shutdown_timeout=1.0, logger=_ClientTrouble(logger, {}))
        await self._runner.setup()
        ports = [self.requested_port] if self.requested_port else []
        ports.append(0)
        for port in ports:
            site = web.TCPSite(self._runner, self.host, port, reuse_address=False)
            try:
                await site.start()
            except OSError as err:
                if err.errno == errno.EADDRINUSE and port != 0:
                    continue
                raise
            sock = site._server.sockets[0]
            self.port = sock.getsockname()[1]
            if port != self.requested_port and self.requested_port:
                self.port_note = (f"Port {self.requested_port} is in use; the dashboard "
                                  f"serves on port {self.port} instead.")
                logger.info(self.port_note)
            return

    async def _shutdown(self):
        for ev in list(self._waiters):
            ev.closing = True
            ev.set()
        for ws, sender in list(self._conns):
            sender.cancel()  # a frozen page may hold its sender in a send forever
            try:
                await asyncio.wait_for(ws.close(), 0.5)
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - closing anyway
                pass
        if self._runner is not None:
            await self._runner.cleanup()

    def _token_ok(self, request) -> bool:
        given = request.query.get("token", "")
        return hmac.compare_digest(given.encode(), self.token.encode())

    def _host_ok(self, request) -> bool:
        if _unspecified(self.host):  # the user opened every interface, by any name
            return True
        given = (request.url.host or "").strip("[]").lower()
        bound = self.host.strip("[]").lower()
        return given == bound or (_loopback(bound) and _loopback(given))

    async def _guard(self, request, handler):
        from aiohttp import web

        if not self._host_ok(request):
            return web.Response(status=403, text=f"403: this dashboard answers to {self.host} "
                                                 "only (open the URL the session printed).\n")
        if not self._token_ok(request):
            return web.Response(status=403, text="403: this dashboard needs its token "
                                                 "(open the URL the session printed).\n")
        resp = await handler(request)
        # the page loads nothing from elsewhere; the token never leaves in a Referer
        resp.headers.setdefault("Cache-Control", "no-store")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        return resp

    async def _page(self, request):
        from aiohttp import web

        html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
        html = html.replace("{{TOKEN}}", self.token).replace("{{TITLE}}", self.title)
        csp = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; base-uri 'none'; form-action 'none'; "
               "frame-ancestors 'none'")
        return web.Response(text=html, content_type="text/html",
                            headers={"Content-Security-Policy": csp})

    async def _static(self, request):
        from aiohttp import web

        name = request.match_info["name"]
        path = (STATIC_DIR / name).resolve()
        if path.parent != STATIC_DIR or not path.is_file() or name == "index.html":
            raise web.HTTPNotFound()
        types = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
        return web.Response(body=path.read_bytes(),
                            content_type=types.get(path.suffix, "application/octet-stream"))

    async def _state(self, request):
        """The latest message of each kind, as one JSON object."""
        from aiohttp import web

        with self._hub.lock:
            latest = dict(self._hub.latest)
        body = "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in latest.items()) + "}"
        return web.Response(text=body, content_type="application/json")

    async def _action(self, request):
        from aiohttp import web

        if not _same_origin(request):  # a page elsewhere that learnt the token
            return web.json_response({"ok": False, "error": "cross-origin action refused"},
                                     status=403)
        name = request.match_info["name"]
        fn = self._actions.get(name)
        if fn is None:
            return web.json_response({"ok": False, "error": f"no action {name!r}"}, status=404)
        text = ""
        if request.can_read_body:
            try:
                body = loads_untrusted(await request.text())
                text = str(body.get("text", ""))[:200] if isinstance(body, dict) else ""
            except (ValueError, UnicodeDecodeError):
                return web.json_response({"ok": False, "error": "body must be JSON"}, status=400)
        try:
            result = fn(text)
        except Exception as err:
            logger.warning("Dashboard action %r failed: %s", name, err)
            return web.json_response({"ok": False, "error": str(err)}, status=500)
        self.publish({"type": "event", "t": time.time(), "text": f"{name} {text}".strip(),
                      "source": "dashboard"}, keep_latest=False)
        return web.json_response({"ok": True, "result": result}, dumps=dumps)

    async def _ws(self, request):
        from aiohttp import WSMsgType, web

        if not _same_origin(request):
            return web.Response(status=403, text="403: cross-origin WebSocket refused.\n")
        ws = web.WebSocketResponse(heartbeat=10.0, max_msg_size=64 * 1024)
        await ws.prepare(request)
        wake = asyncio.Event()
        wake.closing = False
        self._waiters.add(wake)
        self.stats["clients"] = len(self._waiters)
        self.stats["connections"] += 1
        sender = asyncio.ensure_future(self._send_loop(ws, wake))
        conn = (ws, sender)
        self._conns.add(conn)
        try:
            async for msg in ws:  # the page only ever says "ping" (latency probes)
                if msg.type == WSMsgType.TEXT and msg.data.startswith("ping"):
                    await ws.send_str(json.dumps({"type": "pong", "t": time.time(),
                                                  "echo": msg.data[4:]}))
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            sender.cancel()
            self._conns.discard(conn)
            self._waiters.discard(wake)
            self.stats["clients"] = len(self._waiters)
        return ws

    async def _send_loop(self, ws, wake):
        first, cursor = self._hub.first()
        try:
            if first:
                await ws.send_str("[" + ",".join(first) + "]")
            while not ws.closed and not wake.closing:
                await wake.wait()
                wake.clear()
                texts, cursor, skipped = self._hub.since(cursor)
                if skipped:
                    self.stats["skipped"] += skipped
                if texts:
                    # one frame per wake-up: a page that fell behind gets a batch
                    await ws.send_str("[" + ",".join(texts) + "]")
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            return
        except Exception as err:  # a page's trouble is never the session's
            self.stats["send_errors"] += 1
            logger.debug("Dashboard page connection ended: %s", err)


class _ClientTrouble(logging.LoggerAdapter):
    """aiohttp's server logger: what went wrong with a request, at debug level.

    aiohttp logs a traceback at ERROR for every malformed request (no
    ``Host``, a 100 kB request line); anyone who can reach the port could
    fill the session's terminal with them. ``--verbose`` still shows them.
    """

    def exception(self, msg, *args, exc_info=True, **kwargs):
        self.debug(msg, *args, exc_info=exc_info, **kwargs)


def _unspecified(host: str) -> bool:
    """Whether ``host`` is the any-address (the page is then opened on loopback)."""
    import ipaddress

    try:
        return not host or ipaddress.ip_address(host).is_unspecified
    except ValueError:  # a host name
        return False


def _loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) is this machine's loopback."""
    import ipaddress

    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name
        return False


def _same_origin(request) -> bool:
    """True unless the request says it comes from a page of another origin."""
    origin = request.headers.get("Origin")
    return origin is None or origin.split("://", 1)[-1] == request.host


def _cannot_listen(host, err) -> str:
    """The sentence for a server that could not listen on ``host``: a name that
    resolves to nothing and an address no interface has say what to give instead."""
    import errno
    import socket

    instead = ("give --host an address of this machine: 127.0.0.1 (the default, this "
               "machine only) or the address of the network interface to serve on.")
    if isinstance(err, socket.gaierror):
        return f"The dashboard cannot listen on {host!r}: no such host name; {instead}"
    if isinstance(err, OSError) and err.errno == errno.EADDRNOTAVAIL:
        return (f"The dashboard cannot listen on {host}: no network interface of this "
                f"machine has that address; {instead}")
    return f"The dashboard server could not start on {host}: {err}"
