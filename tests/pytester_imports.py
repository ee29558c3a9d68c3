"""Import, before any pytester inline run, everything such a run imports.

pytester restores ``sys.modules`` after an inline run, dropping the modules first imported
during it. Imported again later, they become second copies (a second ``UserStatus`` enum, say)
that the first copies, still referenced elsewhere, do not recognise.
"""

from __future__ import annotations

import cflow_openapi.models

import cflow_async._aiohttp
import cflow_async.sandbox
import cflow_async.testing
from cflow_async.sandbox.operations import spec_operations

spec_operations()  # imports every generated operation module

__all__ = ["cflow_async", "cflow_openapi"]
