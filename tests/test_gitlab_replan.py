"""A re-plan of a GitLab fleet fetches only the projects whose listing says they may have moved
(pipeline/activity.py), against the simulator, which moves `last_activity_at` as GitLab does: at
most once an hour. Real HTTP, real git, real Helm; what is counted is what the simulator served."""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from migrator import config, credentials, demo, git
from migrator.cli import run_plan
from migrator.journal import Journal
from migrator.model import FleetPlan
from migrator.workdir import WorkDir
from testsupport.gitlab_sim import GitLabSim

TOKEN = "glpat-replanToken00000001"
PROJECTS = ("shop/billing", "shop/orders")


@pytest.fixture
def sim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fleet_dir: Path) -> Iterator[GitLabSim]:
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    with GitLabSim(tmp_path / "sim") as running:
        running.add_token(TOKEN, user="migrator-bot")
        for name in PROJECTS:
            running.add_project(name, source_repo=fleet_dir / name.split("/")[1])
        yield running


def _settings(sim: GitLabSim, central: demo.CentralSources, tmp_path: Path,
              out: str) -> config.PlanSettings:
    return config.plan_settings({}, config.PlanFlags(
        repos=config.FleetFlags(gitlab_url=sim.url, group="shop"), central=central.repo_dir,
        target_version="2.0.0", families=central.families_dir, out=tmp_path / out,
        work=tmp_path / "work", jobs=2))


def _plan(sim: GitLabSim, central: demo.CentralSources, tmp_path: Path,
          out: str) -> tuple[FleetPlan, list[str]]:
    """A plan of the group into `out`, and the projects git fetched from the simulator."""
    sim.reset_log()
    fleet = run_plan(_settings(sim, central, tmp_path, out), quiet=True)
    fetched = sorted({r.path.removesuffix(".git/git-upload-pack").strip("/")
                      for r in sim.requests if r.path.endswith(".git/git-upload-pack")})
    assert sim.errors == []
    return fleet, fetched


def _push(sim: GitLabSim, project: str, tmp_path: Path) -> str:
    """A commit pushed to the project's default branch over HTTP, as a person would."""
    clone = tmp_path / f"push-{project.replace('/', '-')}"
    env = credentials.git_env(origin=sim.url)
    if not clone.exists():
        git.run(["clone", "--quiet", f"{sim.url}/{project}.git", str(clone)], env=env)
    notes = clone / "NOTES.md"
    notes.write_text(notes.read_text() + "more\n" if notes.exists() else "notes\n")
    git.run(["add", "NOTES.md"], cwd=clone)
    git.run(["-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "--quiet",
             "-m", "notes"], cwd=clone)
    git.run(["push", "--quiet", "origin", "HEAD"], cwd=clone, env=env)
    sha = git.run(["rev-parse", "HEAD"], cwd=clone).strip()
    assert sim.branches(project)[sim.project(project).default_branch] == sha
    return sha


def _files(root: Path) -> dict[str, bytes]:
    """The reports under `root`, timings and the folder's own path masked."""
    return {p.relative_to(root).as_posix(): re.sub(
                rb'"seconds": [0-9.e-]+|time="[0-9.]+"', b"",
                p.read_bytes().replace(str(root).encode(), b"<out>"))
            for p in sorted(root.rglob("*")) if p.is_file()}


def _commits(fleet: FleetPlan) -> dict[str, str | None]:
    return {p.repo.name: p.commit for p in fleet.repos}


def test_a_replan_of_an_unmoved_fleet_fetches_nothing_and_writes_the_same_reports(
        sim: GitLabSim, central_sources: demo.CentralSources, tmp_path: Path) -> None:
    for name in PROJECTS:
        sim.age_project(name)  # quiet for two hours already
    first, fetched = _plan(sim, central_sources, tmp_path, "one")
    assert fetched == list(PROJECTS)
    with Journal.open(WorkDir(tmp_path / "work")) as journal:
        recorded = {p.repo.name: journal.fetch_record(p.repo.slug) for p in first.repos}
    assert {n: r.commit if r else None for n, r in recorded.items()} == _commits(first)

    again, fetched = _plan(sim, central_sources, tmp_path, "two")
    assert fetched == []
    assert not [r for r in sim.requests if ".git/" in r.path]  # not even a ref listing
    assert _commits(again) == _commits(first)
    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert len(one) >= 10 and one.keys() == two.keys()
    assert [name for name in one if one[name] != two[name]] == []


