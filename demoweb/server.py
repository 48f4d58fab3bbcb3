"""Serve a DemoWeb over real HTTP/1.1 on loopback, as a forward proxy would.

The crawler reaches every `.test` host through one ``http_proxy`` setting, so requests arrive
in proxy form (``GET http://site.test/path HTTP/1.1``); origin form with a Host header works
too, so a browser or ``curl --resolve`` also gets an answer.

Why asyncio with a small hand-written parser rather than ``http.server``: one event loop
thread keeps hundreds of keep-alive connections open without a thread each, and measured
faster: on one core with a warm cache, 32 keep-alive connections driven by wrk, about
10,000-26,000 pages/s against 5,000-8,000 for a ThreadingHTTPServer with the same cache
(noisy 2-core machine, Nov 2026; re-measure with ``python -m demoweb.loadtest``).
Rendered responses are cached in a bounded LRU (raw
and gzipped) because a demo page is generated on request and the server must never be the
crawl's bottleneck.

Fault mode (``faults`` = share of URLs, 0.0-1.0) is deterministic by URL hash, so a test can
predict which URLs fail and a rerun fails the same ones: a third answer 500, a third are
slow, a third cut the connection in the middle of the body.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import signal
import sys
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from demoweb.hostile import HostileWeb, is_hostile

__all__ = [
    "FAULT_KINDS",
    "DemoWebServer",
    "ResponseCache",
    "accepts_gzip",
    "fault_for",
    "normalise_target",
]

FAULT_KINDS = ("error", "slow", "cut")
MAX_HEAD_BYTES = 64 * 1024
# Headers the server owns: whatever the generator put there is replaced.
_SERVER_HEADERS = frozenset(
    {"content-length", "content-encoding", "transfer-encoding", "connection", "date", "vary"}
)
_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    410: "Gone",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}
_NO_BODY_STATUSES = frozenset({204, 304})
_KEEP_ALIVE = b"Connection: keep-alive\r\n\r\n"
_CLOSE = b"Connection: close\r\n\r\n"


class _Response(Protocol):
    status: int
    headers: dict[str, str]
    body: bytes


class _Web(Protocol):
    def respond(
        self, url: str, *, if_none_match: str | None = None, if_modified_since: str | None = None
    ) -> _Response: ...


# ---------------------------------------------------------------------------------------------
# Small pure functions (tested without a socket)


def fault_for(url: str, faults: float) -> str | None:
    """Which fault, if any, `url` gets at fault rate `faults`: 'error', 'slow', 'cut' or None.

    A hash of the URL, not a random draw, so the same URLs fail on every run and a test can
    compute the expected faults. robots.txt is exempt: a crawler that cannot read it stops
    being a test of page-level reliability.
    """
    if faults <= 0.0 or url.endswith("/robots.txt"):
        return None
    digest = hashlib.blake2b(url.encode("utf-8"), digest_size=8).digest()
    u = int.from_bytes(digest, "big") / 2.0**64
    if u >= faults:
        return None
    return FAULT_KINDS[min(int(u / faults * 3), 2)]


def normalise_target(target: str, host_header: str | None) -> str | None:
    """The absolute URL a request line means, or None when it names none.

    Proxy form carries the URL; origin form needs the Host header. Scheme and host are
    lower-cased and the default port dropped, so ``http://Site.test:80/a`` and ``/a`` with
    ``Host: site.test`` share one cache entry and one answer.
    """
    if target.startswith("/"):
        if not host_header:
            return None
        target = "http://" + host_header.strip() + target
    elif "://" not in target:
        return None
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    if not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    netloc = parts.hostname.lower()
    try:
        port = parts.port
    except ValueError:
        return None
    if (
        port is not None
        and not (scheme == "http" and port == 80)
        and not (scheme == "https" and port == 443)
    ):
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def accepts_gzip(accept_encoding: str | None) -> bool:
    """True when an Accept-Encoding value allows gzip (``gzip;q=0`` refuses it)."""
    if not accept_encoding:
        return False
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip() not in ("gzip", "x-gzip", "*"):
            continue
        params = params.replace(" ", "")
        if params.startswith("q="):
            try:
                return float(params[2:]) > 0.0
            except ValueError:
                return False
        return True
    return False


def _keep_alive(version: str, connection: str | None, proxy_connection: str | None) -> bool:
    """HTTP/1.1 stays open unless told to close; HTTP/1.0 only when asked to keep alive."""
    value = (connection or proxy_connection or "").lower()
    if version == "HTTP/1.1":
        return "close" not in value
    return "keep-alive" in value


# ---------------------------------------------------------------------------------------------
# Cache of rendered responses


@dataclass
class _Entry:
    """One rendered response: status, the generator's header lines, raw and gzipped body."""

    status: int
    header_lines: bytes
    body: bytes
    gzipped: bytes | None = None
    encoded: bool = False  # the body already carries its own Content-Encoding (header kept)

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"") + len(self.header_lines) + 200


