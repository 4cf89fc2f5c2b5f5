"""App repos are data: nothing a repo (or its list line) carries runs when the fleet is planned
and applied.

One small repo per vector, each the `orders` fixture app plus the vector, in one local fleet
listed by a file that also holds hostile lines. Every payload is a script that only touches its
marker. The fleet is planned (clone), planned again (fetch, reset, clean on the cached clone)
and applied as review bundles (commit, format-patch), with a user git configuration and `GIT_*`
variables that would run every payload too. Then:

- no marker exists (nothing ran), every vector repo has its verdict, every hostile line its
  reason, the plain repo is planned;
- each vector's control runs plain git the way a careless tool would, and its marker appears:
  the vector is live, so its absence above means something.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from migrator import config, demo
from migrator.model import FleetPlan, RepoPlan, Verdict
from migrator.pipeline import fleet as pipeline
from migrator.propose.apply import ProposeOutcome, run_apply
from migrator.report.reasons import reason
from tests.forge.fleetkit import describe
from testsupport.foreign_host import ForeignGitHost

ISOLATED = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C",
            "GIT_TERMINAL_PROMPT": "0"}
IDENT = {"GIT_AUTHOR_NAME": "Mallory", "GIT_AUTHOR_EMAIL": "mallory@example.com",
         "GIT_COMMITTER_NAME": "Mallory", "GIT_COMMITTER_EMAIL": "mallory@example.com"}
HOOKS = ("post-checkout", "post-merge", "pre-push", "pre-commit", "post-commit",
         "reference-transaction", "post-index-change", "pre-auto-gc", "post-rewrite")


def git(*args: str | Path, cwd: Path | None = None, env: Mapping[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    """Plain git, as a careless tool would run it (the controls) or to build the fleet."""
    full = {**os.environ, **ISOLATED, **IDENT, **(env or {})}
    return subprocess.run(["git", *map(str, args)], cwd=cwd, env=full, capture_output=True,
                          text=True, check=check)


@dataclass
class Hostile:
    root: Path
    bin: Path
    markers: Path
    fleet: Path
    hostile_config: Path
    ran: frozenset[str]  # the markers present once the run was over
    plans: dict[str, RepoPlan]
    outcomes: dict[str, ProposeOutcome]
    foreign: str

    def payload(self, name: str) -> Path:
        return self.bin / name

    def marked(self, name: str) -> bool:
        return (self.markers / name).exists()

    def assert_silent(self, *names: str) -> None:
        ran = sorted(set(names) & self.ran)
        assert not ran, f"ran during the migrator run: {ran}"


def _script(bin_dir: Path, markers: Path, name: str, tail: str, file: str | None = None) -> Path:
    """An executable `bin_dir/<file or name>` that touches the marker `name`, then `tail`."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / (file or name)
    path.write_text(f'#!/bin/sh\ntouch "{markers / name}"\n{tail}\n')
    path.chmod(0o755)
    return path


def _payloads(bin_dir: Path, markers: Path) -> None:
    bin_dir.mkdir(parents=True)
    for name, tail in {
        "fsmonitor": "exit 1", "include-fsmonitor": "exit 1", "global-fsmonitor": "exit 1",
        "ssh-command": "exit 1", "global-ssh-command": "exit 1",
        "filter-smudge": "exec cat", "filter-clean": "exec cat", "filter-process": "exit 1",
        "global-filter-smudge": "exec cat", "global-filter-clean": "exec cat",
        "diff-command": "exit 0", "diff-textconv": 'exec cat "$1"',
        "global-diff-command": "exit 0", "global-diff-textconv": 'exec cat "$1"',
        "pack-objects-hook": 'exec "$@"', "global-pack-objects-hook": 'exec "$@"',
        "credential-helper": "exit 0", "global-credential-helper": "exit 0",
        "ext-submodule": "exit 1", "ext-line": "exit 1", "upload-pack-line": "exit 1",
        "askpass": "exit 1", "env-config-fsmonitor": "exit 1",
    }.items():
        _script(bin_dir, markers, name, tail)
    for prefix in ("hook", "global-hook", "template-hook", "include-hook"):
        hooks = bin_dir / f"{prefix}s"
        hooks.mkdir()
        for hook in HOOKS:
            _script(hooks, markers, f"{prefix}-{hook}", "exit 0", file=hook)


def _vector_repo(fleet_dir: Path, dest: Path) -> Path:
    git("clone", "--quiet", "--", fleet_dir / "orders", dest)
    git("remote", "remove", "origin", cwd=dest)
    return dest


def _commit(repo: Path, message: str, *paths: str) -> None:
    git("-c", "core.hooksPath=/dev/null", "add", "--", *(paths or ["."]), cwd=repo)
    git("-c", "core.hooksPath=/dev/null", "commit", "--quiet", "-m", message, cwd=repo)


