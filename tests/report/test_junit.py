from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

from migrator.model import Kind, Outcome
from migrator.report.junit import fleet_junit
from tests.report.sample import PASSWORD, fleet


def cases(xml: str) -> dict[str, ET.Element]:
    root = ET.fromstring(xml)
    return {c.get("name", ""): c for c in root.iter("testcase")}


def test_one_testcase_per_repo_with_totals() -> None:
    xml = fleet_junit(fleet())
    root = ET.fromstring(xml)
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"),
            suite.get("skipped")) == ("5", "2", "1", "1")
    assert set(cases(xml)) == {"shop/orders", "shop/payments", "ops/legacy", "web/docs-site",
                               "ops/broken"}


def test_each_verdict_maps_to_what_the_gitlab_widget_shows() -> None:
    by_name = cases(fleet_junit(fleet()))
    ready = by_name["shop/orders"]
    assert ready.find("failure") is None and ready.find("error") is None
    assert ready.find("skipped") is None
    assert by_name["web/docs-site"].find("skipped") is not None
    review = by_name["shop/payments"].find("failure")
    assert review is not None and review.get("type") == "review"
    assert "spec.replicas" in (review.text or "")
    blocked = by_name["ops/legacy"].find("failure")
    assert blocked is not None and blocked.get("type") == "blocked"
    assert "finding: a value for extra containers" in (blocked.text or "")
    error = by_name["ops/broken"].find("error")
    assert error is not None and "fetch failed" in (error.get("message") or "")


def test_suite_column_is_the_group_and_file_the_report() -> None:
    case = cases(fleet_junit(fleet()))["shop/orders"]
    assert case.get("classname") == "shop"
    assert case.get("file") == "repos/shop-orders/report.md"


def test_control_characters_from_tool_output_do_not_break_the_xml() -> None:
    plan = fleet()
    broken = dataclasses.replace(plan.repos[4], outcome=Outcome(
        Kind.BAD_INPUT, detail="git: \x1b[31mfatal\x1b[0m\x00 boom"))
    xml = fleet_junit(dataclasses.replace(plan, repos=(broken,)))
    error = cases(xml)["ops/broken"].find("error")
    assert error is not None and "fatal" in (error.get("message") or "")


def test_no_password_in_the_junit_report() -> None:
    assert PASSWORD not in fleet_junit(fleet())
