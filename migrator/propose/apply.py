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
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from migrator import git
from migrator.credentials import token_from_env
from migrator.errors import ConfigError, GitError, MigratorError
from migrator.forge.gitlab import (
    DESCRIPTION_LIMIT,
    DRAFT_PREFIX,
    TITLE_LIMIT,
    CommitInfo,
    ForgeError,
    GitLabForge,
    GitLabSettings,
    MergeRequestExists,
    MrInfo,
    MrSpec,
)
from migrator.forge.local import LocalForge, LocalForgeSettings
from migrator.journal import Journal, Proposal
from migrator.model import CentralInfo, RepoPlan, RepoRef, Verdict
from migrator.report.common import report_path

PLAN_TRAILER = "Migrator-Plan"
VERDICT_LABEL_PREFIX = "migrator::"
NOTE_MARKER = "<!-- migrator:needs-attention -->"
_PLAN_MARKER = re.compile(r"<!-- migrator-plan: ([0-9A-Za-z._-]+) -->")

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
class ProposeSettings:
    forge: GitLabSettings | LocalForgeSettings | None = None
    branch_template: str = "migrator/{central}-{version}"
    bot_name: str = "migrator-bot"
    bot_email: str = "migrator-bot@users.noreply.gitlab.invalid"
    labels: tuple[str, ...] = ("migrator",)
    assignee_ids: tuple[int, ...] = ()
    reviewer_ids: tuple[int, ...] = ()
    remove_source_branch: bool = True
    squash: bool = True
    force: bool = False  # propose `blocked` repos too (as drafts)
    limit: int | None = None  # open at most this many new MRs in this run
    canary: int | None = None  # open this many new MRs, then stop the run
    description_limit: int = DESCRIPTION_LIMIT
    # Where the full report lives, for descriptions cut to the limit: "{slug}" and "{name}"
    # are filled in, e.g. a CI artifact URL "https://…/artifacts/file/out/repos/{slug}/report.md".
    report_link: str | None = None
    plan_id: str = ""
    tool_version: str = "0.0.0"


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


class Forge(Protocol):
    """What `propose` needs from a forge; GitLabForge and LocalForge provide it."""

    def find_mr(self, repo: RepoRef, branch: str) -> MrInfo | None: ...
    def get_mr(self, repo: RepoRef, iid: int) -> MrInfo: ...
    def create_mr(self, repo: RepoRef, spec: MrSpec) -> MrInfo: ...
    def update_mr(self, repo: RepoRef, iid: int, changes: Mapping[str, Any]) -> MrInfo: ...
    def add_note(self, repo: RepoRef, iid: int, body: str, marker: str) -> None: ...
    def has_note(self, repo: RepoRef, iid: int, marker: str) -> bool: ...
    def branch_head(self, repo: RepoRef, clone: Path, branch: str) -> str | None: ...
    def head_commit(self, repo: RepoRef, clone: Path, branch: str) -> CommitInfo | None: ...
    def push(self, repo: RepoRef, clone: Path, sha: str, branch: str,
             expected: str | None) -> bool: ...
    def commit_env(self) -> dict[str, str]: ...


# (title without "Draft: ", markdown description) for one plan
Describe = Callable[[RepoPlan, CentralInfo, ProposeSettings], tuple[str, str]]


def report_description(plan: RepoPlan, central: CentralInfo,
                       settings: ProposeSettings) -> tuple[str, str]:
    """Title and description from the report module (the repo's report.md)."""
    from migrator.report.markdown import mr_title, repo_markdown

    title = strip_draft(mr_title(plan, central))
    body = repo_markdown(plan, central, plan_id=settings.plan_id,
                         tool_version=settings.tool_version)
    return title, body


def branch_name(settings: ProposeSettings, central: CentralInfo) -> str:
    name = settings.branch_template.format(central=central.name, version=central.target_version)
    if not name or ".." in name or name.startswith("/") or " " in name:
        raise ConfigError(f"branch template gives an invalid branch name: {name!r}")
    return name