def _build(root: Path, fleet_dir: Path, bin_dir: Path, markers: Path,
           foreign_url: str) -> tuple[Path, Path]:
    """The fleet's list file and the hostile user config."""
    fleet = root / "fleet"
    b = bin_dir

    plain = _vector_repo(fleet_dir, fleet / "plain")

    repo = _vector_repo(fleet_dir, fleet / "fsmonitor")
    git("config", "core.fsmonitor", b / "fsmonitor", cwd=repo)

    repo = _vector_repo(fleet_dir, fleet / "ssh-command")
    git("config", "core.sshCommand", b / "ssh-command", cwd=repo)
    git("remote", "add", "origin", "ssh://git@gitlab.example.invalid/shop/orders.git", cwd=repo)

    repo = _vector_repo(fleet_dir, fleet / "hooks")
    hooks_in_tree = repo / ".githooks"
    hooks_in_tree.mkdir()
    for hook in HOOKS:
        _script(hooks_in_tree, markers, f"hook-{hook}", "exit 0", file=hook)
    _commit(repo, "hooks for everyone")
    for hook in HOOKS:
        _script(repo / ".git" / "hooks", markers, f"hook-{hook}", "exit 0", file=hook)
    git("config", "core.hooksPath", ".githooks", cwd=repo)

    repo = _vector_repo(fleet_dir, fleet / "drivers")
    (repo / ".gitattributes").write_text("* filter=evil diff=evil merge=evil\n")
    _commit(repo, "attributes")
    for key, script in (("filter.evil.smudge", "filter-smudge"),
                        ("filter.evil.clean", "filter-clean"),
                        ("diff.evil.command", "diff-command"),
                        ("diff.evil.textconv", "diff-textconv")):
        git("config", key, b / script, cwd=repo)

    repo = _vector_repo(fleet_dir, fleet / "pack-objects-hook")
    git("config", "uploadpack.packObjectsHook", b / "pack-objects-hook", cwd=repo)

    repo = _vector_repo(fleet_dir, fleet / "include")
    (repo / "evil.gitconfig").write_text(
        f"[core]\n\tfsmonitor = {b / 'include-fsmonitor'}\n"
        f"\thooksPath = {b / 'include-hooks'}\n")
    _commit(repo, "a config file to include")
    git("config", "include.path", "../evil.gitconfig", cwd=repo)

    repo = _vector_repo(fleet_dir, fleet / "credential-helper")
    git("config", "credential.helper", f"!{b / 'credential-helper'}", cwd=repo)

    repo = _vector_repo(fleet_dir, fleet / "ext-submodule")
    (repo / ".gitmodules").write_text(
        f'[submodule "evil"]\n\tpath = evil\n\turl = ext::{b / "ext-submodule"}\n')
    git("update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},evil", cwd=repo)
    _commit(repo, "a submodule", ".gitmodules")

    listing = root / "fleet.txt"
    listing.write_text("\n".join([
        "# one repo per vector, and lines that must never reach git as they are",
        *(f"fleet/{p.name}" for p in sorted(fleet.iterdir())),
        f"ext::{b / 'ext-line'}",
        f"file::{plain}",
        f"--upload-pack={b / 'upload-pack-line'};://x",
        "-q",
        # Asks for credentials: only the user config's helper would answer.
        f"{foreign_url}/shop/orders.git",
    ]) + "\n")

    hostile = root / "hostile.gitconfig"
    hostile.write_text(f"""\
[core]
\tfsmonitor = {b / 'global-fsmonitor'}
\thooksPath = {b / 'global-hooks'}
\tsshCommand = {b / 'global-ssh-command'}
\taskPass = {b / 'askpass'}
[filter "evil"]
\tsmudge = {b / 'global-filter-smudge'}
\tclean = {b / 'global-filter-clean'}
[diff "evil"]
\tcommand = {b / 'global-diff-command'}
\ttextconv = {b / 'global-diff-textconv'}
[uploadpack]
\tpackObjectsHook = {b / 'global-pack-objects-hook'}
[credential]
\thelper = !{b / 'global-credential-helper'}
[submodule]
\trecurse = true
[protocol]
\tallow = always
[init]
\ttemplateDir = {root / 'template'}
""")
    template_hooks = root / "template" / "hooks"
    template_hooks.mkdir(parents=True)
    for hook in HOOKS:
        _script(template_hooks, markers, f"template-hook-{hook}", "exit 0", file=hook)
    return listing, hostile


