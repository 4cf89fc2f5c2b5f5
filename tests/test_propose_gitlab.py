"""apply against the GitLab simulator: real HTTP, real git pushes, python-gitlab as in use."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrator import git
from migrator.credentials import git_env
from migrator.discover.gitlab import GitLabFleetSettings, list_repos
from migrator.forge import MrInfo
from migrator.forge.gitlab import GitLabForge
from migrator.gitlab_api import GitLabSettings
from migrator.journal import Journal
from migrator.model import RepoRef
from migrator.propose.apply import propose, summarize
from migrator.propose.describe import NOTE_MARKER, PLAN_TRAILER, marked_plan
from migrator.propose.settings import ProposeSettings
from migrator.workdir import WorkDir
from tests.forge.fleetkit import (
    CENTRAL,
    ELIGIBLE,
    HUMAN,
    SIM_FLEET,
    clone_all,
    describe,
    git_out,
    seed_sim_fleet,
)
from tests.forge.simfleet import (
    BRANCH,
    SMALL,
    TOKEN,
    Fleet,
    start_fleet,
)
from testsupport.gitlab_sim import GitLabSim


@pytest.fixture
def sim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GitLabSim]:
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    with GitLabSim(tmp_path / "sim") as running:
        yield running


@pytest.fixture
def fleet(tmp_path: Path, sim: GitLabSim) -> Fleet:
    """The 13-project fleet (11 of them eligible), in subgroups of `platform`."""
    return start_fleet(tmp_path, sim, SIM_FLEET)


@pytest.fixture
def small(tmp_path: Path, sim: GitLabSim) -> Fleet:
    """One repo per verdict that matters: ready, review, blocked, skipped."""
    return start_fleet(tmp_path, sim, SMALL)


def test_apply_opens_exactly_one_merge_request_per_eligible_repo(fleet: Fleet) -> None:
    outcomes = fleet.apply()
    assert [r.name for r in fleet.repos] == sorted(SIM_FLEET)
    assert summarize(outcomes) == {"created": len(ELIGIBLE), "not-eligible": 2}
    for path in SIM_FLEET:
        assert len(fleet.mrs(path)) == (1 if path in ELIGIBLE else 0), path
    checkout = fleet.open_mrs("platform/apps/checkout")[0]
    assert checkout.title.startswith("Draft: ")
    orders = fleet.open_mrs("platform/apps/orders")[0]
    assert not orders.title.startswith("Draft: ")
    assert {"migrator", "migrator::ready"} <= set(orders.labels)
    assert orders.squash and orders.force_remove_source_branch
    assert orders.target_branch == "main"
    # the branch: one bot commit with the plan trailer, on top of main, migrating the repo
    bare = fleet.sim.repo_path("platform/apps/orders")
    head = fleet.sim.branches("platform/apps/orders")[BRANCH]
    assert git_out(bare, "show", "-s", "--format=%ae", head) == ProposeSettings().bot_email
    plan = next(p for p in fleet.plans() if p.repo.name == "platform/apps/orders")
    assert f"{PLAN_TRAILER}: {plan.plan_hash}" in git_out(bare, "show", "-s", "--format=%B", head)
    assert git_out(bare, "rev-parse", f"{head}^") == fleet.sim.branches(
        "platform/apps/orders")["main"]
    assert "deploy/values.yaml" in git_out(bare, "ls-tree", "-r", "--name-only", head)
    assert fleet.pushes() == len(ELIGIBLE)
    assert sum(1 for r in fleet.sim.requests if r.path.startswith("/api/")) <= 3 * len(SIM_FLEET)


def test_a_rerun_on_an_unchanged_fleet_makes_no_write_request(fleet: Fleet) -> None:
    fleet.apply()
    fleet.sim.reset_log()
    outcomes = fleet.apply()
    assert summarize(outcomes) == {"not-eligible": 2, "unchanged": len(ELIGIBLE)}
    assert fleet.api_writes() == 0
    assert fleet.pushes() == 0
    api_reads = sum(1 for r in fleet.sim.requests if r.path.startswith("/api/"))
    assert api_reads <= len(SIM_FLEET)


def test_a_rerun_without_the_journal_still_writes_nothing(small: Fleet) -> None:
    small.apply()
    small.work.journal.unlink()
    for extra in ("-wal", "-shm"):
        Path(f"{small.work.journal}{extra}").unlink(missing_ok=True)
    small.sim.reset_log()
    outcomes = small.apply()
    assert summarize(outcomes) == {"not-eligible": 2, "unchanged": 2}
    assert small.api_writes() == 0 and small.pushes() == 0


def test_an_older_bot_branch_without_mr_or_journal_is_pushed_over_and_proposed(
        small: Fleet) -> None:
    # A first run pushed, then could not open the MR; its journal is gone since.
    small.sim.faults.fail_next(100, status=500, method="POST",
                               route="/projects/:id/merge_requests")
    first = small.apply()
    assert {o.action for o in first if o.action != "not-eligible"} == {"error"}
    old_head = small.sim.branches("platform/apps/orders")[BRANCH]
    small.sim.faults.clear()
    for extra in ("", "-wal", "-shm"):
        Path(f"{small.work.journal}{extra}").unlink(missing_ok=True)
    outcomes = {o.repo: o for o in small.apply(small.plans(version="2.4.0"))}
    orders = outcomes["platform/apps/orders"]
    assert orders.action == "created" and orders.pushed
    assert small.sim.branches("platform/apps/orders")[BRANCH] == orders.commit != old_head
    assert len(small.open_mrs("platform/apps/orders")) == 1


def test_a_changed_plan_updates_the_existing_merge_requests(small: Fleet) -> None:
    first = {o.repo: o for o in small.apply()}
    changed = small.plans(version="2.4.0")
    small.sim.reset_log()
    outcomes = small.apply(changed)
    assert summarize(outcomes) == {"not-eligible": 2, "updated": 2}
    assert small.sim.request_counts[("POST", "/projects/:id/merge_requests")] == 0
    for outcome, plan in zip(outcomes, changed, strict=True):
        if outcome.action != "updated":
            continue
        assert outcome.mr_iid == first[outcome.repo].mr_iid
        (mr,) = small.open_mrs(outcome.repo)
        assert marked_plan(mr.description or "") == plan.plan_hash
        head = small.sim.branches(outcome.repo)[BRANCH]
        assert head == outcome.commit != first[outcome.repo].commit
        bare = small.sim.repo_path(outcome.repo)
        assert "--version 2.4.0" in git_out(bare, "show", f"{head}:.gitlab-ci.yml")
    assert small.pushes() == len(small.eligible)


def test_a_person_commit_on_the_branch_is_never_pushed_over(small: Fleet, tmp_path: Path) -> None:
    small.apply()
    path = "platform/apps/orders"
    # A developer takes the MR over: clones the branch, commits, pushes with their own token.
    small.sim.add_token("dev-token-1234567", user="dana")
    dev = tmp_path / "dev"
    env = {**HUMAN, "DEV_TOKEN": "dev-token-1234567", **git_env("DEV_TOKEN", origin=small.sim.url)}
    git.run(["clone", "--quiet", "--branch", BRANCH, f"{small.sim.url}/{path}.git", str(dev)],
            env=env)
    (dev / "deploy" / "values.yaml").write_text("replicaCount: 5\n")
    git.run(["commit", "--quiet", "-am", "more replicas"], cwd=dev, env=env)
    git.run(["push", "--quiet", "origin", BRANCH], cwd=dev, env=env)
    human_head = git.head(dev)

    small.sim.reset_log()
    runs = [small.apply(small.plans(version="2.4.0")) for _ in range(2)]
    for outcomes in runs:
        orders = next(o for o in outcomes if o.repo == path)
        assert orders.action == "needs-attention" and not orders.pushed
        assert human_head[:12] in orders.cause
    assert small.sim.branches(path)[BRANCH] == human_head
    assert small.pushes(path) == 0
    (mr,) = small.open_mrs(path)
    notes = [n for n in small.sim.notes(path, mr.iid) if NOTE_MARKER in n.body]
    assert len(notes) == 1
    # the rest of the fleet was updated as usual
    assert {o.action for o in runs[0] if o.repo != path} == {"updated", "not-eligible"}
    with Journal.open(small.work) as journal:
        proposal = journal.proposal(path)
    assert proposal is not None and proposal.status == "needs-attention"


def test_a_repo_that_keeps_failing_is_recorded_and_the_fleet_goes_on(small: Fleet) -> None:
    project = small.sim.project("platform/apps/orders")
    small.sim.faults.fail_next(1000, status=503,
                               path=rf"^/api/v4/projects/{project.id}/merge_requests")
    outcomes = {o.repo: o for o in small.apply()}
    orders = outcomes["platform/apps/orders"]
    assert orders.action == "error"
    assert orders.cause.startswith("platform/apps/orders: ")
    assert "503" in orders.cause
    assert outcomes["platform/apps/checkout"].action == "created"


def test_a_read_only_token_gives_a_clear_error_naming_the_repo(
        small: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    readonly = "glpat-readonlyToken00042"
    small.sim.add_token(readonly, scopes=("read_api",), user="viewer")
    monkeypatch.setenv("GITLAB_TOKEN", readonly)
    outcomes = small.apply()
    errors = [o for o in outcomes if o.action == "error"]
    assert len(errors) == len(small.eligible)
    first = errors[0]
    assert first.cause.startswith(f"{first.repo}: ")
    assert "403" in first.cause and "`api`" in first.cause
    assert all(readonly not in o.cause for o in outcomes)
    assert all(not small.mrs(p) for p in small.eligible)


def test_a_409_on_create_adopts_the_existing_merge_request(small: Fleet) -> None:
    class StaleListing(GitLabForge):
        """GitLab's listing can lag behind a create: it says "none" once per repo."""

        seen: set[str] = set()

        def find_mr(self, repo: RepoRef, branch: str) -> MrInfo | None:
            if repo.name not in self.seen:
                self.seen.add(repo.name)
                return None
            return super().find_mr(repo, branch)

    plans = [p for p in small.plans() if p.repo.name == "platform/apps/orders"]
    small.apply(plans)
    changed = [p for p in small.plans(version="2.4.0") if p.repo.name == "platform/apps/orders"]
    settings = small.settings()
    assert isinstance(settings.forge, GitLabSettings)
    with Journal.open(small.work) as journal:
        outcomes = propose(changed, CENTRAL, settings, journal, small.clones,
                           forge=StaleListing(settings.forge), describe=describe)
    assert outcomes[0].action == "adopted"
    (mr,) = small.open_mrs("platform/apps/orders")
    assert marked_plan(mr.description or "") == changed[0].plan_hash
    assert small.sim.request_counts[("POST", "/projects/:id/merge_requests")] == 2


