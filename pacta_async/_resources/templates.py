"""`client.templates`: reusable documents, and sending from them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from pacta_api.api.templates import (
    create_template_direct_link,
    generate_document_from_template,
    list_templates,
)
from pacta_api.models import (
    DirectLink,
    Document,
    GenerateDocumentRequest,
    GenerateRecipient,
    Template,
    TemplateList,
)
from pacta_api.types import UNSET

from .._multipart import FileInput
from .._pagination import AsyncPager
from .._params import GenerateRecipientParam, RecipientParam
from .._validation import (
    MAX_PER_PAGE,
    check_id,
    check_paging,
    check_template_recipients,
    check_text,
)
from ._base import CreateOnce, Resource, Timeout
from .documents import upload

if TYPE_CHECKING:
    from pacta_api.client import Client

__all__ = ["Templates"]


class Templates(Resource):
    """`client.templates`."""

    def __init__(self, api: Client, *, create_once: CreateOnce) -> None:
        super().__init__(api)
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
    ) -> Template:
        """Upload a PDF as a template; its recipients are placeholders filled in by `generate`."""
        return await upload(
            self,
            "/templates",
            file,
            Template,
            title=title,
            recipients=recipients,
            external_id=external_id,
            filename=filename,
            timeout=timeout,
            max_retries=max_retries,
        )

    async def list(
        self,
        *,
        page: int = 1,
        per_page: int = 10,
        timeout: Timeout = None,
        max_retries: int | None = None,
    ) -> TemplateList:
        check_paging(page, per_page)
        call = list_templates.asyncio_detailed(client=self._api, page=page, per_page=per_page)
        return await self._call(call, TemplateList, timeout=timeout, max_retries=max_retries)

    def iter(
        self,
        *,
        per_page: int = MAX_PER_PAGE,
        timeout: Timeout = None,
        max_retries: int | None = None,
    ) -> AsyncPager[Template]:
        """Every template, newest first, each yielded once."""
        check_paging(1, per_page)

        async def fetch(page: int) -> tuple[Iterator[Template], int]:
            return await self._page(
                "/templates",
                {"page": page, "perPage": per_page},
                "templates",
                Template,
                TemplateList,
                timeout=timeout,
                max_retries=max_retries,
            )

        return AsyncPager(fetch)

    async def generate(
        self,
        template_id: int,
        *,
        recipients: Iterable[GenerateRecipientParam],
        title: str | None = None,
        external_id: str | None = None,
        send_email: bool = True,
        timeout: Timeout = None,
        max_retries: int | None = None,
    ) -> Document:
        """Create a document from a template and send it (PENDING). Counts as a send.

        With an `external_id` the document is made exactly once: after an answer lost
        to a timeout, a dropped connection or a 5xx, Pacta is checked for the
        document with that externalId (after the settle window, since Pacta may still
        be processing the request) and it is returned, or generated again only if it
        is not there. Without one, a generate that may have reached Pacta is never
        repeated.
        """
        body = GenerateDocumentRequest(
            recipients=[
                GenerateRecipient(id=r["id"], name=r["name"], email=r["email"])
                for r in check_template_recipients(recipients)
            ],
            title=UNSET if title is None else check_text(title, "title"),
            external_id=UNSET if external_id is None else check_text(external_id, "external_id"),
            send_email=send_email,
        )
        checked_id = check_id(template_id, "template_id")

        async def generate() -> Document:
            call = generate_document_from_template.asyncio_detailed(
                checked_id, client=self._api, body=body
            )
            return await self._call(call, Document, timeout=timeout, max_retries=max_retries)

        if external_id is None:
            return await generate()
        return await self._create_once(generate, external_id)

    async def create_direct_link(
        self, template_id: int, *, timeout: Timeout = None, max_retries: int | None = None
    ) -> DirectLink:
        """The public link anyone can use to sign from this template."""
        call = create_template_direct_link.asyncio_detailed(
            check_id(template_id, "template_id"), client=self._api
        )
        return await self._call(call, DirectLink, timeout=timeout, max_retries=max_retries)
