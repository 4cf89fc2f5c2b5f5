"""The GitLab token never reaches a host other than the configured GitLab instance.

A project on the GitLab simulator announces a clone URL on another host: a capturing git server
on another port of 127.0.0.1 (another port is another origin). `plan` and `apply` run as the
command line runs them (settings from the same flags, the same fetch, the same forge). Whatever
the setting, the capturing server never receives an `Authorization` header or the token.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from migrator import config, demo
from migrator.model import FleetPlan, Verdict
from migrator.pipeline import fleet as pipeline
from migrator.propose.apply import ProposeOutcome, run_apply
from migrator.report.reasons import reason
from tests.forge.fleetkit import describe
from testsupport.foreign_host import ForeignGitHost
from testsupport.gitlab_sim import GitLabSim

TOKEN = "glpat-originBoundToken0001"


@dataclass
class World:
    sim: GitLabSim
    foreign: ForeignGitHost
    central: demo.CentralSources
    root: Path

    def settings(self, *allowed: str) -> config.PlanSettings:
        return config.plan_settings({}, config.PlanFlags(
            repos=config.FleetFlags(gitlab_url=self.sim.url, group="shop",
                                    allow_clone_host=allowed),
            central=self.central.repo_dir, target_version="2.0.0", out=self.root / "out",
            work=self.root / "work", jobs=2))

    def plan(self, *allowed: str) -> FleetPlan:
        settings = self.settings(*allowed)
        repos = pipeline.discover(settings)
        return pipeline.plan_fleet(repos, settings, git_env=pipeline.git_env(settings))

    def apply(self, *allowed: str) -> dict[str, ProposeOutcome]:
        settings = self.settings(*allowed)
        fleet = self.plan(*allowed)
        propose = config.propose_settings({}, settings, config.ApplyFlags(),
                                          plan_id=fleet.plan_id, tool_version=fleet.tool_version)
        outcomes = run_apply(fleet.repos, fleet.central, propose, settings.work,
                             {p.repo.slug: settings.work.clone(p.repo.slug) for p in fleet.repos},
                             describe=describe)
        return {o.repo: o for o in outcomes}

    def assert_no_credential_reached_the_foreign_host(self) -> None:
        assert self.foreign.authorizations() == []
        assert not self.foreign.received(TOKEN)


def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fleet_dir: Path,
          central_sources: demo.CentralSources, challenge: bool) -> Iterator[World]:
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    with GitLabSim(tmp_path / "sim") as sim, \
            ForeignGitHost(tmp_path / "foreign", challenge=challenge) as foreign:
        sim.add_token(TOKEN, scopes=("api",), user="migrator-bot")
        sim.add_project("shop/orders", source_repo=fleet_dir / "orders")
        # The same app, but GitLab says to clone it from the other host (which serves it).
        elsewhere = foreign.add_repo("shop/billing", fleet_dir / "billing")
        sim.add_project("shop/billing", source_repo=fleet_dir / "billing",
                        http_url_to_repo=elsewhere)
        yield World(sim, foreign, central_sources, tmp_path)


@pytest.fixture
def serving(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fleet_dir: Path,
            central_sources: demo.CentralSources) -> Iterator[World]:
    """The other host serves the repo to anyone."""
    yield from world(tmp_path, monkeypatch, fleet_dir, central_sources, challenge=False)


@pytest.fixture
def luring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fleet_dir: Path,
           central_sources: demo.CentralSources) -> Iterator[World]:
    """The other host asks every request for credentials (401 + WWW-Authenticate: Basic)."""
    yield from world(tmp_path, monkeypatch, fleet_dir, central_sources, challenge=True)


def test_a_clone_url_on_another_host_is_refused_with_its_reason_and_the_fleet_goes_on(
        luring: World) -> None:
    fleet = luring.plan()
    plans = {p.repo.name: p for p in fleet.repos}
    assert plans["shop/orders"].verdict is Verdict.READY
    billing = plans["shop/billing"]
    assert billing.verdict is Verdict.ERROR
    words = reason(billing)
    assert f"outside the GitLab instance {luring.sim.url}" in words
    assert f"--allow-clone-host {luring.foreign.netloc}" in words
    assert luring.foreign.seen == []  # refused before git ran: nothing was even asked


def test_apply_never_sends_the_token_to_a_clone_url_on_another_host(luring: World) -> None:
    outcomes = luring.apply()
    assert outcomes["shop/orders"].action == "created"  # the run did authenticate to GitLab
    assert outcomes["shop/billing"].action == "not-eligible"
    assert luring.sim.merge_requests("shop/billing") == []
    assert luring.foreign.seen == []
    luring.assert_no_credential_reached_the_foreign_host()


def test_an_allowed_host_that_asks_for_credentials_gets_none(luring: World) -> None:
    fleet = luring.plan(luring.foreign.netloc)
    assert luring.foreign.seen  # git did go there, and was asked for credentials...
    luring.assert_no_credential_reached_the_foreign_host()  # ...and gave none
    plans = {p.repo.name: p for p in fleet.repos}
    assert plans["shop/billing"].verdict is Verdict.ERROR
    assert "fetch failed" in reason(plans["shop/billing"])
    assert plans["shop/orders"].verdict is Verdict.READY


def test_an_allowed_host_is_cloned_and_pushed_to_without_the_token(serving: World) -> None:
    fleet = serving.plan(serving.foreign.netloc)
    plans = {p.repo.name: p for p in fleet.repos}
    assert plans["shop/billing"].verdict is Verdict.READY  # cloned anonymously from there
    outcomes = serving.apply(serving.foreign.netloc)
    assert outcomes["shop/orders"].action == "created"
    # The push goes to the clone's origin, the other host, which refuses anonymous pushes.
    assert outcomes["shop/billing"].action == "error"
    assert "pushing the branch failed" in outcomes["shop/billing"].cause
    assert any(s.path.endswith("git-upload-pack") for s in serving.foreign.seen)
    serving.assert_no_credential_reached_the_foreign_host()


def test_a_user_git_config_cannot_send_gitlab_clones_elsewhere(
        luring: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user_config = tmp_path / "user.gitconfig"
    user_config.write_text(f'[url "{luring.foreign.url}/"]\n\tinsteadOf = {luring.sim.url}/\n')
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(user_config))
    fleet = luring.plan()
    assert {p.repo.name: p.verdict for p in fleet.repos}["shop/orders"] is Verdict.READY
    assert luring.foreign.seen == []


def test_a_gitlab_clone_url_that_is_an_option_or_a_command_never_reaches_git(
        luring: World, fleet_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = tmp_path / "payload"
    script.write_text(f'#!/bin/sh\ntouch "{marker}"\nexit 1\n')
    script.chmod(0o755)
    for name, url in (("option", f"--upload-pack={script};://x"), ("command", f"ext::{script}"),
                      ("local", str(fleet_dir / "orders"))):
        luring.sim.add_project(f"shop/{name}", source_repo=fleet_dir / "orders",
                               http_url_to_repo=url)
    plans = {p.repo.name: p for p in luring.plan().repos}
    for name in ("option", "command", "local"):
        assert plans[f"shop/{name}"].verdict is Verdict.ERROR
        assert "not an http(s) or ssh URL of the GitLab instance" in reason(
            plans[f"shop/{name}"]), name
    assert plans["shop/orders"].verdict is Verdict.READY
    assert not marker.exists()
