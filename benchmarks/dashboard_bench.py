"""The dashboard under load: event published → DOM in a real browser, and long tasks.

Starts the gateway alone (daphne on 127.0.0.1, a port of its own), opens 50 sockets to the
dashboard feed (``/ws/dashboard``): 49 plain WebSocket clients and one headless Chromium
(Debian's package) showing the first screen, then publishes change messages as the
projector does (``gateway.projector.broadcast``: the next version from the Redis counter,
``change_message``, the full message to ``STAFF_GROUP`` and the masked one to
``PUBLIC_GROUP`` through the channel layer) at ``--rate`` orders/s for ``--seconds``:
every ``--tick-ms`` one message with the tick's new orders (``PENDING``) and the orders
of ``DECIDE_TICKS`` ticks earlier, now ``COMPLETED`` (one in ten ``CANCELLED``) — each
order appears twice, as the projector's batches show it. Each message also carries its
publish time (``publishedAt``, ms since the epoch).

In the page, a MutationObserver on the live orders table records when each
(order, status) row first appears; a PerformanceObserver records long tasks. The figures:
publish → DOM p50/p95/p99 (the publisher's clock and the page's, one machine), the share
of published changes the page showed, long tasks during the run (count, max), the page's
resyncs, publish → socket p50/p95 of the plain clients, the rate reached, the machine
(cores, load average) and the command. Everything stops by itself.

Run from the repository root against a stack (no workers needed)::

    .venv/bin/sagactl stack -- .venv/bin/python -m benchmarks.dashboard_bench

(``--rate``, ``--seconds``, ``--clients``, ``--tick-ms``: ``--help``.)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import django_env
from dashboard.kpis import percentile

#: A tick's orders are decided (a second row state) this many ticks later.
DECIDE_TICKS = 3

#: Injected into the page before its scripts run: the rows it shows, its long tasks.
PAGE_PROBE = r"""
(() => {
  const now = () => performance.timeOrigin + performance.now();
  const bench = { seen: {}, longtasks: [] };
  window.__bench = bench;
  try {
    new PerformanceObserver((list) => {
      list.getEntries().forEach((e) => bench.longtasks.push(
        [performance.timeOrigin + e.startTime, e.duration]));
    }).observe({ type: "longtask", buffered: true });
  } catch (err) { bench.longtaskError = String(err); }
  function watch() {
    const body = document.getElementById("orders");
    if (!body) return setTimeout(watch, 20);
    new MutationObserver((records) => {
      const t = now();
      records.forEach((r) => r.addedNodes.forEach((n) => {
        if (!n.dataset || !n.dataset.orderId) return;
        const m = n.className.match(/status-(\w+)/);
        const key = n.dataset.orderId + "|" + (m ? m[1].toUpperCase() : "");
        if (!(key in bench.seen)) bench.seen[key] = t;
      }));
    }).observe(body, { childList: true });
  }
  document.addEventListener("DOMContentLoaded", watch);
})();
"""


# ---- pure helpers (tests/test_bench.py) ----


def latency_figures(published: Mapping[str, float], seen: Mapping[str, float]) -> dict[str, Any]:
    """Publish → seen (ms) of every key published and seen: count, share seen, p50/p95/p99,
    max. Both maps are key → ms since the epoch."""
    lat = sorted(seen[k] - t for k, t in published.items() if k in seen)
    return {
        "published": len(published),
        "seen": len(lat),
        "seenShare": round(len(lat) / len(published), 4) if published else None,
        **{f"p{q}Ms": _round(percentile(lat, q)) for q in (50, 95, 99)},
        "maxMs": _round(lat[-1] if lat else None),
    }


def long_task_figures(tasks: list[tuple[float, float]], start: float, end: float) -> dict[str, Any]:
    """Long tasks ([start ms since the epoch, duration ms]) that began in [start, end]."""
    during = [d for t, d in tasks if start <= t <= end]
    return {
        "count": len(during),
        "maxMs": _round(max(during) if during else None),
        "over100Ms": sum(1 for d in during if d > 100),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def report(figures: Mapping[str, Any]) -> str:
    """The printed summary of one run."""
    dom, sock, tasks, m = (
        figures["dom"],
        figures["sockets"],
        figures["longTasks"],
        figures["machine"],
    )

    def ms(v: float | None) -> str:
        return "–" if v is None else f"{v:.0f} ms"

    share = "–" if dom["seenShare"] is None else f"{dom['seenShare']:.1%}"
    lines = [
        f"dashboard bench: {figures['ordersPerSecond']:.0f} orders/s reached"
        f" (asked {figures['rate']}) for {figures['seconds']} s,"
        f" {figures['messages']} messages, {figures['sockets']['clients'] + 1} sockets"
        f" ({figures['sockets']['clients']} plain + 1 Chromium page)",
        f"  publish → DOM (Chromium, first screen): p50 {ms(dom['p50Ms'])}"
        f" · p95 {ms(dom['p95Ms'])} · p99 {ms(dom['p99Ms'])} · max {ms(dom['maxMs'])}"
        f"  ({dom['seen']} of {dom['published']} row changes shown, {share})",
        f"  long tasks during the run: {tasks['count']}, max {ms(tasks['maxMs'])},"
        f" over 100 ms: {tasks['over100Ms']}; page resyncs: {figures['resyncs']}",
        f"  publish → socket (plain clients): p50 {ms(sock['p50Ms'])} · p95 {ms(sock['p95Ms'])}"
        f" · p99 {ms(sock['p99Ms'])}; messages received {sock['received']}"
        f" of {sock['expected']}",
        f"  machine: {m['cores']} cores, load average {m['loadAverageBefore']} before,"
        f" {m['loadAverageAfter']} after; {m['date']}",
        f"  command: {figures['command']}",
    ]
    return "\n".join(lines)


# ---- the run ----


@dataclass
class Publisher:
    """Change messages as the projector's broadcaster sends them, with fake orders."""

    rate: float
    tick_ms: int
    published: dict[str, float] = field(default_factory=dict)
    messages: int = 0
    orders: int = 0

    def summary(self, n: int, status: str, created: str) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat()
        return {
            "orderId": f"bench-{n:07d}",
            "userId": f"user-{n % 50}",
            "amount": "12.00",
            "currency": "EUR",
            "items": [{"productId": "p-1", "quantity": 1, "price": "12.00"}],
            "status": status,
            "cancelReason": "payment_declined" if status == "CANCELLED" else None,
            "payment": {"status": None, "detail": ""},
            "inventory": {"status": None, "detail": ""},
            "notification": {"status": None, "detail": ""},
            "createdAt": created,
            "updatedAt": now,
        }

    async def run(self, seconds: float) -> float:
        """Publish for ``seconds``; the orders/s reached."""
        from channels.layers import get_channel_layer

        from gateway.orders import presenters
        from gateway.projector.changes import (
            PUBLIC_GROUP,
            STAFF_GROUP,
            change_message,
            public_change,
        )
        from gateway.projector.versions import versions_from_settings

        layer = get_channel_layer()
        versions = versions_from_settings()
        per_tick = self.rate * self.tick_ms / 1000
        ticks: list[list[tuple[int, str]]] = []
        carry = 0.0
        start = time.monotonic()
        tick = 0
        while time.monotonic() - start < seconds:
            carry += per_tick
            new = []
            for _ in range(int(carry)):
                created = datetime.now(UTC).isoformat()
                new.append((self.orders, created))
                self.orders += 1
            carry -= int(carry)
            ticks.append(new)
            decided = ticks[-1 - DECIDE_TICKS] if len(ticks) > DECIDE_TICKS else []
            rows = [self.summary(n, "PENDING", c) for n, c in new]
            rows += [
                self.summary(n, "CANCELLED" if n % 10 == 0 else "COMPLETED", c) for n, c in decided
            ]
            version = await versions.next()
            message = change_message(version, orders=rows, products=[], windows=[])
            at = time.time() * 1000
            message["publishedAt"] = at
            public = public_change(message, presenters.public_summary)
            await layer.group_send(STAFF_GROUP, {"type": "dashboard.push", "message": message})
            await layer.group_send(PUBLIC_GROUP, {"type": "dashboard.push", "message": public})
            for row in rows:
                self.published.setdefault(f"{row['orderId']}|{row['status']}", at)
            self.messages += 1
            tick += 1
            delay = start + tick * self.tick_ms / 1000 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        return self.orders / (time.monotonic() - start)


