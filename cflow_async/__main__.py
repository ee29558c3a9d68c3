"""``python -m cflow_async``: the ``cflow`` command line (see :mod:`cflow_async.cli`)."""

import sys

from cflow_async.cli import main

if __name__ == "__main__":
    sys.exit(main())
