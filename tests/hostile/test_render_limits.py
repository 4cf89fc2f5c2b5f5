"""A template cannot stop the fleet: each render is held to a time, memory and output limit.

One small fleet, each repo the `orders` fixture app with one hostile template: a nested
`range until 100000` (10^10 iterations: it would run for hours), a template that prints 23 MiB,
one that asks Go for a 2.4 GB list, and a repo with two charts where only the second loops.
It is planned once, with small limits, in worker processes; then every chart has its verdict
in seconds, the plain repo is planned, and nothing is left running.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from migrator import config
from migrator.errors import RenderError
from migrator.model import FleetPlan, Kind, RepoPlan, Verdict
from migrator.pipeline import fleet as pipeline
from migrator.report.reasons import reason
from migrator.verify import render
from migrator.verify.render import RenderLimits
from migrator.workdir import WorkDir

LIMITS = RenderLimits(seconds=3.0, memory_mib=600, output_mib=1)
NESTED_LOOP = ("{{- range $i := until 100000 }}{{- range $j := until 100000 }}{{- end }}"
               "{{- end }}\n")
FLOOD = ("{{- range $i := until 300000 }}\n# {{ $i }} " + "." * 72 + "\n{{- end }}\n")
HUNGRY = "{{- $all := until 300000000 }}\n"  # 2.4 GB of ints, filled in as it goes

Limited = tuple[FleetPlan, float, Path]  # the plan, its wall time, the run's temporary dir


def _git(*args: str | Path, cwd: Path | None = None) -> None:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", *map(str, args)], cwd=cwd, env=env, check=True,
                   capture_output=True)


def _orders_with(fleet_dir: Path, dest: Path, template: str | None, *,
                 second_chart: str | None = None) -> None:
    """`orders` with `template` appended to its service template, and optionally a second
    chart (`worker/`, a copy of the first) whose service template gets `second_chart`."""
    _git("clone", "--quiet", "--", fleet_dir / "orders", dest)
    if template is not None:
        with (dest / "chart/templates/service.yaml").open("a") as f:
            f.write(template)
    if second_chart is not None:
        shutil.copytree(dest / "chart", dest / "worker")
        chart_yaml = dest / "worker/Chart.yaml"
        chart_yaml.write_text(chart_yaml.read_text().replace("name: orders", "name: orders-worker"))
        with (dest / "worker/templates/service.yaml").open("a") as f:
            f.write(second_chart)
    _git("add", "-A", cwd=dest)
    _git("commit", "--quiet", "--allow-empty", "-m", "hostile template", cwd=dest)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory, fleet_dir: Path,
            plan_settings: config.PlanSettings) -> Limited:
    root = tmp_path_factory.mktemp("render-limits")
    fleet = root / "fleet"
    _orders_with(fleet_dir, fleet / "plain", None)
    _orders_with(fleet_dir, fleet / "loops", NESTED_LOOP)
    _orders_with(fleet_dir, fleet / "floods", FLOOD)
    _orders_with(fleet_dir, fleet / "hungry", HUNGRY)
    _orders_with(fleet_dir, fleet / "two-charts", None, second_chart=NESTED_LOOP)
    settings = replace(plan_settings, fleet=fleet, out=root / "out", work=WorkDir(root / "work"),
                       jobs=2, render_limits=LIMITS)
    tmp = root / "tmp"  # the run's temporary files, apart from other runs'
    tmp.mkdir()
    started = time.monotonic()
    saved, tempfile.tempdir = tempfile.tempdir, str(tmp)
    try:
        plan = pipeline.plan_fleet(pipeline.discover(settings), settings)
    finally:
        tempfile.tempdir = saved
    return plan, time.monotonic() - started, tmp


def _repo(limited: Limited, name: str) -> RepoPlan:
    return next(r for r in limited[0].repos if r.repo.name == name)


def test_a_nested_loop_blocks_its_chart_on_the_time_limit(
        limited: Limited) -> None:
    loops = _repo(limited, "loops")
    assert loops.verdict is Verdict.BLOCKED, reason(loops)
    (chart,) = loops.charts
    assert chart.outcome.kind is Kind.RENDER_LIMIT
    assert "over the 3 s time limit (--render-timeout)" in reason(loops)
    assert "the chart's own templates (release orders)" in reason(loops)
    assert chart.outcome.environments == ("production",)


def test_a_template_printing_megabytes_is_stopped_by_the_output_limit(
        limited: Limited) -> None:
    floods = _repo(limited, "floods")
    assert floods.verdict is Verdict.BLOCKED, reason(floods)
    assert floods.outcome.kind is Kind.FORK_RENDER_FAILED
    assert "rendered 23 MiB of text, over the 1 MiB output limit" in reason(floods)


def test_a_template_eating_memory_is_stopped_by_the_memory_limit(
        limited: Limited) -> None:
    hungry = _repo(limited, "hungry")
    assert hungry.verdict is Verdict.BLOCKED, reason(hungry)
    assert hungry.outcome.kind is Kind.RENDER_LIMIT
    assert "over the 600 MiB memory limit (--render-memory-mib)" in reason(hungry)


def test_the_other_chart_of_a_repo_keeps_its_verdict_and_its_change(
        limited: Limited) -> None:
    two = _repo(limited, "two-charts")
    charts = {c.path: c for c in two.charts}
    assert charts["worker"].outcome.kind is Kind.RENDER_LIMIT
    assert charts["chart"].verdict is Verdict.READY, reason(charts["chart"])
    assert charts["chart"].values == _repo(limited, "plain").charts[0].values
    assert two.verdict is Verdict.BLOCKED and reason(two).startswith("worker: ")
    assert two.patch is not None
    assert "deleted file mode" in two.patch and "--- a/chart/Chart.yaml" in two.patch
    assert "a/worker/" not in two.patch


def test_the_rest_of_the_fleet_is_planned_in_seconds_and_nothing_keeps_running(
        limited: Limited) -> None:
    plan, seconds, tmp = limited
    assert _repo(limited, "plain").verdict is Verdict.READY
    assert not plan.interrupted and len(plan.repos) == 5
    # Two of its charts each take the 3 s limit and a fresh worker; unlimited, one loop alone
    # would run for hours.
    assert seconds < 60
    assert multiprocessing.active_children() == []
    assert not list(tmp.iterdir())  # a killed worker's files went with the run


@pytest.fixture
def guarded() -> Iterator[None]:
    yield
    render.guard(None, RenderLimits())


def test_the_output_limit_holds_in_any_process(tmp_path: Path, fleet_dir: Path,
                                               guarded: None) -> None:
    _orders_with(fleet_dir, tmp_path / "floods", FLOOD)
    chart = render.load_fork(tmp_path / "floods", "chart")
    render.guard(None, RenderLimits(output_mib=1))
    with pytest.raises(RenderError, match="over the 1 MiB output limit"):
        render.render(chart, {}, release="orders", namespace="shop", origin="chart")
    render.guard(None, RenderLimits(output_mib=64))
    assert render.render(chart, {}, release="orders", namespace="shop", origin="chart")


def test_a_worker_killed_from_outside_costs_its_repo_not_the_run(
        tmp_path: Path, fleet_dir: Path, plan_settings: config.PlanSettings) -> None:
    """What the kernel's out-of-memory killer (or a Go fatal error) would do to a worker: here
    it is killed as soon as another repo finished, while it is stuck in a loop."""
    fleet = tmp_path / "fleet"
    _orders_with(fleet_dir, fleet / "aaa-loops", NESTED_LOOP)
    _orders_with(fleet_dir, fleet / "orders", None)
    settings = replace(plan_settings, fleet=fleet, work=WorkDir(tmp_path / "work"), jobs=2,
                       render_limits=replace(LIMITS, seconds=60))

    def kill_the_workers(plan: RepoPlan) -> None:
        if plan.repo.name == "orders":
            for child in multiprocessing.active_children():
                if child.name == "migrator-plan-worker" and child.pid is not None:
                    os.kill(child.pid, signal.SIGKILL)

    plan = pipeline.plan_fleet(pipeline.discover(settings), settings, on_done=kill_the_workers)
    loops, orders = plan.repos
    assert orders.verdict is Verdict.READY
    assert "was killed by SIGKILL" in reason(loops), reason(loops)
    assert multiprocessing.active_children() == []
