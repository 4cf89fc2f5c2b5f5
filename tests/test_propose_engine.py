"""The whole of `apply` with the real engine: fixture repos hosted on the GitLab simulator,
planned by the pipeline (real Helm), proposed as merge requests, then re-planned and re-applied."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from migrator import config, demo
from migrator.credentials import git_env
from migrator.discover.gitlab import GitLabFleetSettings, list_repos
from migrator.gitlab_api import GitLabSettings
from migrator.model import FleetPlan, RepoRef, Verdict
from migrator.pipeline import fleet as pipeline
from migrator.propose.apply import run_apply, summarize
from migrator.propose.describe import marked_plan
from migrator.propose.settings import ProposeSettings
from migrator.report.markdown import repo_markdown
from migrator.workdir import WorkDir
from tests.forge.fleetkit import git_out
from testsupport.gitlab_sim import GitLabSim

TOKEN = "glpat-engineToken0000001"
CASES = ("billing", "orders", "accounts", "docs-site")


@pytest.fixture
def hosted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
           fleet_dir: Path) -> Iterator[tuple[GitLabSim, list[RepoRef]]]:
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    with GitLabSim(tmp_path / "sim") as sim:
        sim.add_token(TOKEN, user="migrator-bot")
        for case in CASES:
            sim.add_project(f"shop/{case}", source_repo=fleet_dir / case)
        yield sim, list_repos(GitLabFleetSettings(GitLabSettings(sim.url), group="shop"))


def plan(repos: list[RepoRef], central: demo.CentralSources, work: WorkDir,
         origin: str) -> FleetPlan:
    settings = config.plan_settings({}, config.PlanFlags(
        repos=config.FleetFlags(fleet=work.root), central=central.repo_dir,
        target_version="2.0.0", out=work.root / "out", work=work.root, jobs=2))
    return pipeline.plan_fleet(repos, settings, git_env=git_env(origin=origin))


def test_engine_plans_become_merge_requests_and_a_second_run_changes_nothing(
        hosted: tuple[GitLabSim, list[RepoRef]], central_sources: demo.CentralSources,
        tmp_path: Path) -> None:
    sim, repos = hosted
    work = WorkDir(tmp_path / "work")
    fleet = plan(repos, central_sources, work, sim.url)
    verdicts = {p.repo.name: p.verdict for p in fleet.repos}
    assert verdicts == {"shop/accounts": Verdict.BLOCKED, "shop/billing": Verdict.READY,
                        "shop/docs-site": Verdict.SKIPPED, "shop/orders": Verdict.READY}
    clones = {r.slug: work.clone(r.slug) for r in repos}
    settings = ProposeSettings(forge=GitLabSettings(sim.url), plan_id=fleet.plan_id,
                               tool_version=fleet.tool_version)
    outcomes = run_apply(fleet.repos, fleet.central, settings, work, clones)
    assert summarize(outcomes) == {"created": 2, "not-eligible": 2}

    for repo_plan in fleet.repos:
        mrs = sim.merge_requests(repo_plan.repo.name)
        if repo_plan.verdict is not Verdict.READY:
            assert mrs == []
            continue
        (mr,) = mrs
        report = repo_markdown(repo_plan, fleet.central, plan_id=fleet.plan_id,
                               tool_version=fleet.tool_version)
        assert mr.description and mr.description.startswith(report)
        assert marked_plan(mr.description) == repo_plan.plan_hash
        assert mr.title.startswith("Use the central chart app-template 2.0.0")
        # the pushed branch holds exactly the planned change set on top of the planned commit
        bare = sim.repo_path(repo_plan.repo.name)
        head = sim.branches(repo_plan.repo.name)[mr.source_branch]
        assert git_out(bare, "rev-parse", f"{head}^") == repo_plan.commit
        pushed = git_out(bare, "diff", "--binary", f"{head}^", head)
        assert pushed.strip() == (repo_plan.patch or "").strip()

    sim.reset_log()
    again = plan(repos, central_sources, work, sim.url)
    assert [p.plan_hash for p in again.repos] == [p.plan_hash for p in fleet.repos]
    second = run_apply(again.repos, again.central, settings, work, clones)
    assert summarize(second) == {"not-eligible": 2, "unchanged": 2}
    assert not [r for r in sim.requests if r.path.startswith("/api/")
                and r.method in ("POST", "PUT", "DELETE")]
    assert not [r for r in sim.requests if r.path.endswith("git-receive-pack")]
