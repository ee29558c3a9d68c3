"""Exit codes, one per kind of failure, and the error that carries one to ``main``."""

from __future__ import annotations

from collections.abc import Mapping

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_AUTH = 4
EXIT_NOT_FOUND = 5
EXIT_API = 6
EXIT_UNAVAILABLE = 7
EXIT_OUTCOME_UNKNOWN = 8
EXIT_BAD_RESPONSE = 9
EXIT_INTERRUPTED = 130

#: Exit code -> meaning, as printed in ``cflow --help``.
EXIT_CODES: Mapping[int, str] = {
    EXIT_OK: "success",
    EXIT_INTERNAL: "unexpected internal error (a bug: please report it)",
    EXIT_USAGE: "usage error or bad input (unknown option, invalid --values, values that do"
    " not fit the field definitions, ...)",
    EXIT_CONFIG: "configuration error (missing credentials, bad region/base URL, unreadable"
    " credentials file)",
    EXIT_AUTH: "authentication or permission refused (HTTP 401/403)",
    EXIT_NOT_FOUND: "not found (HTTP 404: unknown workflow, stage, record or request)",
    EXIT_API: "other API error (HTTP 4xx such as 400, 409, 422, 429)",
    EXIT_UNAVAILABLE: "server error (5xx), connection failure or timeout",
    EXIT_OUTCOME_UNKNOWN: "a write's outcome is unknown: it may have been applied;"
    " check before sending it again",
    EXIT_BAD_RESPONSE: "the server's answer was unreadable (not JSON, wrong shape, too large)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}


class CliError(Exception):
    """An expected failure: printed as one line on stderr, exits with ``code``."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
