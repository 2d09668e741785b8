from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.document_download import DocumentDownload
from ...models.error import Error
from ...types import UNSET, Response, Unset


def _get_kwargs(
    document_id: int,
    *,
    original: bool | Unset = False,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["original"] = original

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/documents/{document_id}/download".format(
            document_id=quote(str(document_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> DocumentDownload | Error | None:
    if response.status_code == 200:
        response_200 = DocumentDownload.from_dict(response.json())

        return response_200

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
) -> Response[DocumentDownload | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    document_id: int,
    *,
    client: AuthenticatedClient | Client,
    original: bool | Unset = False,
) -> Response[DocumentDownload | Error]:
    """Get a download link for a document's PDF

     The signed PDF exists only for a `COMPLETED` document (otherwise 400 `INVALID_DOCUMENT_STATUS`); the
    original exists for every document.

    Args:
        document_id (int):
        original (bool | Unset):  Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DocumentDownload | Error]
    """

    kwargs = _get_kwargs(
        document_id=document_id,
        original=original,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    document_id: int,
    *,
    client: AuthenticatedClient | Client,
    original: bool | Unset = False,
) -> DocumentDownload | Error | None:
    """Get a download link for a document's PDF

     The signed PDF exists only for a `COMPLETED` document (otherwise 400 `INVALID_DOCUMENT_STATUS`); the
    original exists for every document.

    Args:
        document_id (int):
        original (bool | Unset):  Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DocumentDownload | Error
    """

    return sync_detailed(
        document_id=document_id,
        client=client,
        original=original,
    ).parsed


async def asyncio_detailed(
    document_id: int,
    *,
    client: AuthenticatedClient | Client,
    original: bool | Unset = False,
) -> Response[DocumentDownload | Error]:
    """Get a download link for a document's PDF

     The signed PDF exists only for a `COMPLETED` document (otherwise 400 `INVALID_DOCUMENT_STATUS`); the
    original exists for every document.

    Args:
        document_id (int):
        original (bool | Unset):  Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DocumentDownload | Error]
    """

    kwargs = _get_kwargs(
        document_id=document_id,
        original=original,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    document_id: int,
    *,
    client: AuthenticatedClient | Client,
    original: bool | Unset = False,
) -> DocumentDownload | Error | None:
    """Get a download link for a document's PDF

     The signed PDF exists only for a `COMPLETED` document (otherwise 400 `INVALID_DOCUMENT_STATUS`); the
    original exists for every document.

    Args:
        document_id (int):
        original (bool | Unset):  Default: False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DocumentDownload | Error
    """

    return (
        await asyncio_detailed(
            document_id=document_id,
            client=client,
            original=original,
        )
    ).parsed
