"""Each reference style yields a change set that deploys what the fork deployed."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import helm_python as helm
import pytest

from migrator import config, demo
from migrator.model import FleetPlan, Verdict
from migrator.pipeline import fleet as pipeline
from tests.test_plan_fleet import _clone_with_patch, _objects

CASES = ("orders", "payments", "users")


def _plan(settings: config.PlanSettings, style: str) -> FleetPlan:
    styled = replace(settings, style=style)  # type: ignore[arg-type]
    repos = [r for r in pipeline.discover(styled) if r.name in CASES]
    return pipeline.plan_fleet(repos, styled)


@pytest.mark.parametrize("style", ["dependency", "ci-include", "argocd"])
def test_every_style_keeps_ready_repos_ready(plan_settings: config.PlanSettings,
                                             style: str) -> None:
    fleet = _plan(plan_settings, style)
    verdicts = {r.repo.name: r.verdict for r in fleet.repos}
    assert verdicts["orders"] is Verdict.READY and verdicts["payments"] is Verdict.READY
    users = next(r for r in fleet.repos if r.repo.name == "users")
    if style == "argocd":
        # Argo CD cannot pass `--set image.tag=$CI_COMMIT_SHA`: the plan says so.
        assert users.verdict is Verdict.REVIEW
        assert any("CI_COMMIT_SHA" in n for n in users.notes)
    else:
        assert users.verdict is Verdict.READY


def test_the_dependency_wrapper_renders_the_fork_with_real_helm(
        plan_settings: config.PlanSettings, fleet_dir: Path,
        central_sources: demo.CentralSources, tmp_path: Path) -> None:
    fleet = _plan(plan_settings, "dependency")
    plan = next(r for r in fleet.repos if r.repo.name == "orders")
    after = _clone_with_patch(plan, fleet_dir, tmp_path / "after")
    wrapper = after / "deploy" / "chart"
    assert (wrapper / "Chart.yaml").is_file()
    (wrapper / "charts").mkdir()
    shutil.copy(central_sources.repo_dir / "app-template-2.0.0.tgz", wrapper / "charts")
    values = helm.values_from_yaml((after / "deploy" / "values.yaml").read_text())
    assert list(values) == ["orders"], "values are nested under the alias"
    rendered = helm.Chart.load(wrapper).render(values, name="orders", namespace="shop")
    fork = helm.Chart.load(fleet_dir / "orders" / "chart").render(
        {}, name="orders", namespace="shop")
    assert _objects(rendered, "shop") == _objects(fork, "shop")
    ci = (after / ".gitlab-ci.yml").read_text()
    assert "helm dependency build deploy/chart" in ci
    assert not (after / "chart").exists(), "the embedded chart is gone"


def test_an_unknown_style_is_a_usage_error(plan_settings: config.PlanSettings) -> None:
    with pytest.raises(Exception, match="--style nope: expected one of"):
        config.plan_settings({}, config.PlanFlags(
            repos=config.FleetFlags(fleet=plan_settings.fleet), central=Path("c"),
            target_version="1", out=Path("o"), style="nope"))
