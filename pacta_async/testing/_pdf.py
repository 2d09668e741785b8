"""Tiny PDFs for uploads, and counting the pages of an uploaded one."""

from __future__ import annotations

import re
import zlib

__all__ = ["count_pages", "is_pdf", "make_pdf"]

# A page object's dictionary: `/Type /Page`, but not the `/Type /Pages` tree nodes.
_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z0-9])")
# Modern writers hide page objects in compressed object streams.
_OBJECT_STREAM = re.compile(rb"/Type\s*/ObjStm\b.*?stream\r?\n(.*?)endstream", re.DOTALL)


def make_pdf(pages: int = 1) -> bytes:
    """A valid PDF of `pages` blank US Letter pages, a few hundred bytes long.

    Real PDF readers open it, and the reference server counts its pages, so fields
    can be placed on any of them.
    """
    if pages < 1:
        raise ValueError("a PDF needs at least one page")
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        *[b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * pages,
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def is_pdf(data: bytes) -> bool:
    """Whether the upload starts like a PDF; readers allow a little junk before the header."""
    return b"%PDF-" in data[:1024]


def count_pages(pdf: bytes) -> int:
    """The number of pages, at least 1: a PDF we cannot read still has a first page."""
    found = len(_PAGE.findall(pdf))
    for stream in _OBJECT_STREAM.findall(pdf):
        try:
            found += len(_PAGE.findall(zlib.decompress(stream)))
        except zlib.error:
            continue
    return max(found, 1)
