"""`pacta-async batch ...` and `pacta-async documents list`, run against a loopback server."""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import anyio
import pytest

from pacta_async import PactaClient, RecipientParam
from pacta_async._cli import _batch as _cli_batch
from pacta_async._cli import main
from pacta_async.testing import ReferenceServer

from ..redis_server import free_port
from .support import PDF, REQUESTS_PER_MINUTE, SENDS_PER_MINUTE, fast_server, make_drafts

T = TypeVar("T")
LIMITS = [
    f"--requests-per-minute={REQUESTS_PER_MINUTE}",
    f"--sends-per-minute={SENDS_PER_MINUTE}",
]


class Pacta:
    """A reference server over loopback, and the environment the CLI reads."""

    def __init__(self, server: ReferenceServer, base_url: str, token: str) -> None:
        self.server = server
        self.base_url = base_url
        self.token = token

    def run(self, call: Callable[[PactaClient], Awaitable[T]]) -> T:
        async def main() -> T:
            async with PactaClient(self.token, base_url=self.base_url, rate_limiter=None) as c:
                return await call(c)

        return anyio.run(main)

    def template(self, recipients: int = 1) -> tuple[int, list[int]]:
        async def create(client: PactaClient) -> tuple[int, list[int]]:
            people: list[RecipientParam] = [
                {"name": f"P{n}", "email": f"p{n}@x.io"} for n in range(recipients)
            ]
            template = await client.templates.create(PDF, title="NDA", recipients=people)
            return template.id, [r.id for r in template.recipients]

        return self.run(create)

    def documents(self) -> list[dict[str, Any]]:
        async def everything(client: PactaClient) -> list[dict[str, Any]]:
            return [d.to_dict() async for d in client.documents.iter()]

        return self.run(everything)


@pytest.fixture
def pacta(monkeypatch: pytest.MonkeyPatch) -> Iterator[Pacta]:
    server = fast_server()
    token = server.create_token(server.create_team())
    with server.serve_in_thread() as base_url:
        monkeypatch.setenv("PACTA_API_TOKEN", token)
        monkeypatch.setenv("PACTA_BASE_URL", base_url)
        yield Pacta(server, base_url, token)


def write_csv(path: Path, rows: list[list[str]], header: str = "name,email,externalId") -> Path:
    with path.open("w", newline="") as file:
        file.write(header + "\n")
        csv.writer(file).writerows(rows)
    return path


