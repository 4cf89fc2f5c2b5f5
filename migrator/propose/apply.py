"""`apply`'s last step: one branch and one merge request per eligible repo, idempotently.

For each plan whose verdict allows it (`ready`; `review` as a draft; `blocked` only with
`force`), the change set becomes one commit by the bot identity with a `Migrator-Plan: <hash>`
trailer, pushed to `migrator/<central>-<version>`, and one MR whose description is the repo's
report. What makes it safe to run again, and to kill at any instant:

- the open MR is found by its source branch; its description ends with a hidden
  `<!-- migrator-plan: HASH -->` marker, and the branch head is compared with the commits the
  bot made (journal, else the commit's author/committer and trailer). Same plan: no write at all.
  Changed plan: one push (`--force-with-lease` over the bot's own head) and one MR update;
- a branch whose head the bot did not make is never pushed to: the repo is `needs-attention`
  and the MR gets one note saying so;
- every push, MR create/update and note is journaled as an intent before and an outcome after;
  a re-run after a kill looks at the remote (branch head, MR by source branch) before acting,
  so nothing happens twice. GitLab's 409 on create means the MR exists: it is adopted.

GitLab's failures are handled per repo: the repo is recorded with its cause, the fleet goes on.

What people ask for on the campaign dashboard (`settings.asked`) comes first: those repos are
proposed before the others and neither --limit nor --canary holds them back. "open" is just
that; "rebase" rebuilds the bot's branch as a fresh commit of the plan on the target's current
head (never over a person's commit); "recreate" opens a new MR where people closed the last one.

This module is the run loop; beside it: `eligibility` (which plans, on which branch), `describe`
(what the MR and the commit say, the plan marker), `mergerequest` (the MR wanted for a plan,
the fields that update one) and `settings`. The forge behind it is `migrator.forge`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from migrator import git
from migrator.errors import ConfigError, GitError, MigratorError
from migrator.forge import CommitInfo, Forge, ForgeError, MergeRequestExists, MrInfo, open_forge
from migrator.forge.local import LocalForgeSettings
from migrator.journal import Journal, Proposal
from migrator.model import CentralInfo, RepoPlan, RepoRef
from migrator.mrtext import DRAFT_PREFIX
from migrator.propose.describe import (
    NOTE_MARKER,
    PLAN_TRAILER,
    Describe,
    commit_message,
    marked_plan,
    needs_attention_note,
    report_description,
    strip_draft,
)
from migrator.propose.eligibility import branch_name, eligible
from migrator.propose.mergerequest import mr_changes, mr_spec
from migrator.propose.settings import ProposeSettings
from migrator.redact import scrub_text
from migrator.report.reasons import reason
from migrator.workdir import WorkDir

Action = Literal[
    "created",  # a new MR was opened
    "adopted",  # an MR from an earlier (interrupted or journal-less) run was found and is used
    "updated",  # the plan changed: new commit pushed and/or the MR brought up to date
    "unchanged",  # everything already as planned: no write
    "needs-attention",  # a person pushed to the branch: left alone, flagged
    "merged",  # the MR was merged already
    "closed",  # people closed the MR: respected, nothing reopened
    "deferred",  # eligible, but --limit/--canary held it back for a later wave
    "not-eligible",  # verdict (or missing patch) does not allow a proposal
    "error",  # this repo failed; `cause` says why
]


@dataclass(frozen=True)
class ProposeOutcome:
    repo: str
    action: Action
    branch: str | None = None
    mr_iid: int | None = None
    mr_url: str | None = None
    commit: str | None = None
    pushed: bool = False
    draft: bool = False
    cause: str = ""


def propose(
    plans: Sequence[RepoPlan],
    central: CentralInfo,
    settings: ProposeSettings,
    journal: Journal,
    clones: Mapping[str, Path],
    *,
    forge: Forge | None = None,
    describe: Describe = report_description,
) -> list[ProposeOutcome]:
    """Push and open/update one MR per eligible plan; one outcome per plan, in order.

    `clones` maps a repo's slug to its clone (the one the plan was made from).
    """
    forge = forge if forge is not None else _open_forge(settings, journal)
    branch = branch_name(settings, central)
    run = _Run(settings, central, journal, forge, branch, describe)
    outcomes: dict[int, ProposeOutcome] = {}
    # Repos people asked for go first (a stable sort: the rest keeps its order).
    for index in sorted(range(len(plans)), key=lambda i: not settings.asks(plans[i].repo.name)):
        plan = plans[index]
        outcome = run.one(plan, clones.get(plan.repo.slug))
        outcomes[index] = outcome
        if outcome.action not in ("not-eligible", "deferred", "error"):
            journal.settle_interrupted(plan.repo.name)
        if outcome.action not in ("not-eligible", "deferred"):
            journal.set_proposal(Proposal(
                repo=plan.repo.name, branch=branch, status=outcome.action,
                project_id=plan.repo.project_id, plan_hash=plan.plan_hash,
                commit_sha=outcome.commit, mr_iid=outcome.mr_iid, mr_url=outcome.mr_url,
                cause=outcome.cause))
    return [outcomes[i] for i in range(len(plans))]


def run_apply(
    plans: Sequence[RepoPlan],
    central: CentralInfo,
    settings: ProposeSettings,
    work: WorkDir,
    clones: Mapping[str, Path],
    *,
    describe: Describe = report_description,
) -> list[ProposeOutcome]:
    """`migrator apply` after planning: open the work dir's journal, propose, close."""
    with Journal.open(work) as journal:
        journal.start_run("apply", settings.tool_version)
        try:
            return propose(plans, central, settings, journal, clones,
                           forge=_open_forge(settings, journal, work), describe=describe)
        finally:
            journal.finish_run()


