"""``python -m cflow_async.cli``: the same as ``cflow`` and ``python -m cflow_async``."""

from __future__ import annotations

import sys

from cflow_async.cli import main

if __name__ == "__main__":
    sys.exit(main())
