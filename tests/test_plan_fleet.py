"""`plan` over the fixture fleet: every case gets the verdict its expected.toml names, and every
`ready` claim is proved again here, independently of the planner, by applying the patch to a
fresh clone and rendering the central chart with the files it wrote."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest

from migrator import config, demo, tree
from migrator.locate.refs import chart_dir, find_references, values_paths
from migrator.model import FleetPlan, Kind, RepoPlan, RepoRef, Verdict
from migrator.pipeline.fleet import make_context
from migrator.pipeline.repo import plan_repo
from migrator.report.planstate import save_state
from migrator.report.reasons import reason
from migrator.report.write import write_reports
from migrator.verify import manifests, render
from testsupport import fixture_cases

CASES = demo.case_names()
FORKS = [c for c in CASES if demo.load_case(c).charts]  # repos with an embedded chart
PROPOSED = (Verdict.READY, Verdict.REVIEW)


def _plan(fleet: FleetPlan, case: str) -> RepoPlan:
    return next(r for r in fleet.repos if r.repo.name == case)


@pytest.mark.parametrize("case", CASES)
def test_case_gets_its_expected_verdict_and_reason(fleet_plan: FleetPlan, case: str) -> None:
    want = fixture_cases.expected(case)
    got = _plan(fleet_plan, case)
    assert got.verdict is want.verdict, reason(got)
    assert want.reason.lower() in reason(got).lower(), reason(got)
    found = {d.diff_class for c in got.charts for e in c.environments for d in e.differences}
    assert want.classes <= found, (want.classes, found)


@pytest.mark.parametrize("case", CASES)
def test_case_gets_its_expected_outcome_kinds_reason_pattern_and_notices(
        fleet_plan: FleetPlan, case: str) -> None:
    want = fixture_cases.expected(case)
    got = _plan(fleet_plan, case)
    if want.reason_pattern is not None:
        assert re.search(want.reason_pattern, reason(got)), reason(got)
    if want.kind is not None:
        assert got.outcome.kind is want.kind, reason(got)
    for chart in want.charts:
        if chart.kind is not None:
            plan = next(c for c in got.charts if c.path == chart.path)
            assert plan.outcome.kind is chart.kind, (chart.path, plan.outcome)
    noticed = [*got.notices, *(n for c in got.charts for n in c.notices)]
    for notice in want.notices:
        assert any(n.kind is notice.kind and notice.where in (None, n.where) for n in noticed), (
            notice, noticed)


@pytest.mark.parametrize("case", CASES)
def test_lineage_finds_the_version_the_fork_came_from(fleet_plan: FleetPlan, case: str) -> None:
    want = fixture_cases.expected(case)
    got = _plan(fleet_plan, case)
    for chart in want.charts:
        if chart.lineage is None:
            continue
        plan = next(c for c in got.charts if c.path == chart.path)
        if plan.verdict is Verdict.ERROR:
            continue  # Helm cannot load a chart whose values.yaml is malformed
        assert plan.lineage is not None
        assert plan.lineage.version == chart.lineage
        assert plan.lineage.chart == chart.lineage_chart


def _clone_with_patch(plan: RepoPlan, fleet_dir: Path, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(fleet_dir / plan.repo.name), str(dest)],
                   check=True)
    subprocess.run(["git", "checkout", "-q", plan.commit or "HEAD"], cwd=dest, check=True)
    assert plan.patch
    subprocess.run(["git", "apply", "--index", "-"], cwd=dest, input=plan.patch.encode(),
                   check=True)
    return dest


def _descriptive(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without the labels the plan is allowed to change (helm.sh/chart, version)."""
    out = manifests.normalize(obj)
    for path in (("metadata", "labels"), ("spec", "template", "metadata", "labels")):
        labels = tree.get(out, path, None)
        if isinstance(labels, dict):
            for key in manifests.DEFAULT_COSMETIC_KEYS:
                labels.pop(key, None)
    return out


def _objects(rendered: dict[str, str], namespace: str | None) -> dict[Any, Any]:
    index = manifests.index(render.parse_manifests(rendered), namespace)
    return {(r.kind, r.namespace, r.name): _descriptive(o) for r, o in index.objects.items()}


