"""The daily spec-change job (`make spec-update`): pull, judge, then replace.

Everything is judged before `generated/` changes: the pulled spec is validated, the
client is generated into a scratch folder, the two specs are diffed (by tools that do
not import the wrapper, so a renamed or removed endpoint cannot crash the judging),
and the test suite and ``mypy --strict pacta_async`` run against the scratch client.
Only then is `generated/` replaced, and only when there is something to review. The
report is written whatever happens, and says what is true.

Exit status (and the step output ``status``):

- 0 safe: nothing changed, or the change is not breaking and every check passes;
- 1 breaking: breaking changes (the checks may pass or fail; the report says which);
- 3 checks failing: nothing breaking, yet the tests or mypy fail against the new client;
- 4 refused: the pull failed, the spec is invalid or the generator refused it;
  `generated/` is unchanged;
- 2 job error: the job itself failed (an unreadable snapshot, a report it cannot
  write); `generated/` is unchanged.

With 1 and 3 `generated/` holds the new snapshot and client, so that the pull request
shows them. On GitHub Actions (``GITHUB_OUTPUT`` set) the verdict also becomes the step
outputs ``change`` (unchanged, generator, info, additive, breaking, refused, error),
``tests`` (passed, failed, skipped) and ``status``.

Usage: ``python -m tools.specupdate SPEC_URL REPORT.md [--deadline SECONDS]`` (the
whole pull's deadline, 120 s by default), run from the project's root.
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import attrs

from .specdiff import SpecDiff, diff_specs
from .specpull import SpecError, load_spec, pull_spec, write_spec

__all__ = ["Check", "Verdict", "judge", "main", "run_checks"]

SAFE, BREAKING, JOB_ERROR, CHECKS_FAIL, REFUSED = 0, 1, 2, 3, 4
# The end of a failing check's output; the rest is in the CI log.
_TAIL_LINES = 40
_TAIL_CHARS = 6_000
_SUMMARY_CHARS = 200
# GitHub refuses pull-request bodies over 65,536 characters; leave room for the rest.
_BODY_LIMIT = 60_000
_LIST_CAP = 60
_MAKE_STATE = frozenset({"MAKEFLAGS", "MFLAGS", "MAKELEVEL"})
_SERVER_TESTS = ("server",)
_SNAPSHOT_TESTS = ("spec", "specdiff", "specupdate")


@attrs.frozen
class Check:
    """One check against the new client: a test area, or mypy."""

    name: str
    passed: bool
    output: str

    @property
    def summary(self) -> str:
        """The last line, e.g. pytest's ``169 passed in 6.22s``."""
        lines = self.output.strip().splitlines()
        return lines[-1].strip("= ")[:_SUMMARY_CHARS] if lines else "no output"

    @property
    def tail(self) -> str:
        tail = "\n".join(self.output.rstrip().splitlines()[-_TAIL_LINES:])
        return tail if len(tail) <= _TAIL_CHARS else "…" + tail[-_TAIL_CHARS:]


