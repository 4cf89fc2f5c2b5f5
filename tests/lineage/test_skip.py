"""The pipeline skips charts that are not forks, before values and verify, and says which
candidate came closest."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from migrator import config, demo
from migrator.lineage.match import DEFAULT_MIN_LINEAGE
from migrator.model import ChartPlan, FleetPlan, Kind, Verdict
from migrator.pipeline import fleet as pipeline
from migrator.report.reasons import reason
from tests.lineage import charts

MAKEFILE = """deploy:
\thelm upgrade --install orders charts/orders
\thelm upgrade --install stack charts/stack
\thelm upgrade --install worker charts/worker
"""


def _repo(root: Path) -> Path:
    files = {"Makefile": MAKEFILE}
    for name, chart in (("orders", charts.fork("app-template", "2.0.0")),
                        ("stack", charts.UMBRELLA), ("worker", charts.HAND_WRITTEN)):
        files.update({f"charts/{name}/{rel}": text for rel, text in chart.items()})
    # the umbrella pulls its dependency from a chart repository, not from the sibling
    files["charts/stack/Chart.yaml"] = charts.chart_yaml("stack", extra=(
        "dependencies:\n  - name: orders\n    version: 0.1.0\n"
        "    repository: https://charts.example.com\n"))
    return demo.write_repo(root / "mixed", [demo.Commit("Three charts", files)])


@pytest.fixture(scope="module")
def settings(central_sources: demo.CentralSources,
             tmp_path_factory: pytest.TempPathFactory) -> config.PlanSettings:
    root = tmp_path_factory.mktemp("skip")
    _repo(root / "fleet")
    return config.plan_settings({}, config.PlanFlags(
        repos=config.FleetFlags(fleet=root / "fleet"), central=central_sources.repo_dir,
        families=central_sources.families_dir, target_version="2.0.0", out=root / "out",
        work=root / "work", jobs=1))


def _charts(plan: FleetPlan) -> dict[str, ChartPlan]:
    (repo,) = plan.repos
    return {c.name: c for c in repo.charts}


@pytest.fixture(scope="module")
def default_plan(settings: config.PlanSettings) -> FleetPlan:
    return pipeline.plan_fleet(pipeline.discover(settings), settings)


def test_an_umbrella_chart_is_skipped_as_not_derived_with_nothing_to_compare(
        default_plan: FleetPlan) -> None:
    stack = _charts(default_plan)["stack"]
    assert stack.outcome.kind is Kind.NOT_DERIVED
    assert (stack.outcome.detail, stack.outcome.score) == ("", 0.0)
    assert stack.lineage is None
    assert "not derived" in reason(stack) and "(no templates of its own)" in reason(stack)


def test_a_hand_written_chart_is_skipped_naming_the_closest_version(
        default_plan: FleetPlan) -> None:
    worker = _charts(default_plan)["worker"]
    assert worker.outcome.kind is Kind.NOT_DERIVED
    assert worker.verdict is Verdict.SKIPPED
    closest, version = worker.outcome.detail.split(" ")
    assert closest in ("app-template", "web-service") and version[0].isdigit()
    assert worker.outcome.score is not None
    assert 0.0 < worker.outcome.score < DEFAULT_MIN_LINEAGE
    assert f"closest: {worker.outcome.detail}, " in reason(worker)
    assert worker.values is None and worker.environments == ()  # before values and verify


def test_the_fork_beside_them_is_planned_and_the_repo_keeps_its_verdict(
        default_plan: FleetPlan) -> None:
    orders = _charts(default_plan)["orders"]
    assert orders.lineage is not None
    assert (orders.lineage.chart, orders.lineage.version) == ("app-template", "2.0.0")
    assert orders.verdict is Verdict.READY
    assert default_plan.repos[0].verdict is Verdict.READY


def test_the_threshold_decides_which_charts_are_forks(settings: config.PlanSettings,
                                                      default_plan: FleetPlan) -> None:
    score = _charts(default_plan)["worker"].outcome.score
    assert score is not None
    below = pipeline.plan_fleet(pipeline.discover(settings), replace(settings, min_lineage=score))
    worker = _charts(below)["worker"]
    assert worker.outcome.kind is not Kind.NOT_DERIVED
    assert worker.lineage is not None
    # an umbrella has no templates to be a fork of: whatever the threshold
    assert _charts(below)["stack"].outcome.kind is Kind.NOT_DERIVED
    strict = pipeline.plan_fleet(pipeline.discover(settings), replace(settings, min_lineage=1.0))
    assert _charts(strict)["worker"].outcome.kind is Kind.NOT_DERIVED
