"""propose() against the review-bundle forge: real git repos and clones, no GitLab."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from migrator import git
from migrator.discover.local import LocalFleetSettings, list_repos
from migrator.forge.local import LocalForge, LocalForgeSettings
from migrator.journal import Journal
from migrator.model import RepoPlan, RepoRef, Verdict
from migrator.propose.apply import propose, run_apply, summarize
from migrator.propose.describe import NOTE_MARKER, PLAN_TRAILER, marked_plan
from migrator.propose.settings import ProposeSettings
from migrator.workdir import WorkDir
from tests.forge.fleetkit import (
    CENTRAL,
    HUMAN,
    app_files,
    clone_all,
    describe,
    git_out,
    make_repo,
    plan_for,
)

VERDICTS = {"billing": Verdict.READY, "orders": Verdict.READY, "payments": Verdict.REVIEW,
            "search": Verdict.BLOCKED, "static": Verdict.SKIPPED}


Fleet = tuple[list[RepoRef], dict[str, Path], WorkDir]


@pytest.fixture
def fleet(tmp_path: Path) -> Fleet:
    for name in VERDICTS:
        make_repo(tmp_path / "fleet" / name, app_files(name))
    repos = list_repos(LocalFleetSettings(tmp_path / "fleet"))
    work = WorkDir(tmp_path / "work")
    return repos, clone_all(repos, work.cache), work


def plans_for(repos: list[RepoRef], clones: dict[str, Path], **kw: str) -> list[RepoPlan]:
    out = []
    for repo in repos:
        plan = plan_for(repo, clones[repo.slug], VERDICTS[repo.name], **kw)
        if plan.verdict is Verdict.SKIPPED:
            plan = replace(plan, patch=None)
        out.append(plan)
    return out


def settings(work: WorkDir, **kw: object) -> ProposeSettings:
    return ProposeSettings(forge=LocalForgeSettings(work.review),
                           **kw)  # type: ignore[arg-type]


def test_apply_opens_one_bundle_per_eligible_repo_committed_by_the_bot(fleet: Fleet) -> None:
    repos, clones, work = fleet
    heads = {slug: git.head(path) for slug, path in clones.items()}
    outcomes = run_apply(plans_for(repos, clones), CENTRAL, settings(work), work, clones,
                         describe=describe)
    assert [(o.repo, o.action) for o in outcomes] == [
        ("billing", "created"), ("orders", "created"), ("payments", "created"),
        ("search", "not-eligible"), ("static", "not-eligible")]
    mr = json.loads((work.review / "payments" / "mr.json").read_text())
    assert mr["title"].startswith("Draft: ")
    assert mr["source_branch"] == "migrator/app-template-2.3.0"
    assert "migrator::review" in mr["labels"] and "migrator" in mr["labels"]
    ready = json.loads((work.review / "orders" / "mr.json").read_text())
    assert not ready["title"].startswith("Draft: ")
    # the commit: the bot's, with the plan trailer, on top of the planned commit
    orders = next(o for o in outcomes if o.repo == "orders")
    clone = clones["orders"]
    assert git_out(clone, "show", "-s", "--format=%ae %ce", orders.commit or "") == \
        "migrator-bot@users.noreply.gitlab.invalid migrator-bot@users.noreply.gitlab.invalid"
    assert f"{PLAN_TRAILER}: " in git_out(clone, "show", "-s", "--format=%B", orders.commit or "")
    assert git_out(clone, "rev-parse", f"{orders.commit}^") == heads["orders"]
    # the clone cache is left as the plan stage saw it
    assert git.head(clone) == heads["orders"]
    assert git_out(clone, "status", "--porcelain") == ""
    # the bundle's patch really migrates the repo
    patch = (work.review / "orders" / "changes.patch").read_text()
    target = work.root.parent / "fleet" / "orders"
    git.run(["am", "--quiet"], cwd=target, input_text=patch, env=HUMAN)
    assert not (target / "deploy" / "helm" / "orders").exists()
    assert "app-template" in (target / ".gitlab-ci.yml").read_text()


def test_a_second_apply_with_unchanged_plans_writes_nothing(fleet: Fleet) -> None:
    repos, clones, work = fleet
    plans = plans_for(repos, clones)
    run_apply(plans, CENTRAL, settings(work), work, clones, describe=describe)
    before = {p: p.stat().st_mtime_ns for p in (work.review).rglob("*")}
    with Journal.open(work) as journal:
        effects_before = len(journal.all_effects())
    outcomes = run_apply(plans, CENTRAL, settings(work), work, clones, describe=describe)
    assert summarize(outcomes) == {"not-eligible": 2, "unchanged": 3}
    assert {p: p.stat().st_mtime_ns for p in (work.review).rglob("*")} == before
    with Journal.open(work) as journal:
        assert len(journal.all_effects()) == effects_before


def test_a_changed_plan_updates_the_same_merge_request(fleet: Fleet) -> None:
    repos, clones, work = fleet
    first = run_apply(plans_for(repos, clones), CENTRAL, settings(work), work, clones,
                      describe=describe)
    changed = plans_for(repos, clones, extra="podDisruptionBudget:\n  enabled: true\n")
    second = run_apply(changed, CENTRAL, settings(work), work, clones, describe=describe)
    by_repo = {o.repo: o for o in first}
    for outcome, plan in zip(second, changed, strict=True):
        if outcome.action == "not-eligible":
            continue
        assert outcome.action == "updated" and outcome.pushed
        assert outcome.mr_iid == by_repo[outcome.repo].mr_iid
        assert outcome.commit != by_repo[outcome.repo].commit
        mr = json.loads((work.review / plan.repo.slug / "mr.json").read_text())
        assert marked_plan(mr["description"]) == plan.plan_hash
    assert "values-extra.yaml" in (work.review / "orders" / "changes.patch").read_text()


def test_force_proposes_a_blocked_repo_as_a_draft(fleet: Fleet) -> None:
    repos, clones, work = fleet
    outcomes = run_apply(plans_for(repos, clones), CENTRAL, settings(work, force=True), work,
                         clones, describe=describe)
    search = next(o for o in outcomes if o.repo == "search")
    assert search.action == "created" and search.draft
    static = next(o for o in outcomes if o.repo == "static")
    assert static.action == "not-eligible"


def test_limit_holds_back_new_merge_requests_but_still_updates_existing_ones(fleet: Fleet) -> None:
    repos, clones, work = fleet
    first = run_apply(plans_for(repos, clones), CENTRAL, settings(work, limit=1), work, clones,
                      describe=describe)
    assert [o.action for o in first[:3]] == ["created", "deferred", "deferred"]
    assert not (work.review / "orders").exists()  # nothing pushed for a deferred repo
    changed = plans_for(repos, clones, version="2.3.1")
    second = run_apply(changed, CENTRAL, settings(work, limit=1), work, clones,
                       describe=describe)
    assert [o.action for o in second[:3]] == ["updated", "created", "deferred"]


def test_canary_opens_n_merge_requests_then_stops_the_run(fleet: Fleet) -> None:
    repos, clones, work = fleet
    outcomes = run_apply(plans_for(repos, clones), CENTRAL, settings(work, canary=2), work,
                         clones, describe=describe)
    assert [o.action for o in outcomes[:3]] == ["created", "created", "deferred"]
    assert "canary" in outcomes[2].cause


def test_a_patch_that_does_not_apply_fails_only_that_repo(fleet: Fleet) -> None:
    repos, clones, work = fleet
    plans = plans_for(repos, clones)
    broken = (plans[0].patch or "").replace("deploy/helm/billing", "deploy/helm/nothere")
    plans[0] = replace(plans[0], patch=broken)
    outcomes = run_apply(plans, CENTRAL, settings(work), work, clones, describe=describe)
    assert outcomes[0].action == "error"
    assert outcomes[0].cause.startswith("billing: the change set does not apply")
    assert [o.action for o in outcomes[1:3]] == ["created", "created"]


def test_a_branch_someone_else_moved_is_flagged_and_noted_once(fleet: Fleet) -> None:
    repos, clones, work = fleet
    plans = plans_for(repos, clones)
    run_apply(plans, CENTRAL, settings(work), work, clones, describe=describe)
    clone = clones["orders"]
    bundle = work.review / "orders" / "branch.json"
    bot_sha = json.loads(bundle.read_text())["sha"]
    tree = git_out(clone, "rev-parse", f"{bot_sha}^{{tree}}")
    human = git_out(clone, "commit-tree", tree, "-p", bot_sha, "-m", "tweak values",
                    env={**HUMAN, "PATH": "/usr/bin:/bin"})
    bundle.write_text(json.dumps({"branch": "migrator/app-template-2.3.0", "sha": human}))
    changed = plans_for(repos, clones, version="2.3.1")
    billing = []
    for _ in range(2):
        outcomes = run_apply(changed, CENTRAL, settings(work), work, clones, describe=describe)
        orders = next(o for o in outcomes if o.repo == "orders")
        assert orders.action == "needs-attention" and not orders.pushed
        assert human[:12] in orders.cause
        billing.append(next(o for o in outcomes if o.repo == "billing").action)
    assert json.loads(bundle.read_text())["sha"] == human  # never overwritten
    notes = (work.review / "orders" / "notes.md").read_text()
    assert notes.count(NOTE_MARKER) == 1
    assert billing == ["updated", "unchanged"]  # the rest of the fleet goes on


def test_without_a_forge_setting_the_bundle_goes_under_the_work_dir(fleet: Fleet) -> None:
    repos, clones, work = fleet
    run_apply(plans_for(repos, clones)[:1], CENTRAL, ProposeSettings(), work, clones,
              describe=describe)
    assert (work.review / "billing" / "mr.json").exists()


def test_a_missing_clone_is_an_error_for_that_repo(fleet: Fleet) -> None:
    repos, clones, work = fleet
    plans = plans_for(repos, clones)[:2]
    with Journal.open(work) as journal:
        outcomes = propose(plans, CENTRAL, settings(work), journal, {"orders": clones["orders"]},
                           forge=LocalForge(LocalForgeSettings(work.review)),
                           describe=describe)
    assert outcomes[0].action == "error" and "no clone" in outcomes[0].cause
    assert outcomes[1].action == "created"
