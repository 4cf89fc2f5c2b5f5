"""The merge request `apply` wants for a plan, and the fields that bring an existing one there."""

from __future__ import annotations

from typing import Any

from migrator.forge import MrInfo, MrSpec
from migrator.model import RepoPlan, Verdict
from migrator.mrtext import DRAFT_PREFIX, TITLE_LIMIT, fit_description
from migrator.propose.describe import marked_plan, plan_marker
from migrator.propose.settings import ProposeSettings
from migrator.report.common import report_path

VERDICT_LABEL_PREFIX = "migrator::"


def mr_spec(plan: RepoPlan, title: str, body: str, branch: str,
            settings: ProposeSettings) -> MrSpec:
    """The MR for `plan`: `title` and `body` as described, the plan marker, labels and options."""
    assert plan.plan_hash is not None
    # Anything a person must look at first stays a draft, so it cannot be merged by accident.
    if plan.verdict is not Verdict.READY:
        title = DRAFT_PREFIX + title
    labels = tuple(dict.fromkeys(
        (*settings.labels, f"{VERDICT_LABEL_PREFIX}{plan.verdict.value}")))
    return MrSpec(
        source_branch=branch,
        target_branch=plan.repo.default_branch or "main",
        title=title[:TITLE_LIMIT],
        description=fit_description(body, f"\n\n{plan_marker(plan.plan_hash)}\n",
                                    _pointer(plan, settings), settings.description_limit),
        labels=labels,
        assignee_ids=settings.assignee_ids,
        reviewer_ids=settings.reviewer_ids,
        remove_source_branch=settings.remove_source_branch,
        squash=settings.squash,
    )


def mr_changes(mr: MrInfo, spec: MrSpec, plan_hash: str | None) -> dict[str, Any]:
    """What to PUT so the MR shows this plan. Nothing while the MR already carries this
    plan's marker: people may have retitled or relabelled it since, and that is theirs."""
    if marked_plan(mr.description) == plan_hash:
        return {}
    # Keep people's labels; replace only the verdict label this tool owns.
    labels = [lab for lab in mr.labels if not lab.startswith(VERDICT_LABEL_PREFIX)]
    labels += [lab for lab in spec.labels if lab not in labels]
    changes: dict[str, Any] = {
        "title": spec.title,
        "description": spec.description,
        "labels": labels,
        "remove_source_branch": spec.remove_source_branch,
        "squash": spec.squash,
    }
    if spec.assignee_ids:
        changes["assignee_ids"] = list(spec.assignee_ids)
    if spec.reviewer_ids:
        changes["reviewer_ids"] = list(spec.reviewer_ids)
    return changes


def _pointer(plan: RepoPlan, settings: ProposeSettings) -> str:
    """Where a reader of a cut description finds the whole report."""
    link = settings.report_link
    if link:
        return "Full report: " + link.format(slug=plan.repo.slug, name=plan.repo.name)
    return (f"The full report is `{report_path(plan.repo.slug, 'report.md')}` in the plan "
            "output of this run.")
