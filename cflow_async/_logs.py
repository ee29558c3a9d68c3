"""The ``CFLOW_LOG`` switch: ``CFLOW_LOG=info`` or ``CFLOW_LOG=debug`` sends the
``cflow_async`` logger's records to stderr, without a code change.

Read once per process, when the first client is built (importing the package stays free
of side effects). The handler is added at most once, however many clients are built, and
is left out when the application has already given the logger a handler of its own.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Final

from ._constants import ENV_LOG

__all__ = ["configure_from_env"]

LOG_FORMAT: Final = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

_LEVELS: Final = {"debug": logging.DEBUG, "info": logging.INFO}

_done = False


def configure_from_env() -> None:
    global _done
    if _done:
        return
    _done = True
    value = os.environ.get(ENV_LOG, "").strip().lower()
    if not value:
        return
    logger = logging.getLogger("cflow_async")
    level = _LEVELS.get(value)
    if level is None:
        logger.warning("%s=%r is not one of: info, debug; ignored", ENV_LOG, value[:20])
        return
    logger.setLevel(level)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logger.addHandler(handler)