@attrs.frozen
class Verdict:
    """What a spec update means. `checks` is empty when nothing changed."""

    diff: SpecDiff
    spec_changed: bool
    code_changed: tuple[str, ...]
    checks: tuple[Check, ...]
    replaced: bool = False

    @property
    def change(self) -> str:
        if not self.spec_changed:
            return "generator" if self.code_changed else "unchanged"
        if self.diff.breaking:
            return "breaking"
        return "additive" if self.diff.additive else "info"

    @property
    def checks_passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def tests_outcome(self) -> str:
        if not self.checks:
            return "skipped"
        return "passed" if self.checks_passed else "failed"

    @property
    def exit_status(self) -> int:
        if self.diff.breaking:
            return BREAKING
        return SAFE if self.checks_passed else CHECKS_FAIL

    def headline(self) -> str:
        if self.change == "unchanged":
            return "The live spec and the generated client match generated/: nothing changed."
        failing = ", ".join(check.name for check in self.checks if not check.passed)
        checks = f"these checks fail: {failing}" if failing else "every check passes"
        if self.change == "generator":
            return (
                "The spec did not change, but the generated code did (the generator or its "
                f"configuration changed); {checks}."
            )
        if self.diff.breaking:
            return f"Breaking changes: review before merging; {checks}."
        return f"No breaking changes; {checks}."

    def to_text(self) -> str:
        lines = [f"spec update: {self.headline()}", ""]
        for check in self.checks:
            lines.append(
                f"{check.name}: {'passed' if check.passed else 'FAILED'} ({check.summary})"
            )
            if not check.passed:
                lines += ["", check.tail, ""]
        lines += ["", self._replaced_line(), "", self.diff.to_text().rstrip()]
        if self.code_changed:
            lines += ["", f"Generated files changed: {len(self.code_changed)}"]
        return "\n".join(lines) + "\n"

    def to_markdown(self) -> str:
        """The pull request's body: the checks first, then what changed, capped."""
        lines = [f"# Spec update: {self.change}", "", self.headline(), ""]
        if self.checks:
            lines += ["## Checks against the new client", ""]
            lines += [
                f"- {'✅' if c.passed else '❌'} **{c.name}**: {c.summary}" for c in self.checks
            ]
            for check in self.checks:
                if not check.passed:
                    lines += [
                        "",
                        f"<details><summary>{check.name}: the end of the output</summary>",
                        "",
                        _fenced(check.tail),
                        "",
                        "</details>",
                    ]
            lines.append("")
        lines += [self._replaced_line(), ""]
        if self.code_changed:
            note = " although the spec did not" if not self.spec_changed else ""
            lines += [f"## Generated code changed{note}", ""]
            lines += _capped([f"- `{name}`" for name in self.code_changed], "files")
            lines.append("")
        head = "\n".join(lines)
        diff = _capped_diff(self.diff, _BODY_LIMIT - len(head))
        return head + "\n" + diff

    def _replaced_line(self) -> str:
        if self.replaced:
            return "`generated/` now holds the new snapshot and client (for the pull request)."
        return "`generated/` is unchanged."


def _capped(items: list[str], what: str) -> list[str]:
    if len(items) <= _LIST_CAP:
        return items
    rest = len(items) - _LIST_CAP
    return [*items[:_LIST_CAP], f"- … and {rest} more {what} (the full list is in the job's log)"]


def _capped_diff(diff: SpecDiff, budget: int) -> str:
    """The diff's Markdown, each section capped, and cut to fit the body limit."""
    shown = SpecDiff(
        tuple(
            change
            for kind in ("breaking", "additive", "info")
            for change in getattr(diff, kind)[:_LIST_CAP]
        )
    )
    text = shown.to_markdown()
    hidden = len(diff.changes) - len(shown.changes)
    if hidden:
        text += (
            f"\n{hidden} more changes are not listed here ({diff.summary()}); see the job's log.\n"
        )
    if len(text) > budget:
        cut = text[: max(budget - 200, 0)].rsplit("\n", 1)[0]
        text = cut + "\n\n(The list is cut to fit GitHub's size limit; see the job's log.)\n"
    return text


def _test_environment() -> dict[str, str]:
    """This environment as on a developer's machine: outside make, no Pacta settings.

    make exports the variables given on its command line (and lists them in MAKEFLAGS):
    the client would read ``PACTA_BASE_URL``, where the spec came from, and a test that
    runs ``make spec-update`` in a scratch copy would write the caller's ``SPEC_REPORT``.
    """
    _, _, assignments = os.environ.get("MAKEFLAGS", "").partition("-- ")
    from_make = {
        word.split("=", 1)[0] for word in re.split(r"(?<!\\) ", assignments) if "=" in word
    }
    return {
        name: value
        for name, value in os.environ.items()
        if name not in from_make | _MAKE_STATE and not name.startswith("PACTA_")
    }


