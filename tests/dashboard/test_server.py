"""The dashboard server: token on every URL, no CORS, a free port, never blocking."""

import asyncio
import json
import socket

import numpy as np
import pytest

from biofeedback.dashboard import DashboardServer, quality_classes
from biofeedback.dashboard._feed import DisplayFeed, head_positions
from biofeedback.quality import FLAGS


@pytest.fixture
def server():
    srv = DashboardServer(port=0)
    srv.start()
    yield srv
    srv.stop()


async def _get(url, method="GET", headers=None, data=None):
    import aiohttp

    async with aiohttp.ClientSession() as s:
        async with s.request(method, url, headers=headers, data=data) as r:
            return r.status, dict(r.headers), await r.text()


def get(url, **kw):
    return asyncio.run(_get(url, **kw))


def test_every_url_needs_the_token(server):
    base = f"http://127.0.0.1:{server.port}"
    tok = server.token
    paths = ["/", "/static/dashboard.js", "/static/uPlot.iife.min.js", "/api/state", "/ws"]
    for path in paths:
        for query in ("", "?token=", "?token=wrong" + tok[:4]):
            status, headers, body = get(base + path + query)
            assert status == 403, (path, query)
            assert "Access-Control-Allow-Origin" not in headers
    status, _, _ = get(base + "/api/action/stop?token=nope", method="POST", data="{}")
    assert status == 403
    status, headers, body = get(f"{base}/?token={tok}")
    assert status == 200 and "uPlot.iife.min.js?token=" + tok in body
    assert "Access-Control-Allow-Origin" not in headers
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"
    status, _, js = get(f"{base}/static/uPlot.iife.min.js?token={tok}")
    assert status == 200 and "uPlot" in js
    # nothing outside static/, and the page template is not served raw
    assert get(f"{base}/static/..%2F_server.py?token={tok}")[0] == 404
    assert get(f"{base}/static/index.html?token={tok}")[0] == 404


def test_actions_are_explicit_and_guarded(server):
    calls = []
    server.add_action("mark", lambda text: calls.append(text) or "ok")
    base = f"http://127.0.0.1:{server.port}"
    status, _, body = get(f"{base}/api/action/mark?token={server.token}", method="POST",
                          data=json.dumps({"text": "hello"}),
                          headers={"Content-Type": "application/json"})
    assert status == 200 and json.loads(body)["ok"] and calls == ["hello"]
    assert get(f"{base}/api/action/stop?token={server.token}", method="POST")[0] == 404
    assert get(f"{base}/api/action/mark?token={server.token}")[0] == 405  # GET changes nothing
    assert calls == ["hello"]
    # a page of another origin that learnt the token cannot act; the page's own can
    for origin, status in (("http://evil.example", 403), (base, 200)):
        assert get(f"{base}/api/action/mark?token={server.token}", method="POST",
                   data=json.dumps({"text": origin}), headers={
                       "Content-Type": "application/json", "Origin": origin})[0] == status
    assert calls == ["hello", base]


def test_websocket_from_another_origin_is_refused(server):
    import aiohttp

    async def go(origin):
        async with aiohttp.ClientSession() as s:
            try:
                async with s.ws_connect(f"http://127.0.0.1:{server.port}/ws?token="
                                        f"{server.token}", origin=origin) as ws:
                    msg = await ws.receive(timeout=5)
                    return json.loads(msg.data)
            except aiohttp.WSServerHandshakeError as err:
                return err.status

    assert asyncio.run(go("http://evil.example")) == 403
    server.publish({"type": "status", "elapsed": 1.5})
    first = asyncio.run(go(f"http://127.0.0.1:{server.port}"))
    assert first == [{"type": "status", "elapsed": 1.5}]


