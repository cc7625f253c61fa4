"""A headless Chromium (Debian's package) driven over the DevTools protocol: navigate,
click and type like a user (real input events), read the page, take screenshots.

No driver binary and no browser download: ``chromium`` is Debian's package, installed
before the tests by ``scripts/bootstrap --test-tools``, and the protocol is spoken over
aiohttp's WebSocket client.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

from harness import packages
from tests.support import eventually

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class BrowserError(RuntimeError):
    """The browser did not start, or a command failed."""


def chromium_path() -> str:
    """The Chromium binary (Debian's ``chromium``, installed by scripts/bootstrap)."""
    return packages.require("chromium")


class Browser:
    """One headless Chromium with one page; synchronous, for tests. Use as a context manager."""

    def __init__(self, width: int = 1400, height: int = 1000) -> None:
        self.profile = tempfile.mkdtemp(prefix="chromium-")
        self.process = subprocess.Popen(
            [
                chromium_path(),
                "--headless=new",
                "--no-sandbox",  # we run as root in CI
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.loop = asyncio.new_event_loop()
        self.ids = itertools.count(1)
        try:
            port = self._devtools_port()
            self.loop.run_until_complete(self._connect(port))
            self.send("Page.enable")
            self.send("Runtime.enable")
        except BaseException:
            self.close()
            raise

    def _devtools_port(self, timeout: float = 30.0) -> int:
        assert self.process.stderr is not None
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line and self.process.poll() is not None:
                break
            seen.append(line)
            found = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if found:
                return int(found.group(1))
        raise BrowserError("chromium did not start:\n" + "".join(seen[-20:]))

    async def _connect(self, port: int) -> None:
        with _DIRECT.open(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            targets = json.loads(response.read())
        page = next(t for t in targets if t["type"] == "page")
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)

    async def _send(self, method: str, params: dict[str, Any], timeout: float) -> Any:
        ident = next(self.ids)
        await self.ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        async with asyncio.timeout(timeout):
            while True:
                message = await self.ws.receive()
                if message.type != aiohttp.WSMsgType.TEXT:
                    raise BrowserError(f"DevTools connection closed during {method}")
                data = json.loads(message.data)
                if data.get("id") == ident:
                    if "error" in data:
                        raise BrowserError(f"{method}: {data['error']}")
                    return data.get("result", {})

    def send(self, method: str, timeout: float = 30.0, **params: Any) -> Any:
        return self.loop.run_until_complete(self._send(method, params, timeout))

    def evaluate(self, expression: str) -> Any:
        """The JSON value of ``expression`` in the page (promises are awaited)."""
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def goto(self, url: str, timeout: float = 30.0) -> None:
        self.send("Page.navigate", url=url)
        eventually(
            lambda: self.evaluate("document.readyState") == "complete",
            timeout=timeout,
            what=f"{url} to finish loading",
        )

    def click(self, selector: str) -> None:
        """A real mouse click at the middle of the element."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return null; e.scrollIntoView({block: 'center'});"
            " const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        if box is None:
            raise BrowserError(f"no element {selector!r}")
        x, y = box
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def type(self, selector: str, text: str) -> None:
        """Focus the field, select what is in it and type ``text`` over it."""
        self.click(selector)
        self.evaluate(f"document.querySelector({json.dumps(selector)}).select()")
        self.send("Input.insertText", text=text)

    def key(self, key: str) -> None:
        """Press and release a key such as ``Tab`` or ``Enter`` (a real key event)."""
        codes = {"Tab": 9, "Enter": 13, "Escape": 27}
        for kind in ("rawKeyDown", "keyUp"):
            self.send(
                "Input.dispatchKeyEvent",
                type=kind,
                key=key,
                code=key,
                windowsVirtualKeyCode=codes.get(key, 0),
            )

    def viewport(self, width: int, height: int, *, mobile: bool = False) -> None:
        """Emulate a window of ``width``×``height`` CSS pixels (a phone with ``mobile``)."""
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )

    def screenshot(self, path: Path, *, full: bool = True) -> Path:
        """The page (``full``: beyond the viewport too) as a PNG at ``path``."""
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=full)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def close(self) -> None:
        if hasattr(self, "session"):
            self.loop.run_until_complete(self.session.close())
        self.loop.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