def _test_areas(project: Path) -> list[tuple[str, list[str]]]:
    """The suite split by what a failure blames: the SDK, the reference server, the snapshot."""
    tests = project / "tests"
    if not tests.is_dir():
        return []
    entries = sorted(
        p.name for p in tests.iterdir() if p.name != "__pycache__" and not p.name.startswith(".")
    )
    dirs = [name for name in entries if (tests / name).is_dir()]
    files = [name for name in entries if name.startswith("test_") and name.endswith(".py")]
    client = [n for n in dirs if n not in _SERVER_TESTS + _SNAPSHOT_TESTS] + files
    areas = [
        ("client tests", client),
        ("reference-server tests", [n for n in dirs if n in _SERVER_TESTS]),
        ("snapshot tests", [n for n in dirs if n in _SNAPSHOT_TESTS]),
    ]
    return [(name, [f"tests/{p}" for p in paths]) for name, paths in areas if paths]


def run_checks(project: Path, client_root: Path) -> tuple[Check, ...]:
    """Each test area, then ``mypy --strict pacta_async``, against the client in
    ``client_root/pacta_api`` (first on the path: the installed package may point at
    another copy of the project)."""
    env = _test_environment()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(client_root), env.get("PYTHONPATH")) if p)
    env["MYPYPATH"] = str(client_root)
    checks = []
    for name, paths in _test_areas(project):
        checks.append(_run(name, [sys.executable, "-m", "pytest", "-q", *paths], project, env))
    if (project / "pacta_async").is_dir():
        # MYPYPATH wins over the installed copy for every module the new client has; a
        # module it lost may still be found in the installed one, but the suite's
        # ImportError reports that.
        command = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "pacta_async"]
        checks.append(_run("mypy --strict pacta_async", command, project, env))
    return tuple(checks)


def _run(name: str, command: list[str], cwd: Path, env: dict[str, str]) -> Check:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    return Check(name=name, passed=result.returncode == 0, output=result.stdout + result.stderr)


def changed_files(old: Path, new: Path) -> tuple[str, ...]:
    """Files added, removed or changed between two generated packages."""
    changed: list[str] = []

    def walk(cmp: filecmp.dircmp[str], prefix: str) -> None:
        for name in cmp.left_only + cmp.right_only + cmp.diff_files + cmp.funny_files:
            if name != "__pycache__":
                changed.append(prefix + name)
        for name, sub in cmp.subdirs.items():
            if name != "__pycache__":
                walk(sub, f"{prefix}{name}/")

    if not old.is_dir():
        return ("(no generated package before)",)
    walk(filecmp.dircmp(old, new, ignore=["__pycache__"]), "")
    return tuple(sorted(changed))


def judge(
    old_spec: Path, new_spec: Path, old_client: Path, new_client: Path, project: Path
) -> Verdict:
    """Classify the change and run the checks; nothing in the project changes here."""
    diff = diff_specs(load_spec(old_spec), load_spec(new_spec))
    spec_changed = old_spec.read_bytes() != new_spec.read_bytes()
    code_changed = changed_files(old_client, new_client)
    if not spec_changed and not code_changed:
        return Verdict(diff=diff, spec_changed=False, code_changed=(), checks=())
    checks = run_checks(project, new_client.parent)
    return Verdict(diff=diff, spec_changed=spec_changed, code_changed=code_changed, checks=checks)


