"""Drive the system's headless Chromium over the DevTools protocol.

Used by the browser tests, the dashboard benchmark and the README's
screenshots: no browser download and no driver binary, only the Chromium the
system ships (``/usr/bin/chromium`` on Debian) and aiohttp's WebSocket client.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["find_chromium", "HeadlessChromium"]

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-extensions", "--disable-default-apps", "--mute-audio",
          "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
          "--disable-backgrounding-occluded-windows", "--remote-debugging-port=0"]


def find_chromium():
    """Path of a Chromium executable, or None."""
    env = os.environ.get("BIOFEEDBACK_CHROMIUM")
    if env and Path(env).exists():
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class HeadlessChromium:
    """A headless Chromium with one page, driven synchronously.

    Parameters
    ----------
    width, height : int
        The page's viewport in CSS pixels.
    mobile : bool
        Emulate a phone's browser: the page's ``<meta name="viewport">`` is
        obeyed (without one, it is laid out 980 px wide and zoomed out).
    executable : str | None
        Chromium's path (default: :func:`find_chromium`).

    Examples
    --------
    >>> with HeadlessChromium() as browser:
    ...     browser.goto(url)
    ...     browser.evaluate("document.title")
    """

    def __init__(self, width=1400, height=1000, executable=None, mobile=False):
        self.executable = executable or find_chromium()
        if self.executable is None:
            raise FileNotFoundError("Chromium was not found (apt-get install chromium).")
        self.width, self.height = int(width), int(height)
        self.mobile = bool(mobile)
        self._loop = asyncio.new_event_loop()
        self._id = 0
        self._proc = None
        self._profile = None
        self._session = None  # aiohttp session and page socket, once connected
        self._ws = None

    # -- lifecycle ------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self, timeout=20.0):
        self._profile = tempfile.mkdtemp(prefix="bf-chromium-")
        args = [self.executable, *_FLAGS, f"--user-data-dir={self._profile}",
                f"--window-size={self.width},{self.height}", "about:blank"]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self._profile) / "DevToolsActivePort"
        end = time.monotonic() + timeout
        while not port_file.exists() or len(port_file.read_text().splitlines()) < 2:
            if time.monotonic() > end or self._proc.poll() is not None:
                self.close()
                raise RuntimeError("Chromium did not open its DevTools port.")
            time.sleep(0.05)
        port = int(port_file.read_text().splitlines()[0])
        self._loop.run_until_complete(self._connect(port))
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                  deviceScaleFactor=1, mobile=self.mobile)
        return self

    async def _connect(self, port):
        import aiohttp

        self._session = aiohttp.ClientSession()
        async with self._session.get(f"http://127.0.0.1:{port}/json/list") as resp:
            targets = await resp.json()
        page = next(t for t in targets if t.get("type") == "page")
        self._ws = await self._session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)

    def close(self):
        try:
            if self._session is not None:
                self._loop.run_until_complete(self._session.close())
                self._session = None
        finally:
            if self._proc is not None:
                self._proc.terminate()
                try:
                    self._proc.wait(5)
                except subprocess.TimeoutExpired:  # pragma: no cover
                    self._proc.kill()
                self._proc = None
            if self._profile:
                shutil.rmtree(self._profile, ignore_errors=True)
                self._profile = None
            if not self._loop.is_closed():
                self._loop.close()

    # -- protocol -------------------------------------------------------------------
    async def _call(self, method, params, timeout):
        self._id += 1
        my_id = self._id
        await self._ws.send_str(json.dumps({"id": my_id, "method": method, "params": params}))
        end = time.monotonic() + timeout
        while True:
            msg = await self._ws.receive(timeout=max(0.01, end - time.monotonic()))
            if msg.type.name != "TEXT":
                raise RuntimeError(f"DevTools connection closed during {method}.")
            data = json.loads(msg.data)
            if data.get("id") == my_id:
                if "error" in data:
                    raise RuntimeError(f"{method}: {data['error'].get('message')}")
                return data.get("result", {})

    def call(self, method, timeout=15.0, **params):
        """Send one DevTools command and return its result."""
        return self._loop.run_until_complete(self._call(method, params, timeout))

    def goto(self, url, timeout=15.0):
        """Open ``url`` and wait until its document has loaded."""
        self.call("Page.navigate", url=url)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.evaluate("document.readyState") == "complete":
                return
            time.sleep(0.05)
        raise TimeoutError(f"{url} did not load within {timeout:g} s.")

    def evaluate(self, expression, timeout=15.0):
        """The JSON value of a JavaScript expression in the page (promises awaited)."""
        res = self.call("Runtime.evaluate", timeout=timeout, expression=expression,
                        returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            det = res["exceptionDetails"]
            raise RuntimeError(f"JavaScript error: {det.get('text')} "
                               f"{det.get('exception', {}).get('description', '')}")
        return res.get("result", {}).get("value")

    def wait_for(self, expression, timeout=15.0, interval=0.05):
        """Poll until ``expression`` is truthy in the page; returns its value."""
        end = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > end:
                raise TimeoutError(f"{expression!r} stayed false for {timeout:g} s.")
            time.sleep(interval)

    def screenshot(self, path, full_page=True):
        """Save a PNG of the page."""
        params = {"format": "png"}
        if full_page:
            h = self.evaluate("Math.ceil(document.documentElement.scrollHeight)") or self.height
            params["clip"] = {"x": 0, "y": 0, "width": self.width, "height": h, "scale": 1}
            params["captureBeyondViewport"] = True
        res = self.call("Page.captureScreenshot", **params)
        Path(path).write_bytes(base64.b64decode(res["data"]))
        return Path(path)

    def freeze(self, on=True):
        """Stop (or restart) the page's JavaScript and network reading: a frozen tab."""
        self.call("Page.setWebLifecycleState", state="frozen" if on else "active")
