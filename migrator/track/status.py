"""`migrator status`: where each repo's merge request stands, read-only.

One GitLab read per repo whose MR the journal knows (the single-MR endpoint carries the head
pipeline and the merge status); two when only the branch is known (find, then read).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from migrator.errors import MigratorError
from migrator.forge import Forge, MrInfo, open_forge
from migrator.forge.local import LocalForgeSettings
from migrator.gitlab_api import GitLabSettings
from migrator.journal import Journal
from migrator.model import RepoRef


@dataclass(frozen=True)
class TrackSettings:
    forge: GitLabSettings | LocalForgeSettings
    branch: str | None = None  # default: the branch `apply` recorded for each repo


@dataclass(frozen=True)
class MrStatus:
    repo: str
    state: str  # "opened", "merged", "closed", "locked"; "none" without an MR; "error"
    branch: str | None = None
    iid: int | None = None
    web_url: str | None = None
    draft: bool = False
    pipeline: str | None = None  # head pipeline status, None when there is none
    detailed_merge_status: str | None = None
    has_conflicts: bool = False
    needs_attention: bool = False
    cause: str = ""
    created_at: str | None = None  # ISO 8601, as the forge gives it
    merged_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def status(repos: Sequence[RepoRef], settings: TrackSettings, journal: Journal,
           *, forge: Forge | None = None) -> list[MrStatus]:
    """One MrStatus per repo, in the order given; a repo GitLab fails on is an `error` row."""
    if forge is None:
        forge = open_forge(settings.forge, journal)
    return [_one(repo, settings, journal, forge) for repo in repos]


def summarize(statuses: Sequence[MrStatus]) -> dict[str, int]:
    """Count by state, plus `needs-attention`, `conflicts` and `pipeline-failed`."""
    counts: dict[str, int] = {}
    for s in statuses:
        counts[s.state] = counts.get(s.state, 0) + 1
    extra = {
        "needs-attention": sum(s.needs_attention for s in statuses),
        "conflicts": sum(s.has_conflicts for s in statuses),
        "pipeline-failed": sum(s.pipeline == "failed" for s in statuses),
    }
    return {**dict(sorted(counts.items())), **extra}


def _one(repo: RepoRef, settings: TrackSettings, journal: Journal, forge: Forge) -> MrStatus:
    proposal = journal.proposal(repo.name)
    branch = settings.branch or (proposal.branch if proposal else None)
    try:
        mr: MrInfo | None = None
        if proposal is not None and proposal.mr_iid and proposal.branch == branch:
            mr = forge.get_mr(repo, proposal.mr_iid)
        elif branch is not None:
            found = forge.find_mr(repo, branch)
            # Listings leave out the head pipeline: read the MR itself.
            mr = forge.get_mr(repo, found.iid) if found is not None else None
    except MigratorError as exc:
        return MrStatus(repo.name, "error", branch, cause=str(exc))
    if mr is None:
        return MrStatus(repo.name, "none", branch,
                        cause="" if branch else "no branch recorded: run apply first")
    known = journal.bot_commits(repo.name, mr.source_branch)
    flagged = proposal is not None and proposal.status == "needs-attention"
    # A head the bot did not make means a person has pushed since the last apply. Without a
    # journal (another work dir) only `apply` can tell, by reading the head commit.
    foreign = bool(known) and mr.state == "opened" and mr.sha is not None and mr.sha not in known
    return MrStatus(
        repo=repo.name,
        state=mr.state,
        branch=mr.source_branch,
        iid=mr.iid,
        web_url=mr.web_url,
        draft=mr.draft,
        pipeline=mr.pipeline_status,
        detailed_merge_status=mr.detailed_merge_status,
        has_conflicts=mr.has_conflicts,
        needs_attention=flagged or foreign,
        cause=proposal.cause if flagged and proposal else "",
        created_at=mr.created_at,
        merged_at=mr.merged_at,
    )
