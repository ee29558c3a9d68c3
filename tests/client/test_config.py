"""Construction: credentials, regions, base URL precedence, timeouts, the openapi client."""

from __future__ import annotations

import re

import cflow_openapi
import cflow_openapi.api.users.list_users as list_users  # the package path, as in the README
import httpx
import pytest
from conftest import API_KEY, CREDS, USER_KEY, USERNAME
from endpoints import USER_JSON, by_name
from pytest_httpx import HTTPXMock

from cflow_async import CflowClient, Region

US = "https://us.cflowapps.com"
AP = "https://ap.cflowapps.com"


def make(**kwargs: object) -> CflowClient:
    return CflowClient(**{**CREDS, "http_backend": "httpx", **kwargs})  # type: ignore[arg-type]


def setenv(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


#: A legacy and an OpenAPI call of each result shape.
CALLS = by_name("get_workflows", "get_process", "users.list", "roles.list")


async def requests_of(httpx_mock: HTTPXMock, cflow: CflowClient) -> list[httpx.Request]:
    """The requests ``cflow`` sends for one call of each of CALLS and one direct call of the
    generated client, ``cflow.openapi``, which goes through the same transport; ``async with``
    gives ``cflow`` itself and closes it."""
    for ep in [*CALLS, CALLS[2]]:
        httpx_mock.add_response(**ep.ok_response())
    async with cflow as entered:
        assert entered is cflow
        for ep in CALLS:
            assert ep.check(await ep.call(cflow))
        assert isinstance(cflow.openapi, cflow_openapi.Client)
        direct = await list_users.asyncio_detailed(client=cflow.openapi)
    assert cflow.openapi.get_async_httpx_client().is_closed  # by leaving: aclose()
    assert isinstance(direct.parsed, list)
    assert [user.to_dict() for user in direct.parsed] == [USER_JSON]
    return httpx_mock.get_requests()


def test_positional_arguments_are_refused() -> None:
    with pytest.raises(TypeError):
        CflowClient(API_KEY, USER_KEY, USERNAME)  # type: ignore[misc]


# -- credentials ----------------------------------------------------------------------

ENV_CREDS = {
    "CFLOW_API_KEY": "env-api-key",
    "CFLOW_USER_KEY": "env-user-key",
    "CFLOW_USERNAME": "env-user@example.com",
}


@pytest.mark.parametrize(
    ("given", "env", "sent"),
    [
        pytest.param({}, ENV_CREDS, tuple(ENV_CREDS.values()), id="from-env"),
        pytest.param(CREDS, ENV_CREDS, (API_KEY, USER_KEY, USERNAME), id="explicit-win-over-env"),
        pytest.param(
            {"api_key": API_KEY, "username": USERNAME},
            {"CFLOW_USER_KEY": "env-user-key"},
            (API_KEY, "env-user-key", USERNAME),
            id="explicit-and-env-mixed",
        ),
    ],
)
async def test_credentials(
    monkeypatch: pytest.MonkeyPatch,
    httpx_mock: HTTPXMock,
    given: dict[str, str],
    env: dict[str, str],
    sent: tuple[str, str, str],
) -> None:
    setenv(monkeypatch, env)
    requests = await requests_of(httpx_mock, CflowClient(**given, http_backend="httpx"))
    headers = [(r.headers["apikey"], r.headers["userkey"], r.headers["username"]) for r in requests]
    assert headers == [sent] * len(requests)
    assert requests[0].url.params["username"] == sent[2]


@pytest.mark.parametrize(
    ("missing", "env"),
    [
        (("user_key",), {}),
        (("username",), {}),
        (("api_key", "username"), {}),
        (("api_key", "user_key", "username"), {}),
        (("api_key",), {"CFLOW_API_KEY": ""}),  # empty is missing
    ],
)
def test_missing_credentials_raise_value_error_naming_them(
    monkeypatch: pytest.MonkeyPatch, missing: tuple[str, ...], env: dict[str, str]
) -> None:
    setenv(monkeypatch, env)
    kwargs = {k: v for k, v in CREDS.items() if k not in missing}
    with pytest.raises(ValueError, match="missing") as info:
        CflowClient(**kwargs, http_backend="httpx")
    message = str(info.value)
    for name in missing:
        assert name in message
    for name in set(CREDS) - set(missing):
        assert not re.search(rf"\b{name}\b", message), message


# -- regions and base URL ---------------------------------------------------------------


def test_region_values_are_the_server_roots() -> None:
    assert [Region.US, Region.AP] == [US, AP]


ENV_URL, EXPLICIT = "https://env.example", "https://explicit.example"
ENV_US = {"CFLOW_BASE_URL": ENV_URL, "CFLOW_REGION": "us"}
GATEWAY = "https://gw.example.com/cflow"


@pytest.mark.parametrize(
    ("kwargs", "env", "root"),
    [
        # a region in any case
        *[({"region": region}, {}, US) for region in ("us", "US", "Us", Region.US)],
        *[({"region": region}, {}, AP) for region in ("ap", "AP", "aP", Region.AP)],
        # precedence: explicit base_url, explicit region, CFLOW_BASE_URL, CFLOW_REGION, US
        ({"base_url": EXPLICIT, "region": "ap"}, ENV_US, EXPLICIT),
        ({"region": "ap"}, ENV_US, AP),
        ({}, {"CFLOW_BASE_URL": ENV_URL, "CFLOW_REGION": "ap"}, ENV_URL),
        ({}, {"CFLOW_REGION": "AP"}, AP),
        ({}, {}, US),
        # a base URL is normalised to the server root; a path prefix before it is kept
        ({"base_url": "https://us.cflowapps.com/"}, {}, US),
        ({"base_url": "https://us.cflowapps.com/integromat/api"}, {}, US),
        ({"base_url": "https://us.cflowapps.com/integromat/api/"}, {}, US),
        *[({"base_url": GATEWAY + end}, {}, GATEWAY) for end in ("", "/integromat/api")],
    ],
    ids=str,
)
async def test_requests_go_to_the_base_url(
    monkeypatch: pytest.MonkeyPatch,
    httpx_mock: HTTPXMock,
    kwargs: dict[str, object],
    env: dict[str, str],
    root: str,
) -> None:
    setenv(monkeypatch, env)
    cflow = make(**kwargs)
    assert cflow.base_url == root
    assert type(cflow.base_url) is str
    urls = [str(r.url).partition("?")[0] for r in await requests_of(httpx_mock, cflow)]
    paths = ["getworkflows", "getprocess", "users", "roles", "users"]
    assert urls == [f"{root}/integromat/api/cflow/{path}" for path in paths]


@pytest.mark.parametrize(
    ("kwargs", "env", "match"),
    [
        *[({"region": region}, {}, "region") for region in ("eu", "europe", "")],
        ({"region": "https://eu.cflowapps.com"}, {}, "region"),
        ({}, {"CFLOW_REGION": "mars"}, "mars"),
    ],
)
def test_unknown_region_lists_valid_ones(
    monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, str], env: dict[str, str], match: str
) -> None:
    setenv(monkeypatch, env)
    with pytest.raises(ValueError, match=match) as info:
        make(**kwargs)
    for valid in ("us", "ap"):
        assert re.search(rf"\b{valid}\b", str(info.value), re.I), str(info.value)


# -- timeouts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "timeout"),
    [
        ({}, httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=10.0)),
        ({"timeout": 12}, httpx.Timeout(12.0)),
        ({"timeout": 2.5}, httpx.Timeout(2.5)),
        ({"timeout": httpx.Timeout(3.0, read=7.0)}, httpx.Timeout(3.0, read=7.0)),
    ],
)
async def test_timeout(
    httpx_mock: HTTPXMock, kwargs: dict[str, object], timeout: httpx.Timeout
) -> None:
    cflow = make(**kwargs)
    assert cflow.timeout == timeout
    for request in await requests_of(httpx_mock, cflow):
        assert request.extensions["timeout"] == timeout.as_dict()