async def plain_clients(
    url: str, origin: str, n: int, stop: asyncio.Event, connected: list[int]
) -> list[float]:
    """``n`` WebSocket clients reading the feed until ``stop`` (``connected[0]`` counts
    those connected); publish → receive (ms) of every change message each received."""
    import aiohttp

    lat: list[float] = []

    async def one(session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(url, headers={"Origin": origin}, max_msg_size=0) as ws:
            connected[0] += 1
            while not stop.is_set():
                try:
                    msg = await asyncio.wait_for(ws.receive(), 0.5)
                except TimeoutError:
                    continue
                if msg.type != aiohttp.WSMsgType.TEXT:
                    return
                t = time.time() * 1000
                at = re.search(r'"publishedAt": ([0-9.]+)', msg.data)
                if at:
                    lat.append(t - float(at.group(1)))

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one(session) for _ in range(n)), return_exceptions=True)
    return lat


class Page:
    """A headless Chromium with one page, spoken to over the DevTools protocol."""

    def __init__(self) -> None:
        from harness import packages

        self.profile = tempfile.mkdtemp(prefix="chromium-bench-")
        self.process = subprocess.Popen(
            [
                packages.require("chromium"),
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                "--window-size=1280,800",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.ids = 0

    async def connect(self) -> None:
        import aiohttp

        assert self.process.stderr is not None
        port = None
        deadline = time.monotonic() + 30
        while port is None and time.monotonic() < deadline:
            line = await asyncio.to_thread(self.process.stderr.readline)
            if not line and self.process.poll() is not None:
                break
            if found := re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line):
                port = int(found.group(1))
        if port is None:
            raise RuntimeError("chromium did not start")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            target = next(t for t in json.loads(response.read()) if t["type"] == "page")
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)

    async def send(self, method: str, **params: Any) -> Any:
        self.ids += 1
        ident = self.ids
        await self.ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        async with asyncio.timeout(60):
            while True:
                data = json.loads((await self.ws.receive()).data)
                if data.get("id") == ident:
                    if "error" in data:
                        raise RuntimeError(f"{method}: {data['error']}")
                    return data.get("result", {})

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def close(self) -> None:
        if hasattr(self, "session"):
            await self.session.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


