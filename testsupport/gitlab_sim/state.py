"""The simulator's database: users, tokens, namespaces, projects, merge requests, notes, pipelines,
issues.

Records are mutable on purpose (they are rows that API calls update); every read or write of the
store happens under `Store.lock`, which the HTTP layer holds for the whole of one API request so a
request is applied all at once or not at all.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path


def now_iso() -> str:
    """GitLab's timestamp shape: UTC, milliseconds, `Z`."""
    return iso(datetime.now(UTC))


def iso(when: datetime) -> str:
    """`when` (aware) in GitLab's timestamp shape."""
    stamp = when.astimezone(UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


# GitLab's access levels; a simulated user has one role on every project.
ROLE_LEVELS = {"guest": 10, "reporter": 20, "developer": 30, "maintainer": 40, "owner": 50}


@dataclass
class User:
    id: int
    username: str
    name: str
    email: str
    namespace_id: int
    created_at: str
    role: str = "maintainer"

    @property
    def access_level(self) -> int:
        return ROLE_LEVELS[self.role]


@dataclass(frozen=True)
class Token:
    value: str
    user_id: int
    scopes: frozenset[str]
    revoked: bool = False
    expired: bool = False


@dataclass
class Namespace:
    """A group (kind "group") or a user's personal namespace (kind "user")."""

    id: int
    name: str
    path: str
    full_path: str
    kind: str
    parent_id: int | None
    visibility: str
    description: str
    created_at: str
    owner_id: int | None = None


@dataclass
class Project:
    id: int
    name: str
    path: str
    namespace_id: int
    full_path: str
    repo_dir: Path
    archived: bool
    visibility: str
    topics: list[str]
    default_branch: str | None
    forked_from_id: int | None
    description: str
    created_at: str
    last_activity_at: str
    creator_id: int | None
    only_allow_merge_if_pipeline_succeeds: bool = False
    allow_merge_on_skipped_pipeline: bool = False
    remove_source_branch_after_merge: bool = True
    shared_with_group_ids: list[int] = field(default_factory=list)
    # What the API says the clone URL is, when a test makes it name another host.
    http_url_to_repo: str | None = None
    next_mr_iid: int = 1
    next_pipeline_iid: int = 1
    next_issue_iid: int = 1


OPEN_STATES = frozenset({"opened", "locked"})


@dataclass
class MergeRequest:
    id: int
    iid: int
    project_id: int
    title: str
    description: str | None
    source_branch: str
    target_branch: str
    author_id: int
    created_at: str
    updated_at: str
    state: str = "opened"
    assignee_ids: list[int] = field(default_factory=list)
    reviewer_ids: list[int] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    force_remove_source_branch: bool = False
    should_remove_source_branch: bool | None = None
    squash: bool = False
    discussion_locked: bool | None = None
    merged_at: str | None = None
    merged_by_id: int | None = None
    closed_at: str | None = None
    closed_by_id: int | None = None
    merge_commit_sha: str | None = None
    squash_commit_sha: str | None = None
    # Last known head of the source branch: kept when the branch is deleted after a merge.
    last_sha: str | None = None
    auto_merge: bool = False
    auto_merge_by_id: int | None = None


@dataclass
class Note:
    id: int
    project_id: int
    noteable_id: int
    noteable_iid: int
    body: str
    author_id: int
    created_at: str
    updated_at: str
    system: bool = False


@dataclass
class Issue:
    id: int
    iid: int
    project_id: int
    title: str
    description: str | None
    author_id: int
    created_at: str
    updated_at: str
    state: str = "opened"  # "opened" or "closed"
    labels: list[str] = field(default_factory=list)
    closed_at: str | None = None
    # Quick-action lines GitLab carried out (and took out of the description), in order.
    quick_actions: list[str] = field(default_factory=list)


ACTIVE_PIPELINE_STATUSES = frozenset(
    {"created", "waiting_for_resource", "preparing", "pending", "running", "scheduled"}
)
PIPELINE_STATUSES = ACTIVE_PIPELINE_STATUSES | {
    "success",
    "failed",
    "canceled",
    "skipped",
    "manual",
}


@dataclass
class Pipeline:
    id: int
    iid: int
    project_id: int
    sha: str
    ref: str
    status: str
    source: str
    created_at: str
    updated_at: str
    user_id: int | None
    started_at: str | None = None
    finished_at: str | None = None


class NotFound(LookupError):
    """A sim-side lookup (not a REST one) named something that does not exist."""


@dataclass
class Store:
    """All state, plus the counters GitLab would keep in its database sequences."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    users: dict[int, User] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    namespaces: dict[int, Namespace] = field(default_factory=dict)
    projects: dict[int, Project] = field(default_factory=dict)
    merge_requests: dict[int, MergeRequest] = field(default_factory=dict)
    notes: dict[int, Note] = field(default_factory=dict)
    pipelines: dict[int, Pipeline] = field(default_factory=dict)
    issues: dict[int, Issue] = field(default_factory=dict)
    # Distinct ranges make an id passed to the wrong endpoint fail loudly instead of by luck.
    _user_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _namespace_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    _project_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _mr_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(5000))
    _note_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(20000))
    _pipeline_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(70000))
    _issue_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(90000))

    def next_user_id(self) -> int:
        return next(self._user_ids)

    def next_namespace_id(self) -> int:
        return next(self._namespace_ids)

    def next_project_id(self) -> int:
        return next(self._project_ids)

    def next_mr_id(self) -> int:
        return next(self._mr_ids)

    def next_note_id(self) -> int:
        return next(self._note_ids)

    def next_pipeline_id(self) -> int:
        return next(self._pipeline_ids)

    def next_issue_id(self) -> int:
        return next(self._issue_ids)

    # -- lookups -------------------------------------------------------------------------------

    def user_by_name(self, username: str) -> User | None:
        return next((u for u in self.users.values() if u.username == username), None)

    def namespace_by_path(self, full_path: str) -> Namespace | None:
        wanted = full_path.lower()
        return next((n for n in self.namespaces.values() if n.full_path.lower() == wanted), None)

    def project_by_path(self, full_path: str) -> Project | None:
        wanted = full_path.lower()
        return next((p for p in self.projects.values() if p.full_path.lower() == wanted), None)

    def project_by_ref(self, ref: Project | int | str) -> Project:
        if isinstance(ref, Project):
            return ref
        found = self.projects.get(ref) if isinstance(ref, int) else self.project_by_path(ref)
        if found is None:
            raise NotFound(f"no project {ref!r} in the simulator")
        return found

    def groups(self) -> list[Namespace]:
        return [n for n in self.namespaces.values() if n.kind == "group"]

    def descendants(self, group_id: int) -> list[Namespace]:
        found: list[Namespace] = []
        frontier = [group_id]
        while frontier:
            parent = frontier.pop()
            children = [g for g in self.groups() if g.parent_id == parent]
            found.extend(children)
            frontier.extend(c.id for c in children)
        return found

    def mr_by_iid(self, project_id: int, iid: int) -> MergeRequest | None:
        return next(
            (
                m
                for m in self.merge_requests.values()
                if m.project_id == project_id and m.iid == iid
            ),
            None,
        )

    def project_mrs(self, project_id: int) -> list[MergeRequest]:
        return [m for m in self.merge_requests.values() if m.project_id == project_id]