def test_canary_and_limit_hold_back_new_merge_requests(small: Fleet) -> None:
    canary = small.apply(canary=1)
    assert [(o.repo, o.action) for o in canary if o.action != "not-eligible"] == [
        ("platform/apps/checkout", "created"), ("platform/apps/orders", "deferred")]
    assert not small.mrs("platform/apps/orders")
    assert small.pushes("platform/apps/orders") == 0
    changed = small.plans(version="2.4.0")
    wave = small.apply(changed, limit=0)
    assert [(o.repo, o.action) for o in wave if o.action != "not-eligible"] == [
        ("platform/apps/checkout", "updated"), ("platform/apps/orders", "deferred")]
    wave = small.apply(changed, limit=1)
    assert [(o.repo, o.action) for o in wave if o.action != "not-eligible"] == [
        ("platform/apps/checkout", "unchanged"), ("platform/apps/orders", "created")]


def test_a_blocked_repo_is_proposed_only_with_force_and_as_a_draft(small: Fleet) -> None:
    small.apply()
    assert not small.mrs("platform/apps/legacy/mailer")
    outcomes = small.apply(force=True)
    mailer = next(o for o in outcomes if o.repo == "platform/apps/legacy/mailer")
    assert mailer.action == "created" and mailer.draft
    (mr,) = small.open_mrs("platform/apps/legacy/mailer")
    assert "migrator::blocked" in mr.labels


