"""The FastAPI pattern: one CflowClient per app, created in the lifespan, injected into
handlers with Depends, closed at shutdown.

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

from cflow_async import CflowAPIError, CflowClient, CflowError, NotFoundError


def create_app(**client_options: Any) -> FastAPI:
    """``client_options`` go to CflowClient (credentials default to the environment)."""

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
        # Upstream trouble is a 502 for our callers, except "not found", which is theirs.
        if isinstance(exc, NotFoundError):
            return JSONResponse({"detail": "not found in Cflow"}, status_code=404)
        detail: dict[str, Any] = {"detail": "Cflow request failed", "error": type(exc).__name__}
        if isinstance(exc, CflowAPIError):
            detail["upstream_status"] = exc.status_code
        if exc.outcome_unknown:
            detail["outcome_unknown"] = True
        return JSONResponse(detail, status_code=502)

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
