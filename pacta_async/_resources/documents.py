"""`client.documents`: upload, read, list, send, duplicate and delete documents."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import TYPE_CHECKING, TypeVar

import httpx
from pacta_api.api.documents import (
    create_embed_token,
    create_field,
    create_recipient,
    delete_document,
    download_document,
    duplicate_document,
    get_document,
    list_documents,
    list_fields,
    list_recipients,
    send_document,
)
from pacta_api.models import (
    CreateFieldRequest,
    CreateRecipientRequest,
    Document,
    DocumentDownload,
    DocumentList,
    DocumentStatus,
    EmbedToken,
    Field,
    FieldList,
    FieldType,
    Recipient,
    RecipientList,
    RecipientRole,
    SendDocumentRequest,
    Template,
)
from pacta_api.types import UNSET

from .._batch._single import find_by_external_id
from .._clock import Clock
from .._download import Destination, DownloadedFile, FileStorage
from .._errors import InvalidInputError
from .._multipart import FileInput, MultipartUpload, open_pdf
from .._options import request_options
from .._pagination import AsyncPager
from .._params import RecipientParam
from .._validation import (
    MAX_PER_PAGE,
    check_email,
    check_enum,
    check_field_geometry,
    check_id,
    check_paging,
    check_recipients,
    check_text,
)
from .._watch import (
    FINAL_STATUSES,
    StatusChange,
    check_ids,
    check_rate,
    until_statuses,
    watch,
)
from ._base import CreateOnce, Resource, Timeout, parse_model

if TYPE_CHECKING:
    from pacta_api.client import Client

__all__ = ["Documents", "Fields", "Recipients", "upload"]


M = TypeVar("M", Document, Template)  # what an upload creates


async def upload(
    resource: Resource,
    path: str,
    file: FileInput,
    expected: type[M],
    *,
    title: str,
    recipients: Iterable[RecipientParam],
    external_id: str | None,
    filename: str | None,
    timeout: Timeout,
    max_retries: int | None,
) -> M:
    """POST a PDF with its form fields as Pacta's multipart body; returns the parsed answer."""
    options = request_options(timeout=timeout, max_retries=max_retries)
    check_text(title, "title")
    if external_id is not None:
        check_text(external_id, "external_id")
    checked = check_recipients(recipients)
    pdf = await open_pdf(file, filename)
    body = MultipartUpload(pdf, title=title, external_id=external_id, recipients=checked)
    http = resource._api.get_async_httpx_client()
    # The body goes in as the request's stream, so httpx sends it as is, from the start
    # on every attempt.
    built = http.build_request("POST", path, headers=body.headers)
    request = httpx.Request(
        "POST", built.url, headers=built.headers, stream=body, extensions=built.extensions
    )
    with options:
        response = await http.send(request)
    return parse_model(response, expected)


class Recipients(Resource):
    """`client.documents.recipients`: the people a document goes to."""

    async def list(
        self, document_id: int, *, timeout: Timeout = None, max_retries: int | None = None
    ) -> list[Recipient]:
        call = list_recipients.asyncio_detailed(
            check_id(document_id, "document_id"), client=self._api
        )
        result = await self._call(call, RecipientList, timeout=timeout, max_retries=max_retries)
        return result.recipients

    async def create(
        self,
        document_id: int,
        *,
        name: str,
        email: str,
        role: RecipientRole | str = RecipientRole.SIGNER,
        signing_order: int | None = None,
        timeout: Timeout = None,
        max_retries: int | None = None,
    ) -> Recipient:
        """Add a recipient to a DRAFT document."""
        body = CreateRecipientRequest(
            name=check_text(name, "name"),
            email=check_email(email, "email"),
            role=check_enum(role, RecipientRole, "role"),
            signing_order=UNSET
            if signing_order is None
            else check_id(signing_order, "signing_order"),
        )
        call = create_recipient.asyncio_detailed(
            check_id(document_id, "document_id"), client=self._api, body=body
        )
        return await self._call(call, Recipient, timeout=timeout, max_retries=max_retries)

    async def create_embed_token(
        self,
        document_id: int,
        recipient_id: int,
        *,
        timeout: Timeout = None,
        max_retries: int | None = None,
    ) -> EmbedToken:
        """A token for signing inside your own product (Business plan and above)."""
        call = create_embed_token.asyncio_detailed(
            check_id(document_id, "document_id"),
            check_id(recipient_id, "recipient_id"),
            client=self._api,
        )
        return await self._call(call, EmbedToken, timeout=timeout, max_retries=max_retries)