def test_a_merged_or_closed_merge_request_is_respected(small: Fleet) -> None:
    small.apply()
    gl = GitLabForge(small.settings().forge).gl  # type: ignore[arg-type]
    orders = gl.projects.get("platform/apps/orders")
    mr = orders.mergerequests.list(source_branch=BRANCH)[0]
    mr.state_event = "close"
    mr.save()
    small.sim.reset_log()
    outcomes = small.apply(small.plans(version="2.4.0"))
    closed = next(o for o in outcomes if o.repo == "platform/apps/orders")
    assert closed.action == "closed"
    assert len(small.mrs("platform/apps/orders")) == 1
    assert small.pushes("platform/apps/orders") == 0


def test_faults_and_a_dropped_connection_still_end_with_one_mr_per_repo(fleet: Fleet) -> None:
    fleet.sim.faults.random(0.2, seed=7, statuses=(429, 500, 502, 503), retry_after=1)
    # The nasty one: GitLab creates the MR, then the answer is lost.
    fleet.sim.faults.drop(nth=3, method="POST", route="/projects/:id/merge_requests",
                          after_processing=True)
    outcomes = fleet.apply()
    faulted = [e for e in fleet.sim.exchanges if e.fault is not None]
    assert len(faulted) >= 5 and any(e.fault == "drop" for e in faulted)
    assert 1.0 in fleet.slept  # Retry-After was honoured
    for path in ELIGIBLE:
        assert len(fleet.open_mrs(path)) == 1, path
    assert {o.action for o in outcomes} <= {"created", "adopted", "not-eligible"}
    fleet.sim.faults.clear()
    fleet.sim.reset_log()
    again = fleet.apply()
    assert {o.action for o in again} == {"unchanged", "not-eligible"}
    assert fleet.api_writes() == 0


