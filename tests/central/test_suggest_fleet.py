"""The loop on the fixture fleet: plan on app-template 2.0.0, `central suggest` the hatches its
blocked repos need, release them as 2.1.0 (the fixture build does what the platform team does:
tag the suggested branch), plan again. gateway (a sidecar) and reports (a CronJob) move to ready;
legacy-api (an edited selector) stays blocked: no hatch makes an immutable-field change safe."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from migrator import config, demo, git
from migrator.central import suggest as central
from migrator.model import FleetPlan, Kind, RepoPlan, Verdict
from migrator.pipeline import fleet as pipeline
from migrator.report.write import write_reports
from testsupport import fixture_cases


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory, fleet_plan: FleetPlan
             ) -> tuple[demo.CentralSources, central.Suggestion]:
    root = tmp_path_factory.mktemp("released")
    sources = demo.build_central(root / "central")
    return sources, demo.release_suggestion(sources, fleet_plan, root / "out")


def plan(sources: demo.CentralSources, fleet: Path, out: Path,
         version: str = demo.SUGGESTED_VERSION) -> FleetPlan:
    settings = config.plan_settings({}, config.PlanFlags(
        repos=config.FleetFlags(fleet=fleet), central=sources.git_dir,
        families=sources.families_dir, target_version=version, out=out, work=out / "work",
        jobs=2))
    return pipeline.plan_fleet(pipeline.discover(settings), settings)


@pytest.fixture(scope="module")
def on_2_1_0(released: tuple[demo.CentralSources, central.Suggestion], fleet_dir: Path,
             tmp_path_factory: pytest.TempPathFactory) -> FleetPlan:
    return plan(released[0], fleet_dir, tmp_path_factory.mktemp("out-2.1.0"))


def repo(fleet: FleetPlan, name: str) -> RepoPlan:
    return next(r for r in fleet.repos if r.repo.name == name)


def test_the_fixture_release_is_the_suggestion_tagged(
        released: tuple[demo.CentralSources, central.Suggestion]) -> None:
    sources, made = released
    assert made.new_version == demo.SUGGESTED_VERSION == "2.1.0"
    assert {h.key for h in made.added} >= {"extraContainers", "extraObjects"}
    assert made.proof.holds and made.proof.rendered > 10
    tagged = git.ref_sha(sources.git_dir, "v2.1.0")
    assert tagged == git.ref_sha(sources.git_dir, "refs/heads/central-suggest/2.1.0")
    assert git.run(["show", "v2.1.0:Chart.yaml"], cwd=sources.git_dir).count("version: 2.1.0")
    assert "version: 2.0.0" in (sources.git_dir / "Chart.yaml").read_text()  # HEAD stays
    # the chart it releases does not depend on the run (only the CHANGELOG counts the plan)
    again = demo.build_central(sources.git_dir.parent.parent / "again")
    chart = {k: v for k, v in made.writes.items() if k != "CHANGELOG.md"}
    assert {k: v for k, v in central.suggest(again.git_dir, None, made.kinds).writes.items()
            if k != "CHANGELOG.md"} == chart


def test_gateway_and_reports_move_from_blocked_to_ready_on_2_1_0(
        fleet_plan: FleetPlan, on_2_1_0: FleetPlan) -> None:
    for name in ("gateway", "reports"):
        assert repo(fleet_plan, name).verdict is Verdict.BLOCKED
        moved = repo(on_2_1_0, name)
        assert moved.verdict is Verdict.READY, moved.outcome
        assert moved.outcome.kind is Kind.IDENTICAL
    gateway = repo(on_2_1_0, "gateway").charts[0].values
    assert gateway is not None
    assert [c["name"] for c in gateway.base["extraContainers"]] == ["log-shipper"]
    reports = repo(on_2_1_0, "reports").charts[0].values
    assert reports is not None
    assert [(o["kind"], o["metadata"]["name"]) for o in reports.base["extraObjects"]] == [
        ("CronJob", "reports-nightly-export")]


def test_legacy_api_stays_blocked_on_2_1_0(on_2_1_0: FleetPlan) -> None:
    legacy = repo(on_2_1_0, "legacy-api")
    assert legacy.verdict is Verdict.BLOCKED
    assert legacy.outcome.kind is Kind.DESTRUCTIVE and "spec.selector" in legacy.outcome.paths[0]


def test_no_repo_ready_on_2_0_0_gets_worse_on_2_1_0(fleet_plan: FleetPlan,
                                                      on_2_1_0: FleetPlan) -> None:
    for before in fleet_plan.repos:
        after = repo(on_2_1_0, before.repo.name)
        if before.verdict is Verdict.READY:
            assert after.verdict is Verdict.READY, (before.repo.name, after.outcome)


def test_what_must_never_be_shown_is_not_shown_on_2_1_0(on_2_1_0: FleetPlan,
                                                         tmp_path: Path) -> None:
    # accounts' Secret now rides in extraObjects: its data stays out of every report
    write_reports(on_2_1_0, tmp_path)
    texts = [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    for case in demo.case_names():
        for secret in fixture_cases.expected(case).never_shown:
            assert not any(secret in t for t in texts), (case, secret)


SIDECAR_TAG = """\
        - name: migrate
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          args: ["migrate", "--wait"]
"""


def test_a_sidecar_holding_a_deploy_time_tag_keeps_the_repo_in_review(
        released: tuple[demo.CentralSources, central.Suggestion], tmp_path: Path) -> None:
    files = {f"chart/{rel}": text for rel, text in demo.fork_chart(
        demo.central_chart_dir() / "2.0.0", "api", "1.4.0").items()}
    files["chart/templates/deployment.yaml"] = files["chart/templates/deployment.yaml"].replace(
        "      {{- with .Values.volumes }}", SIDECAR_TAG + "      {{- with .Values.volumes }}")
    files[".gitlab-ci.yml"] = (
        "deploy:\n  stage: deploy\n  environment: prod\n  script:\n"
        "    - helm upgrade --install api ./chart --set image.tag=$CI_COMMIT_SHA "
        "--namespace api\n")
    demo.write_repo(tmp_path / "fleet" / "api", [demo.Commit("api with a migrate sidecar",
                                                             files)])
    (api,) = plan(released[0], tmp_path / "fleet", tmp_path / "out").repos
    assert api.verdict is Verdict.REVIEW, api.outcome
    assert api.outcome.kind is Kind.HATCH_DEPLOY_TIME
    assert api.outcome.paths == ("extraContainers[migrate].image",)
    assert api.outcome.detail == "--set image.tag=$CI_COMMIT_SHA"


def test_the_demo_plans_suggests_releases_and_replans(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "migrator", "demo", str(tmp_path / "demo")],
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    order = text.index("unblock order")
    suggest = text.index("$ migrator central suggest")
    assert order < suggest < text.index("app-template 2.1.0 · plan")
    assert "extraContainers" in text[order:suggest] and "extraObjects" in text[order:suggest]
    assert ", 0 differences" in text[suggest:]
    assert "gateway: blocked -> ready" in text and "reports: blocked -> ready" in text
    assert "legacy-api: blocked" not in text
    assert (tmp_path / "demo" / "out" / "central-suggest-2.1.0.patch").is_file()
    assert (tmp_path / "demo" / "out-2.1.0" / "fleet.md").is_file()
