"""Running the stages over the fleet: shared central chart, callbacks, parallel workers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from migrator import config, demo
from migrator.lineage import catalog as central
from migrator.model import Kind, RepoPlan, RepoRef
from migrator.pipeline import fleet as pipeline
from migrator.report.reasons import reason
from migrator.verify import render
from migrator.workdir import WorkDir


def test_each_central_version_is_loaded_once_per_process(
        tmp_path: Path, fleet_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = demo.build_central(tmp_path / "central")  # a source this process never loaded
    loaded: list[Path] = []
    real_load = render.load

    def counting_load(path: Path) -> render.LoadedChart:
        loaded.append(path)
        return real_load(path)

    monkeypatch.setattr(render, "load", counting_load)
    settings = config.plan_settings({}, config.PlanFlags(
        repos=config.FleetFlags(fleet=fleet_dir), central=sources.repo_dir,
        target_version="2.0.0", out=tmp_path / "out", jobs=2))
    repos = pipeline.discover(settings)
    done: list[RepoPlan] = []
    pipeline.plan_fleet(repos, settings, on_done=done.append)
    pipeline.plan_fleet(repos[:3], settings)
    assert len(loaded) == len(sources.versions) == 4
    assert len(done) == len(repos)
    assert central.load_catalog(str(sources.repo_dir)) is central.load_catalog(
        str(sources.repo_dir))


def test_more_workers_give_the_same_plan(plan_settings: config.PlanSettings) -> None:
    repos = pipeline.discover(plan_settings)[:6]
    one = pipeline.plan_fleet(repos, replace(plan_settings, jobs=1))
    two = pipeline.plan_fleet(repos, replace(plan_settings, jobs=2))
    assert [r.plan_hash for r in one.repos] == [r.plan_hash for r in two.repos]
    assert one.plan_id == two.plan_id


def test_a_repo_that_cannot_be_fetched_is_an_error_and_the_rest_go_on(
        plan_settings: config.PlanSettings, tmp_path: Path) -> None:
    from migrator.model import RepoRef

    repos = [*pipeline.discover(plan_settings)[:2],
             RepoRef(name="gone", slug="gone", url=str(tmp_path / "nowhere"))]
    fleet = pipeline.plan_fleet(repos, plan_settings)
    gone = fleet.repos[-1]
    assert gone.verdict.value == "error" and reason(gone).startswith("fetch failed")
    assert all(r.verdict.value != "error" for r in fleet.repos[:2])


def test_a_rerun_reuses_plans_whose_inputs_did_not_change(
        plan_settings: config.PlanSettings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    from migrator.pipeline import repo as planner

    origin = tmp_path / "orders"
    subprocess.run(["git", "clone", "-q", str(plan_settings.fleet / "orders"), str(origin)],
                   check=True)
    settings = replace(plan_settings, fleet=tmp_path, work=WorkDir(tmp_path / "work"))
    planned: list[str] = []
    real = planner.plan_repo

    def counting(repo, *args):  # type: ignore[no-untyped-def]
        planned.append(repo.name)
        return real(repo, *args)

    monkeypatch.setattr(pipeline, "plan_repo", counting)
    first = pipeline.plan_fleet(pipeline.discover(settings), settings)
    second = pipeline.plan_fleet(pipeline.discover(settings), settings)
    assert planned == ["orders"] and second.repos == first.repos

    subprocess.run(["git", "-C", str(origin), "-c", "user.name=dev", "-c", "user.email=d@x",
                    "commit", "-q", "--allow-empty", "-m", "a new commit"], check=True)
    third = pipeline.plan_fleet(pipeline.discover(settings), settings)
    assert planned == ["orders", "orders"]
    assert third.repos[0].commit != first.repos[0].commit
    pipeline.plan_fleet(pipeline.discover(settings), replace(settings, fresh=True))
    assert planned == ["orders", "orders", "orders"]


def test_adopting_inherited_defaults_shows_the_change_as_functional(
        plan_settings: config.PlanSettings) -> None:
    adopt = replace(plan_settings, inherited="adopt")
    repos = [r for r in pipeline.discover(adopt) if r.name == "inventory"]
    (plan,) = pipeline.plan_fleet(repos, adopt).repos
    assert plan.verdict.value == "review", reason(plan)
    (diff,) = [d for e in plan.charts[0].environments for d in e.differences
               if d.diff_class.value == "functional"]
    assert diff.paths == ("spec.template.spec.containers[inventory].livenessProbe"
                          ".initialDelaySeconds",)
    assert [(f.before, f.after) for f in diff.fields] == [("30", "10")]
    adopted = [d for d in plan.charts[0].values.decisions if d.reason == "inherited-adopted"]
    assert [d.path for d in adopted] == ["probes.liveness.initialDelaySeconds"]


def test_an_internal_error_keeps_its_traceback_in_the_work_dir_and_the_reason_names_it(
        plan_settings: config.PlanSettings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # No real input makes the tool fail on purpose, so a bug is planted for one repo.
    real = pipeline.plan_repo

    def buggy(repo: RepoRef, workdir: Path, ctx: object, commit: str | None = None) -> RepoPlan:
        if repo.name == "orders":
            raise KeyError("password=hunter2 surprise")
        return real(repo, workdir, ctx, commit)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "plan_repo", buggy)
    work = WorkDir(tmp_path / "work")
    settings = replace(plan_settings, work=work, fresh=True)
    repos = [r for r in pipeline.discover(settings) if r.name in ("orders", "catalog")]
    fleet = pipeline.plan_fleet(repos, settings)
    by_name = {r.repo.name: r for r in fleet.repos}
    orders = by_name["orders"]
    assert orders.outcome.kind is Kind.INTERNAL and orders.outcome.log is not None
    log = Path(orders.outcome.log)
    assert log.parent == work.logs and f"traceback in {log}" in reason(orders)
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "in buggy" in text
    assert "hunter2" not in text and "hunter2" not in reason(orders)
    assert by_name["catalog"].verdict.value == "ready"


def test_the_plan_cache_key_covers_the_code_of_every_stage() -> None:
    package = Path(pipeline.__file__).resolve().parents[1]
    names = {p.relative_to(package).as_posix() for p in pipeline.code_files()}
    assert {"model.py", "verify/render.py", "values/extract.py", "lineage/match.py",
            "locate/charts.py", "rewrite/engine.py", "pipeline/fleet.py"} <= names
