"""Where credentials may go: no redirects followed, no plain HTTP off loopback, TLS verified.

Real loopback servers (raw asyncio, so every byte the client sends is visible) on both
backends, plus a caller's own ``httpx.AsyncClient``.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
import trustme
from conftest import API_KEY, CREDS, USER_KEY
from endpoints import Endpoint, by_name
from servers import KINDS, Loopback, Reply, Seen, make_client

from cflow_async import (
    CflowAPIError,
    CflowClient,
    CflowConnectionError,
    CflowTimeoutError,
    InvalidArgumentError,
)


def _loopback_alias_available() -> bool:
    try:
        with socket.socket() as sock:
            sock.bind(("127.0.0.2", 0))
    except OSError:
        return False
    return True


needs_second_loopback = pytest.mark.skipif(
    not _loopback_alias_available(), reason="127.0.0.2 is not a loopback address here"
)


# -- redirects ---------------------------------------------------------------------------------

#: A legacy GET and POST, an OpenAPI GET and POST.
CALLS = by_name("get_workflows", "submit_record", "workflows.get", "requests.approve")


@needs_second_loopback
@pytest.mark.integration
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("call", CALLS, ids=str)
@pytest.mark.parametrize("to", ["another origin", "the same origin"])
async def test_redirect_is_not_followed(kind: str, status: int, call: Endpoint, to: str) -> None:
    async with Loopback(host="127.0.0.2") as other, Loopback() as origin:
        target = "/elsewhere"
        if to == "another origin":
            target = f"{other.url}/integromat/api/cflow/getworkflows?steal=1"
        origin.handler = lambda seen: Reply(status, b"", (("location", target),))
        async with make_client(kind, origin.url) as client:
            with pytest.raises(CflowAPIError) as info:
                await call(client)

        # The credentials went to the configured origin only, and only once.
        assert len(origin.seen) == 1
        assert origin.seen[0].header("apikey") == API_KEY
        assert other.connections == 0
        assert other.seen == []
    err = info.value
    assert type(err) is CflowAPIError
    assert (err.status_code, err.attempts, err.response.headers["location"]) == (status, 1, target)
    assert "redirect" in err.message
    assert target in err.message


# -- plain HTTP --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        *[
            (url, "plain http")
            for url in [
                "http://example.com",
                "HTTP://EXAMPLE.COM",
                "http://us.cflowapps.com/integromat/api",
                "http://10.0.0.1:8080",
                "http://192.168.1.10",
                "http://0.0.0.0:8000",
                "http://[2001:db8::1]:8080",
                "http://127.0.0.1.nip.io",
                "http://localhost.example.com",
                "http://localhostx",
            ]
        ],
        ("ftp://example.com", "must be an http"),
        ("https://user:pw@example.com", "must not carry"),
        ("https://example.com?x=1", "must not carry"),
    ],
)
def test_unsafe_base_urls_are_refused(
    url: str, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InvalidArgumentError, match=reason) as info:
        CflowClient(**CREDS, base_url=url)
    assert isinstance(info.value, ValueError)
    assert API_KEY not in str(info.value)
    monkeypatch.setenv("CFLOW_BASE_URL", url)  # from the environment too
    with pytest.raises(InvalidArgumentError, match=reason):
        CflowClient(**CREDS)


@pytest.mark.parametrize(
    ("url", "opt_in", "expected"),
    [
        # To a remote host only with the explicit opt-in.
        ("http://example.com", True, "http://example.com"),
        ("http://10.0.0.1:8080/integromat/api", True, "http://10.0.0.1:8080"),
        # To loopback always.
        ("http://127.0.0.1:8080", False, "http://127.0.0.1:8080"),
        ("http://127.9.8.7", False, "http://127.9.8.7"),
        ("http://[::1]:9000", False, "http://[::1]:9000"),
        ("http://localhost:5000", False, "http://localhost:5000"),
        ("http://LOCALHOST:5000", False, "http://localhost:5000"),
        ("http://api.localhost", False, "http://api.localhost"),
    ],
)
def test_plain_http_is_allowed(url: str, opt_in: bool, expected: str) -> None:
    options = {"allow_insecure_http": True} if opt_in else {}
    client = CflowClient(**CREDS, base_url=url, http_backend="httpx", **options)
    assert client.base_url == expected


# -- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def tls_server(ca: trustme.CA, *names: str, handler: Any = None) -> Loopback:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return Loopback(handler, tls=context)


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.mark.integration
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("call", CALLS[:3], ids=str)
@pytest.mark.parametrize("why", ["untrusted", "for another host"])
async def test_bad_certificate_is_refused_without_retrying(
    ca: trustme.CA, ca_file: str, kind: str, call: Endpoint, why: str
) -> None:
    if why == "untrusted":
        server, options = tls_server(ca, "127.0.0.1"), {}
    else:  # a certificate the client trusts, for another name
        server = tls_server(ca, "cflow.example")
        options = {"verify": ssl.create_default_context(cafile=ca_file)}
    async with server, make_client(kind, server.url, **options) as client:
        with pytest.raises(CflowConnectionError) as info:
            await call(client)
    err = info.value
    assert not isinstance(err, CflowTimeoutError)
    assert "certificate" in str(err).lower()
    # A certificate failure is permanent: one attempt, one TLS handshake, nothing sent.
    assert err.attempts == 1
    assert server.connections == 1
    assert server.seen == []
    # The handshake fails before any byte of the request: even through a caller's own
    # client (whose other errors cannot be trusted) a POST is known not to be applied.
    assert err.outcome_unknown is False


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("kind", ["aiohttp", "httpx"])
@pytest.mark.parametrize("how", ["ca file path", "ssl context"])
async def test_trusted_certificate_is_accepted_on_every_call(
    ca: trustme.CA, ca_file: str, kind: str, how: str
) -> None:
    """Both layers (legacy facade and generated namespaces) use the verified transport."""

    def answer(seen: Seen) -> Reply:
        if seen.target.startswith("/integromat/api/cflow/users"):
            return Reply(body=b'[{"id": "u1", "username": "ann", "status": "active"}]')
        return Reply()

    verify = ca_file if how == "ca file path" else trusting(ca)
    async with (
        tls_server(ca, "127.0.0.1", "localhost", handler=answer) as server,
        make_client(kind, server.url, verify=verify) as client,
    ):
        users = await client.users.list()
        workflows = await client.get_workflows()
    assert [u.username for u in users] == ["ann"]
    assert [w.name for w in workflows] == ["W"]
    assert server.connections == 2
    assert len(server.seen) == 2
    assert server.seen[1].header("apikey") == API_KEY
    assert server.seen[1].header("userkey") == USER_KEY
