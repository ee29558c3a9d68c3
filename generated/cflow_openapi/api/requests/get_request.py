from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.request import Request
from ...types import Response


def _get_kwargs(
    workflow_id: str,
    request_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/integromat/api/cflow/workflows/{workflow_id}/requests/{request_id}".format(
            workflow_id=quote(str(workflow_id), safe=""),
            request_id=quote(str(request_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Request | None:
    if response.status_code == 200:
        response_200 = Request.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = cast(Any, None)
        return response_401

    if response.status_code == 404:
        response_404 = cast(Any, None)
        return response_404

    if response.status_code == 500:
        response_500 = cast(Any, None)
        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | Request]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    workflow_id: str,
    request_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | Request]:
    """Cflow Get Request

     Retrieves the details of a specific request including its current stage, field values, and
    processing history.

    Args:
        workflow_id (str):
        request_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Request]
    """

    kwargs = _get_kwargs(
        workflow_id=workflow_id,
        request_id=request_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    workflow_id: str,
    request_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Any | Request | None:
    """Cflow Get Request

     Retrieves the details of a specific request including its current stage, field values, and
    processing history.

    Args:
        workflow_id (str):
        request_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Request
    """

    return sync_detailed(
        workflow_id=workflow_id,
        request_id=request_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    workflow_id: str,
    request_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | Request]:
    """Cflow Get Request

     Retrieves the details of a specific request including its current stage, field values, and
    processing history.

    Args:
        workflow_id (str):
        request_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Request]
    """

    kwargs = _get_kwargs(
        workflow_id=workflow_id,
        request_id=request_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    workflow_id: str,
    request_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Any | Request | None:
    """Cflow Get Request

     Retrieves the details of a specific request including its current stage, field values, and
    processing history.

    Args:
        workflow_id (str):
        request_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Request
    """

    return (
        await asyncio_detailed(
            workflow_id=workflow_id,
            request_id=request_id,
            client=client,
        )
    ).parsed
