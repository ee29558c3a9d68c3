"""Names and defaults shared by the client, the CLI and the sandbox, defined once."""

from __future__ import annotations

from typing import Final

from ._version import __version__

#: Every Cflow route lives under this prefix; ``base_url`` is the server root before it.
API_PREFIX: Final = "/integromat/api"

USER_AGENT: Final = f"cflow-async/{__version__}"

#: Environment variables the client and the CLI read.
ENV_API_KEY: Final = "CFLOW_API_KEY"
ENV_USER_KEY: Final = "CFLOW_USER_KEY"
ENV_USERNAME: Final = "CFLOW_USERNAME"
ENV_BASE_URL: Final = "CFLOW_BASE_URL"
ENV_REGION: Final = "CFLOW_REGION"
ENV_DEBUG: Final = "CFLOW_DEBUG"
#: ``CFLOW_LOG=info|debug`` sends the library's logs to stderr.
ENV_LOG: Final = "CFLOW_LOG"

#: Response bodies larger than this are refused unread (``max_response_bytes``).
DEFAULT_MAX_RESPONSE_BYTES: Final = 50 * 1024 * 1024

# Chosen by measurement (scripts/bench_results.md): on the aiohttp backend no size wins
# consistently from 10 to 100; on the httpx backend 32 matches 10 and beats 100 once
# requests queue in HttpxBackend instead of inside httpcore's pool.
DEFAULT_MAX_CONNECTIONS: Final = 32

#: Header names whose values are secrets: redacted wherever a request is shown.
SECRET_HEADERS: Final = frozenset(
    {"apikey", "userkey", "authorization", "proxy-authorization", "cookie"}
)
#: The three headers Cflow authenticates with; callers may not set them any other way.
CREDENTIAL_HEADERS: Final = frozenset({"apikey", "userkey", "username"})
