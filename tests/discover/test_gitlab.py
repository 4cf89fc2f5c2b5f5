"""Fleet discovery on the GitLab simulator (python-gitlab over real HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from migrator.discover.gitlab import GitLabFleetSettings, list_repos
from migrator.errors import ConfigError
from migrator.forge import ForgeError
from migrator.gitlab_api import GitLabSettings
from tests.forge.fleetkit import app_files, make_repo
from testsupport.gitlab_sim import GitLabSim

TOKEN = "glpat-discoveryToken0001"


@pytest.fixture
def sim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GitLabSim]:
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    src = make_repo(tmp_path / "src", app_files("app"))
    with GitLabSim(tmp_path / "sim") as running:
        running.add_token(TOKEN, scopes=("read_api",), user="viewer")
        upstream = running.add_project("platform/apps/orders", source_repo=src,
                                       topics=["helm", "team-a"])
        running.add_project("platform/apps/payments", source_repo=src, topics=["helm"])
        running.add_project("platform/apps/legacy/billing", source_repo=src,
                            topics=["helm", "team-a"], default_branch="main")
        running.add_project("platform/apps/old-shop", source_repo=src, archived=True,
                            topics=["helm"])
        running.add_project("platform/sandbox/orders-fork", source_repo=src,
                            forked_from=upstream, topics=["helm"])
        running.add_project("platform/tools/linter", source_repo=src)
        running.add_project("elsewhere/shared-lib", source_repo=src, topics=["helm"])
        running.share_project("elsewhere/shared-lib", "platform")
        running.add_project("elsewhere/widget", source_repo=src, topics=["helm"])
        yield running


def discover(sim: GitLabSim, **kw: object) -> list[str]:
    settings = GitLabFleetSettings(GitLabSettings(sim.url), **kw)  # type: ignore[arg-type]
    return [r.name for r in list_repos(settings)]


def test_a_group_lists_its_subgroups_projects_sorted_without_archived_forks_or_shared(
        sim: GitLabSim) -> None:
    assert discover(sim, group="platform") == [
        "platform/apps/legacy/billing", "platform/apps/orders", "platform/apps/payments",
        "platform/tools/linter"]


def test_a_subgroup_can_be_the_fleet(sim: GitLabSim) -> None:
    assert discover(sim, group="platform/apps/legacy") == ["platform/apps/legacy/billing"]


def test_archived_projects_and_forks_can_be_included(sim: GitLabSim) -> None:
    names = discover(sim, group="platform", include_archived=True, include_forks=True)
    assert "platform/apps/old-shop" in names and "platform/sandbox/orders-fork" in names


def test_topics_keep_projects_that_carry_all_of_them(sim: GitLabSim) -> None:
    assert discover(sim, group="platform", topics=("helm", "team-a")) == [
        "platform/apps/legacy/billing", "platform/apps/orders"]


def test_include_and_exclude_patterns_apply_to_the_full_path(sim: GitLabSim) -> None:
    assert discover(sim, group="platform", include=("platform/apps/*",),
                    exclude=("*/legacy/*",)) == ["platform/apps/orders", "platform/apps/payments"]


def test_an_explicit_project_list_adds_to_the_group_and_is_filtered_alike(
        sim: GitLabSim) -> None:
    assert discover(sim, projects=("elsewhere/widget", "platform/apps/orders")) == [
        "elsewhere/widget", "platform/apps/orders"]
    assert discover(sim, group="platform/apps/legacy",
                    projects=("elsewhere/widget", "platform/apps/old-shop")) == [
        "elsewhere/widget", "platform/apps/legacy/billing"]


def test_repo_refs_carry_what_fetch_and_propose_need(sim: GitLabSim) -> None:
    (ref,) = list_repos(GitLabFleetSettings(GitLabSettings(sim.url), group="platform/apps/legacy"))
    project = sim.project("platform/apps/legacy/billing")
    assert ref.project_id == project.id
    assert ref.slug == "platform__apps__legacy__billing"
    assert ref.url == f"{sim.url}/platform/apps/legacy/billing.git"
    assert ref.default_branch == "main"
    assert ref.web_url == f"{sim.url}/platform/apps/legacy/billing"
    assert "@" not in ref.url


def test_large_groups_are_read_page_by_page(sim: GitLabSim) -> None:
    for i in range(130):
        sim.add_project(f"bulk/team-{i // 50}/svc-{i:03d}")
    sim.reset_log()
    names = discover(sim, group="bulk")
    assert len(names) == 130 and names == sorted(names)
    assert sim.request_counts[("GET", "/groups/:id/projects")] == 2


def test_an_unknown_group_names_the_group(sim: GitLabSim) -> None:
    with pytest.raises(ForgeError, match=r"group nope/nothing: listing projects failed.*404"):
        discover(sim, group="nope/nothing")


def test_a_bad_token_is_reported_without_the_token(
        sim: GitLabSim, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-notAValidTokenAtAll")
    with pytest.raises(ForgeError) as err:
        discover(sim, group="platform")
    assert "401" in str(err.value) and "glpat-notAValid" not in str(err.value)


def test_a_listed_project_that_cannot_be_read_is_kept_unavailable_with_its_cause(
        sim: GitLabSim) -> None:
    repos = {r.name: r for r in list_repos(GitLabFleetSettings(
        GitLabSettings(sim.url), projects=("platform/apps/orders", "nope/missing")))}
    assert repos["platform/apps/orders"].unavailable is None
    missing = repos["nope/missing"]
    assert missing.url == "" and missing.project_id is None
    assert "nope/missing: reading the project failed: not found (404)" in str(missing.unavailable)


def test_a_refused_token_on_a_listed_project_still_stops_discovery(
        sim: GitLabSim, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-notAValidTokenAtAll")
    with pytest.raises(ForgeError, match="401"):
        discover(sim, projects=("platform/apps/orders",))


def test_a_project_cloned_from_another_host_is_unavailable_unless_that_host_is_allowed(
        sim: GitLabSim, tmp_path: Path) -> None:
    sim.add_project("platform/apps/mirrored", source_repo=make_repo(tmp_path / "m", {"a": "1"}),
                    http_url_to_repo="https://mirror.example.com:8443/apps/mirrored.git")
    settings = GitLabFleetSettings(GitLabSettings(sim.url), group="platform/apps")
    refused = {r.name: r for r in list_repos(settings)}["platform/apps/mirrored"]
    assert "outside the GitLab instance" in str(refused.unavailable)
    allowed = GitLabFleetSettings(GitLabSettings(
        sim.url, allowed_clone_hosts=("mirror.example.com",)), group="platform/apps")
    assert {r.name: r for r in list_repos(allowed)}["platform/apps/mirrored"].unavailable is None


def test_no_group_and_no_projects_is_a_config_error(sim: GitLabSim) -> None:
    with pytest.raises(ConfigError):
        discover(sim)
