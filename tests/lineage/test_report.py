"""Where a report shows the lineage it shows how sure it is, and says so when it is not."""

from __future__ import annotations

import dataclasses

from migrator.model import ChartPlan, Kind, Lineage, Outcome, RepoPlan
from migrator.report.json import repo_json
from migrator.report.markdown import repo_markdown
from migrator.report.reasons import reason
from tests.report.sample import CENTRAL, lineage, ready_repo


def _with_lineage(found: Lineage) -> RepoPlan:
    plan = ready_repo()
    chart = dataclasses.replace(plan.charts[0], lineage=found)
    return dataclasses.replace(plan, charts=(chart,))


def _markdown(found: Lineage) -> str:
    return repo_markdown(_with_lineage(found), CENTRAL, plan_id="3f9c2a1", tool_version="0.4.0")


def test_a_sure_origin_shows_its_confidence_beside_the_lineage() -> None:
    found = dataclasses.replace(lineage(), confidence=0.873, lead=0.95, explained=0.873,
                                runner_up="app-template 1.3.0")
    text = _markdown(found)
    assert "forked from app-template **1.4.0** (templates 96 % identical, confidence 87 %)" in text
    assert "low confidence" not in text


def test_a_close_runner_up_is_said_as_low_confidence() -> None:
    found = dataclasses.replace(lineage(), confidence=0.12, lead=0.12, explained=0.8,
                                runner_up="web-service 0.4.0")
    text = _markdown(found)
    assert ("(templates 96 % identical, **low confidence** 12 %: web-service 0.4.0 is nearly as "
            "close; check the origin)") in text


def test_a_chart_mostly_of_its_own_is_said_as_low_confidence() -> None:
    found = dataclasses.replace(lineage(), confidence=0.31, lead=0.9, explained=0.31,
                                runner_up="app-template 1.3.0")
    text = _markdown(found)
    assert "**low confidence** 31 %: it accounts for 31 % of the chart's template lines" in text
    assert "nearly as close" not in text


def test_report_json_carries_the_confidence_and_the_runner_up() -> None:
    found = dataclasses.replace(lineage(), confidence=0.12, lead=0.12, explained=0.8,
                                runner_up="web-service 0.4.0")
    data = repo_json(_with_lineage(found), CENTRAL)["charts"][0]["lineage"]
    assert data["confidence"] == 0.12 and data["low_confidence"] is True
    assert (data["runner_up"], data["lead"], data["explained"]) == ("web-service 0.4.0", 0.12,
                                                                    0.8)


def test_a_chart_not_derived_names_the_closest_match_and_its_score() -> None:
    chart = ChartPlan(path="chart", name="worker", outcome=Outcome(
        Kind.NOT_DERIVED, detail="app-template 1.0.0", score=0.18))
    assert reason(chart) == ("not derived from the central chart or a known template family "
                             "(closest: app-template 1.0.0, 18 % of templates)")


def test_a_chart_not_derived_gets_no_before_and_after_table() -> None:
    plan = ready_repo()
    worker = ChartPlan(path="charts/worker", name="worker", file_count=3, line_count=40,
                       outcome=Outcome(Kind.NOT_DERIVED, detail="app-template 1.0.0",
                                       score=0.18))
    text = repo_markdown(dataclasses.replace(plan, charts=(*plan.charts, worker)), CENTRAL,
                         plan_id="3f9c2a1", tool_version="0.4.0")
    section = text.split("`charts/worker`", 1)[1]
    assert "(closest: app-template 1.0.0, 18 % of templates)" in section
    assert "`charts/worker/` (3 files" not in section  # no "before" row claiming a migration
    assert text.count("| chart |") == 1  # the fork's table only
