"""Every command-line option reaches the settings, through typed flags that refuse a typo."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer.core
import typer.main
from typer.testing import CliRunner

from migrator import cli, config
from migrator.errors import ConfigError
from migrator.forge.local import LocalForgeSettings
from migrator.gitlab_api import GitLabSettings
from migrator.model import CentralInfo, FleetPlan
from migrator.pipeline import fleet as pipeline
from migrator.propose import apply as propose
from migrator.propose.settings import ProposeSettings
from migrator.track import status as track
from migrator.verify.render import RenderLimits
from migrator.workdir import WorkDir, cache_home

# They choose the config file and the output, not a setting.
NOT_SETTINGS = {"--config", "--quiet", "--json"}

Check = tuple[list[str], Callable[[Any], object], object]

# One row per option: the arguments that set it to a value no default or file gives, where
# that value must arrive, and what it must be there.
FLEET: dict[str, Check] = {
    "--fleet": (["--fleet", "repos"], lambda s: s.fleet, Path("repos")),
    "--gitlab-url": (["--gitlab-url", "https://gitlab.example.com/"], lambda s: s.gitlab.url,
                     "https://gitlab.example.com"),
    "--group": (["--group", "platform"], lambda s: s.gitlab.group, "platform"),
    "--project": (["--project", "platform/a", "--project", "platform/b"],
                  lambda s: s.gitlab.projects, ("platform/a", "platform/b")),
    "--topic": (["--topic", "helm"], lambda s: s.gitlab.topics, ("helm",)),
    "--include": (["--include", "apps/*"], lambda s: s.include, ("apps/*",)),
    "--exclude": (["--exclude", "*/legacy"], lambda s: s.exclude, ("*/legacy",)),
    "--include-archived": (["--include-archived"], lambda s: s.gitlab.include_archived, True),
    "--include-forks": (["--include-forks"], lambda s: s.gitlab.include_forks, True),
    "--token-var": (["--token-var", "BOT_TOKEN"], lambda s: s.gitlab.token_var, "BOT_TOKEN"),
    "--allow-clone-host": (["--allow-clone-host", "Mirror.example.com:8443"],
                           lambda s: s.gitlab.allowed_clone_hosts, ("mirror.example.com:8443",)),
    "--work": (["--work", "scratch"], lambda s: s.work, WorkDir(Path("scratch"))),
}
PLANNED: dict[str, Check] = {
    **FLEET,
    "--central": (["--central", "charts"], lambda s: s.central, Path("charts")),
    "--families": (["--families", "families"], lambda s: s.families, Path("families")),
    "--target-version": (["--target-version", "3.1.4"], lambda s: s.target_version, "3.1.4"),
    "--out": (["--out", "reports"], lambda s: s.out, Path("reports")),
    "--jobs": (["--jobs", "3"], lambda s: s.jobs, 3),
    "--chart-ref": (["--chart-ref", "oci://charts.example.com/x"], lambda s: s.chart_ref,
                    "oci://charts.example.com/x"),
    "--style": (["--style", "dependency"], lambda s: s.style, "dependency"),
    "--shard": (["--shard", "2/5"], lambda s: s.shard, (2, 5)),
    "--force": (["--force"], lambda s: s.force, True),
    "--fresh": (["--fresh"], lambda s: s.fresh, True),
    "--min-lineage": (["--min-lineage", "0.6"], lambda s: s.min_lineage, 0.6),
    "--render-timeout": (["--render-timeout", "12.5"], lambda s: s.render_limits.seconds, 12.5),
    "--render-memory-mib": (["--render-memory-mib", "900"],
                            lambda s: s.render_limits.memory_mib, 900),
    "--render-output-mib": (["--render-output-mib", "64"],
                            lambda s: s.render_limits.output_mib, 64),
}
PLAN: dict[str, Check] = {
    **PLANNED,
    "--central-name": (["--central-name", "app"], lambda s: s.central_name, "app"),
    "--central-path": (["--central-path", "charts/app"], lambda s: s.central_path,
                       "charts/app"),
    "--inherited": (["--inherited", "adopt"], lambda s: s.inherited, "adopt"),
}
PROPOSED: dict[str, Check] = {
    "--force": (["--force"], lambda s: s.force, True),
    "--limit": (["--limit", "2"], lambda s: s.limit, 2),
    "--canary": (["--canary", "1"], lambda s: s.canary, 1),
    "--label": (["--label", "wave-1", "--label", "team-x"], lambda s: s.labels,
                ("migrator", "wave-1", "team-x")),
    "--report-link": (["--report-link", "https://ci.example.com/{slug}"],
                      lambda s: s.report_link, "https://ci.example.com/{slug}"),
    "--dashboard-issue": (["--dashboard-issue", "platform/migration"],
                          lambda s: s.dashboard_issue, "platform/migration"),
}
STATUS: dict[str, Check] = {
    **FLEET,
    "--shard": (["--shard", "2/5"], lambda s: s.shard, (2, 5)),
    "--out": (["--out", "reports"], lambda s: s.out, Path("reports")),
    "--dashboard-issue": (["--dashboard-issue", "platform/migration"],
                          lambda s: s.dashboard_issue, "platform/migration"),
}


def _options(command: str) -> set[str]:
    group = typer.main.get_command(cli.app)
    assert isinstance(group, typer.core.TyperGroup)
    return {max(p.opts, key=len) for p in group.commands[command].params
            if isinstance(p, typer.core.TyperOption)} - NOT_SETTINGS


def _fields(flags: type) -> set[str]:
    """A flags record's fields, the nested fleet options included, spelled as options."""
    names: set[str] = set()
    for f in dataclasses.fields(flags):
        if f.name == "repos":
            names |= _fields(config.FleetFlags)
        else:
            names.add("--" + f.name.replace("_", "-"))
    return names


