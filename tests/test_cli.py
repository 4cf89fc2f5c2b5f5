"""The command line as CI and people run it: exit codes, one-line errors, reports on disk."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from migrator import config, demo
from testsupport import fixture_cases

MIGRATOR = [sys.executable, "-m", "migrator"]


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MIGRATOR, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300, check=False)


def test_plan_writes_the_reports_and_exits_1_when_a_repo_errors(
        central_sources: demo.CentralSources, fleet_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _run("plan", "--fleet", fleet_dir, "--central", central_sources.repo_dir,
                "--families", central_sources.families_dir,
                "--target-version", "2.0.0", "--out", out, "--jobs", "2")
    assert proc.returncode == 1, proc.stderr  # ledger's values.yaml is malformed on purpose
    fleet = json.loads((out / "fleet.json").read_text())
    assert fleet["schema"] == 1
    verdicts = {r["name"]: r["verdict"] for r in fleet["repos"]}
    assert verdicts["ledger"] == "error" and verdicts["orders"] == "ready"
    for repo in fleet["repos"]:
        report = json.loads((out / repo["report"]).read_text())
        assert report["verdict"] == repo["verdict"]
    assert (out / "repos" / "orders" / "changes.patch").is_file()
    assert not (out / "repos" / "accounts" / "changes.patch").exists()
    for name in ("fleet.md", "fleet.html", "fleet.csv", "junit.xml"):
        assert (out / name).stat().st_size > 0
    ready = sum(fixture_cases.expected(c).verdict.value == "ready" for c in demo.case_names())
    assert "ledger" in proc.stdout and f"{ready} ready" in proc.stdout


def test_plan_exits_0_when_no_repo_errors(central_sources: demo.CentralSources,
                                          fleet_dir: Path, tmp_path: Path) -> None:
    listed = tmp_path / "fleet.txt"
    listed.write_text(f"# two repos\n{fleet_dir / 'orders'}\n\n{fleet_dir / 'gateway'}\n")
    proc = _run("plan", "--fleet", listed, "--central", central_sources.git_dir,
                "--target-version", "2.0.0", "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    fleet = json.loads((tmp_path / "out" / "fleet.json").read_text())
    assert [(r["name"], r["verdict"]) for r in fleet["repos"]] == [
        ("gateway", "blocked"), ("orders", "ready")]


def test_a_usage_error_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = _run("plan", "--fleet", tmp_path, "--out", tmp_path / "out")
    assert proc.returncode == 2
    assert "missing --central, --target-version" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_unknown_target_version_names_the_versions_there_are(
        central_sources: demo.CentralSources, fleet_dir: Path, tmp_path: Path) -> None:
    proc = _run("plan", "--fleet", fleet_dir, "--central", central_sources.repo_dir,
                "--target-version", "9.9.9", "--out", tmp_path / "out")
    assert proc.returncode == 2
    assert "1.0.0, 1.1.0, 1.2.0, 2.0.0" in proc.stderr


def test_migrator_toml_supplies_what_flags_do_not(central_sources: demo.CentralSources,
                                                  fleet_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "migrator.toml").write_text(
        f'[central]\nsource = "{central_sources.repo_dir}"\ntarget_version = "2.0.0"\n'
        f'[plan]\nfleet = "{fleet_dir}"\nout = "{tmp_path / "out"}"\ninclude = ["orders"]\n')
    proc = _run("plan", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    fleet = json.loads((tmp_path / "out" / "fleet.json").read_text())
    assert [r["name"] for r in fleet["repos"]] == ["orders"]


def test_shards_split_the_fleet_without_overlap(plan_settings: config.PlanSettings) -> None:
    from dataclasses import replace

    from migrator.pipeline import fleet as pipeline

    names = [r.name for r in pipeline.discover(plan_settings)]
    shards = [[r.name for r in pipeline.discover(replace(plan_settings, shard=(k, 3)))]
              for k in (1, 2, 3)]
    assert sorted(n for s in shards for n in s) == sorted(names)
    assert all(shards)


def _verdicts(out: Path) -> dict[str, tuple[str, str]]:
    data = json.loads((out / "fleet.json").read_text())
    return {r["name"]: (r["verdict"], r["reason"]) for r in data["repos"]}


def test_demo_runs_twice_in_a_row_with_the_same_summary(tmp_path: Path) -> None:
    runs, reports = [], []
    for _ in range(2):
        proc = _run("demo", tmp_path / "demo")
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
        runs.append([line for line in proc.stdout.splitlines() if " repos: " in line])
        reports.append([_verdicts(tmp_path / "demo" / out) for out in ("out", "out-2.1.0")])
    assert runs[0] == runs[1] and len(runs[0]) == 2  # before and after the central suggestion
    assert runs[0][0].startswith(f"{len(demo.case_names())} repos: ")
    assert reports[0] == reports[1]
    assert reports[0][0] != reports[0][1]  # the suggestion unblocked some repos


def test_demo_refuses_a_directory_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine\n")
    proc = _run("demo", tmp_path)
    assert proc.returncode == 2
    assert "not empty and not a demo directory" in proc.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine\n"


def test_shards_planned_apart_merge_into_the_reports_of_the_whole_fleet(
        central_sources: demo.CentralSources, fleet_dir: Path, tmp_path: Path) -> None:
    common = ("--fleet", fleet_dir, "--central", central_sources.repo_dir,
              "--target-version", "2.0.0", "-q")
    for k in (1, 2):
        _run("plan", *common, "--shard", f"{k}/2", "--out", tmp_path / f"shard{k}",
             "--work", tmp_path / f"work{k}")
    proc = _run("report", "merge", tmp_path / "shard1", tmp_path / "shard2",
                "--out", tmp_path / "all")
    assert proc.returncode == 1, proc.stderr  # ledger is an error in one of the shards
    merged = json.loads((tmp_path / "all" / "fleet.json").read_text())
    assert len(merged["repos"]) == len(demo.case_names())
    assert (tmp_path / "all" / "repos" / "orders" / "changes.patch").is_file()
    assert "ledger" in (tmp_path / "all" / "junit.xml").read_text()
    state = (tmp_path / "all" / "plan-state.json").read_text()
    assert "hunter2-S3cr3t-do-not-leak" not in state


def test_merging_the_same_shard_twice_is_refused(
        central_sources: demo.CentralSources, fleet_dir: Path, tmp_path: Path) -> None:
    _run("plan", "--fleet", fleet_dir, "--central", central_sources.repo_dir,
         "--target-version", "2.0.0", "-q", "--out", tmp_path / "s", "--include", "orders")
    proc = _run("report", "merge", tmp_path / "s", tmp_path / "s", "--out", tmp_path / "all")
    assert proc.returncode == 2 and "is in two shards" in proc.stderr


def test_mappings_suggest_reports_the_keys_a_plan_left_unmapped(
        central_sources: demo.CentralSources, fleet_dir: Path, tmp_path: Path) -> None:
    _run("plan", "--fleet", fleet_dir, "--central", central_sources.repo_dir,
         "--target-version", "2.0.0", "-q", "--out", tmp_path / "out", "--include", "audit")
    proc = _run("mappings", "suggest", "--plan", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    assert "| `kafka` | 1 (audit) | no target found" in proc.stdout


def test_a_typo_in_migrator_toml_is_named(tmp_path: Path) -> None:
    (tmp_path / "migrator.toml").write_text('[plan]\njbos = 4\n')
    proc = _run("plan", cwd=tmp_path)
    assert proc.returncode == 2
    assert "[plan] has unknown key(s) jbos" in proc.stderr
