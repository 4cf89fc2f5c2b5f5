"""The command line as a new user finds it: --version, help that shows defaults and flags as
flags, apply taking every planning option, every missing option in one error, --jobs, a line per
repo in CI and a table at a terminal, --quiet's one line, report files of one mode."""

from __future__ import annotations

import json
import os
import pty
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.core
import typer.main
from typer.testing import CliRunner

from migrator import __version__, cli, config, demo
from migrator.errors import ConfigError
from migrator.fsio import umask

MIGRATOR = [sys.executable, "-m", "migrator"]
WIDE = {"COLUMNS": "200", "NO_COLOR": "1"}


def _run(*args: str | Path, cwd: Path | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MIGRATOR, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300, check=False, env={**os.environ, **(env or {})})


def _plan_args(central: demo.CentralSources, fleet: Path, out: Path) -> list[str | Path]:
    return ["plan", "--fleet", fleet, "--central", central.repo_dir,
            "--families", central.families_dir, "--target-version", demo.TARGET_VERSION,
            "--out", out, "--work", out.parent / f"{out.name}-work"]


def _commands() -> dict[tuple[str, ...], Any]:
    """Every command and group, by the words that call it."""
    found: dict[tuple[str, ...], Any] = {}

    def walk(words: tuple[str, ...], command: Any) -> None:
        found[words] = command
        for name, sub in getattr(command, "commands", {}).items():
            walk((*words, name), sub)

    walk((), typer.main.get_command(cli.app))
    return found


def _options(words: tuple[str, ...]) -> dict[str, typer.core.TyperOption]:
    return {max(p.opts, key=len): p for p in _commands()[words].params
            if isinstance(p, typer.core.TyperOption)}


# --- what the command line says about itself ----------------------------------------------