def eligible(plan: RepoPlan, settings: ProposeSettings) -> str | None:
    """None when the plan may be proposed, else why not."""
    if plan.verdict is Verdict.BLOCKED and not settings.force:
        return "verdict blocked (use force to propose it as a draft)"
    if plan.verdict not in (Verdict.READY, Verdict.REVIEW, Verdict.BLOCKED):
        return f"verdict {plan.verdict.value}"
    if not plan.patch or not plan.plan_hash or not plan.commit:
        return "nothing to propose (no patch, plan hash or base commit)"
    return None


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
    forge = forge if forge is not None else make_forge(settings, journal)
    branch = branch_name(settings, central)
    run = _Run(settings, central, journal, forge, branch, describe)
    outcomes: list[ProposeOutcome] = []
    for plan in plans:
        outcome = run.one(plan, clones.get(plan.repo.slug))
        outcomes.append(outcome)
        if outcome.action not in ("not-eligible", "deferred", "error"):
            journal.settle_interrupted(plan.repo.name)
        if outcome.action not in ("not-eligible", "deferred"):
            journal.set_proposal(Proposal(
                repo=plan.repo.name, branch=branch, status=outcome.action,
                project_id=plan.repo.project_id, plan_hash=plan.plan_hash,
                commit_sha=outcome.commit, mr_iid=outcome.mr_iid, mr_url=outcome.mr_url,
                cause=outcome.cause))
    return outcomes


def run_apply(
    plans: Sequence[RepoPlan],
    central: CentralInfo,
    settings: ProposeSettings,
    work_dir: Path,
    clones: Mapping[str, Path],
    *,
    describe: Describe = report_description,
) -> list[ProposeOutcome]:
    """`migrator apply` after planning: open the journal in `work_dir`, propose, close."""
    with Journal.open(work_dir) as journal:
        journal.start_run("apply", settings.tool_version)
        try:
            return propose(plans, central, settings, journal, clones,
                           forge=make_forge(settings, journal, work_dir), describe=describe)
        finally:
            journal.finish_run()


def make_forge(settings: ProposeSettings, journal: Journal,
               work_dir: Path | None = None) -> Forge:
    """The forge the settings name; GitLab's token is registered as never-to-be-journaled."""
    chosen = settings.forge
    if chosen is None:
        if work_dir is None:
            raise ConfigError("no forge configured (GitLab URL or a review bundle directory)")
        chosen = LocalForgeSettings(out_dir=work_dir / "review")
    if isinstance(chosen, LocalForgeSettings):
        return LocalForge(chosen)
    token = token_from_env(chosen.token_var)
    journal.forbid(token)
    return GitLabForge(chosen, token)


