"""Reading request bodies and headers, shared by the Cflow and admin routes."""

from __future__ import annotations

from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.types import Scope

from cflow_async.sandbox.validation import (
    MAX_BODY_BYTES,
    bad_request,
    parse_json_body,
    require_object,
)


async def read_body(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                bad_request(f"Request body larger than {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        # Nobody is left to read the answer; this only keeps the error out of the server log.
        bad_request("Client disconnected while sending the body")
    return b"".join(chunks)


async def json_body(request: Request, *, allow_empty: bool = False) -> Any:
    return parse_json_body(await read_body(request), allow_empty=allow_empty)


async def json_object(request: Request) -> dict[str, Any]:
    return require_object(await json_body(request), "The request body")


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value)
    return None
