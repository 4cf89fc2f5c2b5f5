"""What locating finds reaches the plan: a bad chart or file is a reason on that chart or a notice,
and every other chart of the repository keeps its own verdict."""

from __future__ import annotations

from pathlib import Path

from migrator import config, demo
from migrator.model import Kind, NoticeKind, RepoPlan, Verdict
from migrator.pipeline import fleet as pipeline
from tests.conftest import TARGET


def _plan(tmp_path: Path, central: demo.CentralSources, files: dict[str, str]) -> RepoPlan:
    fleet_dir = tmp_path / "fleet"
    demo.write_repo(fleet_dir / "shop", [demo.Commit("Fork app-template", files)])
    settings = config.plan_settings({}, config.PlanFlags(
        repos=config.FleetFlags(fleet=fleet_dir), central=central.repo_dir,
        target_version=TARGET, families=central.families_dir, out=tmp_path / "out",
        work=tmp_path / "work", jobs=1))
    (plan,) = pipeline.plan_fleet(pipeline.discover(settings), settings).repos
    return plan


def _fork(path: str, name: str) -> dict[str, str]:
    source = demo.central_chart_dir() / TARGET
    return {f"{path}/{rel}": text for rel, text in demo.fork_chart(source, name, "1.0.0").items()}


def test_a_chart_helm_refuses_is_chart_invalid_and_the_other_chart_is_planned(
        tmp_path: Path, central_sources: demo.CentralSources) -> None:
    templated = _fork("bad", "bad")
    templated["bad/Chart.yaml"] = templated["bad/Chart.yaml"].replace(
        "version: 0.1.0", 'version: "{{ .Env.VERSION }}"')
    listed = _fork("listed", "listed")
    listed["listed/values.yaml"] = "- one\n- two\n"  # Helm refuses a values.yaml that is a list
    plan = _plan(tmp_path, central_sources, {
        **_fork("good", "good"), **templated, **listed,
        "Makefile": "good:\n\thelm upgrade --install good ./good\n"})
    by_path = {c.path: c for c in plan.charts}
    assert by_path["bad"].outcome.kind is Kind.CHART_INVALID
    assert by_path["bad"].outcome.where == "bad/Chart.yaml:6"  # its `version:` line
    assert by_path["listed"].outcome.kind is Kind.CHART_INVALID
    assert (by_path["listed"].outcome.file or "").startswith("listed/")
    good = by_path["good"]
    assert good.outcome.kind not in (Kind.CHART_INVALID, Kind.BAD_INPUT, Kind.INTERNAL)
    assert plan.verdict is not Verdict.ERROR


def test_file_notices_reach_the_plan_and_a_missing_values_file_is_no_error(
        tmp_path: Path, central_sources: demo.CentralSources) -> None:
    plan = _plan(tmp_path, central_sources, {
        **_fork("chart", "orders"),
        ".gitlab-ci.yml": "variables:\n  A: '1'\nvariables:\n  B: '2'\n"
                          "deploy:\n  script:\n    - helm upgrade --install orders ./chart\n",
        "Makefile": "gone:\n\thelm upgrade --install orders ./chart -f chart/values-gone.yaml\n",
        "broken.sh": "#!/bin/sh\n\x00binary",
        "other/helmfile.yaml": "releases:\n  - name: x\n    chart: bitnami/redis\n"
                               "    values: [redis-values-missing.yaml]\n",
    })
    assert plan.verdict is not Verdict.ERROR
    kinds = {(n.kind, n.where) for n in plan.notices}
    assert (NoticeKind.LENIENT, ".gitlab-ci.yml:3") in kinds
    assert (NoticeKind.MISSING_FILE, "Makefile:2") in kinds
    assert (NoticeKind.UNREADABLE, "broken.sh") in kinds
    # a missing file of a deploy of another chart is not this plan's business
    assert not any(n.file == "other/helmfile.yaml" for n in plan.notices)
    gone = next(r for r in plan.references if r.file == "Makefile")
    assert not gone.rewritable


def test_a_repo_whose_charts_live_in_submodules_says_so_in_its_skip_reason(
        tmp_path: Path, central_sources: demo.CentralSources) -> None:
    # A GitOps repo whose charts are submodules: the clone holds none of them (submodules are
    # never fetched), and "no embedded chart" alone would read as if there were nothing to do.
    from migrator.report.reasons import describe

    plan = _plan(tmp_path, central_sources, {
        ".gitmodules": '[submodule "service-chat"]\n\tpath = service-chat\n'
                       "\turl = https://example.com/org/service-chat.git\n"
                       '[submodule "service-ticket"]\n\tpath = service-ticket\n'
                       "\turl = https://example.com/org/service-ticket.git\n",
        "argocd/app.yaml": "kind: Application\nspec:\n  source:\n    path: service-chat/helm\n"})
    assert plan.outcome.kind is Kind.NO_CHART and plan.verdict is Verdict.SKIPPED
    assert plan.outcome.paths == ("service-chat", "service-ticket")
    reason = describe(plan.outcome)
    assert "git submodules service-chat, service-ticket are not read" in reason


def test_a_repo_without_charts_or_submodules_keeps_the_plain_reason(
        tmp_path: Path, central_sources: demo.CentralSources) -> None:
    from migrator.report.reasons import describe

    plan = _plan(tmp_path, central_sources, {"README.md": "docs\n"})
    assert describe(plan.outcome) == "no embedded chart (no Chart.yaml outside vendored charts/)"
