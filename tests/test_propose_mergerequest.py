"""The merge request wanted for a plan, and the fields that update an existing one."""

from __future__ import annotations

import dataclasses

from migrator.forge import MrInfo
from migrator.model import RepoPlan
from migrator.mrtext import DRAFT_PREFIX, TITLE_LIMIT, size
from migrator.propose.describe import marked_plan
from migrator.propose.mergerequest import mr_changes, mr_spec
from migrator.propose.settings import ProposeSettings
from tests.report.sample import blocked_repo, ready_repo, review_repo

BRANCH = "migrator/app-template-2.3.0"


def hashed(plan: RepoPlan) -> RepoPlan:
    return dataclasses.replace(plan, plan_hash="h1", patch=plan.patch or "diff\n")


def opened(description: str, labels: tuple[str, ...] = ()) -> MrInfo:
    return MrInfo(iid=4, web_url="u", state="opened", title="t", description=description,
                  source_branch=BRANCH, target_branch="main", sha="s", labels=labels)


def test_only_a_ready_plan_is_proposed_ready_the_others_as_drafts() -> None:
    settings = ProposeSettings()
    ready = mr_spec(hashed(ready_repo()), "Use it", "body", BRANCH, settings)
    review = mr_spec(hashed(review_repo()), "Use it", "body", BRANCH, settings)
    blocked = mr_spec(hashed(blocked_repo()), "Use it", "body", BRANCH, settings)
    assert ready.title == "Use it"
    assert review.title == blocked.title == DRAFT_PREFIX + "Use it"


def test_the_title_is_cut_to_gitlabs_limit_draft_prefix_included() -> None:
    spec = mr_spec(hashed(review_repo()), "x" * 400, "body", BRANCH, ProposeSettings())
    assert len(spec.title) == TITLE_LIMIT and spec.title.startswith(DRAFT_PREFIX)


def test_the_description_ends_with_the_plan_marker_and_fits_the_limit() -> None:
    plan = hashed(ready_repo())
    whole = mr_spec(plan, "t", "report\n", BRANCH, ProposeSettings())
    assert whole.description == "report\n\n\n<!-- migrator-plan: h1 -->\n"
    cut = mr_spec(plan, "t", "line\n" * 1000, BRANCH,
                  ProposeSettings(description_limit=1000, report_link="https://ci/{slug}.md"))
    assert size(cut.description) <= 1000
    assert marked_plan(cut.description) == "h1"
    assert "Full report: https://ci/shop-orders.md" in cut.description


def test_without_a_link_a_cut_description_points_at_the_plan_output() -> None:
    spec = mr_spec(hashed(ready_repo()), "t", "line\n" * 1000, BRANCH,
                   ProposeSettings(description_limit=1000))
    assert "The full report is `repos/shop-orders/report.md`" in spec.description


def test_labels_branches_and_options_come_from_the_settings() -> None:
    settings = ProposeSettings(labels=("migrator", "platform"), assignee_ids=(3,),
                               reviewer_ids=(5,), squash=False)
    spec = mr_spec(hashed(review_repo()), "t", "b", BRANCH, settings)
    assert spec.labels == ("migrator", "platform", "migrator::review")
    assert (spec.source_branch, spec.target_branch) == (BRANCH, "main")
    assert (spec.assignee_ids, spec.reviewer_ids, spec.squash) == ((3,), (5,), False)


def test_an_mr_showing_this_plan_is_left_as_people_made_it() -> None:
    spec = mr_spec(hashed(ready_repo()), "t", "b", BRANCH, ProposeSettings())
    assert mr_changes(opened(spec.description, ("team::x",)), spec, "h1") == {}


def test_an_mr_of_an_older_plan_is_updated_keeping_peoples_labels() -> None:
    spec = mr_spec(hashed(ready_repo()), "t", "b", BRANCH,
                   ProposeSettings(assignee_ids=(3,)))
    old = opened("old\n\n<!-- migrator-plan: h0 -->\n", ("team::x", "migrator::review"))
    changes = mr_changes(old, spec, "h1")
    assert changes["labels"] == ["team::x", "migrator", "migrator::ready"]
    assert changes["description"] == spec.description and changes["title"] == "t"
    assert changes["assignee_ids"] == [3] and "reviewer_ids" not in changes