def _open_forge(settings: ProposeSettings, journal: Journal,
                work: WorkDir | None = None) -> Forge:
    """The forge the settings name; without one, review bundles under the work dir."""
    chosen = settings.forge
    if chosen is None:
        if work is None:
            raise ConfigError("no forge configured (GitLab URL or a review bundle directory)")
        chosen = LocalForgeSettings(out_dir=work.review)
    return open_forge(chosen, journal)


def summarize(outcomes: Sequence[ProposeOutcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.action] = counts.get(outcome.action, 0) + 1
    return dict(sorted(counts.items()))


@dataclass
class _Run:
    settings: ProposeSettings
    central: CentralInfo
    journal: Journal
    forge: Forge
    branch: str
    describe: Describe
    created: int = 0
    stopped: bool = False
    _described: dict[str, tuple[str, str]] = field(default_factory=dict)

    def one(self, plan: RepoPlan, clone: Path | None) -> ProposeOutcome:
        repo = plan.repo
        why_not = eligible(plan, self.settings)
        if why_not is not None:
            return ProposeOutcome(repo.name, "not-eligible", cause=why_not)
        if self.stopped and not self.settings.asks(repo.name):
            return ProposeOutcome(repo.name, "deferred", self.branch,
                                  cause=f"canary: stopped after {self.settings.canary} new MRs")
        if clone is None:
            return ProposeOutcome(repo.name, "error", self.branch,
                                  cause=f"{repo.name}: no clone of the repo to commit in")
        try:
            return self._propose(plan, clone)
        except (MigratorError, OSError) as exc:
            cause = str(exc) if str(exc).startswith(repo.name) else f"{repo.name}: {exc}"
            # git may quote the change set it could not apply: the cause is printed and kept.
            return ProposeOutcome(repo.name, "error", self.branch, cause=scrub_text(cause))

    # the steps ---------------------------------------------------------------------------

    def _propose(self, plan: RepoPlan, clone: Path) -> ProposeOutcome:
        repo, branch = plan.repo, self.branch
        assert plan.plan_hash is not None and plan.commit is not None and plan.patch
        asks = self.settings.asks(repo.name)
        mr = self.forge.find_mr(repo, branch)
        if mr is not None and mr.state == "closed" and "recreate" in asks:
            mr = None  # people asked for a new one: the closed MR stays as they left it
        if mr is not None and mr.state in ("merged", "closed"):
            action: Action = "merged" if mr.state == "merged" else "closed"
            return ProposeOutcome(repo.name, action, branch, mr.iid, mr.web_url, mr.sha,
                                  cause=f"merge request !{mr.iid} is {mr.state}")
        known = self.journal.bot_commits(repo.name, branch)
        if mr is not None:
            head = mr.sha
        elif known:
            # An earlier run meant to push: it may have, and died before opening the MR.
            head = self.forge.branch_head(repo, clone, branch)
        else:
            head = None  # most likely absent; the push's lease proves it or we look then
        owner, head_plan, head = self._owner(repo, clone, head, known, mr)
        if owner == "person":
            assert head is not None
            return self._needs_attention(repo, mr, head)

        pushed = False
        sha = head
        rebuild = "rebase" in asks and owner == "bot" and mr is not None
        if owner == "none" or head_plan != plan.plan_hash or rebuild:
            if mr is None and self._quota_reached(repo):
                return self._deferred(repo)
            sha = self._commit(plan, clone)
            settled = self._push(plan, clone, sha, head, mr)
            if settled is not None:
                return settled
            pushed = True
        assert sha is not None
        return self._merge_request(plan, mr, sha, pushed)

    def _push(self, plan: RepoPlan, clone: Path, sha: str, expected: str | None,
              mr: MrInfo | None) -> ProposeOutcome | None:
        """Push `sha` with a lease on `expected`; None once pushed, else the repo's outcome.

        A lost lease means the branch is not where we thought: look at what is there now. A
        person's commit is left alone; the bot's own commit of this plan means an interrupted
        run pushed already; the bot's older commit (journal lost) is pushed over, leased on it.
        """
        repo = plan.repo
        for _ in range(2):
            with self.journal.effect(repo.name, "push", self.branch,
                                     {"sha": sha, "plan_hash": plan.plan_hash,
                                      "expected": expected}) as out:
                pushed = self.forge.push(repo, clone, sha, self.branch, expected)
                out["pushed"] = pushed
            if pushed:
                return None
            known = self.journal.bot_commits(repo.name, self.branch)
            owner, head_plan, head = self._owner(repo, clone, None, known,
                                                 mr or _placeholder(self.branch))
            if owner == "person":
                assert head is not None
                return self._needs_attention(repo, mr, head)
            if owner == "bot" and head_plan == plan.plan_hash and head is not None:
                return self._merge_request(plan, mr, head, pushed=False)
            expected = head
        raise ForgeError(f"{repo.name}: branch {self.branch} kept moving during the push; "
                         "nothing was overwritten, run apply again")

    def _owner(self, repo: RepoRef, clone: Path, head: str | None, known: Mapping[str, str],
               mr: MrInfo | None) -> tuple[str, str | None, str | None]:
        """("none"|"bot"|"person", plan hash of the head when the bot made it, head sha)."""
        if head is None and mr is None:
            return "none", None, None
        if head is not None and head in known:
            return "bot", known[head], head
        commit = self.forge.head_commit(repo, clone, self.branch)
        if commit is None:
            return "none", None, None
        if commit.sha in known:
            return "bot", known[commit.sha], commit.sha
        if self._made_by_bot(commit):
            return "bot", git.trailer(commit.message, PLAN_TRAILER), commit.sha
        return "person", None, commit.sha

    def _made_by_bot(self, commit: CommitInfo) -> bool:
        bot = self.settings.bot_email.lower()
        return (commit.author_email.lower() == bot and commit.committer_email.lower() == bot
                and git.trailer(commit.message, PLAN_TRAILER) is not None)

    def _commit(self, plan: RepoPlan, clone: Path) -> str:
        assert plan.commit is not None and plan.patch is not None and plan.plan_hash is not None
        title, _ = self._describe(plan)
        message = commit_message(title, reason(plan), plan.plan_hash)
        try:
            return git.commit_patch(clone, plan.commit, plan.patch, message,
                                    self.settings.bot_name, self.settings.bot_email,
                                    env=self.forge.commit_env())
        except GitError as exc:
            raise GitError(f"{plan.repo.name}: the change set does not apply on "
                           f"{plan.commit[:12]}: {exc}") from None

    def _merge_request(self, plan: RepoPlan, mr: MrInfo | None, sha: str,
                       pushed: bool) -> ProposeOutcome:
        repo = plan.repo
        title, body = self._describe(plan)
        spec = mr_spec(plan, title, body, self.branch, self.settings)
        action: Action
        if mr is None:
            if self._quota_reached(repo):
                return self._deferred(repo, sha, pushed)
            try:
                with self.journal.effect(repo.name, "mr-create", self.branch,
                                         {"plan_hash": plan.plan_hash, "sha": sha}) as out:
                    mr = self.forge.create_mr(repo, spec)
                    out.update(iid=mr.iid, web_url=mr.web_url)
                # create_mr may return an MR an uncertain POST made after all: ours too.
                action = "created" if marked_plan(mr.description) == plan.plan_hash \
                    else "adopted"
                if action == "created" and not self.settings.asks(repo.name):
                    self.created += 1
                if self.settings.canary is not None and self.created >= self.settings.canary:
                    self.stopped = True
            except MergeRequestExists as exists:
                mr = self.forge.get_mr(repo, exists.iid)
                action = "adopted"
        else:
            action = "updated" if pushed else "unchanged"
        changes = mr_changes(mr, spec, plan.plan_hash)
        if changes:
            with self.journal.effect(repo.name, "mr-update", str(mr.iid),
                                     {"plan_hash": plan.plan_hash,
                                      "fields": sorted(changes)}) as out:
                mr = self.forge.update_mr(repo, mr.iid, changes)
                out["iid"] = mr.iid
            if action == "unchanged":
                action = "updated"
        return ProposeOutcome(repo.name, action, self.branch, mr.iid, mr.web_url, sha,
                              pushed=pushed, draft=spec.title.startswith(DRAFT_PREFIX))

    def _needs_attention(self, repo: RepoRef, mr: MrInfo | None, head: str) -> ProposeOutcome:
        if mr is not None and mr.state == "opened":
            posted = self.journal.note_posted(repo.name, mr.iid, NOTE_MARKER)
            if posted is None:  # a run died while posting: ask GitLab
                posted = self.forge.has_note(repo, mr.iid, NOTE_MARKER)
                if posted:  # remember what GitLab said, so later runs need not ask again
                    with self.journal.effect(repo.name, "note", str(mr.iid),
                                             {"marker": NOTE_MARKER, "head": head}) as out:
                        out["observed"] = True
            if not posted:
                with self.journal.effect(repo.name, "note", str(mr.iid),
                                         {"marker": NOTE_MARKER, "head": head}):
                    self.forge.add_note(repo, mr.iid, needs_attention_note(
                        self.branch, head, self.settings.bot_email), NOTE_MARKER)
        return ProposeOutcome(
            repo.name, "needs-attention", self.branch,
            mr.iid if mr else None, mr.web_url if mr else None, head,
            cause=f"{repo.name}: branch {self.branch} holds commit {head[:12]} not made by "
                  "migrator; not pushing over it")

    # helpers ------------------------------------------------------------------------------

    def _quota_reached(self, repo: RepoRef) -> bool:
        """No more new MRs in this run (existing ones are still updated, canary aside); a
        repo people asked for on the dashboard is never held back, nor counted."""
        if self.settings.asks(repo.name):
            return False
        caps = [c for c in (self.settings.limit, self.settings.canary) if c is not None]
        return self.stopped or any(self.created >= cap for cap in caps)

    def _deferred(self, repo: RepoRef, sha: str | None = None,
                  pushed: bool = False) -> ProposeOutcome:
        why = (f"canary: stopped after {self.settings.canary} new MRs" if self.stopped
               else f"limit: {self.settings.limit} new MRs per run reached")
        return ProposeOutcome(repo.name, "deferred", self.branch, commit=sha, pushed=pushed,
                              cause=why)

    def _describe(self, plan: RepoPlan) -> tuple[str, str]:
        key = f"{plan.repo.name}\0{plan.plan_hash}"
        if key not in self._described:
            title, body = self.describe(plan, self.central, self.settings)
            self._described[key] = (strip_draft(title), body)
        return self._described[key]


def _placeholder(branch: str) -> MrInfo:
    """Stands for "the branch exists" in `_owner` when no MR is known."""
    return MrInfo(iid=0, web_url="", state="", title="", description="", source_branch=branch,
                  target_branch="", sha=None)
