"""`make demo`: the main job end to end, against the reference server over loopback.

It creates and sends a few documents with the client, sends a template to a few
hundred people through the real command line (with its progress bar, through a
flaky network), reruns that command to show nothing goes out twice, signs some of
the documents, and prints where everything stands. Needs no network.
"""

from __future__ import annotations

import collections
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import anyio

from pacta_async import PactaClient, TokenBucketLimiter
from pacta_async.testing import SEND_ROUTES, Faults, Limits, ReferenceServer, make_pdf

__all__ = ["main"]

_PEOPLE = 300
# Raised limits so the demo takes seconds; the CLI is told the same numbers.
_REQUESTS_PER_MINUTE = 6000
_SENDS_PER_MINUTE = 3000
# A network with some latency, where a few sends fail or lose their answer.
_FAULTS = (
    Faults(latency=0.15, seed=1),
    Faults(error_rate=0.03, drop_after_rate=0.03, routes=SEND_ROUTES, seed=2),
)


def _step(text: str) -> None:
    print(f"\n== {text}", flush=True)


async def _send_a_few(token: str, base_url: str) -> tuple[list[int], int, int]:
    """Three documents uploaded, given a signature field and sent; plus a template."""
    limiter = TokenBucketLimiter(
        requests_per_minute=_REQUESTS_PER_MINUTE, sends_per_minute=_SENDS_PER_MINUTE
    )
    async with PactaClient(token, base_url=base_url, rate_limiter=limiter) as client:
        sent = []
        people = [
            ("Ada Lovelace", "ada@example.com"),
            ("Alan Turing", "alan@example.com"),
            ("Grace Hopper", "grace@example.com"),
        ]
        for number, (name, email) in enumerate(people, start=1):
            document = await client.documents.create(
                make_pdf(),
                title=f"Consulting agreement #{number}",
                recipients=[{"name": name, "email": email}],
            )
            await client.documents.fields.create(
                document.id,
                recipient_id=document.recipients[0].id,
                type="SIGNATURE",
                page=1,
                x=100,
                y=600,
                width=200,
                height=50,
            )
            document = await client.documents.send(document.id)
            print(f"  document {document.id} '{document.title}' to {email}: {document.status}")
            sent.append(document.id)
        template = await client.templates.create(
            make_pdf(2),
            title="Mutual NDA",
            recipients=[{"name": "Counterparty", "email": "placeholder@example.com"}],
        )
        print(f"  template {template.id} '{template.title}' created")
        return sent, template.id, template.recipients[0].id


async def _statuses(token: str, base_url: str) -> collections.Counter[str]:
    async with PactaClient(token, base_url=base_url, rate_limiter=None) as client:
        return collections.Counter([str(d.status) async for d in client.documents.iter()])


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("pacta-async")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from pacta_async._cli import main; sys.exit(main())"]


def main() -> int:
    server = ReferenceServer(limits=Limits(general=_REQUESTS_PER_MINUTE, send=_SENDS_PER_MINUTE))
    token = server.create_token(server.create_team("Demo Inc."))
    with server.serve_in_thread() as base_url, tempfile.TemporaryDirectory() as tmp:
        print(f"Reference Pacta server at {base_url}")
        _step("Create and send documents with the client")
        sent, template_id, placeholder = anyio.run(_send_a_few, token, base_url)

        people = Path(tmp, "people.csv")
        with people.open("w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["name", "email", "externalId"])
            for n in range(1, _PEOPLE + 1):
                writer.writerow([f"Person {n}", f"person{n}@example.com", f"crm-{n:05d}"])
        journal, results = Path(tmp, "nda.journal"), Path(tmp, "results.csv")
        command = [
            *_cli(), "batch", "generate", str(template_id), str(people),
            "--placeholder", str(placeholder), "--journal", str(journal),
            "--results", str(results), "--concurrency", "8",
            "--requests-per-minute", str(_REQUESTS_PER_MINUTE),
            "--sends-per-minute", str(_SENDS_PER_MINUTE),
            # This server finishes a request before answering (its faults drop answers,
            # they do not delay processing), so a lost answer settles in seconds, not
            # the real-world default of the request timeout plus 10 s.
            "--settle-window", "3",
        ]  # fmt: skip
        env = {**os.environ, "PACTA_API_TOKEN": token, "PACTA_BASE_URL": base_url}

        _step(f"Send the NDA to {_PEOPLE} people from a CSV, over a flaky network")
        server.set_faults(*_FAULTS)
        print("  $ pacta-async " + " ".join(command[len(_cli()) :]), flush=True)
        first = subprocess.run(command, env=env, check=False).returncode
        _step("Run the same command again: the journal knows what was sent")
        again = subprocess.run(command, env=env, check=False).returncode
        server.clear_faults()

        with results.open(newline="") as file:
            rows = sorted(csv.DictReader(file), key=lambda row: int(row["line"]))
        generated = [int(row["document_id"]) for row in rows]
        sends = collections.Counter(server.send_count(i) for i in generated)
        twice = sum(count for times, count in sends.items() if times != 1)
        print(f"  the server sent {sends[1]} documents once and {twice} more or less often")

        _step("Simulate signatures")
        for document_id in [sent[0], *generated[:5]]:
            recipient = server.document(document_id)["recipients"][0]
            server.sign(document_id, recipient["id"])
            print(f"  {recipient['name']} signed document {document_id}")

        _step("Where everything stands")
        for status, count in sorted(anyio.run(_statuses, token, base_url).items()):
            print(f"  {status:<10} {count}")
        print("  $ pacta-async documents list --limit 5", flush=True)
        subprocess.run([*_cli(), "documents", "list", "--limit", "5"], env=env, check=False)
    ok = first == 0 and again == 0 and set(sends) == {1} and len(generated) == _PEOPLE
    print("\nDemo finished." if ok else "\nDemo FAILED: see above.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
