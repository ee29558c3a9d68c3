"""Configuration: regions, credentials, the server URL and timeouts, resolved once per client."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from enum import StrEnum

import attrs
import httpx

from ._constants import (
    API_PREFIX,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_REGION,
    ENV_USER_KEY,
    ENV_USERNAME,
)
from ._errors import InvalidArgumentError

__all__ = [
    "CREDENTIAL_ENV",
    "DEFAULT_TIMEOUT",
    "Credentials",
    "Region",
    "resolve_base_url",
    "resolve_timeout",
]

#: connect 5 s, read 30 s, write 30 s, pool 10 s.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=10.0)


#: Credential setting -> the environment variable it falls back to (the CLI shares it).
CREDENTIAL_ENV: Mapping[str, str] = {
    "api_key": ENV_API_KEY,
    "user_key": ENV_USER_KEY,
    "username": ENV_USERNAME,
}


class Region(StrEnum):
    """Where the Cflow account lives. The value is the server root."""

    US = "https://us.cflowapps.com"
    AP = "https://ap.cflowapps.com"

    @classmethod
    def _missing_(cls, value: object) -> Region | None:
        # Accept "us", "AP", ... as well as the URLs.
        if isinstance(value, str):
            member = cls.__members__.get(value.strip().upper())
            if member is not None:
                return member
        return None

    @classmethod
    def parse(cls, value: Region | str) -> Region:
        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(f"{m.name.lower()!r}" for m in cls)
            raise InvalidArgumentError(
                f"unknown Cflow region {value!r}; valid regions: {valid}"
            ) from None


def _check_header_value(name: str, value: object) -> str:
    # CR/LF would let a value add headers; other control characters are invalid in a header.
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a string, got {type(value).__name__}")
    if not value:
        raise InvalidArgumentError(f"{name} is empty")
    if any(not (" " <= ch <= "~") for ch in value):
        raise InvalidArgumentError(
            f"{name} contains characters that are not allowed in an HTTP header"
            " (only printable ASCII; no CR, LF or other control characters)"
        )
    if value != value.strip():
        raise InvalidArgumentError(f"{name} has leading or trailing whitespace")
    return value


@attrs.frozen
class Credentials:
    """The three values Cflow authenticates with. The keys never appear in a repr."""

    api_key: str = attrs.field(repr=False)
    user_key: str = attrs.field(repr=False)
    username: str

    @classmethod
    def resolve(
        cls,
        api_key: str | None,
        user_key: str | None,
        username: str | None,
        env: Mapping[str, str] = os.environ,
    ) -> Credentials:
        given = {"api_key": api_key, "user_key": user_key, "username": username}
        values = {k: v if v is not None else env.get(CREDENTIAL_ENV[k]) for k, v in given.items()}
        missing = [k for k, v in values.items() if not v]
        if missing:
            envs = ", ".join(CREDENTIAL_ENV[k] for k in missing)
            raise InvalidArgumentError(
                f"missing Cflow credentials: {', '.join(missing)} (pass them or set {envs})"
            )
        return cls(**{k: _check_header_value(k, v) for k, v in values.items() if v})

    def headers(self) -> dict[str, str]:
        return {"apikey": self.api_key, "userkey": self.user_key, "username": self.username}


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_base_url(
    base_url: str | None,
    region: Region | str | None,
    *,
    allow_insecure_http: bool = False,
    env: Mapping[str, str] = os.environ,
) -> str:
    """The server root, by precedence: base_url, region, CFLOW_BASE_URL, CFLOW_REGION, US."""
    if base_url is not None:
        raw = base_url
    elif region is not None:
        raw = Region.parse(region).value
    elif env.get(ENV_BASE_URL):
        raw = env[ENV_BASE_URL]
    elif env.get(ENV_REGION):
        raw = Region.parse(env[ENV_REGION]).value
    else:
        raw = Region.US.value
    try:
        url = httpx.URL(raw.strip())
    except httpx.InvalidURL as exc:
        raise InvalidArgumentError(f"invalid base_url {raw!r}: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidArgumentError(f"base_url must be an http(s) URL with a host, got {raw!r}")
    if url.query or url.fragment or url.userinfo:
        raise InvalidArgumentError("base_url must not carry a query, fragment or user info")
    if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host):
        raise InvalidArgumentError(
            f"refusing plain http:// to {url.host!r}: the credentials would cross the network"
            " in cleartext. Use https://, or pass allow_insecure_http=True if you must."
        )
    path = url.path.rstrip("/")
    if path.endswith(API_PREFIX):
        path = path[: -len(API_PREFIX)]
    return str(url.copy_with(path=path or "/")).rstrip("/")


def resolve_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise InvalidArgumentError(
            f"timeout must be positive seconds or httpx.Timeout, got {timeout!r}"
        )
    return httpx.Timeout(float(timeout))
