"""Running the stages over the fleet: shared central chart, callbacks, worker processes, the plan
cache; the same reports whatever --jobs."""

from __future__ import annotations

import multiprocessing
import re
import shutil
import sqlite3
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrator import cli, config, demo
from migrator.errors import MigratorError
from migrator.lineage import catalog as central
from migrator.model import Kind, RepoPlan, RepoRef
from migrator.pipeline import fleet as pipeline
from migrator.pipeline import worker
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
    repos = pipeline.discover(settings)[:4]
    done: list[RepoPlan] = []
    pipeline.plan_fleet(repos, settings, on_done=done.append)
    pipeline.plan_fleet(repos[:2], settings)
    assert len(loaded) == len(sources.versions) == 4
    assert len(done) == len(repos)
    assert central.load_catalog(str(sources.repo_dir)) is central.load_catalog(
        str(sources.repo_dir))


def test_a_repo_that_cannot_be_fetched_is_an_error_and_the_rest_go_on(
        plan_settings: config.PlanSettings, tmp_path: Path) -> None:
    from migrator.model import RepoRef

    repos = [*pipeline.discover(plan_settings)[:2],
             RepoRef(name="gone", slug="gone", url=str(tmp_path / "nowhere"))]
    fleet = pipeline.plan_fleet(repos, plan_settings)
    gone = fleet.repos[-1]
    assert gone.verdict.value == "error" and reason(gone).startswith("fetch failed")
    assert all(r.verdict.value != "error" for r in fleet.repos[:2])


def _planned_at(work: WorkDir) -> dict[str, float]:
    """When each repo's plan was last stored in the journal: a repo planned again (not taken
    from the cache) is stored again."""
    with sqlite3.connect(work.journal) as db:
        return dict(db.execute("SELECT repo, updated FROM stages WHERE stage = 'plan'"))


def test_a_rerun_reuses_plans_whose_inputs_did_not_change(
        plan_settings: config.PlanSettings, tmp_path: Path) -> None:
    origin = tmp_path / "orders"
    subprocess.run(["git", "clone", "-q", str(plan_settings.fleet / "orders"), str(origin)],
                   check=True)
    settings = replace(plan_settings, fleet=tmp_path, work=WorkDir(tmp_path / "work"))
    first = pipeline.plan_fleet(pipeline.discover(settings), settings)
    planned = _planned_at(settings.work)
    second = pipeline.plan_fleet(pipeline.discover(settings), settings)
    assert _planned_at(settings.work) == planned and second.repos == first.repos

    subprocess.run(["git", "-C", str(origin), "-c", "user.name=dev", "-c", "user.email=d@x",
                    "commit", "-q", "--allow-empty", "-m", "a new commit"], check=True)
    third = pipeline.plan_fleet(pipeline.discover(settings), settings)
    assert _planned_at(settings.work)["orders"] > planned["orders"]
    assert third.repos[0].commit != first.repos[0].commit
    planned = _planned_at(settings.work)
    pipeline.plan_fleet(pipeline.discover(settings), replace(settings, fresh=True))
    assert _planned_at(settings.work)["orders"] > planned["orders"]


def test_an_unchanged_rerun_runs_no_git_in_its_clones_and_a_moved_repo_is_fetched(
        plan_settings: config.PlanSettings, tmp_path: Path) -> None:
    fleet = tmp_path / "fleet"
    for name in ("orders", "payments"):  # one checked out, one bare
        bare = ["--bare"] if name == "payments" else []
        subprocess.run(["git", "clone", "-q", *bare, str(plan_settings.fleet / name),
                        str(fleet / name)], check=True)
    settings = replace(plan_settings, fleet=fleet, work=WorkDir(tmp_path / "work"))
    first = pipeline.plan_fleet(pipeline.discover(settings), settings)

    def touched() -> dict[str, tuple[int, int]]:
        # A fetch and reset rewrite the index; a local repo's clone, which borrows its objects,
        # is made again instead (git.clone_or_update), with a new index. A clone git never
        # ran in keeps its index as it was.
        return {slug: ((index := settings.work.clone(slug) / ".git" / "index").stat().st_ino,
                       index.stat().st_mtime_ns)
                for slug in ("orders", "payments")}

    for slug in ("orders", "payments"):  # as a later run finds them: fetched once since
        pipeline.fetch(RepoRef(slug, slug, str(fleet / slug), "main"), settings.work)
    before, planned = touched(), _planned_at(settings.work)
    second = pipeline.plan_fleet(pipeline.discover(settings), settings)
    assert second.repos == first.repos
    assert touched() == before and _planned_at(settings.work) == planned

    subprocess.run(["git", "-C", str(fleet / "orders"), "-c", "user.name=dev", "-c",
                    "user.email=d@x", "commit", "-q", "--allow-empty", "-m", "moved"],
                   check=True)
    third = pipeline.plan_fleet(pipeline.discover(settings), settings)
    after = touched()
    assert after["orders"] != before["orders"]
    assert after["payments"] == before["payments"]
    assert third.repos[0].commit != first.repos[0].commit
    assert third.repos[1] == first.repos[1]


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
    # No real input makes the tool fail on purpose, so a bug is planted, in this process, in
    # the worker's own code (what each worker process runs for a repo).
    def buggy(repo: RepoRef, *args: object, **kw: object) -> RepoPlan:
        raise KeyError("password=hunter2 surprise")

    monkeypatch.setattr(worker, "plan_repo", buggy)
    work = WorkDir(tmp_path / "work")
    settings = replace(plan_settings, work=work)
    (orders,) = [r for r in pipeline.discover(settings) if r.name == "orders"]
    one = worker.Worker(worker.Setup(settings, settings.render_limits, None, str(tmp_path)))
    fetched = one.fetch(worker.FetchTask(orders))
    assert fetched.commit is not None
    plan = one.plan(worker.PlanTask(orders, fetched.commit))
    assert plan.outcome.kind is Kind.INTERNAL and plan.outcome.log is not None
    log = Path(plan.outcome.log)
    assert log.parent == work.logs and f"traceback in {log}" in reason(plan)
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "in buggy" in text
    assert "hunter2" not in text and "hunter2" not in reason(plan)