def generate(spec: Path, output: Path, project: Path) -> subprocess.CompletedProcess[str]:
    """The Makefile owns the generator's command line (`make regenerate` shares it)."""
    make = os.environ.get("MAKE", "make")
    return subprocess.run(
        [make, "--no-print-directory", "-s", "generate-into", f"SPEC={spec}", f"OUT={output}"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )


def replace_generated(project: Path, new_spec: Path, new_client: Path) -> None:
    """Swap in the new client and snapshot; the old ones are gone only once both moved."""
    generated = project / "generated"
    old = generated / ".pacta_api.old"
    shutil.rmtree(old, ignore_errors=True)
    (generated / "pacta_api").rename(old)
    shutil.move(str(new_client), generated / "pacta_api")
    shutil.copyfile(new_spec, generated / "openapi.json")
    shutil.rmtree(old)


def _fenced(text: str) -> str:
    """A Markdown code block that the text itself cannot close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _set_step_outputs(change: str, tests: str, status: int) -> None:
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a", encoding="utf-8") as outputs:
            outputs.write(f"change={change}\ntests={tests}\nstatus={status}\n")


def _stop(report: Path, change: str, status: int, message: str, details: str = "") -> int:
    """Refused or failed before anything changed: say so, in the log and the report."""
    print(f"spec update {change}: {message}; generated/ is unchanged", file=sys.stderr)
    if details:
        print(details, file=sys.stderr)
    body = f"# Spec update: {change}\n\n{message}.\n\n`generated/` is unchanged.\n"
    if details:
        body += "\n" + _fenced(details[-20_000:]) + "\n"
    try:
        report.write_text(body, encoding="utf-8")
    except OSError as exc:
        print(f"spec update: cannot write {report}: {exc.strerror or exc}", file=sys.stderr)
        status = JOB_ERROR
    _set_step_outputs(change, "skipped", status)
    return status


def update(url: str, report: Path, project: Path, *, deadline: float = 120.0) -> int:
    snapshot = project / "generated" / "openapi.json"
    try:
        load_spec(snapshot)
    except SpecError as exc:
        return _stop(report, "error", JOB_ERROR, f"the committed snapshot is unusable: {exc}")
    with tempfile.TemporaryDirectory(prefix="spec-update-") as scratch:
        work = Path(scratch)
        new_spec, new_client = work / "openapi.json", work / "pacta_api"
        try:
            write_spec(pull_spec(url, deadline=deadline), new_spec)
        except SpecError as exc:
            return _stop(report, "refused", REFUSED, f"the spec from {url} was refused: {exc}")
        generated = generate(new_spec, new_client, project)
        if generated.returncode != 0 or not new_client.is_dir():
            output = (generated.stdout + generated.stderr).strip()
            return _stop(report, "refused", REFUSED, "the generator refused the spec", output)
        try:
            verdict = judge(
                snapshot, new_spec, project / "generated" / "pacta_api", new_client, project
            )
        except SpecError as exc:
            return _stop(report, "error", JOB_ERROR, f"the diff failed: {exc}")
        if verdict.change != "unchanged":
            replace_generated(project, new_spec, new_client)
            verdict = attrs.evolve(verdict, replaced=True)
    sys.stdout.write(verdict.to_text())
    try:
        report.write_text(verdict.to_markdown(), encoding="utf-8")
    except OSError as exc:
        print(f"spec update: cannot write {report}: {exc.strerror or exc}", file=sys.stderr)
        _set_step_outputs("error", verdict.tests_outcome, JOB_ERROR)
        return JOB_ERROR
    print(f"The report for the pull request is in {report}.")
    _set_step_outputs(verdict.change, verdict.tests_outcome, verdict.exit_status)
    return verdict.exit_status


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    deadline = 120.0
    if len(args) == 4 and args[2] == "--deadline":
        try:
            deadline = float(args[3])
        except ValueError:
            args = []
        args = args[:2]
    if len(args) != 2:
        print(
            "usage: python -m tools.specupdate SPEC_URL REPORT.md [--deadline SECONDS]",
            file=sys.stderr,
        )
        return JOB_ERROR
    url, report = args
    return update(url, Path(report), Path.cwd(), deadline=deadline)


if __name__ == "__main__":
    raise SystemExit(main())