def test_a_push_that_moved_an_old_stamp_is_fetched_and_planned_again(
        sim: GitLabSim, central_sources: demo.CentralSources, tmp_path: Path) -> None:
    for name in PROJECTS:
        sim.age_project(name)
    first, _ = _plan(sim, central_sources, tmp_path, "one")
    stamp = sim.project("shop/orders").last_activity_at
    pushed = _push(sim, "shop/orders", tmp_path)
    assert sim.project("shop/orders").last_activity_at > stamp  # it was old: it moved

    again, fetched = _plan(sim, central_sources, tmp_path, "two")
    assert fetched == ["shop/orders"]
    assert _commits(again) == {**_commits(first), "shop/orders": pushed}
    report = (tmp_path / "two" / "repos" / "shop__orders" / "report.md").read_text()
    assert f"commit {pushed[:12]}" in report


def test_a_push_within_the_hour_leaves_the_stamp_yet_the_project_is_fetched_again(
        sim: GitLabSim, central_sources: demo.CentralSources, tmp_path: Path) -> None:
    """The exactness case: the stamp was recent when the clone was fetched, so GitLab did not
    move it for the push that followed; an unchanged stamp proves nothing then."""
    sim.age_project("shop/billing")
    first, _ = _plan(sim, central_sources, tmp_path, "one")
    stamp = sim.project("shop/orders").last_activity_at
    pushed = _push(sim, "shop/orders", tmp_path)
    assert sim.project("shop/orders").last_activity_at == stamp  # throttled, as GitLab does

    again, fetched = _plan(sim, central_sources, tmp_path, "two")
    assert fetched == ["shop/orders"]
    assert _commits(again) == {**_commits(first), "shop/orders": pushed}
    report = (tmp_path / "two" / "repos" / "shop__orders" / "report.md").read_text()
    assert f"commit {pushed[:12]}" in report
    # Set back (by hand: a test cannot wait an hour), the stamp differs from the one recorded:
    # fetched once more, and from then on left alone.
    sim.set_last_activity("shop/orders", datetime.now(UTC) - timedelta(hours=3))
    third, fetched = _plan(sim, central_sources, tmp_path, "three")
    assert fetched == ["shop/orders"] and _commits(third)["shop/orders"] == pushed
    _, fetched = _plan(sim, central_sources, tmp_path, "four")
    assert fetched == []


def test_fresh_and_a_missing_clone_fetch_whatever_the_stamp_says(
        sim: GitLabSim, central_sources: demo.CentralSources, tmp_path: Path) -> None:
    for name in PROJECTS:
        sim.age_project(name)
    _plan(sim, central_sources, tmp_path, "one")
    sim.reset_log()
    run_plan(dataclasses.replace(_settings(sim, central_sources, tmp_path, "two"), fresh=True),
             quiet=True)
    assert {r.path for r in sim.requests if r.path.endswith("git-upload-pack")} == {
        f"/{n}.git/git-upload-pack" for n in PROJECTS}
    shutil.rmtree(WorkDir(tmp_path / "work").clone("shop__orders"))
    _, fetched = _plan(sim, central_sources, tmp_path, "three")
    assert fetched == ["shop/orders"]


def test_a_fetch_that_does_not_finish_leaves_no_record_to_vouch_for_its_clone(
        sim: GitLabSim, central_sources: demo.CentralSources, tmp_path: Path) -> None:
    """The record of a project's last fetch goes before a new fetch starts, so a fetch that
    fails, or a run that dies in the middle of one, leaves the project to be fetched again."""
    for name in PROJECTS:
        sim.age_project(name)
    _plan(sim, central_sources, tmp_path, "one")
    sim.set_last_activity("shop/orders", datetime.now(UTC) - timedelta(minutes=90))
    sim.faults.fail_next(1000, status=500, path=r"^/shop/orders\.git/")
    failed, _ = _plan(sim, central_sources, tmp_path, "two")
    assert {p.repo.name: p.verdict.value for p in failed.repos}["shop/orders"] == "error"
    with Journal.open(WorkDir(tmp_path / "work")) as journal:
        assert journal.fetch_record("shop__orders") is None
        assert journal.fetch_record("shop__billing") is not None
    sim.faults.clear()
    _, fetched = _plan(sim, central_sources, tmp_path, "three")
    assert fetched == ["shop/orders"]