def _raw(port, request: bytes) -> bytes:
    """The status line the server answers ``request`` with."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        return sock.recv(4096).split(b"\r\n", 1)[0]


@pytest.mark.parametrize("bind, names", [
    ("127.0.0.1", {"127.0.0.1": b" 200 ", "localhost": b" 200 ", "[::1]": b" 200 ",
                   "evil.example": b" 403 ", "127.0.0.1.evil.example": b" 403 "}),
    ("0.0.0.0", {"127.0.0.1": b" 200 ", "labpc.local": b" 200 "}),
])
def test_a_host_the_server_does_not_listen_on_is_refused(bind, names):
    """A DNS-rebinding page (evil.example resolving to 127.0.0.1) sends its own
    name as Host: refused even with the token, unless every interface was asked for."""
    srv = DashboardServer(host=bind, port=0)
    calls = []
    srv.add_action("stop", lambda text: calls.append(text))
    srv.start()
    try:
        for name, status in names.items():
            host = f"{name}:{srv.port}"
            assert status in _raw(srv.port, (
                f"POST /api/action/stop?token={srv.token} HTTP/1.1\r\nHost: {host}\r\n"
                f"Origin: http://{host}\r\nContent-Length: 2\r\nConnection: close\r\n"
                "\r\n{}").encode()), name
        assert len(calls) == sum(s == b" 200 " for s in names.values())
    finally:
        srv.stop()


def test_malformed_requests_are_refused_quietly(server, caplog):
    """JSON nested too deep and broken HTTP get 400, run nothing, and log no
    traceback in the session's terminal (aiohttp logs one at ERROR by default)."""
    calls = []
    server.add_action("mark", lambda text: calls.append(text))
    base = f"http://127.0.0.1:{server.port}"
    with caplog.at_level("DEBUG"):
        status, _, body = get(f"{base}/api/action/mark?token={server.token}", method="POST",
                              data="[" * 20_000 + "]" * 20_000,
                              headers={"Content-Type": "application/json"})
        assert status == 400 and json.loads(body)["error"] == "body must be JSON"
        assert b" 400 " in _raw(server.port, b"GET / HTTP/1.1\r\n\r\n")  # no Host
        assert b" 400 " in _raw(server.port, b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\n\r\n")
    assert calls == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= 30] == []


def test_a_taken_port_is_replaced_and_said():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        srv = DashboardServer(port=taken)
        try:
            srv.start()
            assert srv.port != taken
            assert f"Port {taken} is in use" in srv.port_note and str(srv.port) in srv.port_note
            assert get(srv.url)[0] == 200
        finally:
            srv.stop()


def _frozen_page(server):
    """A WebSocket client that shakes hands and then never reads a byte."""
    import base64
    import os

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws?token={server.token} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}"
                  f"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
                  f"{key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    assert b" 101 " in sock.recv(200)
    return sock


def test_a_frozen_page_never_blocks_publishing(server):
    """A client that stops reading: publish() returns, the queue stays bounded,
    other pages keep getting the newest messages, and the server still stops."""
    import aiohttp

    frozen = _frozen_page(server)
    big = {"type": "trace", "y": np.zeros((8, 64)).tolist()}
    for _ in range(3000):  # ~10 MB of JSON: more than the socket buffers hold
        server.publish(big, keep_latest=False)
    assert len(server._hub.messages) <= server._hub.messages.maxlen
    server.publish({"type": "status", "n": 42})

    async def reader():
        async with aiohttp.ClientSession() as s:
            async with s.ws_connect(server.url.replace("/?", "/ws?")) as ws:
                msg = await ws.receive(timeout=5)
                return json.loads(msg.data)

    assert {"type": "status", "n": 42} in asyncio.run(reader())
    assert server.stats["clients"] >= 1  # the frozen one is still connected
    assert server.stats["published"] == 3001
    thread = server._thread
    server.stop()  # a page stuck in a send does not hold the server open
    assert not thread.is_alive()
    frozen.close()


def test_a_page_opened_late_gets_the_last_events(server):
    """A page opened after a stream was lost and came back listed no event: the
    events were sent only to the pages open then."""
    import aiohttp

    from biofeedback.dashboard._server import EVENTS_KEPT

    server.publish({"type": "status", "n": 1})
    for i in range(EVENTS_KEPT + 5):
        server.publish({"type": "event", "text": f"event {i}"}, keep_latest=False)

    async def first_frame():
        async with aiohttp.ClientSession() as s:
            async with s.ws_connect(server.url.replace("/?", "/ws?")) as ws:
                return json.loads((await ws.receive(timeout=5)).data)

    got = asyncio.run(first_frame())
    assert got[0] == {"type": "status", "n": 1}
    assert [m["text"] for m in got[1:]] == [f"event {i}" for i in range(5, EVENTS_KEPT + 5)]