def test_a_bug_after_planning_is_the_repos_internal_error_not_the_workers_death(
        plan_settings: config.PlanSettings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Rendering the repo's own reports (or its journal record) happens in the worker after
    the plan: a bug there gives the repo an internal error with its traceback, as in planning."""
    def buggy(*args: object, **kw: object) -> None:
        raise ValueError("spool bug")

    monkeypatch.setattr(worker.spool, "render", buggy)
    work = WorkDir(tmp_path / "work")
    settings = replace(plan_settings, work=work)
    (orders,) = [r for r in pipeline.discover(settings) if r.name == "orders"]
    one = worker.Worker(worker.Setup(settings, settings.render_limits, None, str(tmp_path),
                                     spooled=True))
    fetched = one.fetch(worker.FetchTask(orders))
    assert fetched.commit is not None
    planned = one.run(worker.PlanTask(orders, fetched.commit))
    assert isinstance(planned, worker.Planned) and planned.record is None
    assert planned.plan.outcome.kind is Kind.INTERNAL and planned.plan.outcome.log is not None
    assert "spool bug" in Path(planned.plan.outcome.log).read_text()


def test_a_worker_that_cannot_load_the_run_stops_the_run_with_its_reason(
        plan_settings: config.PlanSettings, tmp_path: Path) -> None:
    sources = demo.build_central(tmp_path / "central")
    settings = replace(plan_settings, central=sources.repo_dir, families=None,
                       work=WorkDir(tmp_path / "work"))
    repos = pipeline.discover(settings)[:2]
    pipeline.make_context(settings)  # this process keeps it loaded; a new worker cannot
    shutil.rmtree(sources.repo_dir)
    with pytest.raises(MigratorError, match="a planning worker could not start: "):
        pipeline.plan_fleet(repos, settings)
    assert not [c for c in multiprocessing.active_children()
                if c.name == "migrator-plan-worker"]


def test_the_reports_of_one_worker_and_of_four_are_the_same_bytes(
        fleet_dir: Path, central_sources: demo.CentralSources, tmp_path: Path) -> None:
    def plan(jobs: int) -> dict[str, str]:
        root = tmp_path / f"jobs-{jobs}"
        result = CliRunner().invoke(cli.app, [
            "plan", "--fleet", str(fleet_dir), "--central", str(central_sources.repo_dir),
            "--families", str(central_sources.families_dir), "--target-version", "2.0.0",
            "--out", str(root / "out"), "--work", str(root / "work"), "--jobs", str(jobs),
            "-q"])
        assert result.exit_code in (0, 1), result.output
        return {path.relative_to(root / "out").as_posix():
                _timeless(path.read_text().replace(str(root), "<root>"))
                for path in sorted((root / "out").rglob("*")) if path.is_file()}

    one, four = plan(1), plan(4)
    assert one.keys() == four.keys() and len(one) > 50
    assert [name for name in one if one[name] != four[name]] == []


def _timeless(text: str) -> str:
    """A report without how long each repo took (report.json, plan-state.json, junit.xml)."""
    text = re.sub(r'"seconds": [0-9.e-]+', '"seconds": 0', text)
    return re.sub(r'time="[0-9.]+"', 'time="0"', text)


def test_the_plan_cache_key_covers_the_code_of_every_stage() -> None:
    package = Path(pipeline.__file__).resolve().parents[1]
    names = {p.relative_to(package).as_posix() for p in pipeline.code_files()}
    assert {"model.py", "verify/render.py", "values/extract.py", "lineage/match.py",
            "locate/charts.py", "rewrite/engine.py", "pipeline/fleet.py"} <= names
