"""The forge interface: what `propose` and `track` need from the place merge requests live.

Two forges speak it, with the same records and the same errors: `forge/gitlab.py` (a GitLab
instance) and `forge/local.py` (review bundles on disk, for runs without GitLab). `open_forge`
is the one place that makes one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from migrator.credentials import token_from_env
from migrator.errors import MigratorError
from migrator.model import RepoRef

if TYPE_CHECKING:
    from migrator.forge.local import LocalForgeSettings
    from migrator.gitlab_api import GitLabSettings
    from migrator.journal import Journal


class ForgeError(MigratorError):
    """A forge call failed for this repo; the message says which and why (never the token)."""


class MergeRequestExists(ForgeError):
    """An open MR for this source branch already exists (iid given): GitLab's 409."""

    def __init__(self, repo: str, iid: int) -> None:
        super().__init__(f"{repo}: an open merge request for this branch already exists: !{iid}")
        self.iid = iid


@dataclass(frozen=True)
class MrSpec:
    """What `propose` wants a merge request to look like."""

    source_branch: str
    target_branch: str
    title: str  # already prefixed with mrtext.DRAFT_PREFIX when it must be a draft
    description: str
    labels: tuple[str, ...] = ()
    assignee_ids: tuple[int, ...] = ()
    reviewer_ids: tuple[int, ...] = ()
    remove_source_branch: bool = True
    squash: bool = True


@dataclass(frozen=True)
class MrInfo:
    iid: int
    web_url: str
    state: str  # "opened", "closed", "merged", "locked"
    title: str
    description: str
    source_branch: str
    target_branch: str
    sha: str | None  # head of the source branch as the forge last saw it
    draft: bool = False
    labels: tuple[str, ...] = ()
    detailed_merge_status: str | None = None
    has_conflicts: bool = False
    pipeline_status: str | None = None
    merge_status: str | None = None
    created_at: str | None = None  # ISO 8601 as GitLab gives it; None where unknown
    merged_at: str | None = None


@dataclass(frozen=True)
class IssueInfo:
    """An issue as the campaign dashboard needs it (GitLab only: review bundles have none)."""

    iid: int
    web_url: str
    title: str
    description: str
    state: str  # "opened", "closed"
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author_email: str
    committer_email: str
    message: str


class Forge(Protocol):
    """What `propose` and `track` need from a forge; GitLabForge and LocalForge provide it."""

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


def open_forge(settings: GitLabSettings | LocalForgeSettings, journal: Journal) -> Forge:
    """The forge `settings` name; GitLab's token is registered as never-to-be-journaled."""
    # Imported here: both forges import the records above from this module.
    from migrator.forge.gitlab import GitLabForge
    from migrator.forge.local import LocalForge, LocalForgeSettings

    if isinstance(settings, LocalForgeSettings):
        return LocalForge(settings)
    token = token_from_env(settings.token_var)
    journal.forbid(token)
    return GitLabForge(settings, token)
