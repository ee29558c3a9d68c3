"""Construction: credentials, regions, base URL precedence, timeouts, the openapi client."""

from __future__ import annotations

import re

import cflow_openapi
import httpx
import pytest
from cflow_openapi.api.users import list_users
from cflow_openapi.models import User
from conftest import API_KEY, CREDS, USER_KEY, USERNAME
from pytest_httpx import HTTPXMock

from cflow_async import CflowClient, Region

US = "https://us.cflowapps.com"
AP = "https://ap.cflowapps.com"


def make(**kwargs: object) -> CflowClient:
    options: dict[str, object] = {**CREDS, "http_backend": "httpx"}
    options.update(kwargs)
    return CflowClient(**options)  # type: ignore[arg-type]


def set_creds_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CFLOW_API_KEY", "env-api-key")
    monkeypatch.setenv("CFLOW_USER_KEY", "env-user-key")
    monkeypatch.setenv("CFLOW_USERNAME", "env-user@example.com")


# -- keyword-only arguments -------------------------------------------------------------


def test_positional_arguments_are_refused() -> None:
    with pytest.raises(TypeError):
        CflowClient(API_KEY, USER_KEY, USERNAME)  # type: ignore[misc]


# -- credentials ----------------------------------------------------------------------


async def test_credentials_from_environment(
    monkeypatch: pytest.MonkeyPatch, httpx_mock: HTTPXMock
) -> None:
    set_creds_env(monkeypatch)
    httpx_mock.add_response(json={"Workflows": []})
    async with CflowClient(http_backend="httpx") as cflow:
        assert await cflow.get_workflows() == []
    request = httpx_mock.get_request()
    assert request.headers["apikey"] == "env-api-key"
    assert request.headers["userkey"] == "env-user-key"
    assert request.headers["username"] == "env-user@example.com"
    assert request.url.params["username"] == "env-user@example.com"


async def test_explicit_credentials_win_over_environment(
    monkeypatch: pytest.MonkeyPatch, httpx_mock: HTTPXMock
) -> None:
    set_creds_env(monkeypatch)
    httpx_mock.add_response()
    async with make() as cflow:
        await cflow.check_connection()
    request = httpx_mock.get_request()
    assert request.headers["apikey"] == API_KEY
    assert request.headers["userkey"] == USER_KEY
    assert request.headers["username"] == USERNAME


async def test_credentials_mix_explicit_and_environment(
    monkeypatch: pytest.MonkeyPatch, httpx_mock: HTTPXMock
) -> None:
    monkeypatch.setenv("CFLOW_USER_KEY", "env-user-key")
    httpx_mock.add_response()
    async with CflowClient(api_key=API_KEY, username=USERNAME, http_backend="httpx") as cflow:
        await cflow.check_connection()
    request = httpx_mock.get_request()
    assert request.headers["apikey"] == API_KEY
    assert request.headers["userkey"] == "env-user-key"
    assert request.headers["username"] == USERNAME


@pytest.mark.parametrize(
    "missing",
    [
        ("api_key",),
        ("user_key",),
        ("username",),
        ("api_key", "username"),
        ("api_key", "user_key", "username"),
    ],
)
def test_missing_credentials_raise_value_error_naming_them(missing: tuple[str, ...]) -> None:
    kwargs = {k: v for k, v in CREDS.items() if k not in missing}
    with pytest.raises(ValueError, match="missing") as info:
        CflowClient(**kwargs, http_backend="httpx")
    message = str(info.value)
    for name in missing:
        assert name in message
    for name in set(CREDS) - set(missing):
        assert not re.search(rf"\b{name}\b", message), message


def test_empty_credential_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CFLOW_API_KEY", "")
    with pytest.raises(ValueError, match="api_key"):
        CflowClient(user_key=USER_KEY, username=USERNAME, http_backend="httpx")


# -- regions and base URL ---------------------------------------------------------------


def test_region_values() -> None:
    assert Region.US == "https://us.cflowapps.com"
    assert Region.AP == "https://ap.cflowapps.com"
    assert Region("us") is Region.US
    assert Region("AP") is Region.AP


