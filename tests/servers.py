"""The raw test servers: one loopback HTTP/1.1 server for every test that needs exact
control of the bytes on the wire (malformed responses, chunked bodies, echoes, held
requests), and clients on every kind of transport.

* ``Loopback(handler)``: an asyncio server; ``handler(seen) -> Reply`` answers each request
  (``Reply(raw=...)`` sends bytes as they are, ``Reply(hold=True)`` keeps the request until
  the client hangs up). ``keep_alive=True`` serves many requests per connection.
* ``threaded(server)``: the same server on its own loop in a thread, for sync callers
  (the CLI tests run ``main()`` in-process).
* ``make_client(kind, url, creds)``: a client on the aiohttp or httpx backend, or on an
  injected ``httpx.AsyncClient``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ssl
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from http import HTTPStatus
from typing import Any

import httpx
from conftest import CREDS, FAST_RETRY

from cflow_async import CflowClient

FAST = FAST_RETRY
WORKFLOWS = b'{"Workflows": [{"WorkflowName": "W", "WorkflowDisplayName": "W"}]}'
#: Every kind of transport ``make_client`` builds a client on.
KINDS = ["aiohttp", "httpx", "injected"]


# -- the server ------------------------------------------------------------


@dataclasses.dataclass
class Reply:
    status: int = 200
    body: bytes = WORKFLOWS
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)
    chunked: bool = False
    drop: bool = False
    delay: float = 0.0
    raw: bytes | None = None  # sent as is, instead of a well-formed response
    hold: bool = False  # send nothing; keep the request until the client hangs up


@dataclasses.dataclass
class Seen:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)


class Loopback:
    """Records every connection and request; answers each with ``handler(seen)``, then
    closes the connection (or, with ``keep_alive``, reads the next request on it)."""

    def __init__(
        self,
        handler: Callable[[Seen], Reply] | None = None,
        host: str = "127.0.0.1",
        tls: ssl.SSLContext | None = None,
        keep_alive: bool = False,
    ) -> None:
        self.handler = handler or (lambda seen: Reply())
        self.host = host
        self.tls = tls
        self.keep_alive = keep_alive
        self.seen: list[Seen] = []
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    async def __aenter__(self) -> Loopback:
        loop = asyncio.get_running_loop()

        def protocol() -> asyncio.StreamReaderProtocol:
            # Called on accept, before any TLS handshake: counts every connection attempt.
            self.connections += 1
            return asyncio.StreamReaderProtocol(asyncio.StreamReader(), self._serve, loop=loop)

        self._server = await loop.create_server(protocol, self.host, 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()  # e.g. a reply still sleeping out its delay
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while await self._serve_one(reader, writer) and self.keep_alive:
                pass
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            # Ending quietly: a cancelled handler task makes asyncio log an error.
            pass
        finally:
            self._writers.discard(writer)
            self._tasks.discard(task)
            writer.close()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Read one request and answer it; False when the connection is done."""
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = []
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers.append((name.strip(), value.strip()))
        length = int(dict((k.lower(), v) for k, v in headers).get("content-length", "0"))
        seen = Seen(method, target, headers, await reader.readexactly(length))
        self.seen.append(seen)
        reply = self.handler(seen)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.hold:
            await reader.read()  # until the client hangs up (or the server closes)
            return False
        if reply.drop:
            return False
        writer.write(reply.raw if reply.raw is not None else _encode(reply, self.keep_alive))
        await writer.drain()
        return True


@contextlib.contextmanager
def threaded(server: Loopback) -> Iterator[Loopback]:
    """Run ``server`` on its own event loop in a thread, for synchronous callers."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(10)
        try:
            yield server
        finally:
            asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _encode(reply: Reply, keep_alive: bool = False) -> bytes:
    try:
        reason = HTTPStatus(reply.status).phrase
    except ValueError:
        reason = "Whatever"
    lines = [f"HTTP/1.1 {reply.status} {reason}", *(f"{k}: {v}" for k, v in reply.headers)]
    body = reply.body
    if reply.chunked:
        lines.append("transfer-encoding: chunked")
        pieces = [body[i : i + 256] for i in range(0, len(body), 256)]
        body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    else:
        lines.append(f"content-length: {len(body)}")
    if not keep_alive:
        lines.append("connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@contextlib.asynccontextmanager
async def make_client(
    kind: str, base_url: str, creds: dict[str, Any] | None = None, **options: Any
) -> AsyncIterator[CflowClient]:
    """A client on the aiohttp or httpx backend, or on a caller's own httpx.AsyncClient
    (``kind``), with the conftest credentials unless given others."""
    creds = CREDS if creds is None else creds
    options.setdefault("retry", FAST)
    if kind == "injected":
        follow = options.pop("follow_redirects", True)
        verify = options.pop("verify", True)
        async with (
            httpx.AsyncClient(follow_redirects=follow, verify=verify) as own,
            CflowClient(**creds, base_url=base_url, http_client=own, **options) as client,
        ):
            yield client
    else:
        async with CflowClient(**creds, base_url=base_url, http_backend=kind, **options) as client:
            yield client
