"""What a sharded run leaves for `report merge`: the plan as the reports show it, no secret."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from migrator import codec
from migrator.model import FleetPlan
from migrator.report.common import redact_plan
from migrator.report.json import repo_json
from migrator.report.markdown import repo_markdown
from migrator.report.planstate import STATE_FILE, load_state, merge, save_state
from tests.report.sample import CENTRAL, PASSWORD, PASSWORD_B64, fleet
from tests.report.test_write import SECRET_PATCH


def _with_secret_patch() -> FleetPlan:
    plan = fleet()
    return dataclasses.replace(plan, repos=(
        dataclasses.replace(plan.repos[0], patch=SECRET_PATCH), *plan.repos[1:]))


def test_the_state_holds_no_secret_value_nor_a_patch_carrying_one(tmp_path: Path) -> None:
    path = save_state(_with_secret_patch(), tmp_path)
    text = path.read_text()
    assert PASSWORD not in text and PASSWORD_B64 not in text
    assert load_state(tmp_path).repos == tuple(redact_plan(p) for p in _with_secret_patch().repos)


def test_a_merged_report_still_says_where_the_full_patch_is(tmp_path: Path) -> None:
    save_state(_with_secret_patch(), tmp_path / "shard-1")
    merge(tmp_path / "merged", [tmp_path / "shard-1"])
    folder = tmp_path / "merged/repos/shop-orders"
    assert "patches/shop-orders.patch" in (folder / "report.md").read_text()
    assert json.loads((folder / "report.json").read_text())["patch_secrets"]["redacted_lines"] == 1
    for path in (tmp_path / "merged").rglob("*"):
        if path.is_file():
            assert PASSWORD not in path.read_text(), path
    assert (tmp_path / "merged" / STATE_FILE).is_file()


def test_a_report_from_the_redacted_plan_is_the_report_from_the_plan() -> None:
    """Redacting once more changes nothing: the plan cache and the state can keep the plan as
    reports show it, and reports written later from them are the same."""
    for plan in _with_secret_patch().repos:
        redacted = redact_plan(plan)
        assert redact_plan(redacted) == redacted
        assert repo_json(redacted, CENTRAL) == repo_json(plan, CENTRAL)
        assert repo_markdown(redacted, CENTRAL, plan_id="p", tool_version="t") == \
            repo_markdown(plan, CENTRAL, plan_id="p", tool_version="t")


def _whole_text(fleet_plan: FleetPlan) -> str:
    """The state as one `json.dumps` of everything writes it: what the streamed file must be."""
    repos = tuple(redact_plan(p) for p in fleet_plan.repos)
    data = {"schema": 2, "fleet": codec.dump(dataclasses.replace(fleet_plan, repos=repos))}
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def test_the_state_written_repo_by_repo_is_the_bytes_of_one_dump(tmp_path: Path) -> None:
    plan = _with_secret_patch()
    for i, shown in enumerate((plan, dataclasses.replace(plan, repos=plan.repos[:1]),
                               dataclasses.replace(plan, repos=()))):
        path = save_state(shown, tmp_path / str(i))
        assert path.read_text(encoding="utf-8") == _whole_text(shown)


def test_the_state_of_the_demo_fleet_is_the_bytes_of_one_dump(fleet_plan: FleetPlan,
                                                               tmp_path: Path) -> None:
    assert len(fleet_plan.repos) > 10
    assert save_state(fleet_plan, tmp_path).read_text(encoding="utf-8") == _whole_text(fleet_plan)