def _argv(checks: dict[str, Check]) -> list[str]:
    return [arg for args, _, _ in checks.values() for arg in args]


def _assert_arrived(checks: dict[str, Check], settings: object) -> None:
    wrong = {option: (get(settings), expected) for option, (_, get, expected) in checks.items()
             if get(settings) != expected}
    assert not wrong, wrong


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """Run the commands up to their settings: what config returns is kept, nothing is planned,
    proposed or tracked. No migrator.toml is in the way."""
    monkeypatch.chdir(tmp_path)
    seen: dict[str, Any] = {}

    def spy(name: str) -> None:
        real = getattr(config, name)

        def wrapper(*args: Any, **kw: Any) -> Any:
            seen[name] = real(*args, **kw)
            return seen[name]
        monkeypatch.setattr(config, name, wrapper)

    for name in ("plan_settings", "propose_settings", "status_settings"):
        spy(name)
    central = CentralInfo("app-template", "charts", "3.1.4", ("3.1.4",), "oci://x")
    monkeypatch.setattr(cli, "run_plan",
                        lambda settings, quiet=False, signals=None, whole=True: FleetPlan(
                            central=central, repos=(), tool_version="0.0.0", plan_id="abc1234"))
    monkeypatch.setattr(propose, "run_apply", lambda *a, **kw: [])
    monkeypatch.setattr(pipeline, "discover_fleet", lambda *a, **kw: [])
    monkeypatch.setattr(track, "status", lambda *a, **kw: [])
    monkeypatch.setattr(cli, "_dashboard_issue", lambda *a, **kw: None)  # no GitLab to ask
    return seen


@pytest.mark.parametrize(("command", "checks", "flags"), [
    ("plan", PLAN, config.PlanFlags),
    ("apply", {**PLAN, **PROPOSED}, config.ApplyFlags),
    ("status", STATUS, config.StatusFlags),
])
def test_each_command_has_one_flags_field_per_option_and_a_check_for_it(
        command: str, checks: dict[str, Check], flags: type) -> None:
    assert _options(command) == _fields(flags) == set(checks)


def test_every_plan_option_reaches_the_plan_settings(captured: dict[str, Any]) -> None:
    result = CliRunner().invoke(cli.app, ["plan", *_argv(PLAN), "-q"])
    assert result.exit_code == 0, result.output
    _assert_arrived(PLAN, captured["plan_settings"])


def test_every_apply_option_reaches_the_plan_or_the_propose_settings(
        captured: dict[str, Any]) -> None:
    result = CliRunner().invoke(cli.app, ["apply", *_argv({**PLAN, **PROPOSED}), "-q"])
    assert result.exit_code == 0, result.output
    _assert_arrived(PLAN, captured["plan_settings"])
    proposed = captured["propose_settings"]
    _assert_arrived(PROPOSED, proposed)
    assert proposed.forge == GitLabSettings("https://gitlab.example.com", "BOT_TOKEN",
                                            allowed_clone_hosts=("mirror.example.com:8443",))
    assert (proposed.plan_id, proposed.tool_version) == ("abc1234", "0.0.0")


def test_every_status_option_reaches_the_status_settings(captured: dict[str, Any]) -> None:
    result = CliRunner().invoke(cli.app, ["status", *_argv(STATUS), "--json"])
    assert result.exit_code == 0, result.output
    _assert_arrived(STATUS, captured["status_settings"])
    assert captured["status_settings"].track.forge == GitLabSettings(
        "https://gitlab.example.com", "BOT_TOKEN",
        allowed_clone_hosts=("mirror.example.com:8443",))