def _hostile_environment(hostile: Path, bin_dir: Path) -> dict[str, str]:
    """What the operator's shell might hold: a user config and GIT_* variables that would run
    the payloads in every git command."""
    return {
        "GIT_CONFIG_GLOBAL": str(hostile),
        "GIT_CONFIG_PARAMETERS": f"'core.fsmonitor'='{bin_dir / 'env-config-fsmonitor'}'",
        "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "core.fsmonitor",
        "GIT_CONFIG_VALUE_0": str(bin_dir / "env-config-fsmonitor"),
        "GIT_TEMPLATE_DIR": str(hostile.parent / "template"),
        "GIT_ASKPASS": str(bin_dir / "askpass"),
        "GIT_ALLOW_PROTOCOL": "ext:file:http:https:ssh",
    }


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, fleet_dir: Path,
            central_sources: demo.CentralSources) -> Iterator[Hostile]:
    root = tmp_path_factory.mktemp("hostile")
    markers, bin_dir = root / "markers", root / "bin"
    markers.mkdir()
    _payloads(bin_dir, markers)
    with ForeignGitHost(root / "foreign", challenge=True) as foreign, \
            pytest.MonkeyPatch.context() as mp:
        listing, hostile_config = _build(root, fleet_dir, bin_dir, markers, foreign.url)
        for key, value in _hostile_environment(hostile_config, bin_dir).items():
            mp.setenv(key, value)
        settings = config.plan_settings({}, config.PlanFlags(
            repos=config.FleetFlags(fleet=listing), central=central_sources.repo_dir,
            target_version="2.0.0", out=root / "out", work=root / "work", jobs=2))
        repos = pipeline.discover(settings)
        pipeline.plan_fleet(repos, settings)  # clones
        fleet: FleetPlan = pipeline.plan_fleet(repos, settings)  # fetch + reset + clean
        propose = config.propose_settings({}, settings, config.ApplyFlags(),
                                          plan_id=fleet.plan_id, tool_version=fleet.tool_version)
        outcomes = run_apply(fleet.repos, fleet.central, propose, settings.work,
                             {p.repo.slug: settings.work.clone(p.repo.slug) for p in fleet.repos},
                             describe=describe)
        foreign_url = foreign.url
    ran = frozenset(p.name for p in markers.iterdir())
    yield Hostile(root, bin_dir, markers, root / "fleet", hostile_config, ran,
                  {p.repo.name: p for p in fleet.repos}, {o.repo: o for o in outcomes},
                  foreign_url)


# the run -----------------------------------------------------------------------------------


def test_nothing_ran_during_plan_and_apply(hostile: Hostile) -> None:
    assert hostile.ran == frozenset()


def test_every_vector_repo_was_planned_and_proposed_like_the_plain_one(hostile: Hostile) -> None:
    vectors = ("fsmonitor", "ssh-command", "hooks", "drivers", "pack-objects-hook", "include",
               "credential-helper", "ext-submodule")
    for name in ("plain", *vectors):
        assert hostile.plans[f"fleet/{name}"].verdict is Verdict.READY, (
            name, reason(hostile.plans[f"fleet/{name}"]))
        assert hostile.outcomes[f"fleet/{name}"].action == "created", name
    # the review bundle holds the bot's commit, made without any hook
    bundle = hostile.root / "work" / "review" / "fleet__hooks" / "changes.patch"
    assert "deploy/values.yaml" in bundle.read_text()


# The comment is line 1, the nine repos lines 2 to 10.
@pytest.mark.parametrize(("number", "why"), [
    (11, "names a git remote helper"),  # ext::
    (12, "names a git remote helper"),  # file::
    (13, "starts with '-'"),  # --upload-pack=...;://x
    (14, "starts with '-'"),  # -q
])
def test_a_hostile_list_line_is_that_lines_reason(hostile: Hostile, number: int,
                                                  why: str) -> None:
    plan = hostile.plans[f"fleet.txt:{number}"]
    assert plan.verdict is Verdict.ERROR
    assert why in reason(plan) and f"fleet.txt:{number}" in reason(plan)
    assert hostile.outcomes[f"fleet.txt:{number}"].action == "not-eligible"


def test_a_host_asking_for_credentials_gets_none_from_any_config(hostile: Hostile) -> None:
    (name,) = [n for n in hostile.plans if n.endswith("shop/orders")]
    assert hostile.plans[name].verdict is Verdict.ERROR
    assert "fetch failed" in reason(hostile.plans[name])
    hostile.assert_silent("credential-helper", "global-credential-helper", "askpass")


# each vector: silent in the run, live under plain git ----------------------------------------


def test_a_repos_core_fsmonitor_never_runs(hostile: Hostile) -> None:
    hostile.assert_silent("fsmonitor", "global-fsmonitor", "env-config-fsmonitor")
    git("status", cwd=hostile.fleet / "fsmonitor")
    assert hostile.marked("fsmonitor")


def test_a_repos_core_ssh_command_never_runs(hostile: Hostile) -> None:
    hostile.assert_silent("ssh-command", "global-ssh-command")
    git("fetch", "origin", cwd=hostile.fleet / "ssh-command", check=False)
    assert hostile.marked("ssh-command")