async def until(check: Any, timeout: float, what: str) -> None:
    """Wait for the coroutine function ``check`` to return true, up to ``timeout``."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        await asyncio.sleep(0.1)


async def measure(base: str, args: argparse.Namespace) -> dict[str, Any]:
    origin = base
    ws_url = base.replace("http://", "ws://") + "/ws/dashboard"
    stop = asyncio.Event()
    page = Page()
    try:
        await page.connect()
        await page.send("Page.enable")
        await page.send("Page.addScriptToEvaluateOnNewDocument", source=PAGE_PROBE)
        connected = [0]
        clients = asyncio.create_task(plain_clients(ws_url, origin, args.clients, stop, connected))

        async def all_connected() -> bool:
            return bool(connected[0] == args.clients)

        await until(all_connected, 30, f"{args.clients} sockets to connect")
        await page.send("Page.navigate", url=f"{base}/dashboard/")
        await until(
            lambda: page.evaluate("!!(window.Live && window.Live.applied !== null)"),
            60,
            "the page's live feed",
        )
        publisher = Publisher(rate=args.rate, tick_ms=args.tick_ms)
        start = time.time() * 1000
        reached = await publisher.run(args.seconds)
        end = time.time() * 1000
        last = max(publisher.published.values(), default=end)

        async def drained() -> bool:
            seen = await page.evaluate("Object.keys(window.__bench.seen).length")
            return bool(seen >= len(publisher.published) or time.time() * 1000 - last > 3000)

        await until(drained, 10, "the page to catch up")
        state = await page.evaluate(
            "({seen: window.__bench.seen, longtasks: window.__bench.longtasks,"
            " error: window.__bench.longtaskError || null, resyncs: Live.resyncs})"
        )
        stop.set()
        socket_lat = sorted(await clients)
    finally:
        stop.set()
        await page.close()
    if state["error"]:
        raise RuntimeError(f"no long-task observer in this Chromium: {state['error']}")
    return {
        "rate": args.rate,
        "seconds": args.seconds,
        "ordersPerSecond": reached,
        "messages": publisher.messages,
        "dom": latency_figures(publisher.published, state["seen"]),
        "longTasks": long_task_figures([tuple(t) for t in state["longtasks"]], start, end + 3000),
        "resyncs": state["resyncs"],
        "sockets": {
            "clients": args.clients,
            "received": len(socket_lat),
            "expected": args.clients * publisher.messages,
            **{f"p{q}Ms": _round(percentile(socket_lat, q)) for q in (50, 95, 99)},
        },
    }


@contextlib.contextmanager
def gateway(log_dir: Path) -> Iterator[str]:
    """The gateway alone (daphne on 127.0.0.1), on the stack of the environment."""
    from harness.runner import Platform, PlatformOptions

    env = {
        k: os.environ[k]
        for k in ("DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP_SERVERS")
        if k in os.environ
    }
    options = PlatformOptions(
        services=["gateway"],
        log_dir=log_dir,
        verbose=False,
        create_topics="KAFKA_BOOTSTRAP_SERVERS" in env,
    )
    with Platform(env, options) as running:
        yield running.gateway_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=300, help="orders/s (default 300)")
    parser.add_argument("--seconds", type=float, default=20, help="how long (default 20)")
    parser.add_argument("--clients", type=int, default=49, help="plain sockets (default 49)")
    parser.add_argument("--tick-ms", type=int, default=50, help="ms between messages (50)")
    args = parser.parse_args(argv)
    django_env.setup(parser)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = Path("var/bench")
    out.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    with gateway(out / f"dashboard-logs-{stamp}") as base:
        figures = asyncio.run(measure(base, args))
    figures["machine"] = {
        "cores": os.cpu_count(),
        "loadAverageBefore": [round(x, 2) for x in load_before],
        "loadAverageAfter": [round(x, 2) for x in os.getloadavg()],
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    figures["command"] = shlex.join(
        [
            os.path.relpath(sys.executable),
            "-m",
            "benchmarks.dashboard_bench",
            *(argv if argv is not None else sys.argv[1:]),
        ]
    )
    (out / f"dashboard-{stamp}.json").write_text(json.dumps(figures, indent=2))
    print(report(figures))
    print(f"  figures: {out / f'dashboard-{stamp}.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
