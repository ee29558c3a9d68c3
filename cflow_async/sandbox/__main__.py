"""``python -m cflow_async.sandbox`` (see :func:`cflow_async.sandbox.cli.main`)."""

from __future__ import annotations

from cflow_async.sandbox.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
