"""A tiny, fast HTTP/1.1 keep-alive server for scripts/bench: canned answers by path.

Plain asyncio.Protocol, no framework, so that on its own core it answers far faster than
any of the measured clients can ask, and the client stays the bottleneck.

    python scripts/bench/canned_server.py [--host 127.0.0.1] [--port 0] [--cpu N]

Prints ``READY <port>`` on stdout once listening, and exits on SIGTERM/SIGINT or when its
stdin closes (so it never outlives the benchmark that started it, even after a kill -9).

Routes (query strings are ignored):

* ``GET  .../cflow/getworkflows``  -> ``{"Workflows": [4 workflows]}``
* ``GET  .../cflow/workflows/wf-1/requests`` -> ``[5 requests]``, shaped like the OpenAPI
  document's ``Request``
* ``POST .../cflow/submitrecord``  -> ``{"Record_Id": "<n>"}`` (n counts up)
* ``GET  .../connection/GetConnection`` -> ``{}``
* ``GET  /__stats`` -> ``{"connections": <accepted so far>, "requests": <answered so far>}``
* anything else -> 404
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys

WORKFLOWS = {
    "Workflows": [
        {"WorkflowName": f"Workflow{i}", "WorkflowDisplayName": f"Workflow number {i}"}
        for i in range(1, 5)
    ]
}

REQUESTS = [
    {
        "id": f"req-{i}",
        "workflowId": "wf-1",
        "status": "pending",
        "currentStage": "Review",
        # 2 or 3 form fields, as a small request carries.
        "fields": {"City": "trichy", "Amount": 100 * i, **({"Urgent": True} if i % 2 else {})},
        "submittedBy": "bench@example.com",
        "createdAt": f"2026-11-0{i}T09:30:00Z",
        "updatedAt": f"2026-11-0{i}T10:45:12.250000+05:30",
    }
    for i in range(1, 6)
]


def _response(status: bytes, body: bytes, *, close: bool = False) -> bytes:
    head = (
        b"HTTP/1.1 " + status + b"\r\n"
        b"content-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n"
    )
    if close:
        head += b"connection: close\r\n"
    return head + b"\r\n" + body


_WORKFLOWS = _response(b"200 OK", json.dumps(WORKFLOWS).encode())
_REQUESTS = _response(b"200 OK", json.dumps(REQUESTS).encode())
_EMPTY = _response(b"200 OK", b"{}")
_NOT_FOUND = _response(b"404 Not Found", b'{"message": "no such route"}')
_BAD = _response(b"400 Bad Request", b'{"message": "unsupported request"}', close=True)


class _Counter:
    record_id = 0
    connections = 0
    requests = 0


class HttpProtocol(asyncio.Protocol):
    """Parses pipelined or split requests; bodies only by Content-Length (no chunked)."""

    __slots__ = ("_buf", "_transport")

    def __init__(self) -> None:
        self._buf = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        _Counter.connections += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def data_received(self, data: bytes) -> None:
        transport = self._transport
        if transport is None:
            return
        buf = self._buf + data if self._buf else data
        out = []
        close = False
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end]
            lower = head.lower()
            length = 0
            i = lower.find(b"\r\ncontent-length:")
            if i >= 0:
                j = lower.find(b"\r\n", i + 2)
                try:
                    length = int(head[i + 17 : j if j >= 0 else end])
                except ValueError:
                    out.append(_BAD)
                    close = True
                    break
            if b"\r\ntransfer-encoding:" in lower:
                out.append(_BAD)
                close = True
                break
            total = end + 4 + length
            if len(buf) < total:
                break
            line_end = head.find(b"\r\n")
            request_line = head if line_end < 0 else head[:line_end]
            parts = request_line.split(b" ")
            if len(parts) != 3:
                out.append(_BAD)
                close = True
                break
            method, target = parts[0], parts[1]
            path = target.split(b"?", 1)[0]
            out.append(_answer(method, path))
            buf = buf[total:]
            if b"\r\nconnection: close" in lower:
                close = True
                break
        self._buf = b"" if close else buf
        if out:
            transport.write(b"".join(out) if len(out) > 1 else out[0])
        if close:
            transport.close()


def _answer(method: bytes, path: bytes) -> bytes:
    _Counter.requests += 1
    if path.endswith(b"/cflow/getworkflows"):
        return _WORKFLOWS
    if method == b"GET" and path.endswith(b"/cflow/workflows/wf-1/requests"):
        return _REQUESTS
    if method == b"POST" and path.endswith(b"/cflow/submitrecord"):
        _Counter.record_id += 1
        body = b'{"Record_Id": "' + str(_Counter.record_id).encode() + b'"}'
        return _response(b"200 OK", body)
    if path.endswith(b"/connection/GetConnection"):
        return _EMPTY
    if path == b"/__stats":
        stats = {"connections": _Counter.connections, "requests": _Counter.requests}
        return _response(b"200 OK", json.dumps(stats).encode())
    return _NOT_FOUND


async def serve(host: str, port: int, *, watch_stdin: bool = True) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if watch_stdin:
        # The parent holds our stdin open; EOF means it is gone, however it died.
        class _Watch(asyncio.Protocol):
            def connection_lost(self, exc: Exception | None) -> None:
                stop.set()

        with contextlib.suppress(OSError, ValueError):
            await loop.connect_read_pipe(_Watch, sys.stdin)
    server = await loop.create_server(HttpProtocol, host, port, backlog=4096, reuse_address=True)
    bound = server.sockets[0].getsockname()[1]
    print(f"READY {bound}", flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    parser.add_argument(
        "--no-stdin-watch", action="store_true", help="keep running when stdin closes"
    )
    args = parser.parse_args(argv)
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, watch_stdin=not args.no_stdin_watch))


if __name__ == "__main__":
    main()
