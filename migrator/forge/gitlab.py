"""Merge requests, notes and branches on GitLab: the forge for a GitLab instance.

Its HTTP goes through the shared client (`migrator/gitlab_api.py`: pacing, retries, errors in
words). What is particular to merge requests lives here: a POST whose fate is unknown (5xx,
dropped connection) is resolved by looking for the MR or note before posting again, so a flaky
network never makes a second one; GitLab's 409 on create names the existing MR, which
`propose` adopts. An answer that is not what was asked for (not JSON, too large, no `iid`) is a
ForgeError for that repo's call: it costs that repo, never the run.

Git over HTTP runs only against the clone's `origin` when it is the GitLab instance (or an
allowed clone host), with a credential helper that answers for the GitLab origin alone.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import gitlab
import requests
from gitlab.exceptions import GitlabError

from migrator import git
from migrator.credentials import CloneScope, Secret, git_env
from migrator.errors import GitError
from migrator.forge import (
    CommitInfo,
    ForgeError,
    IssueInfo,
    MergeRequestExists,
    MrInfo,
    MrSpec,
)
from migrator.gitlab_api import ONCE, GitLabSettings, connect, describe_http_error, uncertain
from migrator.model import RepoRef
from migrator.mrtext import DRAFT_PREFIX, TITLE_LIMIT

_MR_REF = re.compile(r"!(\d+)")
T = TypeVar("T")


def mr_from_json(data: Mapping[str, Any]) -> MrInfo:
    pipeline = data.get("head_pipeline") or data.get("pipeline") or {}
    title = str(data.get("title") or "")
    return MrInfo(
        iid=int(data["iid"]),
        web_url=str(data.get("web_url") or ""),
        state=str(data.get("state") or ""),
        title=title,
        description=str(data.get("description") or ""),
        source_branch=str(data.get("source_branch") or ""),
        target_branch=str(data.get("target_branch") or ""),
        sha=data.get("sha"),
        draft=bool(data.get("draft", data.get("work_in_progress", False)))
        or title.startswith(DRAFT_PREFIX),
        labels=tuple(str(x) for x in data.get("labels") or ()),
        detailed_merge_status=data.get("detailed_merge_status"),
        has_conflicts=bool(data.get("has_conflicts", False)),
        pipeline_status=pipeline.get("status") if isinstance(pipeline, Mapping) else None,
        merge_status=data.get("merge_status"),
        created_at=data.get("created_at"),
        merged_at=data.get("merged_at"),
    )


def issue_from_json(data: Mapping[str, Any]) -> IssueInfo:
    return IssueInfo(
        iid=int(data["iid"]),
        web_url=str(data.get("web_url") or ""),
        title=str(data.get("title") or ""),
        description=str(data.get("description") or ""),
        state=str(data.get("state") or ""),
        labels=tuple(str(x) for x in data.get("labels") or ()),
    )


class GitLabForge:
    """Merge requests and branches of the fleet's GitLab projects."""

    def __init__(self, settings: GitLabSettings, token: Secret | None = None,
                 client: gitlab.Gitlab | None = None) -> None:
        self.settings = settings
        self.gl = client if client is not None else connect(settings, token)
        self.git_env = git_env(settings.token_var, origin=settings.url)
        self.scope = CloneScope.of(settings.url, settings.allowed_clone_hosts)

    # merge requests ------------------------------------------------------------------------

    def find_mr(self, repo: RepoRef, branch: str) -> MrInfo | None:
        """The open MR from `branch`, else the most recent closed/merged one, else None."""
        mrs: list[MrInfo] = self._call(
            repo, "listing merge requests",
            lambda: [mr_from_json(mr.attributes) for mr in self._project(repo).mergerequests.list(
                source_branch=branch, order_by="created_at", sort="desc", per_page=20,
                get_all=False, **ONCE)])
        mrs = [m for m in mrs if m.source_branch == branch]
        opened = [m for m in mrs if m.state == "opened"]
        if opened:
            return opened[0]
        return mrs[0] if mrs else None

    def get_mr(self, repo: RepoRef, iid: int) -> MrInfo:
        found: MrInfo = self._call(
            repo, f"reading merge request !{iid}",
            lambda: mr_from_json(self._project(repo).mergerequests.get(iid, **ONCE).attributes))
        return found

    def create_mr(self, repo: RepoRef, spec: MrSpec) -> MrInfo:
        """Open the MR. Raises MergeRequestExists on GitLab's 409 (the caller adopts it).

        When the POST's fate is unknown (5xx, dropped connection), look for the MR before
        posting again, so the MR exists exactly once.
        """
        data: dict[str, Any] = {
            "source_branch": spec.source_branch,
            "target_branch": spec.target_branch,
            "title": spec.title[:TITLE_LIMIT],
            "description": spec.description,
            "labels": ",".join(spec.labels),
            "remove_source_branch": spec.remove_source_branch,
            "squash": spec.squash,
        }
        if spec.assignee_ids:
            data["assignee_ids"] = list(spec.assignee_ids)
        if spec.reviewer_ids:
            data["reviewer_ids"] = list(spec.reviewer_ids)
        attempts = self.settings.retry.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                attrs = self._project(repo).mergerequests.create(data, **ONCE).attributes
                created: MrInfo = self._call(repo, "creating the merge request",
                                             functools.partial(mr_from_json, attrs))
                return created
            except GitlabError as exc:
                if exc.response_code == 409:
                    match = _MR_REF.search(str(exc.error_message))
                    if match:
                        raise MergeRequestExists(repo.name, int(match.group(1))) from None
                if not uncertain(exc) or attempt == attempts:
                    raise ForgeError(describe_http_error(
                        repo.name, "creating the merge request", exc)) from None
            except requests.RequestException as exc:
                if attempt == attempts:
                    raise ForgeError(describe_http_error(
                        repo.name, "creating the merge request", exc)) from None
            existing = self.find_mr(repo, spec.source_branch)
            if existing is not None and existing.state == "opened":
                return existing
            self.settings.retry.sleep(self.settings.retry.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def update_mr(self, repo: RepoRef, iid: int, changes: Mapping[str, Any]) -> MrInfo:
        """PUT the given MR fields (GitLab's names); PUT is idempotent, so it is retried."""
        data = dict(changes)
        if isinstance(data.get("labels"), list | tuple):
            data["labels"] = ",".join(data["labels"])
        updated: MrInfo = self._call(
            repo, f"updating merge request !{iid}",
            lambda: mr_from_json(self._project(repo).mergerequests.update(iid, data, **ONCE)))
        return updated

    def add_note(self, repo: RepoRef, iid: int, body: str, marker: str) -> None:
        """Post `body` (which contains `marker`) once, even if a POST's fate is unknown."""
        attempts = self.settings.retry.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                self._project(repo).mergerequests.get(iid, lazy=True).notes.create(
                    {"body": body}, **ONCE)
                return
            except (GitlabError, requests.RequestException) as exc:
                if isinstance(exc, GitlabError) and not uncertain(exc) or attempt == attempts:
                    raise ForgeError(describe_http_error(
                        repo.name, f"commenting on merge request !{iid}", exc)) from None
            if self.has_note(repo, iid, marker):
                return

    def has_note(self, repo: RepoRef, iid: int, marker: str) -> bool:
        found: bool = self._call(
            repo, f"listing notes of merge request !{iid}",
            lambda: any(marker in str(note.attributes.get("body", "")) for note in
                        self._project(repo).mergerequests.get(iid, lazy=True)
                        .notes.list(get_all=True, **ONCE)))
        return found

    # issues (the campaign dashboard) -------------------------------------------------------

    def find_issue(self, project: str, label: str, marker: str) -> IssueInfo | None:
        """The oldest issue of `project` whose description holds `marker`, open or closed.

        Looked for among the issues with `label` (one GET), then, should a person have taken
        the label off, by searching descriptions for `marker`: never by title, which people
        may change.
        """
        queries: tuple[dict[str, Any], ...] = (
            {"labels": label}, {"search": marker, "in": "description"})
        for query in queries:
            found: list[IssueInfo] = self._call(
                project, "listing issues", functools.partial(self._issues, project, query))
            mine = [i for i in found if marker in i.description]
            if mine:
                return mine[0]
        return None

    def _issues(self, project: str, query: Mapping[str, Any]) -> list[IssueInfo]:
        return [issue_from_json(issue.attributes)
                for issue in self.gl.projects.get(project, lazy=True).issues.list(
                    state="all", order_by="created_at", sort="asc", per_page=100,
                    get_all=True, **query, **ONCE)]

    def create_issue(self, project: str, title: str, description: str,
                     labels: tuple[str, ...], marker: str) -> IssueInfo:
        """Open the issue once: when a POST's fate is unknown (5xx, dropped connection), look
        for it by `marker` (under `labels[0]`) before posting again."""
        data = {"title": title[:TITLE_LIMIT], "description": description,
                "labels": ",".join(labels)}
        attempts = self.settings.retry.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                attrs = self.gl.projects.get(project, lazy=True).issues.create(
                    data, **ONCE).attributes
                created: IssueInfo = self._call(
                    project, "creating the dashboard issue",
                    functools.partial(issue_from_json, attrs))
                return created
            except (GitlabError, requests.RequestException) as exc:
                if isinstance(exc, GitlabError) and not uncertain(exc) or attempt == attempts:
                    raise ForgeError(describe_http_error(
                        project, "creating the dashboard issue", exc)) from None
            existing = self.find_issue(project, labels[0], marker) if labels else None
            if existing is not None:
                return existing
            self.settings.retry.sleep(self.settings.retry.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def update_issue(self, project: str, iid: int, description: str) -> IssueInfo:
        """PUT the description (idempotent, so retried by the session)."""
        updated: IssueInfo = self._call(
            project, f"updating issue #{iid}",
            lambda: issue_from_json(self.gl.projects.get(project, lazy=True).issues.update(
                iid, {"description": description}, **ONCE)))
        return updated

    # branches (git over HTTP, credentials from the environment) ------------------------------

    def branch_head(self, repo: RepoRef, clone: Path, branch: str) -> str | None:
        return self._git(repo, clone, "reading the branch",
                         lambda: git.remote_branch_head(clone, branch, self.git_env))

    def head_commit(self, repo: RepoRef, clone: Path, branch: str) -> CommitInfo | None:
        def fetch() -> CommitInfo | None:
            sha = git.fetch_branch(clone, branch, self.git_env)
            if sha is None:
                return None
            author, committer, message = git.commit_fields(clone, sha)
            return CommitInfo(sha, author, committer, message)
        return self._git(repo, clone, "fetching the branch", fetch)

    def push(self, repo: RepoRef, clone: Path, sha: str, branch: str,
             expected: str | None) -> bool:
        return self._git(repo, clone, "pushing the branch",
                         lambda: git.push_branch(clone, sha, branch, expected, self.git_env))

    def commit_env(self) -> dict[str, str]:
        return self.git_env

    # internals --------------------------------------------------------------------------

    def _project(self, repo: RepoRef) -> Any:
        key: int | str = repo.project_id if repo.project_id is not None else repo.name
        return self.gl.projects.get(key, lazy=True)

    def _call(self, repo: RepoRef | str, action: str, fn: Callable[[], Any]) -> Any:
        """`fn()`, its failure a ForgeError naming `repo` (or the project, by its path)."""
        subject = repo if isinstance(repo, str) else repo.name
        try:
            return fn()
        except (GitlabError, requests.RequestException) as exc:
            raise ForgeError(describe_http_error(subject, action, exc)) from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            # JSON, but not the shape asked for (a list where an MR was expected, no `iid`).
            raise ForgeError(f"{subject}: {action} failed: GitLab's answer is not what was "
                             f"asked for ({type(exc).__name__}: {str(exc)[:80]})") from None

    def _git(self, repo: RepoRef, clone: Path, action: str, fn: Callable[[], T]) -> T:
        refusal = self.scope.refusal(git.remote_url(clone) or repo.url)
        if refusal is not None:
            raise ForgeError(f"{repo.name}: {action} refused: {refusal}")
        try:
            return fn()
        except GitError as exc:
            raise ForgeError(f"{repo.name}: {action} failed: {_git_hint(str(exc))}") from None


def _git_hint(message: str) -> str:
    message = " ".join(message.split())  # one line, whatever git printed
    if "403" in message:
        return ("GitLab refused the push (403): the token needs the `api` (or "
                "`write_repository`) scope and at least the Developer role. " + message)
    if "401" in message or "Authentication failed" in message:
        return "the token was refused (401): unknown, expired or revoked. " + message
    return message
