"""The gate in front of every Cflow route: request counting, fault injection, credentials.

Faults come before authentication, like a load balancer's 503 would.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cflow_async._constants import API_PREFIX
from cflow_async.sandbox.bodies import header
from cflow_async.sandbox.faults import WRITE_METHODS
from cflow_async.sandbox.state import SandboxState

# ASGI extension through which a server hands the app a way to kill the connection; set by
# ``server.SandboxH11Protocol``. Its value is ``{"abort": <callable with no arguments>,
# "tcp_nodelay": <callable answering whether the accepted socket has TCP_NODELAY>}``.
ABORT_EXTENSION = "cflow_sandbox.connection"

_DISCONNECT_WAIT = 5.0


class SandboxConnectionDropped(ConnectionError):
    """Raised to the caller when a drop fault fires and there is no socket to abort.

    Under ``httpx.ASGITransport`` this propagates out of the client call instead of a
    transport error, because an in-process app has no connection to close.
    """


async def _discard(_message: Message) -> None:
    return None


def _replay(body: bytes) -> Receive:
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _drain(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _drop_connection(scope: Scope, receive: Receive) -> None:
    extension = scope.get("extensions", {}).get(ABORT_EXTENSION)
    if extension is None:
        raise SandboxConnectionDropped(
            "sandbox drop fault: no socket to abort (in-process transport)"
        )
    extension["abort"]()
    # Returning before the server noticed the disconnect would make it answer a 500 for the
    # response we never started; its receive() reports the disconnect once the abort landed.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_DISCONNECT_WAIT):
            while (await receive())["type"] != "http.disconnect":
                pass


class CflowGate:
    """Counts Cflow requests, injects faults, then checks credentials.

    Faults come before authentication, like a load balancer's 503 would.
    """

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        stats = self.state.stats
        stats.requests_seen += 1
        method: str = scope["method"]
        plan = self.state.faults.plan(method, path)
        if plan is not None and plan.latency > 0:
            stats.requests_delayed += 1
            epoch = self.state.epoch
            await asyncio.sleep(plan.latency)
            if self.state.epoch != epoch:
                # Reset while this request slept (a test ended, its client gave up): it must
                # not land in the next test's fresh state.
                response = JSONResponse(
                    {"message": "The sandbox was reset while this request was delayed"},
                    status_code=503,
                    headers={"x-cflow-sandbox-fault": "reset"},
                )
                await response(scope, receive, send)
                return
        if plan is None or not plan.faulted:
            await self._authenticated(scope, receive, send)
            return
        # The whole request is read first, so a drop happens after the client finished sending,
        # which is the ambiguous case the fault exists to reproduce.
        body = await _drain(receive)
        if plan.act and method.upper() in WRITE_METHODS:
            stats.faults_acted += 1
            await self._authenticated(scope, _replay(body), _discard)
        if plan.drop:
            stats.faults_by_kind["drop"] += 1
            await _drop_connection(scope, receive)
            return
        assert plan.status is not None
        stats.faults_by_kind["status"] += 1
        stats.faults_by_status[plan.status] += 1
        headers = {"x-cflow-sandbox-fault": "injected"}
        if plan.retry_after is not None:
            headers["retry-after"] = plan.retry_after
        if plan.retry_after_ms is not None:
            headers["retry-after-ms"] = str(plan.retry_after_ms)
        response = JSONResponse(
            {"message": f"Sandbox fault injected: HTTP {plan.status}"},
            status_code=plan.status,
            headers=headers,
        )
        await response(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        config = self.state.config
        expected = (
            (b"apikey", config.api_key),
            (b"userkey", config.user_key),
            (b"username", config.username),
        )
        ok = True
        for name, value in expected:
            given = header(scope, name)
            # Every header is compared (no early exit) in constant time, so timing reveals nothing.
            ok &= given is not None and hmac.compare_digest(given, value.encode("utf-8"))
        return ok

    async def _authenticated(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._authorized(scope):
            await self.app(scope, receive, send)
            return
        self.state.stats.unauthorized += 1
        response = JSONResponse(
            {"message": "Unauthorized: send valid apikey, userkey and username headers"},
            status_code=401,
        )
        await response(scope, receive, send)
