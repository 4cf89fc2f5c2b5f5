"""The campaign dashboard: one GitLab issue that shows the whole migration and takes requests.

`status --dashboard-issue GROUP/PROJECT` keeps one issue in that project (the text is
`dashboard_text`): progress per wave, a table per state, and boxes people tick to ask for an
action. `apply --dashboard-issue` reads the ticks (one GET) and acts on them first; the next
`status` unticks what was acted on. What it costs GitLab, and why it stays one issue:

- the issue is found by its label and, should a person take the label off, by the hidden marker
  in its text: never by its title, which people may change. It is created only when neither
  finds it, and that POST, if its fate is unknown, is resolved by looking again (the forge);
- the text is generated whole, then compared with the issue's: no write when it is the same,
  one PUT when it differs. Nothing in it moves by itself (ages are whole days, no "last
  updated" clock), so a fleet that did not change costs no write;
- what is outside the markers is a person's and is put back byte for byte; inside, only their
  ticks survive.

Which ticks were acted on is kept in the journal, as effects: `dashboard-act` when `apply` did
what a tick asked, `dashboard-clear` when `status` has taken that tick off. A tick that `apply`
acted on and `status` has not yet cleared is not acted on twice.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from migrator import codec
from migrator.credentials import token_from_env
from migrator.errors import ConfigError, MigratorError
from migrator.forge import IssueInfo
from migrator.forge.gitlab import GitLabForge
from migrator.forge.local import LocalForgeSettings
from migrator.gitlab_api import GitLabSettings
from migrator.journal import Journal
from migrator.model import Outcome, RepoRef, Verdict
from migrator.report.reasons import describe
from migrator.track.dashboard_text import (
    ACTIONS,
    Action,
    Parsed,
    Row,
    State,
    Wave,
    compose,
    markers,
    parse,
    render,
    repo_id,
)
from migrator.track.status import MrStatus
from migrator.workdir import WorkDir

LABEL = "migrator-dashboard"
ACTED = "dashboard-act"  # journal effect: apply did what a tick asked (key: the action)
CLEARED = "dashboard-clear"  # journal effect: status took that tick off the issue
PLAN_STAGE = "plan"  # the journal stage holding each repo's last plan (pipeline.plancache)

Ask = tuple[str, Action]  # (repo name, action)


@dataclass(frozen=True)
class DashboardSettings:
    project: str  # "group/project" holding the issue
    forge: GitLabSettings
    key: str  # tells this campaign's block from another's in the same project
    title: str = "Migration campaign dashboard"
    label: str = LABEL


class IssueForge(Protocol):
    """What the dashboard needs from GitLab (`GitLabForge` provides it)."""

    def find_issue(self, project: str, label: str, marker: str) -> IssueInfo | None: ...
    def create_issue(self, project: str, title: str, description: str,
                     labels: tuple[str, ...], marker: str) -> IssueInfo: ...
    def update_issue(self, project: str, iid: int, description: str) -> IssueInfo: ...


@dataclass(frozen=True)
class Published:
    url: str
    action: Literal["created", "updated", "unchanged"]
    unticked: tuple[Ask, ...] = ()  # boxes taken off because apply acted on them


def settings_for(project: str, forge: GitLabSettings | LocalForgeSettings | None,
                 identity: tuple[str, str] | None) -> DashboardSettings:
    """The dashboard of the fleet `identity` names (`config.fleet_identity`) in `project`."""
    if not isinstance(forge, GitLabSettings):
        raise ConfigError("--dashboard-issue needs GitLab: give --gitlab-url (or [gitlab] url)")
    project = project.strip().strip("/")
    if "/" not in project:
        raise ConfigError(f"--dashboard-issue {project!r}: expected GROUP/PROJECT")
    fleet, label = identity if identity is not None else ("fleet", "fleet")
    key = hashlib.sha256(fleet.encode("utf-8")).hexdigest()[:12]
    return DashboardSettings(project, forge, key, title=f"Migration campaign: {label}")


def open_issue_forge(settings: DashboardSettings, journal: Journal) -> IssueForge:
    """GitLab with the token from the environment, registered as never-to-be-journaled."""
    token = token_from_env(settings.forge.token_var)
    journal.forbid(token)
    return GitLabForge(settings.forge, token)


def publish(settings: DashboardSettings, repos: Sequence[RepoRef],
            statuses: Sequence[MrStatus], journal: Journal, *,
            forge: IssueForge | None = None, now: float | None = None) -> Published:
    """Create the issue, or bring it up to date with at most one write."""
    forge = forge if forge is not None else open_issue_forge(settings, journal)
    begin, _ = markers(settings.key)
    issue = forge.find_issue(settings.project, settings.label, begin)
    parsed = parse(issue.description, settings.key) if issue else Parsed("", None, "",
                                                                           frozenset())
    names = {repo_id(r.name): r.name for r in repos}
    acted = _unsettled(journal)
    pending = _pending(parsed.ticked, names, acted)
    unticked = tuple(sorted((names[i], a) for i, a in parsed.ticked
                            if i in names and (names[i], a) in acted))
    waves, wave_of = _waves(journal)
    rows, skipped = dashboard_rows(repos, statuses, journal, wave_of)
    block = render(settings.key, rows, waves, now=time.time() if now is None else now,
                   ticked=pending, skipped=skipped)
    text = compose(parsed, block)
    action: Literal["created", "updated", "unchanged"]
    if issue is None:
        issue = forge.create_issue(settings.project, settings.title, text,
                                   (settings.label,), begin)
        action = "created"
    elif _same(text, issue.description):
        action = "unchanged"
    else:
        issue = forge.update_issue(settings.project, issue.iid, text)
        action = "updated"
    # The issue now shows every acted-on request as done: none of them is pending any more,
    # ticked or not (a person may have unticked one by hand).
    for repo, act in sorted(acted):
        with journal.effect(repo, CLEARED, act, {"issue": issue.iid}):
            pass
    return Published(issue.web_url, action, unticked)


def read_asks(settings: DashboardSettings, repos: Sequence[str], journal: Journal, *,
              forge: IssueForge | None = None) -> frozenset[Ask]:
    """What the boxes ticked on the issue ask for, minus what an earlier apply already did
    (awaiting `status` to untick it). No issue yet: nothing asked."""
    forge = forge if forge is not None else open_issue_forge(settings, journal)
    issue = forge.find_issue(settings.project, settings.label, markers(settings.key)[0])
    if issue is None:
        return frozenset()
    names = {repo_id(name): name for name in repos}
    ticked = parse(issue.description, settings.key).ticked
    return frozenset((names[i], a) for i, a in _pending(ticked, names, _unsettled(journal)))


def record_acted(journal: Journal, asks: frozenset[Ask],
                 outcomes: Mapping[str, str]) -> list[Ask]:
    """Remember the asks `apply` settled (`outcomes`: repo -> its apply action), so `status`
    unticks them. An ask whose repo failed, or was held back all the same, stays ticked."""
    done = sorted(ask for ask in asks if outcomes.get(ask[0]) not in (None, "error", "deferred"))
    for repo, action in done:
        with journal.effect(repo, ACTED, action, {"outcome": outcomes[repo]}):
            pass
    return done


def dashboard_rows(repos: Sequence[RepoRef], statuses: Sequence[MrStatus],
                   journal: Journal, wave_of: Mapping[str, int]) -> tuple[list[Row], int]:
    """One row per repo of the campaign, and how many repos need nothing (skipped);
    `wave_of`: repo -> the wave that opened its MR (`_waves`)."""
    by_name = {s.repo: s for s in statuses}
    rows: list[Row] = []
    skipped = 0
    for repo in repos:
        s = by_name.get(repo.name)
        if s is None:
            continue
        outcome = _planned(journal, repo)
        if s.state == "none" and outcome is not None and outcome.verdict is Verdict.SKIPPED:
            skipped += 1
            continue
        state, why, actions = _classify(s, outcome, journal)
        rows.append(Row(repo=repo.name, state=state, mr_iid=s.iid, mr_url=s.web_url,
                        pipeline=s.pipeline, opened=_epoch(s.created_at), reason=why,
                        wave=wave_of.get(repo.name), actions=actions))
    return rows, skipped


def _classify(s: MrStatus, outcome: Outcome | None,
              journal: Journal) -> tuple[State, str, tuple[Action, ...]]:
    if s.state == "merged":
        return "merged", "", ()
    if s.state == "error":
        return "needs-attention", s.cause, ()
    if s.state == "closed":
        return "needs-attention", "closed without merging", ("recreate",)
    if s.state in ("opened", "locked"):
        if s.needs_attention:
            return "needs-attention", s.cause or (
                "a person pushed to the branch: it is theirs now, migrator leaves it alone"), ()
        if s.has_conflicts:
            return "needs-attention", "conflicts with the target branch", ("rebase",)
        if s.pipeline == "failed":
            return "needs-attention", "pipeline failed", ("rebase",)
        return ("draft" if s.draft else "open"), "", ("rebase",)
    proposal = journal.proposal(s.repo)
    if proposal is not None and proposal.status == "error":
        return "needs-attention", proposal.cause, ("open",)
    if outcome is not None and outcome.verdict in (Verdict.BLOCKED, Verdict.ERROR):
        return "blocked", describe(outcome), ()
    why = "" if outcome is None else f"{outcome.verdict.value}: {describe(outcome)}"
    return "not-started", why, ("open",)


def _planned(journal: Journal, repo: RepoRef) -> Outcome | None:
    """The outcome of the repo's last plan in the work dir, None when it was never planned."""
    stored = journal.latest_stage(repo.slug, PLAN_STAGE)
    try:
        return codec.load(Outcome, stored["plan"]["outcome"]) if stored else None
    except (KeyError, TypeError, ValueError, MigratorError):
        return None  # a plan stored by another version: shown as not planned


