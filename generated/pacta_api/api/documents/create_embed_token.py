from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.embed_token import EmbedToken
from ...models.error import Error
from ...types import Response


def _get_kwargs(
    document_id: int,
    recipient_id: int,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/documents/{document_id}/recipients/{recipient_id}/embed-token".format(
            document_id=quote(str(document_id), safe=""),
            recipient_id=quote(str(recipient_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> EmbedToken | Error | None:
    if response.status_code == 201:
        response_201 = EmbedToken.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if 500 <= response.status_code <= 599:
        response_5xx = Error.from_dict(response.json())

        return response_5xx

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[EmbedToken | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    document_id: int,
    recipient_id: int,
    *,
    client: AuthenticatedClient | Client,
) -> Response[EmbedToken | Error]:
    """Generate a recipient-specific embed token

     Embedded signing needs the Business plan or higher (`PLAN_REQUIRED` otherwise).

    Args:
        document_id (int):
        recipient_id (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EmbedToken | Error]
    """

    kwargs = _get_kwargs(
        document_id=document_id,
        recipient_id=recipient_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    document_id: int,
    recipient_id: int,
    *,
    client: AuthenticatedClient | Client,
) -> EmbedToken | Error | None:
    """Generate a recipient-specific embed token

     Embedded signing needs the Business plan or higher (`PLAN_REQUIRED` otherwise).

    Args:
        document_id (int):
        recipient_id (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EmbedToken | Error
    """

    return sync_detailed(
        document_id=document_id,
        recipient_id=recipient_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    document_id: int,
    recipient_id: int,
    *,
    client: AuthenticatedClient | Client,
) -> Response[EmbedToken | Error]:
    """Generate a recipient-specific embed token

     Embedded signing needs the Business plan or higher (`PLAN_REQUIRED` otherwise).

    Args:
        document_id (int):
        recipient_id (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EmbedToken | Error]
    """

    kwargs = _get_kwargs(
        document_id=document_id,
        recipient_id=recipient_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    document_id: int,
    recipient_id: int,
    *,
    client: AuthenticatedClient | Client,
) -> EmbedToken | Error | None:
    """Generate a recipient-specific embed token

     Embedded signing needs the Business plan or higher (`PLAN_REQUIRED` otherwise).

    Args:
        document_id (int):
        recipient_id (int):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EmbedToken | Error
    """

    return (
        await asyncio_detailed(
            document_id=document_id,
            recipient_id=recipient_id,
            client=client,
        )
    ).parsed