def test_quality_classes_rank_the_worst_problem_first():
    f = FLAGS
    flags = [0, f["railed"] | f["flat"], f["flat"], f["nan"], f["line_noise"], f["muscle"],
             f["bad"] | f["blink"], f["blink"], f["amplitude"], f["near_railed"]]
    assert quality_classes(flags) == ["clean", "railed", "flat", "flat", "noisy", "noisy",
                                      "noisy", "artifact", "artifact", "artifact"]


def test_head_positions_follow_the_10_20_system():
    pos = head_positions(["Fz", "Cz", "Oz", "T7", "T8", "F3", "F4", "TP9", "Right AUX"])
    fz, cz, oz, t7, t8, f3, f4, tp9, aux = pos
    assert abs(cz[0]) < 0.05 and abs(cz[1]) < 0.1  # the vertex is the centre
    assert fz[1] > 0.2 and oz[1] < -0.6  # front up, back down
    assert t7[0] < -0.6 and t8[0] > 0.6  # left and right
    assert f3[0] < 0 < f4[0]
    assert tp9 is not None and aux is None


def test_display_feed_decimates_on_a_grid_that_ignores_chunking(make_eeg):
    from biofeedback.config import load_pipeline
    from biofeedback.hardware import get_profile

    cfg = load_pipeline()
    prof = get_profile("cyton")
    data, ts = make_eeg(n_channels=8, sfreq=250.0, duration=6.0)
    outs = []
    for sizes in ([1500], [7, 13, 250, 1, 1229]):
        feed = DisplayFeed(prof.ch_names, 250.0, prof, cfg.preprocessing, t0=ts[0])
        msgs, i = [], 0
        for n in sizes:
            msgs += feed.push(data[:, i:i + n], ts[i:i + n])
            i += n
        t = np.concatenate([m["t"] for m in msgs if m["type"] == "trace"])
        y = np.concatenate([m["y"] for m in msgs if m["type"] == "trace"], axis=1)
        outs.append((t, y, [m for m in msgs if m["type"] == "spectrum"]))
        assert feed.display_rate == 125.0
    assert np.array_equal(outs[0][0], outs[1][0])
    np.testing.assert_allclose(outs[0][1], outs[1][1], atol=0.011)  # rounded to 0.01 µV
    assert outs[0][0].size == 750
    spec = outs[0][2][-1]
    f = np.asarray(spec["f"])
    peak = f[np.argmax(np.asarray(spec["p"])[0][(f > 5) & (f < 30)]) + np.sum(f <= 5)]
    assert peak == pytest.approx(10.0, abs=1.0)  # the alpha the factory put in


@pytest.mark.parametrize("host, said", [("127.0.0.1", False), ("0.0.0.0", True)])
def test_a_page_open_to_the_network_is_said(host, said, capsys):
    """--host 0.0.0.0 serves the page (and its stop button) beyond this machine."""
    from types import SimpleNamespace

    from biofeedback.cli._dashboard import start_dashboard

    srv = start_dashboard(SimpleNamespace(host=host, port=0, no_browser=True))
    try:
        out = capsys.readouterr().out
        assert out.startswith("dashboard: http://127.0.0.1:")
        assert ("not only this machine" in out) == said
    finally:
        srv.stop()


@pytest.mark.parametrize("host, said", [
    ("192.0.2.1", "The dashboard cannot listen on 192.0.2.1: no network interface of this "
                  "machine has that address; "),
    ("no such host", "The dashboard cannot listen on 'no such host': no such host name; "),
])
def test_a_host_this_machine_cannot_listen_on_says_what_to_give(host, said):
    """It said '[Errno 99] error while attempting to bind on address (...): cannot
    assign requested address', and what to give --host nowhere."""
    from biofeedback.errors import BiofeedbackError

    srv = DashboardServer(host=host, port=0)
    with pytest.raises(BiofeedbackError) as info:
        srv.start()
    assert str(info.value) == said + (
        "give --host an address of this machine: 127.0.0.1 (the default, this machine "
        "only) or the address of the network interface to serve on.")
