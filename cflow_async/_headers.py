"""Request header sets, and the checks on headers and query parameters a caller adds
(``default_headers``, ``with_options(extra_headers=..., extra_query=...)``).

Credentials come only from the credential arguments: a caller's headers or query may not
set ``apikey``, ``userkey`` or ``username``, so no code path can send or log them from
somewhere else. Headers the client manages itself (framing, encoding) are refused too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ._config import _check_header_value as check_header_value
from ._constants import CREDENTIAL_HEADERS, SECRET_HEADERS
from ._errors import InvalidArgumentError

__all__ = ["RequestHeaders", "allowed_added_header", "caller_headers", "caller_query"]

# Set by the client from the body and the backends' decoders: a caller's value would
# break framing or hand the backends an encoding they cannot decode.
_MANAGED: Final = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "accept-encoding",
        "connection",
    }
)


class RequestHeaders(dict[str, str]):
    """Request headers that never show the credentials in a repr."""

    def __repr__(self) -> str:
        return repr({k: "[redacted]" if k in SECRET_HEADERS else v for k, v in self.items()})

    def copy(self) -> RequestHeaders:
        return RequestHeaders(self)


def _mapping(value: Any, what: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"{what} must be a mapping, got {type(value).__name__}")
    return value


def _no_credentials(name: str, what: str) -> None:
    if name.lower() in CREDENTIAL_HEADERS:
        raise InvalidArgumentError(
            f"{what} may not set {name!r}: credentials come only from the api_key,"
            " user_key and username arguments"
        )


def _valid_name(name: object) -> bool:
    return (
        isinstance(name, str)
        and bool(name)
        and name.isascii()
        and name.isprintable()
        and not any(ch in name for ch in ' :"(),/;<=>?@[\\]{}')
    )


def allowed_added_header(name: object, value: object) -> bool:
    """Whether a hook may add ``name: value`` to a request (it is not told why not: a
    hook's mistake never changes the call): never a credential, never a header the
    client manages (framing, encoding), never a name or value that could start another
    header."""
    return (
        _valid_name(name)
        and str(name).lower() not in CREDENTIAL_HEADERS
        and str(name).lower() not in _MANAGED
        and isinstance(value, str)
        and value.isascii()
        and value.isprintable()
    )


def caller_headers(value: Any, what: str) -> dict[str, str]:
    """``value`` as headers to add to every request, names lower-cased."""
    headers: dict[str, str] = {}
    for name, text in _mapping(value, what).items():
        if not _valid_name(name):
            raise InvalidArgumentError(f"{what}: {name!r} is not a valid header name")
        _no_credentials(name, what)
        if name.lower() in _MANAGED:
            raise InvalidArgumentError(f"{what} may not set {name!r}: the client sets it")
        headers[name.lower()] = check_header_value(f"{what}[{name!r}]", text)
    return headers


def caller_query(value: Any, what: str) -> dict[str, str]:
    """``value`` as query parameters to add to every request."""
    query: dict[str, str] = {}
    for name, text in _mapping(value, what).items():
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"{what}: {name!r} is not a valid parameter name")
        _no_credentials(name, what)
        if not isinstance(text, str):
            raise InvalidArgumentError(
                f"{what}[{name!r}] must be a string, got {type(text).__name__}"
            )
        query[name] = text
    return query