def summarize(outcomes: Sequence[ProposeOutcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.action] = counts.get(outcome.action, 0) + 1
    return dict(sorted(counts.items()))


def strip_draft(title: str) -> str:
    for prefix in (DRAFT_PREFIX, "Draft:", "[Draft]", "(Draft)", "WIP: ", "WIP:"):
        if title.startswith(prefix):
            return title[len(prefix):].lstrip()
    return title


def plan_marker(plan_hash: str) -> str:
    return f"<!-- migrator-plan: {plan_hash} -->"


def marked_plan(description: str) -> str | None:
    """The plan hash recorded in an MR description by this tool, or None."""
    found = _PLAN_MARKER.findall(description)
    return found[-1] if found else None


def fit_description(body: str, plan_hash: str, limit: int, pointer: str) -> str:
    """`body` plus the plan marker, cut to `limit` characters with a pointer to the full report.

    The cut happens at a line boundary; an open code fence or <details> is closed so the rest
    of the description still renders.
    """
    marker = "\n\n" + plan_marker(plan_hash) + "\n"
    if len(body) + len(marker) <= limit:
        return body + marker
    note = f"\n\n---\n**This report was cut to fit GitLab's size limit. {pointer}**"
    room = max(0, limit - len(marker) - len(note) - 64)
    cut = body[:room]
    if "\n" in cut:
        cut = cut[: cut.rindex("\n")]
    closing = ""
    if sum(1 for line in cut.splitlines() if line.lstrip().startswith("```")) % 2:
        closing += "\n```"
    closing += "\n</details>" * max(0, cut.count("<details") - cut.count("</details>"))
    return cut + closing + note + marker


def needs_attention_note(branch: str, head: str, bot_email: str) -> str:
    return (
        f"{NOTE_MARKER}\n**migrator will not push to `{branch}` any more.** Its head "
        f"`{head[:12]}` is a commit that migrator (`{bot_email}`) did not make, so this merge "
        "request now belongs to whoever pushed it. migrator leaves it alone and lists the repo as "
        "`needs-attention`. To hand it back, reset the branch to migrator's last commit; to "
        "start over, close this merge request and delete the branch."
    )


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
        if self.stopped:
            return ProposeOutcome(repo.name, "deferred", self.branch,
                                  cause=f"canary: stopped after {self.settings.canary} new MRs")
        if clone is None:
            return ProposeOutcome(repo.name, "error", self.branch,
                                  cause=f"{repo.name}: no clone of the repo to commit in")
        try:
            return self._propose(plan, clone)
        except (MigratorError, OSError) as exc:
            cause = str(exc) if str(exc).startswith(repo.name) else f"{repo.name}: {exc}"
            return ProposeOutcome(repo.name, "error", self.branch, cause=cause)

    # the steps ---------------------------------------------------------------------------

    def _propose(self, plan: RepoPlan, clone: Path) -> ProposeOutcome:
        repo, branch = plan.repo, self.branch
        assert plan.plan_hash is not None and plan.commit is not None and plan.patch
        mr = self.forge.find_mr(repo, branch)
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
        if owner == "none" or head_plan != plan.plan_hash:
            if mr is None and self._quota_reached():
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
        assert plan.commit is not None and plan.patch is not None
        title, _ = self._describe(plan)
        reason = plan.reason.strip()
        message = f"{title}\n\n{reason}\n\n" if reason else f"{title}\n\n"
        message += f"{PLAN_TRAILER}: {plan.plan_hash}\n"
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
        spec = self._spec(plan)
        action: Action
        if mr is None:
            if self._quota_reached():
                return self._deferred(repo, sha, pushed)
            try:
                with self.journal.effect(repo.name, "mr-create", self.branch,
                                         {"plan_hash": plan.plan_hash, "sha": sha}) as out:
                    mr = self.forge.create_mr(repo, spec)
                    out.update(iid=mr.iid, web_url=mr.web_url)
                # create_mr may return an MR an uncertain POST made after all: ours too.
                action = "created" if marked_plan(mr.description) == plan.plan_hash \
                    else "adopted"
                if action == "created":
                    self.created += 1
                if self.settings.canary is not None and self.created >= self.settings.canary:
                    self.stopped = True
            except MergeRequestExists as exists:
                mr = self.forge.get_mr(repo, exists.iid)
                action = "adopted"
        else:
            action = "updated" if pushed else "unchanged"
        changes = self._changes(mr, spec, plan.plan_hash)
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

    def _quota_reached(self) -> bool:
        """No more new MRs in this run (existing ones are still updated, canary aside)."""
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

    def _spec(self, plan: RepoPlan) -> MrSpec:
        assert plan.plan_hash is not None
        title, body = self._describe(plan)
        if plan.verdict is not Verdict.READY:
            title = DRAFT_PREFIX + title
        link = self.settings.report_link
        pointer = ("Full report: " + link.format(slug=plan.repo.slug, name=plan.repo.name)
                   if link else f"The full report is `{report_path(plan.repo.slug, 'report.md')}`"
                   " in the plan output of this run.")
        labels = tuple(dict.fromkeys(
            (*self.settings.labels, f"{VERDICT_LABEL_PREFIX}{plan.verdict.value}")))
        return MrSpec(
            source_branch=self.branch,
            target_branch=plan.repo.default_branch or "main",
            title=title[:TITLE_LIMIT],
            description=fit_description(body, plan.plan_hash, self.settings.description_limit,
                                        pointer),
            labels=labels,
            assignee_ids=self.settings.assignee_ids,
            reviewer_ids=self.settings.reviewer_ids,
            remove_source_branch=self.settings.remove_source_branch,
            squash=self.settings.squash,
        )

    def _changes(self, mr: MrInfo, spec: MrSpec, plan_hash: str | None) -> dict[str, Any]:
        """What to PUT so the MR shows this plan. Nothing while the MR already carries this
        plan's marker: people may have retitled or relabelled it since, and that is theirs."""
        if marked_plan(mr.description) == plan_hash:
            return {}
        # Keep people's labels; replace only the verdict label this tool owns.
        labels = [lab for lab in mr.labels if not lab.startswith(VERDICT_LABEL_PREFIX)]
        labels += [lab for lab in spec.labels if lab not in labels]
        changes: dict[str, Any] = {
            "title": spec.title,
            "description": spec.description,
            "labels": labels,
            "remove_source_branch": spec.remove_source_branch,
            "squash": spec.squash,
        }
        if spec.assignee_ids:
            changes["assignee_ids"] = list(spec.assignee_ids)
        if spec.reviewer_ids:
            changes["reviewer_ids"] = list(spec.reviewer_ids)
        return changes


def _placeholder(branch: str) -> MrInfo:
    """Stands for "the branch exists" in `_owner` when no MR is known."""
    return MrInfo(iid=0, web_url="", state="", title="", description="", source_branch=branch,
                  target_branch="", sha=None)