def _waves(journal: Journal) -> tuple[list[Wave], dict[str, int]]:
    """The apply runs that opened merge requests, oldest first (the waves), and repo -> the
    number of the wave that opened its MR."""
    opened_in = journal.mr_waves()
    runs = sorted(set(opened_in.values()))
    number = {run_id: n for n, (run_id, _) in enumerate(runs, start=1)}
    return ([Wave(number[run_id], started) for run_id, started in runs],
            {repo: number[run_id] for repo, (run_id, _) in opened_in.items()})


def _pending(ticked: Iterable[tuple[str, Action]], names: Mapping[str, str],
             acted: set[Ask]) -> frozenset[tuple[str, Action]]:
    """The ticks (repo id, action) of the fleet's repos that no apply has acted on yet."""
    return frozenset((i, a) for i, a in ticked if i in names and (names[i], a) not in acted)


def _unsettled(journal: Journal) -> set[Ask]:
    balance: Counter[tuple[str, str]] = Counter()
    for effect in journal.all_effects():
        if effect.status != "done" or effect.kind not in (ACTED, CLEARED):
            continue
        balance[(effect.repo, effect.key)] += 1 if effect.kind == ACTED else -1
    return {(repo, a) for (repo, key), n in balance.items() if n > 0
            for a in ACTIONS if a == key}


def _same(new: str, old: str) -> bool:
    """Equal as GitLab keeps them (it may store CRLF from a browser, or trim the end)."""
    return new.replace("\r\n", "\n").strip() == old.replace("\r\n", "\n").strip()


def _epoch(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def asks_in(settings: DashboardSettings | None, work: WorkDir,
            repos: Sequence[str]) -> frozenset[Ask]:
    """`read_asks` with the work dir's journal; nothing asked without a dashboard."""
    if settings is None:
        return frozenset()
    with Journal.open(work) as journal:
        return read_asks(settings, repos, journal)


def acted_in(work: WorkDir, asks: frozenset[Ask], outcomes: Mapping[str, str]) -> list[Ask]:
    """`record_acted` with the work dir's journal."""
    if not asks:
        return []
    with Journal.open(work) as journal:
        return record_acted(journal, asks, outcomes)
