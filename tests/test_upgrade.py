"""Repos already on the central chart are upgraded to the target version."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from migrator import config
from migrator.model import FleetPlan, Verdict
from migrator.pipeline import fleet as pipeline
from migrator.report.markdown import mr_title
from migrator.report.reasons import reason


def _alerts(fleet: FleetPlan):  # type: ignore[no-untyped-def]
    return next(r for r in fleet.repos if r.repo.name == "alerts")


def test_an_app_on_an_older_central_version_gets_an_upgrade(fleet_plan: FleetPlan) -> None:
    plan = _alerts(fleet_plan)
    assert plan.kind == "upgrade" and plan.verdict is Verdict.READY, reason(plan)
    assert reason(plan).startswith("upgrade from 1.1.0:")
    assert mr_title(plan, fleet_plan.central) == (
        "Upgrade the central chart app-template to 2.0.0 (was: 1.1.0)")
    patch = plan.patch or ""
    # the renamed key moves, the comment above it stays
    assert "-replicaCount: 2\n+replicas: 2\n" in patch
    assert " # Two pods: a pager outage is an incident.\n" in patch
    # the default 1.2.0 changed is pinned; both deploy jobs get the target version
    assert "+    initialDelaySeconds: 30\n" in patch
    assert patch.count("+    - helm upgrade --install alerts") == 2
    assert patch.count("--version 2.0.0") == 2
    decisions = {(d.path, d.reason, d.env) for d in plan.charts[0].values.decisions}
    assert ("replicas", "deliberate", "prod") in decisions
    assert ("probes.liveness.initialDelaySeconds", "inherited-pinned", None) in decisions


def test_a_version_the_central_source_does_not_publish_is_an_error(
        plan_settings: config.PlanSettings, fleet_dir: Path, tmp_path: Path) -> None:
    repo = tmp_path / "fleet" / "alerts"
    shutil.copytree(fleet_dir / "alerts", repo)
    ci = repo / ".gitlab-ci.yml"
    ci.write_text(ci.read_text().replace("--version 1.1.0 -f", "--version 0.9.0 -f"))
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=a", "-c", "user.email=a@b",
                    "commit", "-qam", "older"], check=True)
    settings = config.plan_settings({}, config.PlanFlags(
        repos=config.FleetFlags(fleet=tmp_path / "fleet"), central=plan_settings.central,
        target_version="2.0.0", out=tmp_path / "out"))
    (plan,) = pipeline.plan_fleet(pipeline.discover(settings), settings).repos
    assert plan.verdict is Verdict.ERROR
    assert "deploys app-template 0.9.0, which the central source does not publish" in reason(plan)