def _values(repo: Path, files: list[str]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for f in files:
        merged = tree.merge(merged, helm.values_from_yaml((repo / f).read_text()))
    return merged


@pytest.mark.parametrize("case", [c for c in CASES
                                  if fixture_cases.expected(c).verdict is Verdict.READY])
def test_ready_means_the_rewritten_deploy_commands_render_the_same_manifests(
        fleet_plan: FleetPlan, fleet_dir: Path, central_sources: demo.CentralSources,
        tmp_path: Path, case: str) -> None:
    """Apply the patch, find the deploy commands in the patched repo, and run each the way CI
    would (its chart reference, version, values files, release, namespace and flags)."""
    plan = _plan(fleet_plan, case)
    before_repo = fleet_dir / case
    after_repo = _clone_with_patch(plan, fleet_dir, tmp_path / "after")
    kept = {c.path for c in plan.charts if c.verdict not in PROPOSED}  # an umbrella, say
    before_refs = [r for r in find_references(before_repo)
                   if r.subcommand == "upgrade" and chart_dir(r) not in kept]
    after_refs = {(r.file, r.context, r.environment, r.release): r
                  for r in find_references(after_repo)}
    assert before_refs, "every fixture deploys with helm upgrade"
    for old_written in before_refs:
        new_written = after_refs[(old_written.file, old_written.context, old_written.environment,
                                  old_written.release)]
        for old, new in _as_run(before_repo, old_written, new_written):
            _assert_same_render(old, new, before_repo, after_repo, central_sources)


def _as_run(repo: Path, old: Any, new: Any) -> list[tuple[Any, Any]]:
    """A script taking the environment as argument (`./deploy.sh prod`) runs once per
    environment whose values file exists; other commands run as written."""
    if not any("${env}" in f for f in old.values_files):
        return [(old, new)]
    runs = []
    for env in ("dev", "staging", "prod"):
        def bind(ref: Any, env: str = env) -> Any:
            return dataclasses.replace(
                ref, values_files=tuple(f.replace("${env}", env) for f in ref.values_files),
                namespace=(ref.namespace or "").replace("${env}", env) or None)
        if all((repo / f).is_file() for f in values_paths(bind(old))):
            runs.append((bind(old), bind(new)))
    assert runs
    return runs


def _assert_same_render(old: Any, new: Any, before_repo: Path, after_repo: Path,
                        central_sources: demo.CentralSources) -> None:
    assert new.chart == "oci://registry.example.com/charts/app-template"
    assert new.version == "2.0.0"
    assert (new.release, new.namespace) == (old.release, old.namespace)
    central = helm.Chart.load(central_sources.repo_dir / f"app-template-{new.version}.tgz")
    if (old.chart or "").startswith("oci://"):  # an upgrade: the older central version
        fork = helm.Chart.load(central_sources.repo_dir / f"app-template-{old.version}.tgz")
    else:
        fork = helm.Chart.load(before_repo / (old.chart or "").removeprefix("./"))
    before = fork.render(_command_values(before_repo, old), name=old.release,
                         namespace=old.namespace or "default")
    after = central.render(_command_values(after_repo, new), name=new.release,
                           namespace=new.namespace or "default")
    assert _objects(before, old.namespace) == _objects(after, new.namespace), old.text
    assert not any(f.kind == "set" and not f.dynamic for f in new.set_flags), new.text


def _command_values(repo: Path, ref: Any) -> dict[str, Any]:
    """Values as helm would merge them for this command: -f files in order, then --set."""
    merged = _values(repo, list(values_paths(ref)))
    for flag in ref.set_flags:
        merged = tree.merge(merged, helm.parse_set_string(f"{flag.key}={flag.value}"))
    return merged


@pytest.mark.parametrize("case", [c for c in FORKS
                                  if fixture_cases.expected(c).verdict is Verdict.READY])
def test_ready_means_the_written_files_render_the_same_manifests(
        fleet_plan: FleetPlan, fleet_dir: Path, central_sources: demo.CentralSources,
        tmp_path: Path, case: str) -> None:
    plan = _plan(fleet_plan, case)
    before_repo = fleet_dir / case
    after_repo = _clone_with_patch(plan, fleet_dir, tmp_path / "after")
    central = helm.Chart.load(central_sources.repo_dir / "app-template-2.0.0.tgz")
    for chart in plan.charts:
        if chart.verdict not in PROPOSED:
            assert (after_repo / chart.path).is_dir(), "a chart not migrated stays"
            continue
        assert not (after_repo / chart.path).exists(), "the embedded chart is removed"
        fork = helm.Chart.load(before_repo / chart.path)
        for env in chart.environments:
            sources = [f for f in chart.source_values_files if f != f"{chart.path}/values.yaml"]
            env_sources = [f for f in sources if env.name in f] if env.name != "default" else []
            flags = _set_flags(plan, env.name)
            before = fork.render(tree.merge(_values(before_repo, env_sources), flags),
                                 name=env.release, namespace=env.namespace or "default")
            written = list(env.values_files)
            assert all((after_repo / f).is_file() for f in written), written
            after = central.render(tree.merge(_values(after_repo, written), flags),
                                   name=env.release, namespace=env.namespace or "default")
            assert _objects(before, env.namespace) == _objects(after, env.namespace), env.name


def _set_flags(plan: RepoPlan, env: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for ref in plan.references:
        if ref.subcommand in ("upgrade", "install") and (
                env == "default" or any(env in f for f in ref.values_files)):
            for flag in ref.set_flags:
                merged = tree.merge(merged, helm.parse_set_string(f"{flag.key}={flag.value}"))
    return merged


# An upgrade renames the team's own keys in their files; it does not minimise them.
@pytest.mark.parametrize("case", [
    c for c in FORKS if fixture_cases.expected(c).verdict in (Verdict.READY, Verdict.REVIEW)])
def test_no_written_value_equals_the_central_default(
        fleet_plan: FleetPlan, fleet_dir: Path, central_sources: demo.CentralSources,
        tmp_path: Path, case: str) -> None:
    plan = _plan(fleet_plan, case)
    after_repo = _clone_with_patch(plan, fleet_dir, tmp_path / "after")
    defaults = helm.Chart.load(central_sources.repo_dir / "app-template-2.0.0.tgz").values
    written = [p for p in after_repo.rglob("values*.yaml")
               if p.relative_to(after_repo).parts[0] == "deploy"]
    assert written
    for path in written:
        for key, value in tree.leaves(helm.values_from_yaml(path.read_text())):
            default = tree.get(defaults, key)
            assert not tree.same(value, default), f"{path.name}: {'.'.join(key)} = default"


@pytest.mark.parametrize("case", CASES)
def test_expected_keys_are_kept_and_dropped(fleet_plan: FleetPlan, case: str) -> None:
    want = fixture_cases.expected(case)
    got = _plan(fleet_plan, case)
    for chart in want.charts:
        plan = next(c for c in got.charts if c.path == chart.path)
        if plan.values is None:
            continue
        for key in chart.keep:
            assert tree.get(plan.values.base, tree.undotted(key)) is not tree.MISSING, key
        for key in chart.drop:
            assert tree.get(plan.values.base, tree.undotted(key)) is tree.MISSING, key
        for env in chart.environments:
            if env.name is None:
                continue
            values = plan.values.envs.get(env.name, {})
            for key in env.keep:
                assert tree.get(values, tree.undotted(key)) is not tree.MISSING, (env.name, key)
            for key in env.drop:
                assert tree.get(values, tree.undotted(key)) is tree.MISSING, (env.name, key)


@pytest.mark.parametrize("case", CASES)
def test_environments_release_and_values_files_come_from_the_deploy_commands(
        fleet_plan: FleetPlan, case: str) -> None:
    want = fixture_cases.expected(case)
    got = _plan(fleet_plan, case)
    for chart in want.charts:
        if chart.kind is Kind.VALUES_SHAPE:
            continue  # found against the central defaults, before any environment is rendered
        plan = next(c for c in got.charts if c.path == chart.path)
        for env in chart.environments:
            candidates = [e for e in plan.environments
                          if env.name is None or e.name == env.name]
            assert candidates, (env.name, [e.name for e in plan.environments])
            assert candidates[0].release == env.release
            assert candidates[0].namespace == env.namespace


def test_a_failing_repo_never_stops_the_fleet(fleet_plan: FleetPlan) -> None:
    verdicts = {r.repo.name: r.verdict for r in fleet_plan.repos}
    assert Verdict.ERROR in verdicts.values()
    assert sum(v is Verdict.READY for v in verdicts.values()) >= 5
    assert len(verdicts) == len(CASES)


def test_a_change_set_holds_exactly_the_charts_whose_own_verdict_allows_it(
        fleet_plan: FleetPlan) -> None:
    """A repo with one chart that cannot move (blocked, skipped) still proposes the others; its
    verdict says the worst. A repo with nothing proposable proposes nothing."""
    partial = 0
    for plan in fleet_plan.repos:
        if plan.kind == "upgrade" or not plan.charts:  # no embedded chart to remove
            assert bool(plan.patch) is (plan.verdict in PROPOSED), plan.repo.name
            continue
        proposed = [c.path for c in plan.charts if c.verdict in PROPOSED]
        if not proposed:
            assert plan.patch is None, plan.repo.name
            continue
        assert plan.patch, plan.repo.name
        touched = set(re.findall(r"(?m)^diff --git a/(\S+)", plan.patch))
        for chart in plan.charts:
            inside = {f for f in touched if f.startswith(f"{chart.path}/")}
            assert bool(inside) is (chart.path in proposed), (plan.repo.name, chart.path)
        partial += plan.verdict not in PROPOSED
    assert partial, "some fixture repo proposes one chart beside a blocked one"


@pytest.mark.parametrize("case", [c for c in CASES if fixture_cases.expected(c).never_shown])
def test_no_written_report_shows_a_secret_of_the_case(
        fleet_plan: FleetPlan, tmp_path: Path, case: str) -> None:
    write_reports(fleet_plan, tmp_path)
    save_state(fleet_plan, tmp_path)
    texts = {p: p.read_bytes().decode("utf-8", "replace")
             for p in tmp_path.rglob("*") if p.is_file()}
    assert any(f"/{case}/" in str(p) for p in texts)
    for secret in fixture_cases.expected(case).never_shown:
        assert [p for p, text in texts.items() if secret in text] == [], secret


@pytest.mark.parametrize("case", [c for c in CASES if fixture_cases.expected(c).crlf])
def test_a_crlf_case_keeps_its_line_endings_and_its_patch_applies_byte_for_byte(
        plan_settings: config.PlanSettings, tmp_path: Path, case: str) -> None:
    """Built here with the overlay's bytes (the demo's fixture reader turns CRLF into LF)."""
    want = fixture_cases.expected(case)
    first, second = demo.case_history(case)
    overlay = demo.case_dir(case) / "overlay"
    files = {**second.files, **{p.relative_to(overlay).as_posix(): p.read_bytes().decode()
                                for p in overlay.rglob("*") if p.is_file()}}
    repo = demo.write_repo(tmp_path / case, [first, demo.Commit(second.message, files)])
    assert all(b"\r\n" in (repo / rel).read_bytes() for rel in want.crlf)
    ctx = make_context(plan_settings)[0]
    got = plan_repo(RepoRef(case, case, str(repo)), repo, ctx)
    assert got.verdict is want.verdict, reason(got)
    assert got.patch is not None
    after = tmp_path / "after"
    subprocess.run(["git", "-c", "core.autocrlf=false", "clone", "-q", str(repo), str(after)],
                   check=True)
    subprocess.run(["git", "apply", "--check", "-"], cwd=after, input=got.patch.encode(),
                   check=True)
    subprocess.run(["git", "apply", "-"], cwd=after, input=got.patch.encode(), check=True)
    changed = set(re.findall(r"(?m)^\+\+\+ b/(\S+)", got.patch))
    crlf_kept = [rel for rel in changed if (after / rel).is_file()]
    assert any(rel in want.crlf for rel in crlf_kept)  # a CRLF deploy file was rewritten
    for rel in crlf_kept:
        data = (after / rel).read_bytes()
        assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b""), rel
