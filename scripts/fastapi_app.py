"""The FastAPI pattern: one CflowClient per app, created in the lifespan, injected into
handlers with Depends, closed at shutdown; Cflow's errors turned into HTTP answers; and
the client traced with OpenTelemetryHooks when OpenTelemetry is installed.

Run it against the sandbox:

    cflow sandbox --port 8765 &
    CFLOW_BASE_URL=http://127.0.0.1:8765 CFLOW_API_KEY=sandbox-api-key \
    CFLOW_USER_KEY=sandbox-user-key CFLOW_USERNAME=demo@sandbox.local \
    uvicorn scripts.fastapi_app:app
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from cflow_async import (
    AuthenticationError,
    CflowAPIError,
    CflowClient,
    CflowError,
    CflowTimeoutError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)


def cflow_error_response(exc: CflowError) -> JSONResponse:
    """A CflowError as an answer to our own caller. Cflow's trouble is a 502 (a bad
    gateway: not the caller's fault), except what is the caller's: a missing workflow
    (404) or an argument refused before sending (422)."""
    error = type(exc).__name__
    if exc.outcome_unknown:
        # First: whatever went wrong, the caller must know the write may have happened.
        return JSONResponse(
            {
                "detail": "Cflow may have applied this request: its outcome is unknown."
                " Check before sending it again.",
                "outcome_unknown": True,
                "error": error,
            },
            status_code=502,
        )
    if isinstance(exc, NotFoundError):
        return JSONResponse({"detail": "not found in Cflow"}, status_code=404)
    if isinstance(exc, InvalidArgumentError):
        return JSONResponse({"detail": exc.message, "error": error}, status_code=422)
    if isinstance(exc, (AuthenticationError, PermissionDeniedError)):
        # Our service's credentials were refused; the caller's own are not involved.
        detail = {"detail": "Cflow refused this service's credentials", "error": error}
        return JSONResponse(detail, status_code=502)
    if isinstance(exc, RateLimitError):
        headers: dict[str, str] = {}
        if exc.retry_after is not None:
            headers["retry-after"] = str(max(1, round(exc.retry_after)))
        detail = {"detail": "Cflow is rate limiting this service", "error": error}
        return JSONResponse(detail, status_code=503, headers=headers)
    if isinstance(exc, CflowTimeoutError):
        return JSONResponse({"detail": "Cflow did not answer in time"}, status_code=504)
    body: dict[str, Any] = {"detail": "Cflow request failed", "error": error}
    if isinstance(exc, CflowAPIError):
        body["upstream_status"] = exc.status_code
    return JSONResponse(body, status_code=502)


def default_hooks() -> list[object]:
    """OpenTelemetryHooks on the global providers when OpenTelemetry is installed (set up
    by your exporter code or ``opentelemetry-instrument``); no hooks otherwise."""
    try:
        from cflow_async.otel import OpenTelemetryHooks
    except ImportError:
        return []
    return [OpenTelemetryHooks()]


def create_app(**client_options: Any) -> FastAPI:
    """``client_options`` go to CflowClient (credentials default to the environment;
    ``hooks`` default to :func:`default_hooks`)."""
    client_options.setdefault("hooks", default_hooks())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One client, one connection pool, for every request this app serves.
        async with CflowClient(**client_options) as cflow:
            app.state.cflow = cflow
            yield
        # Leaving the block closed the pool.

    app = FastAPI(lifespan=lifespan)

    @app.exception_handler(CflowError)
    async def cflow_error(_: Request, exc: CflowError) -> JSONResponse:
        return cflow_error_response(exc)

    @app.get("/workflows")
    async def list_workflows(cflow: CflowDep) -> list[str]:
        return [w.name for w in await cflow.get_workflows()]

    @app.get("/workflows/{name}/stages")
    async def stages(name: str, cflow: CflowDep) -> list[dict[str, str]]:
        return [{"id": s.process_id, "name": s.display_name} for s in await cflow.get_process(name)]

    @app.post("/workflows/{name}/records", status_code=201)
    async def submit(name: str, values: dict[str, Any], cflow: CflowDep) -> dict[str, str]:
        return {"record_id": await cflow.submit_record(name, values)}

    return app


def get_cflow(request: Request) -> CflowClient:
    client: CflowClient = request.app.state.cflow
    return client


CflowDep = Annotated[CflowClient, Depends(get_cflow)]

if __name__ != "__main__":
    # `uvicorn scripts.fastapi_app:app` - built lazily so importing create_app needs no env.
    def __getattr__(name: str) -> Any:
        if name == "app":
            return create_app()
        raise AttributeError(name)