class Fields(Resource):
    """`client.documents.fields`: signature and other fields placed on pages."""

    async def list(
        self, document_id: int, *, timeout: Timeout = None, max_retries: int | None = None
    ) -> list[Field]:
        call = list_fields.asyncio_detailed(check_id(document_id, "document_id"), client=self._api)
        result = await self._call(call, FieldList, timeout=timeout, max_retries=max_retries)
        return result.fields

    async def create(
        self,
        document_id: int,
        *,
        recipient_id: int,
        type: FieldType | str,
        page: int,
        x: float,
        y: float,
        width: float,
        height: float,
        timeout: Timeout = None,
        max_retries: int | None = None,
    ) -> Field:
        """Place a field; coordinates are PDF points from the page's top-left corner."""
        check_field_geometry(page, x, y, width, height)
        body = CreateFieldRequest(
            type_=check_enum(type, FieldType, "type"),
            page=page,
            x=x,
            y=y,
            width=width,
            height=height,
            recipient_id=check_id(recipient_id, "recipient_id"),
        )
        call = create_field.asyncio_detailed(
            check_id(document_id, "document_id"), client=self._api, body=body
        )
        return await self._call(call, Field, timeout=timeout, max_retries=max_retries)


class Documents(Resource):
    """`client.documents`."""

    def __init__(
        self, api: Client, storage: FileStorage, clock: Clock, *, create_once: CreateOnce
    ) -> None:
        super().__init__(api)
        self.recipients = Recipients(api)
        self.fields = Fields(api)
        self._storage = storage
        self._clock = clock
        self._create_once = create_once

    async def create(
        self,
        file: FileInput,
        *,
        title: str,
        recipients: Iterable[RecipientParam] = (),
        external_id: str | None = None,
        filename: str | None = None,
        timeout: Timeout = None,
        max_retries: int | None = None,
    ) -> Document:
        """Upload a PDF (a path, bytes or a binary file object) as a new DRAFT document.

        The file is checked (a PDF, not empty, at most 50 MiB) and the recipients
        validated before anything is sent; a file on disk is streamed, never read
        whole into memory.

        With an `external_id` the upload happens exactly once: after an answer lost
        to a timeout, a dropped connection or a 5xx, Pacta is checked for the
        document with that externalId (after the settle window, since Pacta may
        still be processing the request) and it is returned, or uploaded again only
        if it is not there. Without one, an upload that may have reached Pacta is
        never repeated.
        """

        async def create() -> Document:
            return await upload(
                self,
                "/documents",
                file,
                Document,
                title=title,
                recipients=recipients,
                external_id=external_id,
                filename=filename,
                timeout=timeout,
                max_retries=max_retries,
            )

        if external_id is None:
            return await create()
        check_text(external_id, "external_id")
        return await self._create_once(create, external_id)

    async def find(self, *, external_id: str) -> Document | None:
        """The document that carries `external_id`, or None.

        Pacta cannot filter by externalId, so this pages through the team's
        documents, newest first, 100 a page, until it finds it: one request when it
        is recent, one per 100 documents in the team when there is none. A page
        that fails is asked again and the scan resumes there; its error is raised
        once that page has failed for 5 minutes (a refused one, such as a 401, at
        once).
        """
        return await find_by_external_id(self, self._clock, check_text(external_id, "external_id"))

    async def get(
        self, document_id: int, *, timeout: Timeout = None, max_retries: int | None = None
    ) -> Document:
        call = get_document.asyncio_detailed(check_id(document_id, "document_id"), client=self._api)
        return await self._call(call, Document, timeout=timeout, max_retries=max_retries)

    async def list(
        self,
        *,
        page: int = 1,
        per_page: int = 10,
        status: DocumentStatus | str | None = None,
        timeout: Timeout = None,
        max_retries: int | None = None,
    ) -> DocumentList:
        """One page of documents, newest first. To walk them all, use `iter()`."""
        check_paging(page, per_page)
        call = list_documents.asyncio_detailed(
            client=self._api,
            page=page,
            per_page=per_page,
            status=UNSET if status is None else check_enum(status, DocumentStatus, "status"),
        )
        return await self._call(call, DocumentList, timeout=timeout, max_retries=max_retries)

    def iter(
        self,
        *,
        status: DocumentStatus | str | None = None,
        per_page: int = MAX_PER_PAGE,
        timeout: Timeout = None,
        max_retries: int | None = None,
    ) -> AsyncPager[Document]:
        """Every document (optionally with one status), newest first, each yielded once."""
        check_paging(1, per_page)
        checked = None if status is None else check_enum(status, DocumentStatus, "status")

        params: dict[str, str | int] = {"perPage": per_page}
        if checked is not None:
            params["status"] = checked.value

        async def fetch(page: int) -> tuple[Iterator[Document], int]:
            return await self._page(
                "/documents",
                {"page": page, **params},
                "documents",
                Document,
                DocumentList,
                timeout=timeout,
                max_retries=max_retries,
            )

        return AsyncPager(fetch)

    async def delete(
        self, document_id: int, *, timeout: Timeout = None, max_retries: int | None = None
    ) -> None:
        call = delete_document.asyncio_detailed(
            check_id(document_id, "document_id"), client=self._api
        )
        await self._call_no_content(call, timeout=timeout, max_retries=max_retries)

    async def send(
        self,
        document_id: int,
        *,
        send_email: bool = True,
        timeout: Timeout = None,
        max_retries: int | None = None,
    ) -> Document:
        """Send a DRAFT for signature; it becomes PENDING. Counts against the send limit.

        A send whose answer was lost is not repeated automatically (it may have
        happened): check the document's status, or use the batch helpers, which do.
        """
        call = send_document.asyncio_detailed(
            check_id(document_id, "document_id"),
            client=self._api,
            body=SendDocumentRequest(send_email=send_email),
        )
        return await self._call(call, Document, timeout=timeout, max_retries=max_retries)

    async def duplicate(
        self, document_id: int, *, timeout: Timeout = None, max_retries: int | None = None
    ) -> Document:
        """A new DRAFT with the same file, recipients and fields."""
        call = duplicate_document.asyncio_detailed(
            check_id(document_id, "document_id"), client=self._api
        )
        return await self._call(call, Document, timeout=timeout, max_retries=max_retries)

    async def download(
        self,
        document_id: int,
        destination: Destination,
        *,
        original: bool = False,
        timeout: Timeout = None,
        max_retries: int | None = None,
    ) -> DownloadedFile:
        """Stream the signed PDF (or with `original=True` the upload) to a path or a
        binary file object; see `pacta_async._download` for how the token is kept from
        storage. A path is written atomically; a document not COMPLETED yet raises
        `InvalidDocumentStatusError` for the signed PDF."""
        checked = check_id(document_id, "document_id")
        if not isinstance(original, bool):
            raise InvalidInputError(
                f"original must be True or False, got {original!r}", field="original"
            )
        sink = self._storage.check_destination(destination)

        async def link() -> str:
            call = download_document.asyncio_detailed(checked, client=self._api, original=original)
            answer = await self._call(
                call, DocumentDownload, timeout=timeout, max_retries=max_retries
            )
            return answer.download_url

        return await self._storage.download(link, sink, max_retries=max_retries)

    def watch(
        self,
        document_ids: Iterable[int],
        *,
        interval: float = 10.0,
        requests_per_minute: float = 30.0,
    ) -> AsyncIterator[StatusChange]:
        """Each change (status, or who has signed) of these documents, until all are
        COMPLETED, REJECTED or CANCELLED. Polls by listing pages, at most
        `requests_per_minute` (of the token's 100), a round at most every `interval` s."""
        ids = check_ids(document_ids)
        check_rate(requests_per_minute, interval)
        return watch(
            self, ids, self._clock, interval=interval, requests_per_minute=requests_per_minute
        )

    async def wait_for(
        self,
        document_ids: Iterable[int],
        *,
        until: Iterable[DocumentStatus | str] = FINAL_STATUSES,
        interval: float = 10.0,
        requests_per_minute: float = 30.0,
    ) -> dict[int, Document]:
        """Wait until every document has one of the `until` statuses (by default a final
        one), or until none can change any more; returns them by id. Bound the wait
        with `anyio.fail_after`."""
        ids = check_ids(document_ids)
        check_rate(requests_per_minute, interval)
        wanted = until_statuses(until)
        latest: dict[int, Document] = {}
        changes = watch(
            self, ids, self._clock, interval=interval, requests_per_minute=requests_per_minute
        )
        async for change in changes:
            latest[change.document.id] = change.document
            if len(latest) == len(ids) and all(str(d.status) in wanted for d in latest.values()):
                await changes.aclose()  # type: ignore[attr-defined]
                return latest
        return latest