async def test_default_region_is_us() -> None:
    async with make() as cflow:
        assert cflow.base_url == US
        assert type(cflow.base_url) is str


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("us", US),
        ("US", US),
        ("Us", US),
        (Region.US, US),
        ("ap", AP),
        ("AP", AP),
        ("aP", AP),
        (Region.AP, AP),
    ],
)
async def test_region_any_case(region: object, expected: str) -> None:
    async with make(region=region) as cflow:
        assert cflow.base_url == expected
        assert isinstance(cflow.base_url, str)


def _names_valid_regions(message: str) -> bool:
    return bool(re.search(r"\bus\b", message, re.I) and re.search(r"\bap\b", message, re.I))


@pytest.mark.parametrize("region", ["eu", "europe", "", "https://eu.cflowapps.com"])
def test_unknown_region_lists_valid_ones(region: str) -> None:
    with pytest.raises(ValueError, match="region") as info:
        make(region=region)
    assert _names_valid_regions(str(info.value)), str(info.value)


def test_unknown_region_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CFLOW_REGION", "mars")
    with pytest.raises(ValueError, match="mars") as info:
        make()
    assert _names_valid_regions(str(info.value))


async def test_region_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CFLOW_REGION", "ap")
    async with make() as cflow:
        assert cflow.base_url == AP


async def test_base_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CFLOW_BASE_URL", "https://cflow.internal.example")
    async with make() as cflow:
        assert cflow.base_url == "https://cflow.internal.example"


async def test_base_url_overrides_region() -> None:
    async with make(region="ap", base_url="https://proxy.example.com") as cflow:
        assert cflow.base_url == "https://proxy.example.com"


@pytest.mark.parametrize(
    ("kwargs", "env", "expected"),
    [
        # explicit base_url beats everything
        (
            {"base_url": "https://explicit.example", "region": "ap"},
            {"CFLOW_BASE_URL": "https://env.example", "CFLOW_REGION": "us"},
            "https://explicit.example",
        ),
        # explicit region beats both environment variables
        (
            {"region": "ap"},
            {"CFLOW_BASE_URL": "https://env.example", "CFLOW_REGION": "us"},
            AP,
        ),
        # CFLOW_BASE_URL beats CFLOW_REGION
        (
            {},
            {"CFLOW_BASE_URL": "https://env.example", "CFLOW_REGION": "ap"},
            "https://env.example",
        ),
        # CFLOW_REGION beats the default
        ({}, {"CFLOW_REGION": "AP"}, AP),
        # nothing set: US
        ({}, {}, US),
    ],
)
async def test_base_url_precedence(
    monkeypatch: pytest.MonkeyPatch,
    kwargs: dict[str, str],
    env: dict[str, str],
    expected: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    async with make(**kwargs) as cflow:
        assert cflow.base_url == expected


@pytest.mark.parametrize(
    "given",
    [
        "https://us.cflowapps.com",
        "https://us.cflowapps.com/",
        "https://us.cflowapps.com/integromat/api",
        "https://us.cflowapps.com/integromat/api/",
    ],
)
async def test_base_url_is_normalised_to_the_server_root(given: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"Workflows": []})
    async with make(base_url=given) as cflow:
        assert cflow.base_url == US
        await cflow.get_workflows()
    request = httpx_mock.get_request()
    assert request.url.host == "us.cflowapps.com"
    assert request.url.path == "/integromat/api/cflow/getworkflows"


async def test_region_ap_requests_go_to_ap(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=[])
    httpx_mock.add_response(json=[])
    async with make(region="ap") as cflow:
        await cflow.get_process("Test")
        await cflow.users.list()
    urls = [str(r.url) for r in httpx_mock.get_requests()]
    assert urls[0].startswith("https://ap.cflowapps.com/integromat/api/cflow/getprocess?")
    assert urls[1] == "https://ap.cflowapps.com/integromat/api/cflow/users"


