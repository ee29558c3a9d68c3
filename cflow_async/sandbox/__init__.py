"""A local, stateful Cflow server for demos and tests.

Quick use::

    app = create_app()  # ASGI (Starlette); state in app.state.sandbox
    async with run_sandbox() as sb:  # real loopback socket in this event loop
        ...  # sb.url, sb.headers, sb.state, sb.set_faults(FaultConfig(rate=0.5, seed=1))
    with SandboxProcess() as proc:  # `python -m cflow_async.sandbox --port 0` child
        ...  # proc.url
    async with run_sandbox(data="tenant.yaml") as sb:  # your own workflows (see .tenant)
        ...

The Cflow routes live under ``/integromat/api`` and need the ``apikey``, ``userkey`` and
``username`` headers; the admin routes under ``/__sandbox__`` need none.
"""

from __future__ import annotations

from cflow_async.sandbox.app import (
    ABORT_EXTENSION,
    SandboxApp,
    SandboxConnectionDropped,
    create_app,
)
from cflow_async.sandbox.cli import main
from cflow_async.sandbox.data import DEMO_API_KEY, DEMO_USER_KEY, DEMO_USERNAME
from cflow_async.sandbox.faults import FaultConfig, FaultConfigError, ScriptedFault
from cflow_async.sandbox.operations import Operation
from cflow_async.sandbox.process import SandboxProcess
from cflow_async.sandbox.server import RunningSandbox, SandboxH11Protocol, run_sandbox
from cflow_async.sandbox.state import SandboxConfig, SandboxState
from cflow_async.sandbox.tenant import TenantData, TenantDataError, load_tenant

__all__ = [
    "ABORT_EXTENSION",
    "DEMO_API_KEY",
    "DEMO_USERNAME",
    "DEMO_USER_KEY",
    "FaultConfig",
    "FaultConfigError",
    "Operation",
    "RunningSandbox",
    "SandboxApp",
    "SandboxConfig",
    "SandboxConnectionDropped",
    "SandboxH11Protocol",
    "SandboxProcess",
    "SandboxState",
    "ScriptedFault",
    "TenantData",
    "TenantDataError",
    "create_app",
    "load_tenant",
    "main",
    "run_sandbox",
]
