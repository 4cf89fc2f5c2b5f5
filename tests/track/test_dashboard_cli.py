"""`status --dashboard-issue` and `apply --dashboard-issue` from the command line: real plans,
the GitLab simulator, the token only in the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import gitlab

from migrator import demo
from migrator.model import RepoRef
from migrator.track.dashboard_text import repo_id
from tests.test_propose_engine import TOKEN, hosted  # noqa: F401 - the fixture
from testsupport.gitlab_sim import GitLabSim

BOARD = "ops/board"


def _migrator(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GITLAB_TOKEN": TOKEN}
    return subprocess.run([sys.executable, "-m", "migrator", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_status_keeps_the_issue_and_apply_acts_on_its_ticks(
        hosted: tuple[GitLabSim, list[RepoRef]],  # noqa: F811
        central_sources: demo.CentralSources, tmp_path: Path) -> None:
    sim, _ = hosted
    sim.add_project(BOARD)
    common = ("--gitlab-url", sim.url, "--group", "shop", "--work", tmp_path / "work",
              "--dashboard-issue", BOARD)
    apply = ("apply", *common, "--central", central_sources.repo_dir, "--target-version",
             "2.0.0", "--out", tmp_path / "out")
    first = _migrator(*apply, "--limit", "1")
    assert first.returncode == 0, first.stderr + first.stdout
    assert "1 created" in first.stdout and "1 deferred" in first.stdout
    held = next(p for p in ("shop/billing", "shop/orders") if not sim.merge_requests(p))

    shown = _migrator("status", *common)
    assert shown.returncode == 0, shown.stderr + shown.stdout
    (issue,) = sim.issues(BOARD)
    assert f"dashboard issue: {sim.url}/{BOARD}/-/issues/{issue.iid} (created)" in shown.stdout
    assert "### Blocked (1)" in (issue.description or "")

    board = gitlab.Gitlab(sim.url, private_token=TOKEN).projects.get(BOARD)
    edited = board.issues.get(issue.iid)
    box = f"<!-- migrator-action open {repo_id(held)} -->"
    edited.description = "\n".join(line.replace("- [ ]", "- [x]") if box in line else line
                                   for line in edited.description.split("\n"))
    edited.save()

    second = _migrator(*apply, "--limit", "0")
    assert second.returncode == 0, second.stderr + second.stdout
    assert len(sim.merge_requests(held)) == 1
    again = _migrator("status", *common)
    assert "(updated)" in again.stdout
    assert "- [x]" not in (sim.issues(BOARD)[0].description or "")
    assert "(unchanged)" in _migrator("status", *common).stdout
    for proc in (first, shown, second, again):
        assert TOKEN not in proc.stdout + proc.stderr

    sharded = _migrator("status", *common, "--shard", "1/2")
    assert sharded.returncode == 2
    assert "run status without --shard" in sharded.stderr