@pytest.mark.parametrize(
    "given", ["https://gw.example.com/cflow", "https://gw.example.com/cflow/integromat/api"]
)
async def test_base_url_with_a_path_prefix_keeps_it(given: str, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"Workflows": []})
    httpx_mock.add_response(json=[])
    async with make(base_url=given) as cflow:
        assert cflow.base_url == "https://gw.example.com/cflow"
        await cflow.get_workflows()
        await cflow.roles.list()
    paths = [r.url.path for r in httpx_mock.get_requests()]
    assert paths == [
        "/cflow/integromat/api/cflow/getworkflows",
        "/cflow/integromat/api/cflow/roles",
    ]


# -- timeouts -------------------------------------------------------------------------

DEFAULT_TIMEOUT = {"connect": 5.0, "read": 30.0, "write": 30.0, "pool": 10.0}


async def test_default_timeout(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"Workflows": []})
    httpx_mock.add_response(json=[])
    async with make() as cflow:
        assert cflow.timeout == httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=10.0)
        await cflow.get_workflows()
        await cflow.users.list()
    for request in httpx_mock.get_requests():
        assert request.extensions["timeout"] == DEFAULT_TIMEOUT


@pytest.mark.parametrize("seconds", [12, 2.5])
async def test_timeout_in_seconds(seconds: float, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"Workflows": []})
    httpx_mock.add_response(json=[])
    async with make(timeout=seconds) as cflow:
        assert cflow.timeout == httpx.Timeout(float(seconds))
        await cflow.get_workflows()
        await cflow.users.list()
    expected = dict.fromkeys(("connect", "read", "write", "pool"), float(seconds))
    for request in httpx_mock.get_requests():
        assert request.extensions["timeout"] == expected


async def test_timeout_as_httpx_timeout(httpx_mock: HTTPXMock) -> None:
    timeout = httpx.Timeout(3.0, read=7.0)
    httpx_mock.add_response(json=[])
    httpx_mock.add_response(json=[])
    async with make(timeout=timeout) as cflow:
        assert cflow.timeout == timeout
        await cflow.get_process("Test")
        await cflow.roles.list()
    expected = {"connect": 3.0, "read": 7.0, "write": 3.0, "pool": 3.0}
    for request in httpx_mock.get_requests():
        assert request.extensions["timeout"] == expected


# -- the generated client, lifecycle ----------------------------------------------------


async def test_openapi_client_goes_through_the_same_transport(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        method="GET",
        url="https://us.cflowapps.com/integromat/api/cflow/users",
        json=[{"id": "u1", "username": "alice", "email": "a@example.com", "status": "active"}],
    )
    async with make() as cflow:
        assert isinstance(cflow.openapi, cflow_openapi.Client)
        response = await list_users.asyncio_detailed(client=cflow.openapi)
    assert response.status_code == 200
    assert isinstance(response.parsed, list)
    assert len(response.parsed) == 1
    user = response.parsed[0]
    assert isinstance(user, User)
    assert user.username == "alice"
    request = httpx_mock.get_request()
    assert request.headers["apikey"] == API_KEY
    assert request.headers["userkey"] == USER_KEY
    assert request.headers["username"] == USERNAME


async def test_openapi_client_via_package_path(httpx_mock: HTTPXMock) -> None:
    import cflow_openapi.api.users.list_users as lu

    httpx_mock.add_response(json=[])
    async with make(region="ap") as cflow:
        response = await lu.asyncio_detailed(client=cflow.openapi)
    assert response.parsed == []
    request = httpx_mock.get_request()
    assert str(request.url) == "https://ap.cflowapps.com/integromat/api/cflow/users"
    assert request.headers["apikey"] == API_KEY


async def test_aclose_closes_the_http_client() -> None:
    cflow = make()
    http = cflow.openapi.get_async_httpx_client()
    assert not http.is_closed
    await cflow.aclose()
    assert http.is_closed


async def test_async_with_returns_the_client_and_closes_it() -> None:
    client = make()
    async with client as cflow:
        assert cflow is client
        http = cflow.openapi.get_async_httpx_client()
        assert not http.is_closed
    assert http.is_closed
