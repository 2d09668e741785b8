"""Judge a spec update for `make spec-update`: is it breaking, and does the SDK still pass?

The Makefile pulls the live spec and regenerates the client (it owns the generator's
command line, shared with `make generate`), then hands this module the snapshot it
replaced and the new one. This module classifies the change, runs the test suite
against the regenerated client and writes the one report a reviewer reads, so that a
scheduled job can open a pull request that says at a glance whether merging is safe.

A breaking change is still regenerated: the pull request is where a human sees it.
The exit status says what the reviewer has to do:

- 0: nothing, or merge: the spec is unchanged, or it changed without breaking anything
  and the tests pass;
- 1: review: breaking changes (the tests may pass or fail, the report says which);
- 3: fix the wrapper: nothing is breaking, yet the tests fail against the new client;
- 2: bad input: a snapshot that cannot be read, a report that cannot be written. The
  Makefile stops with 2 too, before this step and with nothing changed, on a bad pull
  or a spec the generator refuses.

`make` turns any failing status into its own 2; the recipe's status shows in its
``Error N`` line. So that CI need not parse either, on GitHub Actions (``GITHUB_OUTPUT``
set) the verdict also becomes the step outputs ``change`` (unchanged, info, additive or
breaking) and ``tests`` (passed, failed or skipped), which the workflow turns into
pull-request labels.

Usage: ``python -m tools.specupdate OLD NEW REPORT.md``, run from the
project's root: the tests run there, against the client in ``generated/``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import attrs

from .specdiff import SpecDiff, diff_specs
from .specpull import SpecError, load_spec

__all__ = ["SuiteRun", "Verdict", "judge", "main", "run_tests"]

SAFE, BREAKING, BAD_INPUT, TESTS_FAIL = 0, 1, 2, 3
# The end of pytest's output holds the failures' summary; the rest is in the CI log.
_TAIL_LINES = 60
_MAKE_STATE = frozenset({"MAKEFLAGS", "MFLAGS", "MAKELEVEL"})


@attrs.frozen
class SuiteRun:
    """The test suite's result against the regenerated client."""

    passed: bool
    output: str

    @property
    def summary(self) -> str:
        """pytest's last line, e.g. ``169 passed in 6.22s``."""
        lines = self.output.strip().splitlines()
        return lines[-1].strip("= ") if lines else "no output"

    @property
    def tail(self) -> str:
        return "\n".join(self.output.rstrip().splitlines()[-_TAIL_LINES:])


@attrs.frozen
class Verdict:
    """What a spec update means; ``tests`` is None when the spec is unchanged."""

    diff: SpecDiff
    tests: SuiteRun | None

    @property
    def change(self) -> str:
        if self.tests is None:
            return "unchanged"
        if self.diff.breaking:
            return "breaking"
        return "additive" if self.diff.additive else "info"

    @property
    def tests_outcome(self) -> str:
        if self.tests is None:
            return "skipped"
        return "passed" if self.tests.passed else "failed"

    @property
    def exit_status(self) -> int:
        if self.diff.breaking:
            return BREAKING
        if self.tests is not None and not self.tests.passed:
            return TESTS_FAIL
        return SAFE

    def headline(self) -> str:
        if self.tests is None:
            return "The live spec matches the snapshot: nothing changed."
        if self.diff.breaking:
            return "Breaking changes: the client was regenerated anyway, for review before merging."
        if not self.tests.passed:
            return "No breaking changes, but the tests fail against the regenerated client."
        return "No breaking changes, and the tests pass against the regenerated client."

    def to_text(self) -> str:
        lines = [f"spec update: {self.headline()}", "", self.diff.to_text().rstrip(), ""]
        if self.tests is None:
            lines.append("Tests: not run (the spec is unchanged).")
        elif self.tests.passed:
            lines.append(f"Tests: passed ({self.tests.summary}).")
        else:
            lines += [f"Tests: FAILED ({self.tests.summary}). The end of pytest's output:", ""]
            lines.append(self.tests.tail)
        return "\n".join(lines) + "\n"

    def to_markdown(self) -> str:
        """The pull request's body."""
        lines = [f"# Spec update: {self.change}", "", self.headline(), ""]
        lines += [self.diff.to_markdown().rstrip(), "", "## Tests", ""]
        if self.tests is None:
            lines.append("Not run: the spec is unchanged.")
        elif self.tests.passed:
            lines.append(f"The tests pass against the regenerated client: {self.tests.summary}.")
        else:
            lines += [
                f"**The tests fail against the regenerated client:** {self.tests.summary}.",
                "",
                "<details><summary>The end of pytest's output</summary>",
                "",
                _fenced(self.tests.tail),
                "",
                "</details>",
            ]
        return "\n".join(lines) + "\n"


def run_tests(project: Path) -> SuiteRun:
    """Run the project's test suite against the client in ``project/generated``.

    PYTHONPATH puts that folder first because the installed package may point at
    another copy of the project: a scratch copy shares the main checkout's venv.
    """
    env = _test_environment()
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(project / "generated"), env.get("PYTHONPATH")) if part
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return SuiteRun(passed=result.returncode == 0, output=result.stdout + result.stderr)


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


def judge(old: Path, new: Path, project: Path) -> Verdict:
    """Classify the change from `old` to `new`; run the tests unless nothing changed.

    "Unchanged" means byte-identical: both files are written by `specpull.write_spec`,
    and a reordering the diff cannot see may still change the generated code.
    """
    diff = diff_specs(load_spec(old), load_spec(new))
    if old.read_bytes() == new.read_bytes():
        return Verdict(diff=diff, tests=None)
    return Verdict(diff=diff, tests=run_tests(project))


def _fenced(text: str) -> str:
    """A Markdown code block that the text itself cannot close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _set_step_outputs(verdict: Verdict) -> None:
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a", encoding="utf-8") as outputs:
            outputs.write(f"change={verdict.change}\ntests={verdict.tests_outcome}\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 3:
        print("usage: python -m tools.specupdate OLD NEW REPORT.md", file=sys.stderr)
        return BAD_INPUT
    old, new, report = (Path(arg) for arg in args)
    try:
        verdict = judge(old, new, Path.cwd())
    except SpecError as exc:
        print(f"spec update failed: {exc}", file=sys.stderr)
        return BAD_INPUT
    sys.stdout.write(verdict.to_text())
    try:
        report.write_text(verdict.to_markdown(), encoding="utf-8")
    except OSError as exc:
        print(f"spec update failed: cannot write {report}: {exc.strerror or exc}", file=sys.stderr)
        return BAD_INPUT
    print(f"The report for the pull request is in {report}.")
    _set_step_outputs(verdict)
    return verdict.exit_status


if __name__ == "__main__":
    raise SystemExit(main())
