"""The simulator moves a project's `last_activity_at` as GitLab does: on an event, only when the
stamp is at least an hour old (`Event#reset_project_activity`)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.testsupport.test_gitlab_sim import (  # noqa: F401 - the fixture
    RW,
    client,
    commit_file,
    git,
    run_git,
    source_repo,
)
from testsupport.gitlab_sim import GitLabSim

PROJECT = "platform/apps/orders"


@pytest.fixture
def sim(tmp_path: Path, source_repo: Path) -> Iterator[GitLabSim]:  # noqa: F811
    with GitLabSim(tmp_path / "sim") as running:
        running.add_token(RW, scopes=("api",), user="migrator-bot")
        running.add_project(PROJECT, source_repo=source_repo)
        yield running
        assert running.errors == []


def _listed(sim: GitLabSim) -> str:
    """The stamp as a client reads it from the group listing."""
    (project,) = client(sim).groups.get("platform").projects.list(include_subgroups=True)
    stamp: str = project.attributes["last_activity_at"]
    return stamp


def _push(sim: GitLabSim, tmp_path: Path, name: str) -> None:
    clone = tmp_path / "clone"
    if not clone.exists():
        cloned = run_git("clone", "-q", f"{sim.url}/{PROJECT}.git", str(clone), cwd=tmp_path,
                         token=RW)
        assert cloned.returncode == 0, cloned.stderr
        git("config", "user.email", "dev@example.com", cwd=clone)
        git("config", "user.name", "Dev", cwd=clone)
    commit_file(clone, name, name, f"Add {name}")
    pushed: subprocess.CompletedProcess[str] = run_git("push", "-q", "origin", "main",
                                                       cwd=clone, token=RW)
    assert pushed.returncode == 0, pushed.stderr


def test_a_push_within_the_hour_leaves_the_stamp_and_one_after_it_moves_it(
        sim: GitLabSim, tmp_path: Path) -> None:
    created = _listed(sim)
    _push(sim, tmp_path, "one.txt")
    assert _listed(sim) == created  # the project was active less than an hour ago

    aged = sim.age_project(PROJECT)
    assert _listed(sim) == aged < created
    before = datetime.now(UTC)
    _push(sim, tmp_path, "two.txt")
    moved = datetime.fromisoformat(_listed(sim))
    assert before - timedelta(seconds=1) <= moved <= datetime.now(UTC)
    _push(sim, tmp_path, "three.txt")
    assert datetime.fromisoformat(_listed(sim)) == moved  # and it is recent again


def test_api_events_are_throttled_alike(sim: GitLabSim) -> None:
    project = client(sim).projects.get(PROJECT)
    created = _listed(sim)
    project.branches.create({"branch": "topic", "ref": "main"})
    assert _listed(sim) == created
    sim.set_last_activity(PROJECT, datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC))
    assert _listed(sim) == "2024-05-01T10:00:00.123Z"  # GitLab's shape
    project.mergerequests.create({"source_branch": "feature", "target_branch": "main",
                                  "title": "Feature"})
    assert datetime.fromisoformat(_listed(sim)) > datetime.now(UTC) - timedelta(minutes=1)
