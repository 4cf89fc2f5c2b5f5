"""The campaign dashboard issue against the GitLab simulator: created once, written only when
its text changes, ticks acted on by apply and cleared by status, a person's edits kept."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import gitlab
import pytest

from migrator.gitlab_api import GitLabSettings, RetryPolicy
from migrator.journal import Journal
from migrator.model import Kind, Outcome, RepoPlan, RepoRef, Verdict
from migrator.pipeline import plancache
from migrator.track import dashboard
from migrator.track.dashboard_text import markers, repo_id
from migrator.track.status import MrStatus, TrackSettings, status
from tests.forge.simfleet import TOKEN, Fleet, start_fleet
from testsupport.gitlab_sim import GitLabSim

BOARD = "ops/campaign"
ISSUE_WRITES = (("POST", "/projects/:id/issues"), ("PUT", "/projects/:id/issues/:issue_iid"))
PERSON = "glpat-personToken0000001"
FLEET = {"platform/apps/orders": Verdict.READY, "platform/apps/checkout": Verdict.REVIEW,
         "platform/apps/payments": Verdict.READY, "platform/apps/search": Verdict.READY,
         "platform/apps/legacy/mailer": Verdict.BLOCKED,
         "platform/data/static-site": Verdict.SKIPPED}
HOSTILE = Outcome(Kind.NOT_RENDERABLE,
                  detail="boom\n/merge\n/close\n<script>alert(1)</script> @all")


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Fleet]:
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    with GitLabSim(tmp_path / "sim") as sim:
        applied = start_fleet(tmp_path, sim, FLEET)
        sim.add_project(BOARD)
        sim.add_token(PERSON, user="pat")
        with Journal.open(applied.work) as journal:  # the plans `plan` left in the work dir
            for plan in plans(applied):
                plancache.store(journal, applied.work, "inputs", plan)
        sim.reset_log()
        yield applied


def plans(fleet: Fleet) -> list[RepoPlan]:
    return [replace(p, outcome=HOSTILE) if p.repo.name.endswith("mailer") else p
            for p in fleet.plans()]


def board(fleet: Fleet) -> dashboard.DashboardSettings:
    gl = GitLabSettings(fleet.sim.url, retry=RetryPolicy(sleep=fleet.sleep, backoff=0.01))
    return dashboard.settings_for(BOARD, gl, ("gitlab test group=platform", "platform"))


def publish(fleet: Fleet, repos: list[RepoRef] | None = None,
            rows: list[MrStatus] | None = None) -> dashboard.Published:
    repos = repos if repos is not None else fleet.repos
    with Journal.open(fleet.work) as journal:
        if rows is None:
            rows = status(repos, TrackSettings(forge=GitLabSettings(fleet.sim.url)), journal)
        return dashboard.publish(board(fleet), repos, rows, journal)


def apply_with_ticks(fleet: Fleet, **kw: object) -> dict[str, str]:
    names = [r.name for r in fleet.repos]
    asked = dashboard.asks_in(board(fleet), fleet.work, names)
    outcomes = fleet.apply(plans(fleet), asked=asked, **kw)
    done = {o.repo: o.action for o in outcomes}
    dashboard.acted_in(fleet.work, asked, done)
    return done


def writes(sim: GitLabSim) -> int:
    return sum(sim.request_counts[w] for w in ISSUE_WRITES)


def person(sim: GitLabSim) -> gitlab.v4.objects.ProjectIssue:
    gl = gitlab.Gitlab(sim.url, private_token=PERSON)
    (issue,) = gl.projects.get(BOARD).issues.list(get_all=True)
    return issue


def tick(text: str, repo: str, action: str) -> str:
    marker = f"<!-- migrator-action {action} {repo_id(repo)} -->"
    assert marker in text, f"no {action} box for {repo}"
    return "\n".join(line.replace("- [ ]", "- [x]", 1) if marker in line else line
                     for line in text.split("\n"))


def test_the_issue_is_created_once_and_found_again_when_renamed_and_unlabelled(
        fleet: Fleet) -> None:
    fleet.apply(plans(fleet))
    first = publish(fleet)
    assert first.action == "created" and writes(fleet.sim) == 1
    (issue,) = fleet.sim.issues(BOARD)
    assert issue.labels == ["migrator-dashboard"]
    assert first.url.endswith(f"/{BOARD}/-/issues/{issue.iid}")
    edited = person(fleet.sim)
    edited.title = "Helm un-forking, week 3"
    edited.labels = []
    edited.save()

    fleet.sim.reset_log()
    again = publish(fleet)
    assert again.action == "unchanged" and writes(fleet.sim) == 0
    (issue,) = fleet.sim.issues(BOARD)
    assert issue.title == "Helm un-forking, week 3"


def test_nothing_changed_means_no_write_and_a_change_means_exactly_one(fleet: Fleet) -> None:
    fleet.apply(plans(fleet))
    publish(fleet)
    fleet.sim.reset_log()
    assert publish(fleet).action == "unchanged"
    assert writes(fleet.sim) == 0

    iid = fleet.open_mrs("platform/apps/orders")[0].iid
    fleet.sim.set_pipeline("platform/apps/orders", iid, status="success")
    gl = gitlab.Gitlab(fleet.sim.url, private_token=TOKEN)
    gl.projects.get("platform/apps/orders").mergerequests.get(iid).merge()
    fleet.sim.reset_log()
    assert publish(fleet).action == "updated"
    assert writes(fleet.sim) == 1
    text = fleet.sim.issues(BOARD)[0].description or ""
    assert "**1 of 5 merged (20 %)**; 1 more repos need nothing." in text
    assert "<summary>Merged (1)</summary>" in text and "| platform/apps/orders | [!1](" in text


def test_progress_per_wave_and_the_reason_of_a_blocked_repo(fleet: Fleet) -> None:
    fleet.apply(plans(fleet), limit=2)
    fleet.apply(plans(fleet), limit=1)
    publish(fleet)
    text = fleet.sim.issues(BOARD)[0].description or ""
    assert "| wave 1 (" in text and "| wave 2 (" in text
    assert "| **all** | 0 | 2 | 1 | 0 | 1 | 1 | 5 |" in text
    assert "| no MR yet | 0 | 0 | 0 | 0 | 1 | 1 | 2 |" in text
    assert "### Blocked (1)" in text and "does not render: boom" in text


def test_a_hundred_repos_cost_at_most_two_writes(fleet: Fleet) -> None:
    repos = [RepoRef(f"platform/many/app-{i:03d}", f"app-{i:03d}", "") for i in range(100)]
    url = f"{fleet.sim.url}/platform/many/app-{{}}/-/merge_requests/1"

    def rows(merged: int) -> list[MrStatus]:
        return [MrStatus(r.name, "merged" if i < merged else "opened", iid=1,
                         web_url=url.format(i), pipeline="success",
                         created_at="2024-05-01T10:00:00.000Z")
                for i, r in enumerate(repos)]

    publish(fleet, repos, rows(0))
    publish(fleet, repos, rows(0))
    publish(fleet, repos, rows(40))
    publish(fleet, repos, rows(40))
    assert writes(fleet.sim) == 2
    text = fleet.sim.issues(BOARD)[0].description or ""
    assert "**40 of 100 merged (40 %)**" in text and "### Open (60)" in text


def test_a_tick_is_acted_on_first_past_the_limit_then_cleared_and_the_persons_text_kept(
        fleet: Fleet) -> None:
    first = fleet.apply(plans(fleet), limit=1)
    held = [o.repo for o in first if o.action == "deferred"]
    assert len(held) == 3
    last = held[-1]  # the one a --limit would reach last
    publish(fleet)

    issue = person(fleet.sim)
    above, below = "Platform notes: ping the data team.\n\n", "\n\n_Ticked by Pat._\n"
    issue.description = above + tick(issue.description, last, "open") + below
    issue.save()

    fleet.sim.reset_log()
    done = apply_with_ticks(fleet, limit=0)
    reads = [r for r in fleet.sim.requests if "/issues" in r.path]
    assert [r.method for r in reads] == ["GET"]  # the ticks cost one read
    assert done[last] == "created"
    assert [repo for repo, action in done.items() if action == "deferred"] == \
           [r for r in held if r != last]
    assert len(fleet.open_mrs(last)) == 1

    fleet.sim.reset_log()
    cleared = publish(fleet)
    assert cleared.unticked == ((last, "open"),) and writes(fleet.sim) == 1
    text = fleet.sim.issues(BOARD)[0].description or ""
    assert text.startswith(above) and text.endswith(below)
    assert "- [x]" not in text
    fleet.sim.reset_log()
    assert publish(fleet).action == "unchanged" and writes(fleet.sim) == 0


def test_a_tick_waiting_for_apply_stays_ticked_and_is_not_acted_on_twice(
        fleet: Fleet) -> None:
    fleet.apply(plans(fleet), limit=1)
    held = next(r.name for r in fleet.repos
                if fleet.verdicts[r.name] is Verdict.READY and not fleet.mrs(r.name))
    publish(fleet)
    issue = person(fleet.sim)
    issue.description = tick(issue.description, held, "open")
    issue.save()

    assert publish(fleet).action == "unchanged"  # not acted on yet: still ticked
    assert "- [x]" in (fleet.sim.issues(BOARD)[0].description or "")
    assert apply_with_ticks(fleet, limit=0)[held] == "created"
    # status has not run since: the box is still ticked, but apply does not ask again
    assert dashboard.asks_in(board(fleet), fleet.work, [r.name for r in fleet.repos]) == set()


def test_recreate_opens_a_new_mr_where_people_closed_one_and_rebase_rebuilds_the_branch(
        fleet: Fleet) -> None:
    fleet.apply(plans(fleet))
    gl = gitlab.Gitlab(fleet.sim.url, private_token=PERSON)
    closed = gl.projects.get("platform/apps/orders").mergerequests.list()[0]
    closed.state_event = "close"
    closed.save()
    payments = fleet.open_mrs("platform/apps/payments")[0]
    publish(fleet)
    text = fleet.sim.issues(BOARD)[0].description or ""
    assert "| platform/apps/orders | [!1](" in text and "closed without merging" in text
    issue = person(fleet.sim)
    issue.description = tick(tick(issue.description, "platform/apps/orders", "recreate"),
                             "platform/apps/payments", "rebase")
    issue.save()
    head = fleet.sim.branches("platform/apps/payments")[payments.source_branch]
    # A commit's time is in whole seconds: rebuilt in the second the branch was made, on the
    # same target head, the branch would be the very same commit, with nothing to push.
    _next_second()

    fleet.sim.reset_log()
    done = apply_with_ticks(fleet)
    assert done["platform/apps/orders"] == "created"
    assert [m.state for m in fleet.mrs("platform/apps/orders")] == ["closed", "opened"]
    assert done["platform/apps/payments"] == "updated"
    assert fleet.pushes("platform/apps/payments") == 1
    rebuilt = fleet.sim.branches("platform/apps/payments")[payments.source_branch]
    assert rebuilt != head
    assert [m.iid for m in fleet.open_mrs("platform/apps/payments")] == [payments.iid]
    assert fleet.pushes("platform/apps/checkout") == 0  # nobody asked: left as it was

    assert sorted(publish(fleet).unticked) == [("platform/apps/orders", "recreate"),
                                               ("platform/apps/payments", "rebase")]


def test_text_from_a_repo_stays_inert_in_the_issue(fleet: Fleet) -> None:
    fleet.apply(plans(fleet))
    publish(fleet)
    (issue,) = fleet.sim.issues(BOARD)
    assert issue.quick_actions == [] and issue.state == "opened"
    text = issue.description or ""
    assert "<script>" not in text and "@all" not in text
    assert not any(line.startswith("/") for line in text.splitlines())
    assert "boom /merge /close &lt;script&gt;alert(1)&lt;/script&gt; &#64;all" in text


def test_the_simulator_carries_out_quick_actions_that_reach_the_start_of_a_line(
        fleet: Fleet) -> None:
    # What the test above guards against: the same text, not made inert, closes the issue.
    gl = gitlab.Gitlab(fleet.sim.url, private_token=PERSON)
    created = gl.projects.get(BOARD).issues.create({"title": "t", "description": "a\n/close\nb"})
    (issue,) = fleet.sim.issues(BOARD)
    assert (issue.state, issue.quick_actions, issue.description) == ("closed", ["/close"], "a\nb")
    assert created.iid == issue.iid


def test_a_dashboard_without_a_block_of_ours_is_another_campaigns(fleet: Fleet) -> None:
    gl = gitlab.Gitlab(fleet.sim.url, private_token=PERSON)
    other = markers("0123456789ab")[0]
    gl.projects.get(BOARD).issues.create({"title": "other", "labels": "migrator-dashboard",
                                          "description": f"{other}\nnot ours"})
    assert publish(fleet).action == "created"
    assert len(fleet.sim.issues(BOARD)) == 2
    assert publish(fleet).action == "unchanged"


def test_a_ticked_repo_goes_first_and_does_not_use_up_the_canary(fleet: Fleet) -> None:
    first = fleet.apply(plans(fleet), canary=1)
    held = [o.repo for o in first if o.action == "deferred"]
    publish(fleet)
    issue = person(fleet.sim)
    issue.description = tick(issue.description, held[-1], "open")
    issue.save()
    done = apply_with_ticks(fleet, canary=1)
    assert done[held[-1]] == "created"
    assert done[held[0]] == "created"  # the canary's one new MR, besides the asked one
    assert [done[r] for r in held[1:-1]] == ["deferred"] * (len(held) - 2)


def _next_second() -> None:
    now = int(time.time())
    while int(time.time()) == now:
        time.sleep(0.02)
