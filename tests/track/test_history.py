"""`status` runs appended to the campaign history, against the GitLab simulator."""

from __future__ import annotations

from datetime import datetime

from migrator.forge.gitlab import GitLabForge
from migrator.gitlab_api import GitLabSettings
from migrator.journal import Journal
from migrator.track.history import mr_state, record
from migrator.track.status import MrStatus, status
from tests.forge.simfleet import Fleet
from tests.track.test_status import fleet, settings  # noqa: F401 - the fixture


def test_each_run_appends_every_repo_with_gitlab_times(fleet: Fleet) -> None:  # noqa: F811
    orders = fleet.open_mrs("platform/apps/orders")[0].iid
    with Journal.open(fleet.work) as journal:
        first = record(journal, status(fleet.repos, settings(fleet), journal), taken=1000.0)
        GitLabForge(GitLabSettings(fleet.sim.url)).gl.projects.get(
            "platform/apps/orders").mergerequests.get(orders).merge()
        both = record(journal, status(fleet.repos, settings(fleet), journal), taken=2000.0)
    assert len(first) == len(fleet.repos) and both[:len(first)] == first
    states = {(o.taken, o.repo): o for o in both}
    assert {o.state for o in first} == {"draft", "open", "none"}
    assert states[1000.0, "platform/apps/legacy/mailer"].state == "none"  # blocked: no MR
    merged = states[2000.0, "platform/apps/orders"]
    assert merged.state == "merged" and merged.web_url is not None
    assert merged.created_at and merged.merged_at
    assert datetime.fromisoformat(merged.merged_at) >= datetime.fromisoformat(merged.created_at)
    assert states[1000.0, "platform/apps/orders"].merged_at is None


def test_a_journal_keeps_the_history_of_every_run(fleet: Fleet) -> None:  # noqa: F811
    with Journal.open(fleet.work) as journal:
        rows = status(fleet.repos, settings(fleet), journal)
        for taken in (1.0, 2.0, 3.0):
            record(journal, rows, taken=taken)
    with Journal.open(fleet.work) as journal:
        assert record(journal, rows, taken=4.0)[-1].taken == 4.0
        assert len(record(journal, [], taken=5.0)) == 4 * len(rows)


def test_forge_states_become_the_states_people_count() -> None:
    def row(state: str, draft: bool = False) -> MrStatus:
        return MrStatus(repo="r", state=state, draft=draft)

    assert [mr_state(row(s, d)) for s, d in (
        ("opened", False), ("opened", True), ("merged", False), ("closed", False),
        ("locked", False), ("none", False), ("error", False))] == [
        "open", "draft", "merged", "closed", "closed", "none", "unknown"]