def test_version_prints_the_version_and_exits_0() -> None:
    result = CliRunner().invoke(cli.app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"migrator {__version__}"


def test_no_help_shows_a_flag_as_taking_a_value() -> None:
    for words in _commands():
        result = CliRunner().invoke(cli.app, [*words, "--help"], env=WIDE)
        assert result.exit_code == 0, (words, result.output)
        assert "<bool>" not in result.output, words
        assert "--no-" not in result.output, words  # a flag is one word: --force, not --no-force


def test_help_shows_the_defaults_of_options_that_have_one() -> None:
    text = " ".join(CliRunner().invoke(cli.app, ["plan", "--help"], env=WIDE).output.split())
    for shown in ("Repos planned in parallel; 0 or -1: one per CPU. [default: (4, or the CPUs",
                  "[default: (values-only)]", "[default: (pin)]", "[default: (0.42)]",
                  "[default: (30)]", f"[default: ({config.DEFAULT_CHART_REF})]",
                  "[default: (one per fleet in ~/.cache/migrator)]"):
        assert shown in text, shown


def test_apply_accepts_every_option_plan_accepts_and_of_the_same_kind() -> None:
    plan, apply = _options(("plan",)), _options(("apply",))
    missing = sorted(set(plan) - set(apply))
    assert not missing, f"apply lacks {missing}"
    for name, option in plan.items():
        other = apply[name]
        assert (other.opts, other.is_flag, other.multiple, other.bare_type()) == (
            option.opts, option.is_flag, option.multiple, option.bare_type()), name


def test_every_missing_option_is_named_in_one_error_with_exit_2(tmp_path: Path) -> None:
    for command in ("plan", "apply"):
        proc = _run(command, "--gitlab-url", "https://gitlab.example.com", cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip().count("\n") == 0, proc.stderr
        assert ("missing --group or --project (with --gitlab-url), --central, "
                "--target-version, --out") in proc.stderr
    proc = _run("apply", cwd=tmp_path)
    assert proc.returncode == 2
    assert "missing --fleet or --gitlab-url, --central, --target-version, --out" in proc.stderr


def test_jobs_0_and_jobs_minus_1_both_mean_one_worker_per_cpu(tmp_path: Path) -> None:
    def jobs(value: int | None, file_cfg: dict[str, Any] | None = None) -> int:
        return config.plan_settings(file_cfg or {}, config.PlanFlags(
            repos=config.FleetFlags(fleet=tmp_path), central=tmp_path, target_version="1.0.0",
            out=tmp_path / "out", work=tmp_path / "work", jobs=value)).jobs

    cpus = os.cpu_count() or 1
    assert jobs(0) == jobs(-1) == jobs(None, {"plan": {"jobs": -1}}) == cpus
    assert jobs(3) == 3 and jobs(None) == min(config.DEFAULT_JOBS, cpus)
    with pytest.raises(ConfigError, match=r"--jobs .* -2: .* 0 \(or -1\) for one per CPU"):
        jobs(-2)


def test_out_naming_a_file_is_a_one_line_usage_error_for_every_command_that_writes(
        central_sources: demo.CentralSources, fleet_dir: Path, tmp_path: Path) -> None:
    afile = tmp_path / "reports"
    afile.write_text("not a directory\n")
    common = ("--fleet", fleet_dir, "--central", central_sources.repo_dir,
              "--target-version", "2.0.0", "--work", tmp_path / "w", "-q")
    shard = tmp_path / "shard"
    assert _run("plan", *common, "--include", "orders", "--out", shard).returncode == 0
    for args in (("plan", *common, "--out", afile), ("apply", *common, "--out", afile),
                 ("report", "merge", shard, "--out", afile)):
        proc = _run(*args)
        assert proc.returncode == 2, (args[0], proc.stderr)
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert str(afile) in proc.stderr


# --- what a run prints -----------------------------------------------------------------------

_LINE = re.compile(r"^\[(\d+)/(\d+)\] (\S+): (ready|review|blocked|skipped|error): (.+)$")


def test_in_ci_a_line_per_repo_as_it_finishes_then_the_summary_not_the_table(
        central_sources: demo.CentralSources, fleet_dir: Path, tmp_path: Path) -> None:
    run = subprocess.Popen([*MIGRATOR, *map(str, _plan_args(central_sources, fleet_dir,
                                                            tmp_path / "out")), "--jobs", "-1"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert run.stdout is not None
    first = run.stdout.readline()
    still_running = run.poll() is None  # the line came while the others were being planned
    rest, stderr = run.communicate(timeout=300)
    lines = (first + rest).splitlines()
    assert still_running, "the first repo's line came only at the end"
    assert run.returncode == 1, stderr  # ledger errors, on purpose
    names = sorted(demo.case_names())
    repo_lines = [_LINE.match(line) for line in lines[:len(names)]]
    assert all(repo_lines), lines
    assert sorted(m.group(3) for m in repo_lines if m) == names
    assert [int(m.group(1)) for m in repo_lines if m] == list(range(1, len(names) + 1))
    verdicts = {r["name"]: r["verdict"] for r in
                json.loads((tmp_path / "out" / "fleet.json").read_text())["repos"]}
    assert {m.group(3): m.group(4) for m in repo_lines if m} == verdicts
    assert lines[len(names)].startswith(f"{len(names)} repos: ")
    assert lines[len(names) + 1].startswith("reports: ") and len(lines) == len(names) + 2
    assert not any(c in first + rest for c in "│┃━"), "a table in CI"


def test_quiet_keeps_only_the_one_line_summary(
        central_sources: demo.CentralSources, fleet_dir: Path, tmp_path: Path) -> None:
    proc = _run(*_plan_args(central_sources, fleet_dir, tmp_path / "out"), "--quiet",
                "--include", "orders", "--include", "gateway")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "2 repos: 1 ready, 1 blocked\n"
    assert proc.stderr == ""


def test_at_a_terminal_a_progress_bar_then_the_table(
        central_sources: demo.CentralSources, fleet_dir: Path, tmp_path: Path) -> None:
    control, terminal = pty.openpty()
    try:
        proc = subprocess.run([*MIGRATOR, *map(str, _plan_args(central_sources, fleet_dir,
                                                               tmp_path / "out")),
                               "--include", "orders", "--include", "gateway"],
                              stdout=subprocess.PIPE, stderr=terminal, text=True, timeout=300,
                              check=False, env={**os.environ, **WIDE})
        os.close(terminal)
        terminal = -1
        screen = b""
        while True:
            try:
                chunk = os.read(control, 65536)
            except OSError:  # the terminal closed
                break
            if not chunk:
                break
            screen += chunk
    finally:
        if terminal != -1:
            os.close(terminal)
        os.close(control)
    assert proc.returncode == 0
    assert b"plan" in screen and b"eta" in screen  # the bar's columns, drawn on the terminal
    table = proc.stdout
    assert "┃ repo" in table and "│ orders" in table and "│ gateway" in table, table
    assert not _LINE.search(table.splitlines()[0])
    assert "2 repos: 1 ready, 1 blocked" in table


# --- what a run writes -----------------------------------------------------------------------


def test_report_files_share_one_mode_and_folders_another(
        central_sources: demo.CentralSources, fleet_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _run(*_plan_args(central_sources, fleet_dir, out), "-q")
    assert proc.returncode == 1, proc.stderr  # ledger
    files = {p: stat.S_IMODE(p.stat().st_mode) for p in out.rglob("*") if p.is_file()}
    folders = {p: stat.S_IMODE(p.stat().st_mode) for p in [out, *out.rglob("*")] if p.is_dir()}
    assert len(files) > len(demo.case_names())
    assert set(files.values()) == {0o666 & ~umask()}, {
        str(p.relative_to(out)): oct(m) for p, m in files.items()}
    assert set(folders.values()) == {0o777 & ~umask()}

