"""The plan run holds light views of the repos it planned and renders their own reports as they
finish: the reports are the very bytes of those written from whole plans."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from migrator import config
from migrator.cli import run_plan
from migrator.journal import Journal
from migrator.model import CentralInfo, FleetPlan, RepoPlan
from migrator.pipeline import plancache
from migrator.report.planstate import save_state
from migrator.report.spool import Spool, light, render
from migrator.report.write import write_reports
from migrator.workdir import WorkDir
from tests.report.sample import fleet
from tests.report.test_write import SECRET_PATCH


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _taken(plan: RepoPlan, central: CentralInfo, spool: Spool) -> RepoPlan:
    """What a worker renders (`render`) and the run adds to its spool: the plan it holds."""
    spooled = render(plan, central, spool.tool_version)
    if spooled is None:
        return plan
    spool.add(plan.repo.slug, spooled.texts)
    return spooled.view


def _spooled(whole: FleetPlan, spool: Spool) -> FleetPlan:
    """The fleet plan as a plan run holds it: each repo taken into the spool as it finished."""
    return dataclasses.replace(whole, repos=tuple(_taken(p, whole.central, spool)
                                                  for p in whole.repos))


def _with_secret_patch() -> FleetPlan:
    plan = fleet()
    return dataclasses.replace(plan, repos=(
        dataclasses.replace(plan.repos[0], patch=SECRET_PATCH), *plan.repos[1:]))


@pytest.mark.parametrize("which", ["demo fleet", "sample with a secret patch"])
def test_reports_of_light_plans_and_their_spooled_files_are_those_of_whole_plans(
        which: str, fleet_plan: FleetPlan, tmp_path: Path) -> None:
    whole = fleet_plan if which == "demo fleet" else _with_secret_patch()
    write_reports(whole, tmp_path / "whole")
    save_state(whole, tmp_path / "whole")
    with Spool(tmp_path / "work" / "plan.spool", whole.tool_version) as spool:
        held = _spooled(whole, spool)
        write_reports(held, tmp_path / "spooled", rendered=spool)
        save_state(held, tmp_path / "spooled", rendered=spool)
    expected, got = _files(tmp_path / "whole"), _files(tmp_path / "spooled")
    assert len(expected) > 10 and got.keys() == expected.keys()
    assert [name for name in expected if got[name] != expected[name]] == []
    # and the views are light indeed: no patch, no values written
    assert all(p.patch is None for p in held.repos)
    assert any(p.patch is not None for p in whole.repos)
    assert not [e for p in held.repos for c in p.charts for e in c.environments if e.values]


def test_the_fleet_files_read_nothing_a_light_plan_leaves_out(fleet_plan: FleetPlan,
                                                             tmp_path: Path) -> None:
    """Without the spool, light plans give the same fleet files (their own files differ):
    what `light` drops is read by a repo's own reports only."""
    write_reports(fleet_plan, tmp_path / "whole")
    lighter = dataclasses.replace(fleet_plan, repos=tuple(light(p) for p in fleet_plan.repos))
    write_reports(lighter, tmp_path / "light")
    whole, light_files = _files(tmp_path / "whole"), _files(tmp_path / "light")
    fleet_files = [name for name in whole if not name.startswith("repos/")]
    assert len(fleet_files) >= 6
    assert [name for name in fleet_files if whole[name] != light_files[name]] == []
    assert any(whole[n] != light_files[n] for n in whole if n.endswith("/report.json"))


def test_the_spool_is_gone_once_the_run_is_done(fleet_plan: FleetPlan, tmp_path: Path) -> None:
    path = tmp_path / "plan.spool"
    with Spool(path, fleet_plan.tool_version) as spool:
        _taken(fleet_plan.repos[0], fleet_plan.central, spool)
        assert path.stat().st_size > 0
        assert spool.files(fleet_plan.repos[0].repo.slug) is not None
    assert not path.exists()


def test_a_plan_run_holds_light_plans_and_writes_whole_reports(
        plan_settings: config.PlanSettings, fleet_plan: FleetPlan, tmp_path: Path) -> None:
    settings = dataclasses.replace(plan_settings, out=tmp_path / "out",
                                   work=WorkDir(tmp_path / "work"), fresh=True)
    held = run_plan(settings, quiet=True, whole=False)
    assert all(p.patch is None for p in held.repos)
    assert not settings.work.spool.exists()
    write_reports(fleet_plan, tmp_path / "whole")
    # the session's plan, from whole plans: the same reports (paths and timings aside)
    proposed = [p.repo.slug for p in fleet_plan.repos if p.patch is not None]
    assert proposed
    for slug in proposed:
        assert ((tmp_path / "out" / "repos" / slug / "changes.patch").read_bytes()
                == (tmp_path / "whole" / "repos" / slug / "changes.patch").read_bytes())


def test_a_replan_holds_views_and_writes_the_same_reports_into_a_new_folder(
        plan_settings: config.PlanSettings, tmp_path: Path) -> None:
    """Unchanged repos come back from the journal as light views; their whole plans are read
    again only because this folder needs their reports."""
    work = WorkDir(tmp_path / "work")
    first = dataclasses.replace(plan_settings, out=tmp_path / "one", work=work, fresh=True)
    run_plan(first, quiet=True, whole=False)
    again = dataclasses.replace(first, out=tmp_path / "two", fresh=False)
    held = run_plan(again, quiet=True, whole=False)
    assert all(p.patch is None for p in held.repos)
    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert len(one) > 50 and one.keys() == two.keys()

    def same(name: str) -> bool:
        masked = [re.sub(rb'"seconds": [0-9.e-]+|time="[0-9.]+"', b"", data.replace(
            str(root).encode(), b"<out>")) for data, root in
            ((one[name], tmp_path / "one"), (two[name], tmp_path / "two"))]
        return masked[0] == masked[1]

    assert [name for name in one if not same(name)] == []


def test_a_view_of_a_plan_whose_private_patch_is_gone_is_not_taken(tmp_path: Path) -> None:
    work = WorkDir(tmp_path / "w")
    plan = plancache.shown(dataclasses.replace(fleet().repos[0], patch=SECRET_PATCH), work)
    with Journal.open(work) as journal:
        plancache.file(journal, "inputs", plan.repo.slug, plancache.record(plan, work),
                       plancache.view_record(plan, light(plan), work))
        viewed = plancache.load_view_traced(journal, work, plan.repo, "inputs")
        whole = plancache.load_traced(journal, work, plan.repo, "inputs")
        assert viewed is not None and whole is not None
        assert viewed[0] == light(plan) and viewed[1] == whole[1]
        work.patch(plan.repo.slug).unlink()
        assert plancache.load_view_traced(journal, work, plan.repo, "inputs") is None
        assert plancache.load_traced(journal, work, plan.repo, "inputs") is None


def test_a_spool_that_cannot_be_written_keeps_the_files_in_memory(fleet_plan: FleetPlan,
                                                                  tmp_path: Path) -> None:
    """A full or read-only work dir costs the run memory, not its reports (here the spool's
    path is taken by a folder, so opening it fails)."""
    path = tmp_path / "plan.spool"
    path.mkdir()
    whole = fleet_plan
    write_reports(whole, tmp_path / "whole")
    with Spool(path, whole.tool_version) as spool:
        held = _spooled(whole, spool)
        write_reports(held, tmp_path / "spooled", rendered=spool)
    expected, got = _files(tmp_path / "whole"), _files(tmp_path / "spooled")
    assert got.keys() == expected.keys()
    assert [name for name in expected if got[name] != expected[name]] == []
    assert path.is_dir()  # not the run's to remove
