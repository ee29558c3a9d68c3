"""``python -m cflow_async.importer FILE --workflow NAME ...``: ``cflow import`` standalone."""

import sys

from cflow_async.importer.cli import main

if __name__ == "__main__":
    sys.exit(main())
