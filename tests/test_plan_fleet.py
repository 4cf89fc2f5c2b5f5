"""`plan` over the fixture fleet: every case gets the verdict its expected.toml names, and every
`ready` claim is proved again here, independently of the planner, by applying the patch to a
fresh clone and rendering the central chart with the files it wrote."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest

from migrator import demo, tree
from migrator.locate.refs import find_references, values_paths
from migrator.model import FleetPlan, RepoPlan, Verdict
from migrator.report.reasons import reason
from migrator.verify import manifests, render
from testsupport import fixture_cases

CASES = demo.case_names()
FORKS = [c for c in CASES if demo.load_case(c).charts]  # repos with an embedded chart


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
    before_refs = [r for r in find_references(before_repo) if r.subcommand == "upgrade"]
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


def test_blocked_repos_propose_no_change_set(fleet_plan: FleetPlan) -> None:
    for plan in fleet_plan.repos:
        if plan.verdict in (Verdict.BLOCKED, Verdict.ERROR, Verdict.SKIPPED):
            assert plan.patch is None, plan.repo.name
        else:
            assert plan.patch, plan.repo.name
