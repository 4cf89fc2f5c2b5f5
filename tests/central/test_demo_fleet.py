"""The demo fleet planned end to end: each blocked fork gets the kinds its fixture describes."""

from __future__ import annotations

from migrator import demo
from migrator.central import kinds
from migrator.central.gaps import gaps
from migrator.model import ChartPlan, DiffClass, FleetPlan, Verdict
from tests.central.charts import line_of


def chart(fleet: FleetPlan, repo: str) -> ChartPlan:
    (found,) = [p for p in fleet.repos if p.repo.name == repo]
    return found.charts[0]


def fixture_text(case: str, rel: str) -> str:
    return (demo.fixtures_dir() / "fleet" / case / "overlay" / rel).read_text()


def test_gateways_log_shipper_is_an_extra_container_at_its_line(fleet_plan: FleetPlan) -> None:
    gateway = chart(fleet_plan, "gateway")
    (sidecar,) = [c for c in gateway.customizations if c.kind == kinds.EXTRA_CONTAINER]
    assert sidecar.blocks and sidecar.resource == "Deployment/gateway"
    assert sidecar.paths == ("spec.template.spec.containers[log-shipper]",)
    text = fixture_text("gateway", "chart/templates/deployment.yaml")
    line = line_of(text, "- name: log-shipper")
    assert sidecar.where == f"chart/templates/deployment.yaml:{line}"
    assert any("extra-container, Deployment/gateway" in f for f in gateway.findings)


def test_reports_cronjob_is_an_extra_cronjob(fleet_plan: FleetPlan) -> None:
    reports = chart(fleet_plan, "reports")
    blocking = {c.kind for c in reports.customizations if c.blocks}
    assert blocking == {"extra-object:CronJob"}
    (cron,) = [c for c in reports.customizations if c.kind == "extra-object:CronJob"]
    text = fixture_text("reports", "chart/templates/cronjob.yaml")
    assert cron.where == f"chart/templates/cronjob.yaml:{line_of(text, 'kind: CronJob')}"
    unmapped = {c.paths[0] for c in reports.customizations
                if c.kind == kinds.VALUES_WITHOUT_EQUIVALENT}
    assert {"nightlyExport.schedule", "nightlyExport.bucket"} <= unmapped


def test_legacy_apis_selector_stays_destructive_and_other(fleet_plan: FleetPlan) -> None:
    legacy = chart(fleet_plan, "legacy-api")
    assert legacy.verdict is Verdict.BLOCKED
    (selector,) = [c for c in legacy.customizations
                   if c.paths == ("spec.selector.matchLabels.tier",)]
    assert (selector.kind, selector.diff_class, selector.blocks) == (
        kinds.OTHER, DiffClass.DESTRUCTIVE, True)
    assert selector.where is not None and selector.where.startswith("chart/templates/_helpers.tpl:")


def test_the_gap_report_moves_gateway_and_reports_and_holds_legacy_api(
        fleet_plan: FleetPlan) -> None:
    found = gaps(fleet_plan)
    moved = {r for s in found.order for r in s.moved}
    assert {"gateway", "reports"} <= moved
    assert "legacy-api" not in moved
    held = {h.repo: h.why for h in found.held}
    assert "other" in held["legacy-api"]
    added = [s.feature for s in found.order]
    assert {"extraContainers", "extraObjects"} <= set(added)
    assert found.order[-1].cumulative == found.movable == len(moved)
