"""``cflow``: a command-line client for the Cflow workflow API.

Credentials come from CFLOW_API_KEY / CFLOW_USER_KEY / CFLOW_USERNAME or from
``--credentials-file``; never from the command line, which other local users can read.
Output is JSON on stdout (``--format table`` for people); errors are one line on stderr
with an exit code per kind of failure (see ``EXIT_CODES`` and ``cflow --help``).

The modules:

* :mod:`.commands`: the command table and one handler per command (add commands there);
* :mod:`.parser`: the argparse parser built from that table, and the global options;
* :mod:`.inputs`: field values (--values, --values-file, FIELD=VALUE) and credentials files;
* :mod:`.output`: JSON and table output, secret scrubbing;
* :mod:`.exit_codes`: the exit codes and ``CliError``;
* :mod:`.run`: ``main``: settings, running the command, mapping errors to exit codes.

Every module imports only the standard library at module level; the client, the models and
the sandbox are imported when a command runs, so ``cflow --help`` stays fast.
"""

from __future__ import annotations

from .exit_codes import EXIT_CODES
from .run import main

__all__ = ["EXIT_CODES", "main"]
