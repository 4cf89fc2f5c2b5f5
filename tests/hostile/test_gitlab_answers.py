"""GitLab answers that cannot be used (a 100 MiB body, malformed JSON, an HTML page where JSON
belongs) cost the call that got them, never the run.

What each call costs, by what depends on it:

- the group listing is the fleet: a bad page stops discovery with the group, the page and the
  cause in one line (planning the pages that did arrive would publish a fleet that silently
  misses repos);
- an explicitly listed project costs only itself: it is that repo's reason, the rest is planned;
- a bad answer while proposing or tracking one merge request costs that repo's row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from migrator import cli, config, demo
from migrator.errors import MigratorError
from migrator.gitlab_api import GitLabSettings, RetryPolicy
from migrator.journal import Journal
from migrator.model import FleetPlan, Verdict
from migrator.pipeline import fleet as pipeline
from migrator.propose.apply import ProposeOutcome, run_apply
from migrator.propose.settings import ProposeSettings
from migrator.report.reasons import reason
from migrator.track.status import TrackSettings, status
from tests.forge.fleetkit import describe
from testsupport.gitlab_sim import GitLabSim

TOKEN = "glpat-answersToken000001"
LISTING = "/groups/:id/projects"


@dataclass
class Shop:
    sim: GitLabSim
    central: demo.CentralSources
    root: Path

    def settings(self, **fleet: object) -> config.PlanSettings:
        where = fleet or {"group": "shop"}
        return config.plan_settings({}, config.PlanFlags(
            repos=config.FleetFlags(gitlab_url=self.sim.url, **where),  # type: ignore[arg-type]
            central=self.central.repo_dir, target_version="2.0.0", out=self.root / "out",
            work=self.root / "work", jobs=2))

    def plan(self, **fleet: object) -> FleetPlan:
        settings = self.settings(**fleet)
        return pipeline.plan_fleet(pipeline.discover(settings), settings,
                                   git_env=pipeline.git_env(settings))

    def apply(self) -> dict[str, ProposeOutcome]:
        settings = self.settings()
        fleet = self.plan()
        forge = GitLabSettings(self.sim.url, retry=RetryPolicy(sleep=lambda _: None))
        outcomes = run_apply(fleet.repos, fleet.central, ProposeSettings(forge=forge),
                             settings.work,
                             {p.repo.slug: settings.work.clone(p.repo.slug) for p in fleet.repos},
                             describe=describe)
        return {o.repo: o for o in outcomes}

    def project_path(self, name: str) -> str:
        """The API path of a project as the forge calls it (by numeric id)."""
        return f"/api/v4/projects/{self.sim.project(name).id}/"


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fleet_dir: Path,
         central_sources: demo.CentralSources) -> Iterator[Shop]:
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    with GitLabSim(tmp_path / "sim") as sim:
        sim.add_token(TOKEN, scopes=("api",), user="migrator-bot")
        for case in ("orders", "billing"):
            sim.add_project(f"shop/{case}", source_repo=fleet_dir / case)
        yield Shop(sim, central_sources, tmp_path)
        assert sim.errors == []


# discovery -------------------------------------------------------------------------------


def test_a_100_mib_group_listing_stops_discovery_at_the_cap_naming_the_group(
        shop: Shop) -> None:
    shop.sim.faults.huge_body(100 * 1024 * 1024, route=LISTING)
    with pytest.raises(MigratorError) as caught:
        pipeline.discover(shop.settings())
    assert str(caught.value).startswith("group shop: listing projects failed: GET "
                                        "/api/v4/groups/shop/projects")
    assert "larger than the 32 MiB cap" in str(caught.value)


def test_the_cap_is_a_setting(shop: Shop) -> None:
    shop.sim.faults.huge_body(3 * 1024 * 1024, route=LISTING, count=None)
    file_cfg = {"gitlab": {"max_response_mib": 2}}
    small = config.plan_settings(file_cfg, config.PlanFlags(
        repos=config.FleetFlags(gitlab_url=shop.sim.url, group="shop"),
        central=shop.central.repo_dir, target_version="2.0.0", out=shop.root / "out"))
    with pytest.raises(MigratorError, match="larger than the 2 MiB cap"):
        pipeline.discover(small)
    # Under the default cap the 3 MiB are read whole (none of their entries is under shop/).
    assert pipeline.discover(shop.settings()) == []


def test_a_malformed_second_page_costs_the_whole_listing_and_names_the_page(
        shop: Shop) -> None:
    for i in range(100):
        shop.sim.add_project(f"shop/more/svc-{i:03d}")
    shop.sim.faults.malformed_json(route=LISTING, after=1)
    with pytest.raises(MigratorError, match=r"group shop: listing projects failed: GET "
                                            r"/api/v4/groups/shop/projects \(page 2\): GitLab "
                                            r"answered malformed JSON"):
        pipeline.discover(shop.settings())


def test_a_listing_of_entries_that_are_not_projects_is_refused_not_a_key_error(
        shop: Shop) -> None:
    shop.sim.faults.malformed_json(route=LISTING, body=b'[{"message": "not a project"}]')
    with pytest.raises(MigratorError, match="group shop: listing projects failed: .*entry that "
                                            "is not a project"):
        pipeline.discover(shop.settings())


def test_an_html_page_for_the_listing_is_one_line_and_exit_1_on_the_command_line(
        shop: Shop) -> None:
    shop.sim.faults.html_page(route=LISTING)
    result = CliRunner().invoke(cli.app, [
        "plan", "--gitlab-url", shop.sim.url, "--group", "shop", "--central",
        str(shop.central.repo_dir), "--target-version", "2.0.0", "--out",
        str(shop.root / "out"), "--work", str(shop.root / "work"), "-q"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "GET /api/v4/groups/shop/projects: GitLab answered an HTML page" in result.output


def test_a_bad_answer_for_one_listed_project_costs_that_project_only(shop: Shop) -> None:
    shop.sim.faults.html_page(method="GET", path=r"/projects/shop%2Fbilling$")
    fleet = shop.plan(project=("shop/billing", "shop/orders"))
    plans = {p.repo.name: p for p in fleet.repos}
    assert plans["shop/orders"].verdict is Verdict.READY
    assert plans["shop/billing"].verdict is Verdict.ERROR
    assert "shop/billing: reading the project failed: GET /api/v4/projects/shop%2Fbilling: " \
           "GitLab answered an HTML page" in reason(plans["shop/billing"])


def test_a_project_answer_without_its_fields_costs_that_project_only(shop: Shop) -> None:
    shop.sim.faults.malformed_json(method="GET", path=r"/projects/shop%2Fbilling$",
                                   body=b'{"id": "seven"}')
    fleet = shop.plan(project=("shop/billing", "shop/orders"))
    plans = {p.repo.name: p for p in fleet.repos}
    assert plans["shop/orders"].verdict is Verdict.READY
    assert "not a project" in reason(plans["shop/billing"])


# apply and status ------------------------------------------------------------------------


def test_a_bad_answer_while_proposing_one_repo_costs_that_repo(shop: Shop) -> None:
    shop.sim.faults.html_page(method="GET", path=shop.project_path("shop/billing")
                              + "merge_requests$", count=None)
    outcomes = shop.apply()
    assert outcomes["shop/orders"].action == "created"
    billing = outcomes["shop/billing"]
    assert billing.action == "error"
    assert "listing merge requests failed" in billing.cause
    assert "GitLab answered an HTML page" in billing.cause
    assert shop.sim.merge_requests("shop/billing") == []


def test_a_huge_answer_to_a_merge_request_creation_costs_that_repo(shop: Shop) -> None:
    shop.sim.faults.huge_body(method="POST", path=shop.project_path("shop/billing")
                              + "merge_requests$", count=None)
    outcomes = shop.apply()
    assert outcomes["shop/orders"].action == "created"
    assert outcomes["shop/billing"].action == "error"
    assert "larger than the 32 MiB cap" in outcomes["shop/billing"].cause


def test_a_merge_request_answer_that_is_not_one_costs_that_repo(shop: Shop) -> None:
    shop.sim.faults.malformed_json(method="GET", path=shop.project_path("shop/billing")
                                   + "merge_requests$", count=None, body=b'[{"title": "no iid"}]')
    outcomes = shop.apply()
    assert outcomes["shop/orders"].action == "created"
    assert outcomes["shop/billing"].action == "error"
    assert "not what was asked for" in outcomes["shop/billing"].cause


def test_a_bad_answer_while_tracking_one_merge_request_costs_that_row(shop: Shop) -> None:
    assert {o.action for o in shop.apply().values()} == {"created"}
    shop.sim.faults.malformed_json(method="GET", path=shop.project_path("shop/billing")
                                   + r"merge_requests/\d+$", count=None)
    settings = shop.settings()
    repos = pipeline.discover(settings)
    with Journal.open(settings.work) as journal:
        rows = {r.repo: r for r in status(repos, TrackSettings(forge=GitLabSettings(
            shop.sim.url, retry=RetryPolicy(sleep=lambda _: None))), journal)}
    assert rows["shop/orders"].state == "opened"
    assert rows["shop/billing"].state == "error"
    assert "malformed JSON" in rows["shop/billing"].cause
