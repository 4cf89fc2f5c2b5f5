"""Values files as real repos hold them, planned end to end with real Helm: a chart without its
own values.yaml, values beside the chart, files Helm refuses or reads leniently, keys the fork
never had, values of another shape. Each one ends as a reason (or a notice) on its chart; none
is an internal error, and another chart of the same repo keeps its verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator import config, demo, git
from migrator.model import ChartPlan, Kind, NoticeKind, RepoPlan, RepoRef, Verdict
from migrator.pipeline.context import Context
from migrator.pipeline.fleet import make_context
from migrator.pipeline.repo import plan_repo
from migrator.report.reasons import reason
from migrator.verify import render

MAKEFILE = "deploy:\n\thelm upgrade --install app ./chart{flags}\n"


@pytest.fixture(scope="module")
def ctx(plan_settings: config.PlanSettings) -> Context:
    return make_context(plan_settings)[0]


def fork_files(chart: str = "chart", name: str = "app") -> dict[str, str]:
    """A pristine fork of app-template 2.0.0 (it migrates as `ready` on its own)."""
    source = demo.chart_source_dir(demo.CENTRAL_NAME, demo.TARGET_VERSION)
    return {f"{chart}/{rel}": text
            for rel, text in demo.fork_chart(source, name, "1.0.0").items()}


def repo_of(dest: Path, files: dict[str, str | None]) -> Path:
    """A git repo of `files` (None: the file is left out)."""
    for rel, text in files.items():
        if text is None:
            continue
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
    git.run(["init", "-q", "-b", "main", str(dest)])
    git.run(["-c", "core.autocrlf=false", "add", "-A"], cwd=dest)
    git.run(["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "f"],
            cwd=dest)
    return dest


def plan(ctx: Context, repo: Path) -> RepoPlan:
    return plan_repo(RepoRef(repo.name, repo.name, str(repo)), repo, ctx)


def the_chart(result: RepoPlan, path: str = "chart") -> ChartPlan:
    return next(c for c in result.charts if c.path == path)


def written(result: RepoPlan, rel: str) -> str:
    """A file the patch adds, as text."""
    assert result.patch is not None
    section = result.patch.split(f"+++ b/{rel}\n", 1)[1].split("\ndiff --git", 1)[0]
    return "".join(line[1:] + "\n" for line in section.splitlines()[1:] if line.startswith("+"))


def test_a_loaded_chart_without_values_yaml_has_empty_defaults(tmp_path: Path) -> None:
    files = fork_files()
    files["chart/values.yaml"] = None
    loaded = render.load_fork(repo_of(tmp_path / "r", files), "chart")
    assert loaded.values == {}


def test_a_chart_with_only_values_of_its_environment_plans_from_that_file(
        ctx: Context, tmp_path: Path) -> None:
    files = fork_files()
    files["chart/values-prod.yaml"] = files.pop("chart/values.yaml")
    files["Makefile"] = MAKEFILE.format(flags=" -f chart/values-prod.yaml")
    result = plan(ctx, repo_of(tmp_path / "r", files))
    chart = the_chart(result)
    assert chart.verdict is Verdict.READY, reason(chart)
    assert [e.name for e in chart.environments] == ["prod"]


def test_values_kept_beside_the_chart_are_the_teams_values(ctx: Context,
                                                           tmp_path: Path) -> None:
    files = fork_files()
    files["chart/values.yaml"] = None
    files["helm_deploy/values-dev.yaml"] = "replicas: 3\nimage:\n  tag: \"7.1\"\n"
    files["Makefile"] = MAKEFILE.format(flags=" -f helm_deploy/values-dev.yaml")
    result = plan(ctx, repo_of(tmp_path / "r", files))
    chart = the_chart(result)
    # The chart's defaults are {}: everything the environment sets is the team's own.
    assert chart.outcome.kind not in (Kind.INTERNAL, Kind.BAD_INPUT), reason(chart)
    assert chart.values is not None
    kept = {d.path: d.reason for d in chart.values.decisions if d.env in (None, "dev")}
    assert kept["replicas"] == "deliberate" and kept["image.tag"] == "deliberate"


def test_a_values_yaml_helm_refuses_is_that_charts_reason_and_the_other_chart_goes_on(
        ctx: Context, tmp_path: Path) -> None:
    files = {**fork_files("charts/good", "good"), **fork_files("charts/bad", "bad")}
    files["charts/bad/values.yaml"] = "- one\n- two\n"
    files["Makefile"] = ("deploy:\n\thelm upgrade --install good ./charts/good\n"
                         "\thelm upgrade --install bad ./charts/bad\n")
    result = plan(ctx, repo_of(tmp_path / "r", files))
    bad = the_chart(result, "charts/bad")
    assert bad.outcome.kind is Kind.CHART_INVALID
    assert bad.outcome.file == "charts/bad/values.yaml"
    assert the_chart(result, "charts/good").verdict is Verdict.READY
    assert result.verdict is Verdict.BLOCKED


def test_an_environment_file_that_is_a_list_is_a_reason_on_its_chart(
        ctx: Context, tmp_path: Path) -> None:
    files = fork_files()
    files["chart/values-prod.yaml"] = "- replicas: 2\n"
    files["Makefile"] = MAKEFILE.format(flags=" -f chart/values-prod.yaml")
    result = plan(ctx, repo_of(tmp_path / "r", files))
    chart = the_chart(result)
    assert chart.outcome.kind is Kind.BAD_INPUT
    assert reason(chart) == ("chart/values-prod.yaml: the values file is a list, not a map of "
                             "keys: Helm refuses it (passed by Makefile:2)")


def test_a_duplicate_key_is_read_as_helm_reads_it_written_once_and_noticed(
        ctx: Context, tmp_path: Path) -> None:
    files = fork_files()
    values = files["chart/values.yaml"]
    files["chart/values.yaml"] = values + "\n# scaled up later\nreplicas: 3\n"
    line = values.count("\n") + 3
    files["Makefile"] = MAKEFILE.format(flags="")
    result = plan(ctx, repo_of(tmp_path / "r", files))
    chart = the_chart(result)
    assert chart.verdict is Verdict.READY, reason(chart)
    lenient = [n for n in chart.notices if n.kind is NoticeKind.LENIENT]
    assert [n.where for n in lenient] == [f"chart/values.yaml:{line}"]
    assert lenient[0].detail.startswith("duplicate key `replicas` (also at line ")
    out = written(result, "deploy/values.yaml")
    assert out.count("replicas:") == 1 and "replicas: 3" in out


def test_keys_the_fork_never_had_take_the_central_default_and_a_null_stays_a_deletion(
        ctx: Context, tmp_path: Path) -> None:
    files = fork_files()
    kept = []
    for block in files["chart/values.yaml"].split("\n\n"):
        # a trimmed file: no serviceAccount, no pod annotations, no ingress block at all
        if not block.lstrip().startswith(("serviceAccount:", "pod:", "ingress:")):
            kept.append(block)
    files["chart/values.yaml"] = "\n\n".join(kept) + "\nnodeSelector: null\n"
    assert not {"serviceAccount", "pod", "ingress"} & set(
        render.parse_values(files["chart/values.yaml"] or "", "values.yaml"))
    files["Makefile"] = MAKEFILE.format(flags="")
    result = plan(ctx, repo_of(tmp_path / "r", files))
    chart = the_chart(result)
    assert chart.outcome.kind not in (Kind.CENTRAL_RENDER_FAILED, Kind.INTERNAL), reason(chart)
    assert chart.values is not None
    assert "serviceAccount" not in chart.values.base and "ingress" not in chart.values.base
    assert chart.values.base.get("nodeSelector", "absent") is None


def test_hosts_as_strings_are_a_named_finding_before_any_render(ctx: Context,
                                                                tmp_path: Path) -> None:
    files = fork_files()
    files["chart/values.yaml"] += "\n".join([
        "", "ingress:", "  enabled: true", "  hosts:", "    - app.example.com", ""])
    files["Makefile"] = MAKEFILE.format(flags="")
    result = plan(ctx, repo_of(tmp_path / "r", files))
    chart = the_chart(result)
    assert chart.outcome.kind is Kind.VALUES_SHAPE
    assert reason(chart) == ("values of another shape: ingress.hosts: a list of strings; the "
                             "central chart expects a list of maps (host, paths)")
    assert result.patch is None and chart.environments == ()  # Helm was never asked
    [notice] = [n for n in chart.notices if n.kind is NoticeKind.VALUES_SHAPE]
    assert notice.file == "chart/values.yaml" and notice.line is not None
    assert "`migrator mappings suggest` proposes a `convert` rule" in notice.detail