def test_without_gitlab_apply_and_status_use_the_same_review_bundles(
        captured: dict[str, Any]) -> None:
    CliRunner().invoke(cli.app, ["apply", "--fleet", "repos", "--central", "charts",
                                 "--target-version", "3.1.4", "--out", "reports", "-q"])
    CliRunner().invoke(cli.app, ["status", "--fleet", "repos"])  # no --work: found as plan's
    work = captured["plan_settings"].work
    assert work.root.is_relative_to(cache_home()) and not work.root.is_relative_to(Path.cwd())
    bundles = LocalForgeSettings(work.review)
    assert captured["propose_settings"].forge == bundles
    assert captured["status_settings"].track.forge == bundles


def test_a_misspelled_flag_is_refused_not_ignored() -> None:
    with pytest.raises(TypeError, match="target_versoin"):
        config.PlanFlags(target_versoin="2.0.0")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="projects"):
        config.FleetFlags(projects=("a",))  # type: ignore[call-arg]
    flags = config.StatusFlags()
    with pytest.raises(dataclasses.FrozenInstanceError):
        flags.work = Path("elsewhere")  # type: ignore[misc]


def test_flags_win_over_migrator_toml_and_the_file_fills_the_rest(tmp_path: Path) -> None:
    file_cfg = {"central": {"source": "from-file", "target_version": "1.0.0"},
                "plan": {"fleet": "file-fleet", "out": "file-out", "jobs": 5,
                         "include": ["file-*"]}}
    settings = config.plan_settings(file_cfg, config.PlanFlags(
        target_version="2.0.0", jobs=2, repos=config.FleetFlags(include=("flag-*",))))
    assert (settings.central, settings.target_version) == (Path("from-file"), "2.0.0")
    assert (settings.fleet, settings.jobs, settings.include) == (
        Path("file-fleet"), 2, ("flag-*",))
    assert settings.work == WorkDir.default(*config.fleet_identity(Path("file-fleet"), None,
                                                                    None))


def test_status_finds_the_work_dir_plan_used_or_asks_for_it() -> None:
    planned = config.plan_settings({}, config.PlanFlags(
        repos=config.FleetFlags(fleet=Path("f")), central=Path("c"), target_version="1",
        out=Path("o"), shard="2/3"))
    by_fleet = config.status_settings({"plan": {"out": "o"}}, config.StatusFlags(
        repos=config.FleetFlags(fleet=Path("f")), shard="2/3"))
    assert by_fleet.work == planned.work and by_fleet.shard == (2, 3)
    by_file = config.status_settings({"plan": {"out": "o", "work": "w"}}, config.StatusFlags())
    assert by_file.work == WorkDir(Path("w"))
    with pytest.raises(ConfigError, match="missing --work"):
        config.status_settings({}, config.StatusFlags())


def test_apply_plans_with_the_options_it_shares_with_plan() -> None:
    flags = config.ApplyFlags(central=Path("c"), force=True, limit=3, label=("x",))
    assert flags.plan_flags() == config.PlanFlags(central=Path("c"), force=True)


def test_the_propose_defaults_hold_without_apply_options() -> None:
    plan = config.plan_settings({}, config.PlanFlags(
        repos=config.FleetFlags(fleet=Path("f")), central=Path("c"), target_version="1",
        out=Path("o")))
    proposed = config.propose_settings({"apply": {"limit": 4}}, plan, config.ApplyFlags(),
                                       plan_id="p", tool_version="t")
    defaults = ProposeSettings()
    assert proposed.labels == defaults.labels and not proposed.force
    assert (proposed.limit, proposed.canary, proposed.report_link) == (4, None, None)


def test_render_limits_come_from_migrator_toml_and_flags_win() -> None:
    base = config.PlanFlags(repos=config.FleetFlags(fleet=Path("f")), central=Path("c"),
                            target_version="1", out=Path("o"))
    assert config.plan_settings({}, base).render_limits == RenderLimits(30.0, 2048, 256)
    file_cfg = {"plan": {"render_timeout": 5, "render_memory_mib": 512, "render_output_mib": 8}}
    assert config.plan_settings(file_cfg, base).render_limits == RenderLimits(5.0, 512, 8)
    flagged = dataclasses.replace(base, render_timeout=0.5, render_output_mib=1)
    assert config.plan_settings(file_cfg, flagged).render_limits == RenderLimits(0.5, 512, 1)


@pytest.mark.parametrize(("key", "value"), [
    ("render_timeout", 0), ("render_timeout", -3), ("render_timeout", "30"),
    ("render_memory_mib", 1.5), ("render_memory_mib", True), ("render_output_mib", 0),
])
def test_a_render_limit_that_is_not_a_positive_number_is_refused(key: str, value: object) -> None:
    flags = config.PlanFlags(repos=config.FleetFlags(fleet=Path("f")), central=Path("c"),
                             target_version="1", out=Path("o"))
    with pytest.raises(ConfigError, match=f"\\[plan\\] {key}\\) {value!r}: expected"):
        config.plan_settings({"plan": {key: value}}, flags)