@dataclass
class ResponseCache:
    """Bounded LRU of rendered responses, by bytes held rather than by count.

    Bounded by bytes because demo pages vary from a few hundred bytes (robots.txt) to
    100 KB+ (article pages); a count bound would either waste memory or thrash.
    """

    max_bytes: int = 256 * 1024 * 1024
    _items: OrderedDict[tuple[str, str | None, str | None], _Entry] = field(
        default_factory=OrderedDict
    )
    _bytes: int = 0
    hits: int = 0
    misses: int = 0

    def get(self, key: tuple[str, str | None, str | None]) -> _Entry | None:
        entry = self._items.get(key)
        if entry is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return entry

    def put(self, key: tuple[str, str | None, str | None], entry: _Entry) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= old.size
        if entry.size > self.max_bytes:
            return
        self._items[key] = entry
        self._bytes += entry.size
        self._evict()

    def grew(self, delta: int) -> None:
        """Account for an entry that gained its gzipped body after it was stored."""
        self._bytes += delta
        self._evict()

    def _evict(self) -> None:
        while self._bytes > self.max_bytes and self._items:
            _, entry = self._items.popitem(last=False)
            self._bytes -= entry.size

    def __len__(self) -> int:
        return len(self._items)

    @property
    def bytes_held(self) -> int:
        return self._bytes


def _header_lines(headers: dict[str, str], *, encoded: bool = False) -> bytes:
    out = []
    for name, value in headers.items():
        if name.lower() in _SERVER_HEADERS and not (encoded and name.lower() == "content-encoding"):
            continue
        out.append(f"{name}: {value}\r\n")
    return "".join(out).encode("latin-1")


def _plain_entry(status: int, text: str) -> _Entry:
    return _Entry(
        status=status,
        header_lines=b"Content-Type: text/plain; charset=utf-8\r\n",
        body=text.encode("utf-8"),
    )