def test_a_repos_hooks_and_hooks_path_never_run(hostile: Hostile) -> None:
    hostile.assert_silent(*(f"{prefix}-{hook}" for prefix in
                            ("hook", "global-hook", "template-hook", "include-hook")
                            for hook in HOOKS))
    git("checkout", "--quiet", "-b", "control", cwd=hostile.fleet / "hooks")
    assert hostile.marked("hook-post-checkout")


def test_a_user_template_dir_never_brings_hooks_into_a_clone(hostile: Hostile) -> None:
    git("clone", "--quiet", "--", hostile.fleet / "plain", hostile.root / "control-template",
        env={"GIT_TEMPLATE_DIR": str(hostile.root / "template")})
    assert hostile.marked("template-hook-post-checkout")


def test_gitattributes_filter_and_diff_drivers_never_run(hostile: Hostile) -> None:
    hostile.assert_silent("filter-smudge", "filter-clean", "filter-process", "diff-command",
                          "diff-textconv", "global-filter-smudge", "global-filter-clean",
                          "global-diff-command", "global-diff-textconv")
    repo = hostile.fleet / "drivers"
    (repo / "Makefile").unlink()
    git("checkout", "--", "Makefile", cwd=repo)
    (repo / "Makefile").write_text("changed\n")
    git("diff", cwd=repo)
    assert hostile.marked("filter-smudge") and hostile.marked("diff-command")


def test_a_user_configured_driver_never_runs_on_a_clone(hostile: Hostile) -> None:
    # Only a config the run does not read could define the drivers the attributes name.
    git("clone", "--quiet", "--", hostile.fleet / "drivers", hostile.root / "control-drivers",
        env={"GIT_CONFIG_GLOBAL": str(hostile.hostile_config),
             "GIT_TEMPLATE_DIR": str(hostile.root / "empty-template")})
    assert hostile.marked("global-filter-smudge")


def test_upload_pack_pack_objects_hook_never_runs(hostile: Hostile) -> None:
    hostile.assert_silent("pack-objects-hook", "global-pack-objects-hook")
    # git honours it from a user config (never from the repo's own): the run reads none.
    git("clone", "--quiet", f"file://{hostile.fleet / 'pack-objects-hook'}",
        hostile.root / "control-pack", env={"GIT_CONFIG_GLOBAL": str(hostile.hostile_config),
                                            "GIT_TEMPLATE_DIR": str(hostile.root / "none")})
    assert hostile.marked("global-pack-objects-hook")


def test_an_included_config_never_takes_effect(hostile: Hostile) -> None:
    hostile.assert_silent("include-fsmonitor", *(f"include-hook-{h}" for h in HOOKS))
    git("status", cwd=hostile.fleet / "include")
    assert hostile.marked("include-fsmonitor")


def test_a_repos_credential_helper_never_runs(hostile: Hostile) -> None:
    hostile.assert_silent("credential-helper")
    git("credential", "fill", cwd=hostile.fleet / "credential-helper",
        env={"GIT_TERMINAL_PROMPT": "0"}, check=False)
    subprocess.run(["git", "credential", "fill"], cwd=hostile.fleet / "credential-helper",
                   input="protocol=https\nhost=gitlab.example.invalid\n\n", text=True,
                   env={**os.environ, **ISOLATED}, capture_output=True, check=False)
    assert hostile.marked("credential-helper")


def test_an_ext_submodule_is_never_fetched(hostile: Hostile) -> None:
    hostile.assert_silent("ext-submodule")
    clone = hostile.root / "work" / "cache" / "fleet__ext-submodule"
    assert not (clone / "evil" / ".git").exists()
    git("-c", "protocol.ext.allow=always", "clone", "--quiet", "--recurse-submodules", "--",
        hostile.fleet / "ext-submodule", hostile.root / "control-submodule", check=False)
    assert hostile.marked("ext-submodule")


def test_an_ext_list_line_never_runs(hostile: Hostile) -> None:
    hostile.assert_silent("ext-line")
    git("-c", "protocol.ext.allow=always", "clone", "--quiet", "--",
        f"ext::{hostile.bin / 'ext-line'}", hostile.root / "control-ext", check=False)
    assert hostile.marked("ext-line")


def test_a_list_line_that_is_an_option_never_becomes_one(hostile: Hostile) -> None:
    hostile.assert_silent("upload-pack-line")
    # What `git clone <line> <dir>` without `--` did with it: the dir became the repository
    # and the line the program to run there.
    target = hostile.root / "control-option"
    git("clone", "--quiet", hostile.fleet / "plain", target)
    git("clone", "--quiet", f"--upload-pack={hostile.bin / 'upload-pack-line'};://x", target,
        hostile.root / "control-option-2", check=False)
    assert hostile.marked("upload-pack-line")
