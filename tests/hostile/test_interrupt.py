"""Ctrl-C stops a plan within seconds, even with a worker stuck in a render for minutes: the
repos that finished are reported, the run says it was interrupted, exit status 128 + signal.

`migrator plan` runs as a real process over 50 repos, the first of which loops (its render
timeout is ten minutes, so a worker is stuck in it); once some repos are planned (their rows in
the journal), the signal is sent: SIGINT to the whole process group as a terminal's Ctrl-C
does, SIGTERM to the process as a job runner does.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from migrator import demo
from migrator.workdir import WorkDir
from tests.hostile.test_render_limits import NESTED_LOOP, _orders_with

REPOS = 50
LOOPING = "000-loops"  # first in the fleet's order: a worker takes it first and stays there


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, fleet_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("interrupt-fleet")
    demo.generate_fleet(root, REPOS - 1)
    _orders_with(fleet_dir, root / LOOPING, NESTED_LOOP)
    return root


def _planned(journal: Path) -> int:
    if not journal.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT count(*) FROM stages WHERE stage = 'plan'").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet
        return 0


def _alive_in(cwd: Path) -> list[int]:
    """Processes whose working directory is `cwd`: the plan's workers run there."""
    alive = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if Path(os.readlink(proc / "cwd")) == cwd:
                    alive.append(int(proc.name))
            except OSError:
                continue
    return alive


def _interrupted(command: str, fleet: Path, central: demo.CentralSources, root: Path,
                 signum: signal.Signals, to_group: bool) -> tuple[int, str, float]:
    """Run `migrator <command>` on `fleet`; once 5 repos are planned, send `signum`. Its exit
    status, its stderr, and the seconds from the signal to its exit."""
    work = root / "work"
    run = subprocess.Popen(
        [sys.executable, "-m", "migrator", command, "--fleet", str(fleet),
         "--central", str(central.repo_dir), "--families", str(central.families_dir),
         "--target-version", demo.TARGET_VERSION, "--out", str(root / "out"),
         "--work", str(work), "--jobs", "2", "--render-timeout", "600", "--quiet"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while _planned(work / "journal.sqlite") < 5:
            assert run.poll() is None, run.communicate()
            assert time.monotonic() < deadline, "no repo planned in time"
            time.sleep(0.2)
        sent = time.monotonic()
        if to_group:
            os.killpg(run.pid, signum)
        else:
            run.send_signal(signum)
        _, stderr = run.communicate(timeout=30)
        return run.returncode, stderr, time.monotonic() - sent
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()


@pytest.mark.parametrize(("signum", "to_group"), [(signal.SIGINT, True),
                                                  (signal.SIGTERM, False)])
def test_a_signal_stops_the_plan_within_seconds_and_writes_what_finished(
        fleet: Path, central_sources: demo.CentralSources, tmp_path: Path,
        signum: signal.Signals, to_group: bool) -> None:
    returncode, stderr, took = _interrupted("plan", fleet, central_sources, tmp_path, signum,
                                            to_group)
    assert returncode == 128 + signum, stderr
    assert took < 5, f"{took:.1f} s from the signal to the exit"
    name = signal.Signals(signum).name
    assert f"interrupted by {name}" in stderr and "Traceback" not in stderr, stderr

    out = tmp_path / "out"
    fleet_json = json.loads((out / "fleet.json").read_text())
    planned = [r["name"] for r in fleet_json["repos"]]
    assert fleet_json["interrupted"] is True
    assert LOOPING in fleet_json["unplanned"] and LOOPING not in planned
    assert len(planned) >= 5 and len(planned) + len(fleet_json["unplanned"]) == REPOS
    for repo in fleet_json["repos"]:
        assert (out / repo["report"]).is_file(), repo
    assert "**Interrupted:**" in (out / "fleet.md").read_text()
    assert f"{len(planned)} of {REPOS} repos planned" in stderr
    time.sleep(0.5)  # what was killed is gone, not left running the loop
    assert _alive_in(tmp_path) == []


def test_an_interrupted_apply_proposes_nothing(
        fleet: Path, central_sources: demo.CentralSources, tmp_path: Path) -> None:
    returncode, stderr, took = _interrupted("apply", fleet, central_sources, tmp_path,
                                            signal.SIGINT, True)
    assert returncode == 130 and took < 5, stderr
    assert "interrupted by SIGINT" in stderr
    review = WorkDir(tmp_path / "work").review  # apply's merge requests, without GitLab
    assert not review.exists() or not any(review.iterdir())