class _DateHeader:
    """The Date header, formatted at most once a second (formatdate costs ~10 us)."""

    def __init__(self) -> None:
        self._second = -1
        self._line = b""

    def line(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._line = f"Date: {formatdate(now, usegmt=True)}\r\n".encode("ascii")
        return self._line


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------------------------------------
# The server


class DemoWebServer:
    """HTTP/1.1 server for a DemoWeb on 127.0.0.1; proxy form and origin form.

    ``start()`` serves from a background thread (tests, benchmarks); ``serve_forever()``
    serves in the foreground until SIGINT/SIGTERM or ``stop()`` (the CLI). ``port=0`` binds
    any free port; read ``.port`` / ``.proxy_url`` after start.
    """

    def __init__(
        self,
        web: _Web,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: float = 0.0,
        *,
        fault_delay: float = 2.0,
        cache_bytes: int = 256 * 1024 * 1024,
        gzip_level: int = 6,
        keepalive_timeout: float = 75.0,
        backlog: int = 1024,
    ) -> None:
        if not 0.0 <= faults <= 1.0:
            raise ValueError(f"faults must be between 0.0 and 1.0, got {faults!r}")
        if fault_delay < 0:
            raise ValueError(f"fault_delay must be >= 0, got {fault_delay!r}")
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {port!r}")
        self.web = web
        # hostile.test and its sub-hosts: the pages that break crawlers (demoweb/hostile.py)
        self.hostile = HostileWeb()
        self.host = host
        self.faults = faults
        self.fault_delay = fault_delay
        self.gzip_level = gzip_level
        self.keepalive_timeout = keepalive_timeout
        self.backlog = backlog
        self.cache = ResponseCache(max_bytes=cache_bytes)
        self.requests_served = 0
        self._requested_port = port
        self._port: int | None = None
        self._date = _DateHeader()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # -- public API ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("server is not listening yet: call start() first")
        return self._port

    @property
    def proxy_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> DemoWebServer:
        """Listen and serve from a daemon thread; returns once the socket is bound."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        self._ready.clear()
        self._thread = threading.Thread(
            target=self._run_in_thread, name="demoweb-server", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"demo web server did not start within {timeout} s")
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise self._startup_error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and close open connections; safe to call twice or from a signal."""
        loop, stop_event = self._loop, self._stop_event
        if loop is not None and stop_event is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(stop_event.set)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            self._thread = None

    def serve_forever(self, on_ready: Callable[[DemoWebServer], None] | None = None) -> None:
        """Serve in this thread until SIGINT/SIGTERM or stop(); `on_ready` runs once bound."""
        asyncio.run(self._main(on_ready, install_signals=True))

    def __enter__(self) -> DemoWebServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- event loop ---------------------------------------------------------------------------

    def _run_in_thread(self) -> None:
        try:
            asyncio.run(self._main(None, install_signals=False))
        except BaseException as exc:  # surfaced to start() through _startup_error
            if not self._ready.is_set():
                self._startup_error = exc
                self._ready.set()
            else:
                traceback.print_exc()

    async def _main(
        self, on_ready: Callable[[DemoWebServer], None] | None, *, install_signals: bool
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        server = await asyncio.start_server(
            self._handle,
            self.host,
            self._requested_port,
            backlog=self.backlog,
            limit=MAX_HEAD_BYTES,
            reuse_address=True,
        )
        self._port = server.sockets[0].getsockname()[1]
        if install_signals and threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._loop.add_signal_handler(signum, self._stop_event.set)
        self._ready.set()
        if on_ready is not None:
            on_ready(self)
        try:
            await self._stop_event.wait()
        finally:
            server.close()
            for writer in list(self._writers):
                writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2.0)
            self._loop = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            await self._serve_connection(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        except Exception:
            traceback.print_exc(file=sys.stderr)
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            try:
                async with asyncio.timeout(self.keepalive_timeout):
                    head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return  # client closed between requests: the normal end of keep-alive
            except asyncio.LimitOverrunError:
                await self._send_error(writer, 431, "request head too large")
                return
            try:
                method, target, version, headers = _parse_head(head)
            except _BadRequest as bad:
                await self._send_error(writer, bad.status, str(bad))
                return
            length = headers.get("content-length")
            if "transfer-encoding" in headers:
                await self._send_error(writer, 501, "request bodies are not supported")
                return
            if length:
                try:
                    await reader.readexactly(int(length))
                except ValueError:
                    await self._send_error(writer, 400, "bad Content-Length")
                    return
            keep_alive = _keep_alive(
                version, headers.get("connection"), headers.get("proxy-connection")
            )
            keep_alive = await self._answer(writer, method, target, headers, keep_alive)
            self.requests_served += 1
            if not keep_alive:
                return

    async def _answer(
        self,
        writer: asyncio.StreamWriter,
        method: str,
        target: str,
        headers: dict[str, str],
        keep_alive: bool,
    ) -> bool:
        """Write one response; returns whether the connection stays open."""
        if method not in ("GET", "HEAD"):
            entry = _plain_entry(405, f"method {method} not allowed: the demo web is read-only\n")
            entry.header_lines += b"Allow: GET, HEAD\r\n"
            await self._write(writer, entry, False, method == "HEAD", keep_alive)
            return keep_alive
        url = normalise_target(target, headers.get("host"))
        if url is None:
            entry = _plain_entry(400, f"cannot tell which URL {target!r} means\n")
            await self._write(writer, entry, False, False, False)
            return False
        use_gzip = accepts_gzip(headers.get("accept-encoding"))
        fault = fault_for(url, self.faults) if self.faults else None
        if fault == "error":
            entry = _plain_entry(500, "demo web fault: internal server error\n")
            await self._write(writer, entry, use_gzip, method == "HEAD", keep_alive)
            return keep_alive
        if fault == "slow":
            await asyncio.sleep(self.fault_delay)
        entry = self._render(url, headers.get("if-none-match"), headers.get("if-modified-since"))
        if fault == "cut":
            await self._write(writer, entry, use_gzip, method == "HEAD", True, cut=True)
            return False
        await self._write(writer, entry, use_gzip, method == "HEAD", keep_alive)
        return keep_alive

    def _render(self, url: str, if_none_match: str | None, if_modified_since: str | None) -> _Entry:
        key = (url, if_none_match, if_modified_since)
        entry = self.cache.get(key)
        if entry is not None:
            return entry
        web = self.hostile if is_hostile(url) else self.web
        try:
            response = web.respond(
                url, if_none_match=if_none_match, if_modified_since=if_modified_since
            )
        except Exception:
            traceback.print_exc(file=sys.stderr)
            return _plain_entry(500, f"demo web failed to render {url}\n")
        body = b"" if response.status in _NO_BODY_STATUSES else bytes(response.body)
        encoded = getattr(response, "encoded", False)
        entry = _Entry(
            response.status, _header_lines(response.headers, encoded=encoded), body, encoded=encoded
        )
        if getattr(response, "cacheable", True):
            self.cache.put(key, entry)
        return entry

    def _gzipped(self, entry: _Entry) -> bytes:
        if entry.gzipped is None:
            entry.gzipped = gzip.compress(entry.body, compresslevel=self.gzip_level, mtime=0)
            self.cache.grew(len(entry.gzipped))
        return entry.gzipped

    async def _write(
        self,
        writer: asyncio.StreamWriter,
        entry: _Entry,
        use_gzip: bool,
        head_only: bool,
        keep_alive: bool,
        *,
        cut: bool = False,
    ) -> None:
        status = entry.status
        parts = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n".encode("ascii"),
            b"Server: demoweb\r\n",
            self._date.line(),
            entry.header_lines,
        ]
        body = entry.body
        if status not in _NO_BODY_STATUSES:
            parts.append(b"Vary: Accept-Encoding\r\n")
            if use_gzip and body and not entry.encoded:
                body = self._gzipped(entry)
                parts.append(b"Content-Encoding: gzip\r\n")
            parts.append(b"Content-Length: %d\r\n" % len(body))
        else:
            body = b""
        parts.append(_KEEP_ALIVE if keep_alive else _CLOSE)
        if head_only:
            body = b""
        if cut:
            # Promise the whole body, send half, hang up: what a crashed backend looks like.
            if body:
                writer.write(b"".join(parts))
                writer.write(body[: len(body) // 2])
                await writer.drain()
            return
        parts.append(body)
        writer.write(b"".join(parts))
        await writer.drain()

    async def _send_error(self, writer: asyncio.StreamWriter, status: int, message: str) -> None:
        await self._write(writer, _plain_entry(status, message + "\n"), False, False, False)


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    """Request line and headers (names lower-cased) from the bytes before the blank line."""
    lines = head[:-4].split(b"\r\n")
    request_line = lines[0].decode("latin-1")
    pieces = request_line.split(" ")
    if len(pieces) != 3:
        raise _BadRequest(400, f"malformed request line {request_line!r}")
    method, target, version = pieces
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise _BadRequest(505, f"unsupported protocol version {version!r}")
    headers: dict[str, str] = {}
    for raw in lines[1:]:
        name, sep, value = raw.partition(b":")
        if not sep:
            raise _BadRequest(400, f"malformed header line {raw[:80]!r}")
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    return method, target, version, headers
