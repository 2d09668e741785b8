"""Upload memory: a 45 MiB PDF from disk must not be read into the client's memory.

`client.documents.create(path)` streams the file in 256 KiB chunks; this checks
that the client process's peak RSS grows by less than 16 MiB while uploading a
45 MiB PDF (a third of the file would already fail it). The PDF is written to a
temporary file first: one page plus an unreferenced 45 MiB stream of seeded random
bytes (incompressible, as real PDF content mostly is), with a correct xref table.

The upload runs in a fresh process that first uploads a small PDF (to open the
connection and load every code path), then resets its peak RSS and uploads the big
one. The reference server, in another process, receives it; the memory it uses to
hold the document is its own.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
from _common import (
    PYTHON,
    MiB,
    control,
    log,
    peak_rss_bytes,
    reference_server,
    reset_peak_rss,
    row,
    rss_bytes,
)

SIZE = 45 * MiB
RSS_TARGET = 16 * MiB
_CHUNK = 1 * MiB


def write_pdf(path: Path, size: int) -> None:
    """A one-page PDF of exactly about `size` bytes, written a chunk at a time."""
    rng = random.Random(0)
    objects_before = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ]
    offsets = []
    with path.open("wb") as out:
        out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        for number, body in enumerate(objects_before, start=1):
            offsets.append(out.tell())
            out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
        length = size - out.tell() - 400  # leave room for the rest
        offsets.append(out.tell())
        out.write(b"4 0 obj\n<< /Length %d >>\nstream\n" % length)
        left = length
        while left:
            chunk = min(_CHUNK, left)
            out.write(rng.randbytes(chunk))
            left -= chunk
        out.write(b"\nendstream\nendobj\n")
        xref = out.tell()
        out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1))
        out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
        out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(offsets) + 1))
        out.write(b"startxref\n%d\n%%%%EOF\n" % xref)


async def upload(address: str, token: str, path: Path) -> dict[str, float]:
    from pacta_async import PactaClient
    from pacta_async.testing import make_pdf

    async with PactaClient(token, base_url=address, rate_limiter=None) as client:
        await client.documents.create(make_pdf(), title="warm-up")
        baseline = rss_bytes()
        reset_peak_rss()
        started = time.perf_counter()
        document = await client.documents.create(path, title="45 MiB")
        elapsed = time.perf_counter() - started
        growth = peak_rss_bytes() - baseline
    return {"seconds": elapsed, "rss_growth": growth, "id": document.id}


def coordinate() -> bool:
    with tempfile.TemporaryDirectory() as folder, reference_server() as server:
        path = Path(folder) / "big.pdf"
        write_pdf(path, SIZE)
        size = path.stat().st_size
        token = control(server.address, "token")["token"]
        log(f"uploading {size / MiB:.1f} MiB from a fresh process")
        output = subprocess.run(
            [PYTHON, __file__, "--measure", server.address, token, str(path)],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    growth = result["rss_growth"]
    return row(
        f"upload: {size / MiB:.0f} MiB PDF from disk, client peak RSS growth",
        f"+{growth / MiB:.1f} MiB ({result['seconds']:.2f} s, "
        f"{size / MiB / result['seconds']:.0f} MiB/s)",
        "< 16 MiB",
        growth < RSS_TARGET,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", nargs=3, metavar=("ADDRESS", "TOKEN", "PATH"))
    args = parser.parse_args(argv)
    if args.measure:
        address, token, path = args.measure
        result = anyio.run(upload, address, token, Path(path), backend="asyncio")
        print(json.dumps(result), flush=True)
        return 0
    return 0 if coordinate() else 1


if __name__ == "__main__":
    sys.exit(main())
