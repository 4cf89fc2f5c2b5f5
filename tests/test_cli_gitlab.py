"""`migrator apply` and `migrator status` from the command line, against the GitLab simulator
(python-gitlab over HTTP, git over HTTP with the token only in the environment)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from migrator import demo
from migrator.model import RepoRef
from tests.test_propose_engine import TOKEN, hosted  # noqa: F401 - the fixture
from testsupport.gitlab_sim import GitLabSim


def _migrator(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GITLAB_TOKEN": TOKEN}
    return subprocess.run([sys.executable, "-m", "migrator", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_apply_then_status_from_the_command_line(
        hosted: tuple[GitLabSim, list[RepoRef]],  # noqa: F811
        central_sources: demo.CentralSources, tmp_path: Path) -> None:
    sim, _ = hosted
    common = ("--gitlab-url", sim.url, "--group", "shop")
    work = tmp_path / "work"
    proc = _migrator("apply", *common, "--central", central_sources.repo_dir,
                     "--target-version", "2.0.0", "--out", tmp_path / "out", "--work", work)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "2 created" in proc.stdout
    assert [m.title for m in sim.merge_requests("shop/orders")] == [
        "Use the central chart app-template 2.0.0 (was: embedded chart forked from 2.0.0)"]

    again = _migrator("apply", *common, "--central", central_sources.repo_dir,
                      "--target-version", "2.0.0", "--out", tmp_path / "out", "--work", work)
    assert again.returncode == 0 and "2 unchanged" in again.stdout
    assert len(sim.merge_requests("shop/orders")) == 1

    status = _migrator("status", *common, "--work", work, "--json", "--out", tmp_path / "out")
    assert status.returncode == 0, status.stderr
    rows = {r["repo"]: r for r in json.loads(status.stdout)["repos"]}
    assert rows["shop/orders"]["state"] == "opened" and rows["shop/orders"]["iid"] == 1
    assert rows["shop/orders"]["created_at"] and rows["shop/orders"]["merged_at"] is None
    assert rows["shop/docs-site"]["state"] == "none"
    # the run is in the campaign history, and the plan's dashboard draws it
    dashboard = (tmp_path / "out" / "fleet.html").read_text()
    assert dashboard.count('<g class="day"') == 1 and 'id="oldest-open"' in dashboard
    assert 'href="' + rows["shop/orders"]["web_url"] + '"' in dashboard
    nowhere = _migrator("status", *common, "--work", work, "--out", tmp_path / "nowhere")
    assert nowhere.returncode == 0 and "no plan in" in nowhere.stderr
    # a later plan in the same work dir draws it too, and keeps it for `report merge`
    replan = _migrator("plan", *common, "--central", central_sources.repo_dir,
                       "--target-version", "2.0.0", "--out", tmp_path / "out2", "--work", work)
    assert replan.returncode == 0, replan.stderr
    assert 'id="campaign"' in (tmp_path / "out2" / "fleet.html").read_text()
    kept = json.loads((tmp_path / "out2" / "history.json").read_text())["observations"]
    assert len(kept) == 2 * len(rows)  # two status runs
    for proc in (again, status, nowhere, replan):
        assert TOKEN not in proc.stdout + proc.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(TOKEN.encode() not in p.read_bytes() for p in written)


def test_a_url_with_credentials_is_refused_without_echoing_them(tmp_path: Path) -> None:
    proc = _migrator("plan", "--gitlab-url", "https://bot:hunter2@gitlab.example.com",
                     "--group", "g", "--central", tmp_path, "--target-version", "1",
                     "--out", tmp_path)
    assert proc.returncode == 2
    assert "hunter2" not in proc.stderr and "must not carry credentials" in proc.stderr
