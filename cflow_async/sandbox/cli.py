"""``python -m cflow_async.sandbox``: serve a sandbox until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from cflow_async.sandbox import data
from cflow_async.sandbox.faults import FaultConfig, FaultConfigError
from cflow_async.sandbox.server import check_loopback, serve_forever
from cflow_async.sandbox.state import SandboxConfig
from cflow_async.sandbox.tenant import TenantDataError, load_tenant

# Custom credentials come from the environment rather than argv, which `ps` shows to everyone.
ENV_API_KEY = "CFLOW_SANDBOX_API_KEY"
ENV_USER_KEY = "CFLOW_SANDBOX_USER_KEY"
ENV_USERNAME = "CFLOW_SANDBOX_USERNAME"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cflow_async.sandbox",
        description=(
            "Serve a local, in-memory Cflow API (legacy and OpenAPI routes) with optional fault "
            f"injection. Credentials default to the demo ones; set {ENV_API_KEY}, "
            f"{ENV_USER_KEY} and {ENV_USERNAME} to change them."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address (default %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="TCP port; 0 picks a free one (default %(default)s)"
    )
    parser.add_argument(
        "--data",
        metavar="FILE",
        help="tenant file (JSON or YAML) with your workflows, stages, fields, users and roles "
        "(default: the legacy API document's seed data)",
    )
    parser.add_argument(
        "--lenient-fields",
        action="store_true",
        help="accept any field values instead of checking them against the field definitions",
    )
    faults = parser.add_argument_group("fault injection")
    faults.add_argument("--fault-rate", type=float, default=0.0, help="probability 0..1")
    faults.add_argument(
        "--fault-status",
        type=int,
        action="append",
        dest="fault_statuses",
        metavar="STATUS",
        help="status to inject (repeatable; default 503)",
    )
    faults.add_argument("--retry-after", help="Retry-After header value on injected errors")
    faults.add_argument("--retry-after-ms", type=int, help="Retry-After-Ms header value")
    faults.add_argument("--latency", type=float, default=0.0, help="seconds added to requests")
    faults.add_argument(
        "--drop-rate", type=float, default=0.0, help="probability of closing without answering"
    )
    faults.add_argument(
        "--act-before-fault",
        type=float,
        default=0.0,
        help="probability that a faulted write is applied anyway",
    )
    faults.add_argument(
        "--fault-method",
        action="append",
        dest="fault_methods",
        metavar="METHOD",
        help="only fault these methods (repeatable)",
    )
    faults.add_argument("--fault-path-contains", help="only fault paths containing this text")
    faults.add_argument("--seed", type=int, help="random seed for reproducible faults")
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn log level on stderr (default %(default)s)",
    )
    parser.add_argument("--access-log", action="store_true", help="log every request to stderr")
    return parser


def _config(args: argparse.Namespace) -> SandboxConfig:
    faults = FaultConfig(
        rate=args.fault_rate,
        statuses=args.fault_statuses or [503],
        retry_after=args.retry_after,
        retry_after_ms=args.retry_after_ms,
        latency=args.latency,
        drop_rate=args.drop_rate,
        act_before_fault=args.act_before_fault,
        methods=args.fault_methods,
        path_contains=args.fault_path_contains,
        seed=args.seed,
    )
    return SandboxConfig(
        api_key=os.environ.get(ENV_API_KEY) or data.DEMO_API_KEY,
        user_key=os.environ.get(ENV_USER_KEY) or data.DEMO_USER_KEY,
        username=os.environ.get(ENV_USERNAME) or data.DEMO_USERNAME,
        faults=faults,
        data=None if args.data is None else load_tenant(args.data),
        validate_fields=not args.lenient_fields,
    )


def banner(url: str, config: SandboxConfig) -> str:
    """The start-up line. Only the public demo keys are ever printed."""
    api_key = config.api_key if config.api_key == data.DEMO_API_KEY else f"<${ENV_API_KEY}>"
    user_key = config.user_key if config.user_key == data.DEMO_USER_KEY else f"<${ENV_USER_KEY}>"
    return f"Cflow sandbox on {url}  apikey={api_key} userkey={user_key} username={config.username}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    try:
        check_loopback(args.host)
        config = _config(args)
    except (ValueError, FaultConfigError, TenantDataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def announce(url: str) -> None:
        print(banner(url, config), flush=True)

    options = {"log_level": args.log_level, "access_log": args.access_log}
    if args.access_log or args.log_level != "warning":
        # Only when asked: uvicorn's own logging configuration prints to stderr.
        from uvicorn.config import LOGGING_CONFIG

        options["log_config"] = LOGGING_CONFIG
    try:
        asyncio.run(serve_forever(config, args.host, args.port, on_started=announce, **options))
    except OSError as exc:
        print(f"error: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
