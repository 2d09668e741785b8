"""`make_pdf` and the page counting of uploads."""

from __future__ import annotations

import re
import zlib

import pytest

from pacta_async.testing import make_pdf
from pacta_async.testing._pdf import count_pages, is_pdf


@pytest.mark.parametrize("pages", [1, 2, 7])
def test_make_pdf_is_a_pdf_with_that_many_pages(pages: int) -> None:
    pdf = make_pdf(pages)
    assert pdf.startswith(b"%PDF-1.4\n")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert count_pages(pdf) == pages
    assert len(pdf) < 500 + 80 * pages


def test_make_pdf_has_a_correct_cross_reference_table() -> None:
    pdf = make_pdf(3)
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split()[0])
    assert pdf[xref:].startswith(b"xref\n0 6\n")
    offsets = [int(m) for m in re.findall(rb"(\d{10}) 00000 n", pdf)]
    for number, offset in enumerate(offsets, start=1):
        assert pdf[offset:].startswith(b"%d 0 obj" % number)


def test_make_pdf_needs_a_page() -> None:
    with pytest.raises(ValueError, match="at least one page"):
        make_pdf(0)


def test_pages_inside_compressed_object_streams_count() -> None:
    objects = zlib.compress(b"<< /Type /Page >> << /Type/Page >> << /Type /Pages /Count 2 >>")
    pdf = (
        b"%PDF-1.5\n4 0 obj\n<< /Type /ObjStm /N 3 /First 12 /Filter /FlateDecode >>\nstream\n"
        + objects
        + b"\nendstream\nendobj\n%%EOF\n"
    )
    assert count_pages(pdf) == 2


def test_an_unreadable_pdf_has_one_page() -> None:
    assert count_pages(b"%PDF-1.7\n\x00\x01 garbage") == 1
    broken_stream = b"%PDF-1.5\n<< /Type /ObjStm >>\nstream\nnot zlib\nendstream\n"
    assert count_pages(broken_stream) == 1


def test_is_pdf() -> None:
    assert is_pdf(make_pdf())
    assert is_pdf(b"\xef\xbb\xbf%PDF-1.4")  # a little junk before the header is allowed
    assert not is_pdf(b"PK\x03\x04")
    assert not is_pdf(b"")
