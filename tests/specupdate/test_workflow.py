"""`.github/workflows/regenerate.yml` cannot run here, so its structure is checked instead.

What matters: it is valid YAML with the triggers, permissions and steps GitHub expects;
every action is pinned; it reads the step outputs `tools.specupdate` writes, with the values
it writes; the pull request's body is the file `make spec-update` wrote.
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

import yaml

from tools.specdiff import diff_specs
from tools.specupdate import SuiteRun, Verdict

from .support import ROOT, SNAPSHOT, VENV, mutated, new_endpoint, removed_field

WORKFLOW_PATH = ROOT / ".github" / "workflows" / "regenerate.yml"
TEXT = WORKFLOW_PATH.read_text()
WORKFLOW: dict[Any, Any] = yaml.safe_load(TEXT)
JOBS: dict[str, Any] = WORKFLOW["jobs"]
STEPS: list[dict[str, Any]] = next(iter(JOBS.values()))["steps"]
# The values `tools.specupdate` can write for each step output.
OUTPUT_VALUES = {
    "change": {
        Verdict(diff_specs(SNAPSHOT, spec), tests).change
        for spec in (SNAPSHOT, mutated(new_endpoint), mutated(removed_field))
        for tests in (None, SuiteRun(passed=True, output=""))
    },
    "tests": {
        Verdict(diff_specs(SNAPSHOT, SNAPSHOT), tests).tests_outcome
        for tests in (None, SuiteRun(passed=True, output=""), SuiteRun(passed=False, output=""))
    },
}


def _step(uses_prefix: str = "", step_id: str = "") -> dict[str, Any]:
    (step,) = [
        s
        for s in STEPS
        if (uses_prefix and str(s.get("uses", "")).startswith(uses_prefix))
        or (step_id and s.get("id") == step_id)
    ]
    return step


def test_triggers_daily_and_by_hand() -> None:
    triggers = WORKFLOW[True]  # YAML 1.1 reads the key `on` as true; GitHub reads it as "on"
    assert set(triggers) == {"schedule", "workflow_dispatch"}
    (schedule,) = triggers["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert 0 <= int(minute) <= 59
    assert 0 <= int(hour) <= 23
    assert (day, month, weekday) == ("*", "*", "*")


def test_permissions_are_minimal() -> None:
    assert WORKFLOW["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert all("permissions" not in job for job in JOBS.values())


def test_one_job_sets_up_python_311_and_runs_make_spec_update() -> None:
    assert len(JOBS) == 1
    assert STEPS[0]["uses"].startswith("actions/checkout@")
    assert STEPS[1]["uses"].startswith("actions/setup-python@")
    assert _step("actions/setup-python")["with"]["python-version"] == "3.11"  # a string
    run = _step(step_id="update")["run"]
    assert 'make spec-update SPEC_REPORT="$RUNNER_TEMP/spec-report.md" ||' in run


def test_every_action_is_pinned() -> None:
    for step in STEPS:
        if "uses" not in step:
            continue
        action, _, ref = step["uses"].partition("@")
        if action.startswith("actions/"):
            assert re.fullmatch(r"v\d+\.\d+\.\d+", ref), step["uses"]
        else:  # third-party: a commit, with its version beside it for humans
            assert re.fullmatch(r"[0-9a-f]{40}", ref), step["uses"]
            assert re.search(rf"{action}@{ref} # v\d+\.\d+\.\d+\n", TEXT)


def test_the_pull_request_uses_one_branch_and_the_report() -> None:
    create = _step("peter-evans/create-pull-request")
    assert create is STEPS[-1]
    options = create["with"]
    assert "${{" not in options["branch"]  # fixed, so reruns update one pull request
    assert options["body-path"] == "${{ runner.temp }}/spec-report.md"  # $RUNNER_TEMP in run:
    assert options["add-paths"] == "generated"
    assert options["delete-branch"] is True
    assert "'breaking-change'" in options["labels"]
    assert "'additive'" in options["labels"]


def test_no_pull_request_when_make_stopped_before_regenerating() -> None:
    stop = STEPS[STEPS.index(_step(step_id="update")) + 1]
    assert stop["if"] == "steps.update.outputs.change == ''"
    assert "exit 1" in stop["run"]


def test_expressions_read_outputs_that_spec_update_writes() -> None:
    assert TEXT.count("${{") == TEXT.count("}}")
    references = re.findall(r"steps\.(\w+)\.outputs\.(\w+)(?: == '([^']*)')?", TEXT)
    assert references
    for step_id, output, compared_to in references:
        assert step_id == "update"
        assert output in OUTPUT_VALUES
        assert compared_to in OUTPUT_VALUES[output] | {""}


def test_the_makefile_has_the_target_and_the_report_variable() -> None:
    venv = [f"VENV={VENV}", "-o", f"{VENV}/.synced"]
    dry_run = subprocess.run(
        ["make", "-n", "-C", str(ROOT), *venv, "spec-update", "SPEC_REPORT=/somewhere/report.md"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert dry_run.returncode == 0, dry_run.stderr
    assert 'generated/openapi.json "/somewhere/report.md"' in dry_run.stdout
