"""Load generators: Debian's ``wrk`` at full speed, a constant-rate client, and a probe.

``wrk`` runs in another process with a Lua script whose ``response()`` counts answers by status
(:data:`STATUS_LUA` is appended to every script), so 503s are told apart from other failures.

:func:`constant_rate` is wrk2's method in Python (wrk2 is not packaged here): request ``i`` is due at
``start + i / rate`` whatever happened before, and its latency counts from when it was due, so a server
that stalls is charged for every request it kept waiting (no coordinated omission). It speaks plain
HTTP/1.1 over asyncio streams with keep-alive connections: cheap enough for a few thousand requests/s.

:class:`Probe` sends one request every ``interval`` seconds on a connection of its own while a load
runs, and keeps each one's latency (from when it was due), for "``/ping`` p99 during the burst".
"""

from __future__ import annotations

import asyncio
import http.client
import re
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

STATUS_LUA = r"""
-- appended by bench.load: answers by status, summed over threads in done()
local __threads = {}
local __setup = setup
setup = function(thread)
  table.insert(__threads, thread)
  if __setup then __setup(thread) end
end
local __response = response
response = function(status, headers, body)
  local key = "s" .. status
  __counts = __counts or {}
  __counts[key] = (__counts[key] or 0) + 1
  _G[key] = __counts[key]
  __seen = __seen or {}
  if not __seen[key] then __seen[key] = true; __keys = (__keys and (__keys .. ",") or "") .. key end
  if __response then __response(status, headers, body) end
end
local __done = done
done = function(summary, latency, requests)
  local totals = {}
  for _, t in ipairs(__threads) do
    local keys = t:get("__keys")
    if keys then
      for key in string.gmatch(keys, "[^,]+") do totals[key] = (totals[key] or 0) + (t:get(key) or 0) end
    end
  end
  for key, n in pairs(totals) do io.write("STATUS " .. string.sub(key, 2) .. " " .. n .. "\n") end
  if __done then __done(summary, latency, requests) end
end
"""


@dataclass
class WrkResult:
    requests: int
    rate: float
    p99_ms: float
    statuses: Counter
    socket_errors: int
    timeouts: int

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if 200 <= s < 300)

    def count(self, status: int) -> int:
        return self.statuses.get(status, 0)


def wrk(url: str, script: str | None, seconds: float, connections: int, folder: Path, *, threads: int = 1,
        timeout: str = "30s") -> WrkResult:
    lua = folder / f"wrk-{time.monotonic_ns()}.lua"
    lua.write_text((script or "") + STATUS_LUA)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", timeout,
                          "--latency", "-s", str(lua), url], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return WrkResult(
        requests=int(re.search(r"(\d+) requests in", out).group(1)),
        rate=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        p99_ms=_ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
        statuses=Counter({int(s): int(n) for s, n in re.findall(r"STATUS (\d+) (\d+)", out)}),
        socket_errors=sum(int(g) for g in errors.groups()[:3]) if errors else 0,
        timeouts=int(errors.group(4)) if errors else 0,
    )


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


# ------------------------------------------------------------------ constant rate


@dataclass
class RateResult:
    sent: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: int = 0
    answered: list[int] = field(default_factory=list)  # indexes answered 2xx

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        from bench.common import percentile

        return percentile(self.latencies_ms, q)


def constant_rate(host: str, port: int, request: Callable[[int], bytes], *, rate: float, seconds: float,
                  connections: int = 64, timeout: float = 30.0) -> RateResult:
    """Send ``rate * seconds`` requests, request ``i`` due at ``start + i / rate``; ``request(i)`` gives its bytes."""
    return asyncio.run(_constant_rate(host, port, request, rate, seconds, connections, timeout))


async def _constant_rate(host, port, request, rate, seconds, connections, timeout) -> RateResult:
    total = int(rate * seconds)
    result = RateResult(sent=total, seconds=seconds)
    next_index = 0
    start = time.perf_counter() + 0.2

    async def connection() -> None:
        nonlocal next_index
        reader = writer = None
        while next_index < total:
            i, next_index = next_index, next_index + 1
            due = start + i / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                writer.write(request(i))
                status, keep = await asyncio.wait_for(_read_response(reader), timeout)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                result.errors += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            result.latencies_ms.append((time.perf_counter() - due) * 1000)
            result.statuses[status] += 1
            if 200 <= status < 300:
                result.answered.append(i)
            if not keep:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    result.seconds = max(seconds, time.perf_counter() - start)
    return result


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status, headers.get("connection", "").lower() != "close"


def http_request(method: str, path: str, *, host: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# ------------------------------------------------------------------ probe


class Probe:
    """GET ``path`` every ``interval`` seconds on a connection of its own until :meth:`stop`."""

    def __init__(self, host: str, port: int, path: str, interval: float = 0.05, timeout: float = 30.0) -> None:
        self.latencies_ms: list[float] = []
        self.failures = 0
        self._stop = threading.Event()

        def loop() -> None:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
            due = time.perf_counter()
            while not self._stop.is_set():
                due += interval
                if (wait := due - time.perf_counter()) > 0:
                    time.sleep(wait)
                try:
                    conn.request("GET", path)
                    response = conn.getresponse()
                    response.read()
                    if response.status != 200:
                        self.failures += 1
                        continue
                except OSError:
                    self.failures += 1
                    conn.close()
                    conn = http.client.HTTPConnection(host, port, timeout=timeout)
                    continue
                self.latencies_ms.append((time.perf_counter() - due) * 1000)
            conn.close()

        self._thread = threading.Thread(target=loop, name="probe", daemon=True)
        self._thread.start()

    def stop(self) -> Probe:
        self._stop.set()
        self._thread.join()
        return self
