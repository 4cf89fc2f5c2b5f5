"""migrator status against the GitLab simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from migrator import git
from migrator.credentials import git_env
from migrator.forge.gitlab import GitLabForge
from migrator.gitlab_api import GitLabSettings, RetryPolicy
from migrator.journal import Journal
from migrator.model import Verdict
from migrator.track.status import TrackSettings, status, summarize
from migrator.workdir import WorkDir
from tests.forge.fleetkit import HUMAN
from tests.forge.simfleet import BRANCH, TOKEN, Fleet, start_fleet
from testsupport.gitlab_sim import GitLabSim

FLEET = {"platform/apps/orders": Verdict.READY, "platform/apps/checkout": Verdict.REVIEW,
         "platform/apps/payments": Verdict.READY, "platform/apps/search": Verdict.READY,
         "platform/apps/legacy/mailer": Verdict.BLOCKED}


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fleet]:
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    with GitLabSim(tmp_path / "sim") as sim:
        applied = start_fleet(tmp_path, sim, FLEET)
        applied.apply()
        yield applied


def developer_push(fleet: Fleet, tmp_path: Path, path: str, branch: str, file: str,
                   text: str) -> str:
    fleet.sim.add_token("dev-token-98765", user="dana")
    dev = tmp_path / "dev" / path
    env = {**HUMAN, "DEV_TOKEN": "dev-token-98765", **git_env("DEV_TOKEN", origin=fleet.sim.url)}
    git.run(["clone", "--quiet", "--branch", branch, f"{fleet.sim.url}/{path}.git", str(dev)],
            env=env)
    (dev / file).write_text(text)
    git.run(["commit", "--quiet", "-am", f"edit {file}"], cwd=dev, env=env)
    git.run(["push", "--quiet", "origin", branch], cwd=dev, env=env)
    return git.head(dev)


def settings(fleet: Fleet) -> TrackSettings:
    return TrackSettings(forge=GitLabSettings(fleet.sim.url))


def test_status_shows_state_draft_pipeline_conflicts_and_people_at_work(
        fleet: Fleet, tmp_path: Path) -> None:
    sim = fleet.sim
    gl = GitLabForge(GitLabSettings(sim.url)).gl
    orders_iid = fleet.open_mrs("platform/apps/orders")[0].iid
    sim.set_pipeline("platform/apps/orders", orders_iid, status="success")
    gl.projects.get("platform/apps/orders").mergerequests.get(orders_iid).merge()
    checkout_iid = fleet.open_mrs("platform/apps/checkout")[0].iid
    sim.set_pipeline("platform/apps/checkout", checkout_iid, status="failed")
    # someone changes the CI file on main: the payments MR now conflicts
    developer_push(fleet, tmp_path, "platform/apps/payments", "main", ".gitlab-ci.yml",
                   "deploy:\n  script: [echo changed]\n")
    # someone pushes to the bot's branch of search
    developer_push(fleet, tmp_path, "platform/apps/search", BRANCH, "deploy/values.yaml",
                   "replicaCount: 9\n")

    with Journal.open(fleet.work) as journal:
        rows = {s.repo: s for s in status(fleet.repos, settings(fleet), journal)}
    orders, checkout = rows["platform/apps/orders"], rows["platform/apps/checkout"]
    assert (orders.state, orders.iid, orders.pipeline) == ("merged", orders_iid, "success")
    assert orders.web_url and orders.web_url.endswith(f"/merge_requests/{orders_iid}")
    assert (checkout.state, checkout.draft, checkout.pipeline) == ("opened", True, "failed")
    payments = rows["platform/apps/payments"]
    assert payments.has_conflicts and payments.detailed_merge_status == "conflict"
    assert rows["platform/apps/search"].needs_attention
    assert not checkout.needs_attention
    assert rows["platform/apps/legacy/mailer"].state == "none"
    assert summarize(list(rows.values())) == {
        "merged": 1, "none": 1, "opened": 3, "needs-attention": 1, "conflicts": 1,
        "pipeline-failed": 1}


def test_status_reads_one_merge_request_per_repo_and_writes_nothing(fleet: Fleet) -> None:
    fleet.sim.reset_log()
    with Journal.open(fleet.work) as journal:
        rows = status(fleet.repos, settings(fleet), journal)
    with_mr = [r for r in rows if r.iid is not None]
    assert len(with_mr) == 4
    api = [r for r in fleet.sim.requests if r.path.startswith("/api/")]
    assert len(api) == len(with_mr)  # the blocked repo has no branch recorded: no lookup
    assert all(r.method == "GET" for r in api)


def test_status_without_a_journal_finds_merge_requests_by_branch(fleet: Fleet,
                                                                 tmp_path: Path) -> None:
    with Journal.open(WorkDir(tmp_path / "elsewhere")) as journal:
        rows = status(fleet.repos, TrackSettings(forge=GitLabSettings(fleet.sim.url),
                                                 branch=BRANCH), journal)
    assert [r.state for r in rows] == ["opened", "none", "opened", "opened", "opened"]
    assert rows[0].pipeline is None and rows[0].iid == 1


def test_a_repo_gitlab_fails_on_is_an_error_row_and_the_rest_go_on(fleet: Fleet) -> None:
    project = fleet.sim.project("platform/apps/orders")
    fleet.sim.faults.fail_next(100, status=500, path=rf"^/api/v4/projects/{project.id}/")
    slow = TrackSettings(forge=GitLabSettings(fleet.sim.url, retry=RetryPolicy(backoff=0.01)))
    with Journal.open(fleet.work) as journal:
        rows = {s.repo: s for s in status(fleet.repos, slow, journal)}
    assert rows["platform/apps/orders"].state == "error"
    assert rows["platform/apps/orders"].cause.startswith("platform/apps/orders: ")
    assert rows["platform/apps/payments"].state == "opened"


def test_rows_serialise_for_json_output(fleet: Fleet) -> None:
    with Journal.open(fleet.work) as journal:
        row = status(fleet.repos[:1], settings(fleet), journal)[0]
    data = row.as_dict()
    assert set(data) >= {"repo", "state", "iid", "web_url", "draft", "pipeline",
                         "detailed_merge_status", "has_conflicts", "needs_attention"}
