"""Which plans apply proposes, and on which branch."""

from __future__ import annotations

import dataclasses

import pytest

from migrator.errors import ConfigError
from migrator.propose.eligibility import branch_name, eligible
from migrator.propose.settings import ProposeSettings
from tests.report.sample import CENTRAL, blocked_repo, ready_repo, review_repo, skipped_repo


def test_ready_and_review_plans_with_a_patch_are_eligible() -> None:
    assert eligible(ready_repo(), ProposeSettings()) is None
    assert eligible(dataclasses.replace(review_repo(), plan_hash="h"), ProposeSettings()) is None


def test_a_blocked_plan_needs_force_and_a_skipped_one_is_never_proposed() -> None:
    blocked = dataclasses.replace(blocked_repo(), patch="diff\n", plan_hash="h")
    assert eligible(blocked, ProposeSettings()) == (
        "verdict blocked (use force to propose it as a draft)")
    assert eligible(blocked, ProposeSettings(force=True)) is None
    assert eligible(skipped_repo(), ProposeSettings(force=True)) == "verdict skipped"


def test_a_plan_without_patch_hash_or_commit_is_not_eligible() -> None:
    assert eligible(dataclasses.replace(ready_repo(), patch=None), ProposeSettings()) == (
        "nothing to propose (no patch, plan hash or base commit)")


def test_the_branch_names_the_central_chart_and_version() -> None:
    assert branch_name(ProposeSettings(), CENTRAL) == "migrator/app-template-2.3.0"
    custom = ProposeSettings(branch_template="chore/{central}/{version}")
    assert branch_name(custom, CENTRAL) == "chore/app-template/2.3.0"


@pytest.mark.parametrize("template", ["", "a..b", "/abs", "with space {version}"])
def test_a_template_that_gives_an_invalid_branch_is_a_configuration_error(template: str) -> None:
    with pytest.raises(ConfigError, match="invalid branch name"):
        branch_name(ProposeSettings(branch_template=template), CENTRAL)