def read_results(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def test_a_template_goes_to_every_row_of_a_csv(
    pacta: Pacta, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template_id, _ = pacta.template()
    rows = [[f"Person {n}", f"p{n}@x.io", f"crm-{n}" if n % 2 else ""] for n in range(25)]
    people = write_csv(tmp_path / "people.csv", rows)
    results = tmp_path / "results.csv"
    status = main(
        ["batch", "generate", str(template_id), str(people), "--results", str(results), *LIMITS]
    )
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "25 sent, 0 failed, 0 skipped" in out
    assert "sending: 25/25 (25 sent, 0 failed, 0 skipped)" in err  # the plain progress line
    written = read_results(results)
    assert [r["status"] for r in written] == ["sent"] * 25
    assert sorted(int(r["line"]) for r in written) == list(range(2, 27))
    documents = {d["id"]: d for d in pacta.documents()}
    assert len(documents) == 25
    for row in written:
        document = documents[int(row["document_id"])]
        assert document["externalId"] == row["external_id"]
        assert document["recipients"][0]["email"] == row["email"]
        assert pacta.server.send_count(int(row["document_id"])) == 1
    assert {r["external_id"] for r in written} >= {f"crm-{n}" for n in range(1, 25, 2)}


def test_a_bad_csv_is_reported_whole_and_nothing_is_sent(
    pacta: Pacta, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template_id, _ = pacta.template()
    rows = [
        ["Ann", "ann@x.io", "a-1"],
        ["", "nobody@x.io", ""],  # line 3
        ["Bob", "bob@", ""],  # line 4
        ["Cy", "cy@x.io"],  # line 5
        ["Ann again", "ANN@x.io", ""],  # line 6
        ["Dee", "dee@x.io", "a-1"],  # line 7
    ]
    people = write_csv(tmp_path / "people.csv", rows)
    assert main(["batch", "generate", str(template_id), str(people)]) == 2
    err = capsys.readouterr().err
    assert "5 bad rows; nothing was sent" in err
    assert "line 3: name is empty" in err
    assert "line 4: not an email address: 'bob@'" in err
    assert "line 5: 2 cells, expected 3" in err
    assert "line 6: duplicate email (also on line 2)" in err
    assert "line 7: duplicate externalId (also on line 2)" in err
    assert pacta.documents() == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("name,phone\nAnn,123\n", "unexpected column 'phone'"),
        ("name\nAnn\n", "must name the columns name and email"),
        ("name,email\n", "has no rows"),
    ],
)
def test_a_csv_of_the_wrong_shape_is_refused(
    pacta: Pacta, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    people = tmp_path / "people.csv"
    people.write_text(content)
    assert main(["batch", "generate", "1", str(people)]) == 2
    assert message in capsys.readouterr().err


def test_a_template_with_several_recipients_needs_a_placeholder(
    pacta: Pacta, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template_id, placeholders = pacta.template(recipients=2)
    people = write_csv(tmp_path / "people.csv", [["Ann", "ann@x.io"]], header="name,email")
    assert main(["batch", "generate", str(template_id), str(people), *LIMITS]) == 2
    assert "choose one with --placeholder" in capsys.readouterr().err
    command = ["batch", "generate", str(template_id), str(people), "--placeholder"]
    assert main([*command, str(placeholders[1]), *LIMITS]) == 0
    [document] = pacta.documents()
    assert document["recipients"][1]["email"] == "ann@x.io"


def test_drafts_are_sent_by_id_and_a_failure_sets_the_exit_status(
    pacta: Pacta, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = pacta.run(lambda c: make_drafts(c, 5))
    [unsigned] = pacta.run(lambda c: make_drafts(c, 1, signature=False))
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"# drafts to send\n{ids[2]}\n\n{ids[3]}  # this one too\n{unsigned}\n")
    results = tmp_path / "results.csv"
    status = main(
        ["batch", "send", str(ids[0]), str(ids[1]), str(ids[4]), "--ids-file", str(ids_file),
         "--results", str(results), *LIMITS]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 1
    assert "5 sent, 1 failed" in out
    assert f"document {unsigned}: 400 VALIDATION_ERROR" in out
    written = {int(r["id"]): r for r in read_results(results)}
    # Each result says where its id was given: an argument's position, a file's line.
    assert [(written[i]["source"], written[i]["row"]) for i in ids] == [
        ("argument", "1"), ("argument", "2"), (str(ids_file), "2"), (str(ids_file), "4"),
        ("argument", "3"),
    ]  # fmt: skip
    assert (written[unsigned]["source"], written[unsigned]["row"]) == (str(ids_file), "5")
    assert written[unsigned]["status"] == "failed"
    assert written[unsigned]["document_id"] == ""
    assert "SIGNATURE" in written[unsigned]["error"]
    assert all(written[i]["status"] == "sent" for i in ids)
    assert [pacta.server.send_count(i) for i in ids] == [1] * 5


def test_bad_ids_are_reported_with_where_they_came_from(
    pacta: Pacta, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("12\nabc\n12\n")
    assert main(["batch", "send", "0", "--ids-file", str(ids_file)]) == 2
    err = capsys.readouterr().err
    assert "argument: not a document id: '0'" in err
    assert f"{ids_file} line 2: not a document id: 'abc'" in err
    assert f"{ids_file} line 3: duplicate id 12 (also {ids_file} line 1)" in err
    assert main(["batch", "send"]) == 2


def test_documents_are_listed_as_a_table_or_json(
    pacta: Pacta, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = pacta.run(lambda c: make_drafts(c, 4))
    pacta.run(lambda c: c.documents.send(ids[1]))
    assert main(["documents", "list", "--limit", "3"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["ID", "STATUS", "CREATED", "EXTERNAL", "ID", "TITLE"]
    assert [int(line.split()[0]) for line in table[1:]] == [ids[3], ids[2], ids[1]]

    assert main(["documents", "list", "--status", "PENDING", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(d["id"], d["status"]) for d in listed] == [(ids[1], "PENDING")]

    assert main(["documents", "list", "--limit", "0", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4


def test_missing_configuration_is_a_usage_error(
    pacta: Pacta, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PACTA_API_TOKEN")
    assert main(["batch", "send", "1"]) == 2
    assert "PACTA_API_TOKEN" in capsys.readouterr().err
    assert main(["documents", "list"]) == 2


@pytest.mark.parametrize("delimiter", [";", "\t"], ids=["semicolon", "tab"])
def test_semicolon_and_tab_separated_files_are_read_by_their_header(
    pacta: Pacta, tmp_path: Path, capsys: pytest.CaptureFixture[str], delimiter: str
) -> None:
    template_id, _ = pacta.template()
    people = tmp_path / "people.csv"
    with people.open("w", newline="") as file:
        writer = csv.writer(file, delimiter=delimiter)
        writer.writerow(["Name", "email", "externalId"])
        writer.writerows([["Doe, Jane", "jane@x.io", "crm,1"], ["Roe, Rick", "rick@x.io", ""]])
    results = tmp_path / "results.csv"
    command = ["batch", "generate", str(template_id), str(people), "--results", str(results)]
    assert main([*command, *LIMITS]) == 0, capsys.readouterr().err
    documents = {d["recipients"][0]["email"]: d for d in pacta.documents()}
    assert documents["jane@x.io"]["recipients"][0]["name"] == "Doe, Jane"  # a comma in a cell
    assert documents["jane@x.io"]["externalId"] == "crm,1"
    assert documents["rick@x.io"]["recipients"][0]["name"] == "Roe, Rick"
    assert [r["line"] for r in sorted(read_results(results), key=lambda r: r["line"])] == [
        "2",
        "3",
    ]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("name;email,externalId", "holds both comma (',') and semicolon (';')"),
        ("name|email", "the columns seem to be separated by '|': use comma, semicolon or tab"),
    ],
)
def test_an_unclear_separator_is_refused_with_a_hint(
    pacta: Pacta, tmp_path: Path, capsys: pytest.CaptureFixture[str], header: str, message: str
) -> None:
    people = tmp_path / "people.csv"
    people.write_text(f"{header}\nAnn|ann@x.io\n")
    assert main(["batch", "generate", "1", str(people)]) == 2
    assert message in capsys.readouterr().err
    assert pacta.documents() == []


def test_a_row_is_numbered_by_the_line_it_starts_on(
    pacta: Pacta, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template_id, _ = pacta.template()
    # A quoted cell spans lines 2-3, then a blank line; the next row starts on line 5.
    people = tmp_path / "people.csv"
    people.write_text('name,email\n"Ann\nSmith",ann@x.io\n\nBob,bob@\n')
    assert main(["batch", "generate", str(template_id), str(people)]) == 2
    assert "line 5: not an email address: 'bob@'" in capsys.readouterr().err
    people.write_text('name,email\n"Ann\nSmith",ann@x.io\n\nBob,bob@x.io\n')
    results = tmp_path / "results.csv"
    command = ["batch", "generate", str(template_id), str(people), "--results", str(results)]
    assert main([*command, *LIMITS]) == 0
    lines = {r["email"]: r["line"] for r in read_results(results)}
    assert lines == {"ann@x.io": "2", "bob@x.io": "5"}


def test_a_server_unreachable_past_the_deadline_is_one_error_line_with_the_rerun_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = _cli_batch._client
    # No transport retries: the refused connections fail at once, in real time.
    monkeypatch.setattr(
        _cli_batch, "_client", lambda args: client(args).with_options(max_retries=0)
    )
    monkeypatch.setattr(logging.getLogger("pacta_async.batch"), "handlers", [])
    rows = write_csv(tmp_path / "people.csv", [["Ann", "ann@x.io", ""]])
    journal = tmp_path / "j"
    status = main(
        [
            *("batch", "generate", "1", str(rows), "--placeholder", "1"),
            *("--token", "api_test", "--base-url", f"http://127.0.0.1:{free_port()}"),
            *("--journal", str(journal), "--unreachable-timeout", "0"),
        ]
    )
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("pacta-async: error:")]
    assert status == 1
    assert len(errors) == 1
    assert "Pacta unreachable since" in errors[0]
    assert errors[0].endswith(f"rerun with --journal {journal} to finish")
    assert "Traceback" not in err