def test_kill_9_in_the_middle_of_apply_then_rerun_ends_with_one_mr_and_one_push_each(
        fleet: Fleet, tmp_path: Path) -> None:
    # Slow MR creation down so the kill lands while a create is in flight at GitLab.
    fleet.sim.faults.delay(0.4, method="POST", route="/projects/:id/merge_requests")
    config = tmp_path / "child.json"
    config.write_text(json.dumps({
        "url": fleet.sim.url, "work": str(fleet.work.root),
        "repos": [dataclasses.asdict(r) for r in fleet.repos],
        "clones": {slug: str(p) for slug, p in fleet.clones.items()},
    }))
    root = Path(__file__).resolve().parents[1]
    child = subprocess.Popen([sys.executable, "-m", "tests.forge.apply_child", str(config)],
                             cwd=root, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    in_flight = False
    while time.monotonic() < deadline and child.poll() is None and not in_flight:
        time.sleep(0.05)
        if fleet.work.journal.exists():
            with Journal.open(fleet.work) as journal:
                pending = journal.pending()
                done_creates = [e for e in journal.all_effects()
                                if e.kind == "mr-create" and e.status == "done"]
            in_flight = len(done_creates) >= 3 and any(e.kind == "mr-create" for e in pending)
    assert in_flight, "the child finished before it could be killed"
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    time.sleep(0.6)  # let GitLab finish the request the dead client left behind
    fleet.sim.faults.clear()

    with Journal.open(fleet.work) as journal:
        assert journal.pending(), "the kill should leave an intent without outcome"
    outcomes = fleet.apply()
    assert {o.action for o in outcomes} <= {"created", "unchanged", "adopted", "not-eligible"}
    for path in ELIGIBLE:
        assert len(fleet.mrs(path)) == 1, path
        assert fleet.pushes(path) == 1, path
    with Journal.open(fleet.work) as journal:
        assert journal.pending() == []  # the re-run settled what the kill left open
        assert any(e.status == "interrupted" for e in journal.all_effects())
    fleet.sim.reset_log()
    assert {o.action for o in fleet.apply()} == {"unchanged", "not-eligible"}
    assert fleet.api_writes() == 0


def test_the_token_never_leaves_the_environment(
        tmp_path: Path, sim: GitLabSim, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every git process the run starts goes through this wrapper, which logs its argv.
    argv_log = tmp_path / "git-argv.log"
    wrapper = tmp_path / "bin" / "git"
    wrapper.parent.mkdir()
    real_git = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True,
                              check=True).stdout.strip()
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{argv_log}"\n'
                       f'exec {real_git} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")

    sim.add_token(TOKEN, scopes=("api",), user="migrator-bot")
    seed_sim_fleet(sim, tmp_path, SMALL)
    work = WorkDir(tmp_path / "work")
    repos = list_repos(GitLabFleetSettings(GitLabSettings(sim.url), group="platform"))
    # the real fetch: blobless shallow clones over HTTP, authenticated by the helper
    clones = clone_all(repos, work.cache, env=git_env("GITLAB_TOKEN", origin=sim.url))
    fleet = Fleet(sim, work, repos, clones)
    fleet.apply(fleet.plans())
    fleet.apply(fleet.plans(version="2.4.0"))
    sim.faults.fail_next(1, status=401)
    errors = [o.cause for o in fleet.apply(fleet.plans(version="2.5.0")) if o.cause]
    assert any("401" in e for e in errors)

    assert len(fleet.open_mrs("platform/apps/orders")) == 1  # the run did authenticate
    logged = argv_log.read_text()
    assert "push" in logged and "clone" in logged
    assert TOKEN not in logged
    assert all(TOKEN not in " ".join(argv) for argv in sim.git_argv_log)
    assert sim.git_argv_log
    assert all(TOKEN not in e for e in errors)
    written = [p for p in work.root.rglob("*") if p.is_file()]
    assert any(p.name == "config" and ".git" in p.parts for p in written)
    assert any(p.name.startswith(work.journal.name) for p in written)
    for path in written:
        assert TOKEN.encode() not in path.read_bytes(), path
