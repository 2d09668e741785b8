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
from tools.specupdate import Check, Verdict

from .support import ROOT, SNAPSHOT, VENV, mutated, new_endpoint, removed_field

WORKFLOW_PATH = ROOT / ".github" / "workflows" / "regenerate.yml"
TEXT = WORKFLOW_PATH.read_text()
WORKFLOW: dict[Any, Any] = yaml.safe_load(TEXT)
JOBS: dict[str, Any] = WORKFLOW["jobs"]
STEPS: list[dict[str, Any]] = next(iter(JOBS.values()))["steps"]
_PASS, _FAIL = Check("t", passed=True, output=""), Check("t", passed=False, output="")
_VERDICTS = [
    Verdict(diff_specs(SNAPSHOT, spec), spec_changed=changed, code_changed=code, checks=checks)
    for spec in (SNAPSHOT, mutated(new_endpoint), mutated(removed_field))
    for changed in (False, True)
    for code in ((), ("x.py",))
    for checks in ((), (_PASS,), (_FAIL,))
]
# The values `tools.specupdate` can write for each step output ("refused" and "error"
# come from its early stops).
OUTPUT_VALUES = {
    "change": {v.change for v in _VERDICTS} | {"refused", "error"},
    "tests": {v.tests_outcome for v in _VERDICTS},
    "status": {str(v.exit_status) for v in _VERDICTS} | {"2", "4"},
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
    assert any(str(step.get("uses", "")).startswith("actions/setup-python@") for step in STEPS)
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
    options = create["with"]
    assert "${{" not in TEXT.split("BRANCH:", 1)[1].splitlines()[0]  # one fixed branch
    assert options["branch"] == "${{ env.BRANCH }}"
    assert options["body-path"] == "${{ runner.temp }}/spec-report.md"  # $RUNNER_TEMP in run:
    assert options["add-paths"] == "generated"
    assert options["token"] == "${{ secrets.SPEC_UPDATE_TOKEN || github.token }}"


def test_the_token_the_pull_request_needs_for_ci_is_documented() -> None:
    assert "GITHUB_TOKEN triggers no other workflow" in TEXT
    assert "SPEC_UPDATE_TOKEN" in TEXT.split("name:", 1)[0]


def test_maintainers_commits_on_the_branch_are_kept() -> None:
    create = _step("peter-evans/create-pull-request")
    assert create["if"] == "steps.branch.outputs.maintainer_commits == '0'"
    check = _step(step_id="branch")["run"]
    assert 'grep -vxF "$BOT_EMAIL"' in check
    assert STEPS.index(_step(step_id="branch")) < STEPS.index(_step(step_id="update"))


def test_labels_follow_the_verdict_and_stale_ones_are_removed() -> None:
    (labels,) = [s for s in STEPS if "--remove-label" in s.get("run", "")]
    assert STEPS.index(labels) > STEPS.index(_step("peter-evans/create-pull-request"))
    for label in ("breaking-change", "additive", "generator-change", "tests-failing"):
        assert label in labels["run"]


def test_no_pull_request_when_the_spec_was_refused_or_the_job_failed() -> None:
    stop = STEPS[STEPS.index(_step(step_id="update")) + 1]
    assert "steps.update.outputs.status == ''" in stop["if"]
    assert "steps.update.outputs.status == '4'" in stop["if"]
    assert "steps.update.outputs.status == '2'" in stop["if"]
    assert "exit 1" in stop["run"]


def test_expressions_read_outputs_that_spec_update_writes() -> None:
    assert TEXT.count("${{") == TEXT.count("}}")
    references = re.findall(r"steps\.(\w+)\.outputs\.([\w-]+)(?: [!=]= '([^']*)')?", TEXT)
    assert references
    for step_id, output, compared_to in references:
        if step_id != "update":
            assert (step_id, output) in {
                ("branch", "maintainer_commits"),
                ("pr", "pull-request-number"),
            }
            continue
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
    assert (
        '-m tools.specupdate "https://sign.pacta.ink/api/v1/openapi" "/somewhere/report.md"'
        in dry_run.stdout
    )


def test_the_job_commits_as_the_identity_the_branch_check_expects() -> None:
    options = _step("peter-evans/create-pull-request")["with"]
    expected = "github-actions[bot] <${{ env.BOT_EMAIL }}>"
    assert (options["author"], options["committer"]) == (expected, expected)
