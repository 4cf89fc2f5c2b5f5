"""Merge requests, notes and branches on GitLab: the only module that calls python-gitlab for them.

Transport policy (one place for all of it):

- before a request, when the last response said `RateLimit-Remaining` is nearly exhausted,
  wait until its `RateLimit-Reset` so the server never has to answer 429;
- on 429, wait `Retry-After` (or until `RateLimit-Reset`) and try again;
- 5xx and dropped connections are retried with capped exponential backoff, but only for
  requests that are safe to repeat (GET/PUT/HEAD/DELETE). A POST that failed that way may or
  may not have happened: `GitLabForge` resolves it by looking (does the MR / note exist?)
  before posting again, so a flaky network never makes a second MR or note;
- every retry budget is bounded; what still fails raises `ForgeError` naming the repo.

The records here (`MrInfo`, `MrSpec`) are the forge contract `propose` and `track` speak; the
local review-bundle forge (`forge/local.py`) returns the same records.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar

import gitlab
import requests
from gitlab.exceptions import GitlabError

from migrator import git
from migrator.credentials import DEFAULT_TOKEN_VAR, Secret, git_env, token_from_env
from migrator.errors import GitError, MigratorError
from migrator.model import RepoRef

# GitLab refuses longer titles (Issuable::TITLE_LENGTH_MAX) and descriptions of more than
# 1 MiB characters (Issuable::DESCRIPTION_LENGTH_MAX).
TITLE_LIMIT = 255
DESCRIPTION_LIMIT = 1_048_576
DRAFT_PREFIX = "Draft: "

_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_TRANSIENT = frozenset({500, 502, 503, 504})
# Passed on every python-gitlab call: the session below owns retries, python-gitlab must not
# add its own loop on top (it would multiply the budget and sleep without a cap).
ONCE: dict[str, Any] = {"obey_rate_limit": False, "retry_transient_errors": False}
_MR_REF = re.compile(r"!(\d+)")
T = TypeVar("T")


class ForgeError(MigratorError):
    """A GitLab call failed for this repo; the message says which and why (never the token)."""


class MergeRequestExists(ForgeError):
    """GitLab answered 409: an open MR for this source branch already exists (iid given)."""

    def __init__(self, repo: str, iid: int) -> None:
        super().__init__(f"{repo}: an open merge request for this branch already exists: !{iid}")
        self.iid = iid


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5  # per request, first try included
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    max_backoff: float = 8.0
    max_wait: float = 120.0  # longest Retry-After/RateLimit-Reset wait honoured; longer fails
    min_remaining: int = 2  # slow down when RateLimit-Remaining falls to this
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)


@dataclass(frozen=True)
class GitLabSettings:
    url: str
    token_var: str = DEFAULT_TOKEN_VAR
    timeout: float = 30.0
    retry: RetryPolicy = RetryPolicy()
    ssl_verify: bool = True


@dataclass(frozen=True)
class MrSpec:
    """What `propose` wants a merge request to look like."""

    source_branch: str
    target_branch: str
    title: str  # already prefixed with DRAFT_PREFIX when it must be a draft
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
    sha: str | None  # head of the source branch as GitLab last saw it
    draft: bool = False
    labels: tuple[str, ...] = ()
    detailed_merge_status: str | None = None
    has_conflicts: bool = False
    pipeline_status: str | None = None
    merge_status: str | None = None


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author_email: str
    committer_email: str
    message: str


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
    )


class PacedSession(requests.Session):
    """A requests session that applies `RetryPolicy` (see the module docstring)."""

    def __init__(self, policy: RetryPolicy) -> None:
        super().__init__()
        self.policy = policy
        self._remaining: int | None = None
        self._reset_at: float | None = None

    def request(self, method: str | bytes, url: str | bytes,
                *args: Any, **kwargs: Any) -> requests.Response:
        verb = method.decode() if isinstance(method, bytes) else method
        idempotent = verb.upper() in _IDEMPOTENT
        attempt = 0
        while True:
            attempt += 1
            self._pace()
            try:
                response = super().request(verb, url, *args, **kwargs)
            except (requests.ConnectionError, requests.Timeout):
                if not idempotent or attempt >= self.policy.max_attempts:
                    raise
                self.policy.sleep(self._backoff(attempt))
                continue
            self._note_limits(response)
            if attempt >= self.policy.max_attempts:
                return response
            if response.status_code == 429:
                wait = self._retry_after(response)
                if wait is None or wait > self.policy.max_wait:
                    return response
                self.policy.sleep(wait)
                continue
            if response.status_code in _TRANSIENT and idempotent:
                self.policy.sleep(self._backoff(attempt))
                continue
            return response

    def _backoff(self, attempt: int) -> float:
        return float(min(self.policy.backoff * 2 ** (attempt - 1), self.policy.max_backoff))

    def _pace(self) -> None:
        if self._remaining is None or self._reset_at is None:
            return
        if self._remaining > self.policy.min_remaining:
            return
        wait = self._reset_at - time.time()
        if wait > 0:
            self.policy.sleep(min(wait, self.policy.max_wait))
        self._remaining = None

    def _note_limits(self, response: requests.Response) -> None:
        remaining = _number(response.headers.get("RateLimit-Remaining"))
        reset = _number(response.headers.get("RateLimit-Reset"))
        if remaining is not None:
            self._remaining = int(remaining)
            self._reset_at = reset

    def _retry_after(self, response: requests.Response) -> float | None:
        header = response.headers.get("Retry-After")
        if header is not None:
            seconds = _number(header)
            if seconds is None:
                try:
                    seconds = parsedate_to_datetime(header).timestamp() - time.time()
                except (TypeError, ValueError):
                    seconds = None
            if seconds is not None:
                return max(0.0, seconds)
        reset = _number(response.headers.get("RateLimit-Reset"))
        if reset is not None:
            return max(0.0, reset - time.time())
        return self._backoff(1)


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text.strip())
    except ValueError:
        return None


def connect(settings: GitLabSettings, token: Secret | None = None) -> gitlab.Gitlab:
    """A python-gitlab client with the paced session; the token comes from the environment."""
    secret = token if token is not None else token_from_env(settings.token_var)
    return gitlab.Gitlab(
        settings.url,
        private_token=secret.reveal(),
        timeout=settings.timeout,
        ssl_verify=settings.ssl_verify,
        per_page=100,
        session=PacedSession(settings.retry),
    )


def describe_http_error(repo: str, action: str, exc: BaseException) -> str:
    """A message for a person: the repo, what was attempted, and what GitLab's answer means."""
    code = exc.response_code if isinstance(exc, GitlabError) else None
    detail = _short(exc)
    if code == 401:
        hint = "the token was refused (401): it is unknown, expired or revoked"
    elif code == 403:
        hint = ("GitLab refused the write (403 Forbidden): the token needs the `api` scope "
                "and at least the Developer role on the project")
    elif code == 404:
        hint = "not found (404): the project does not exist or the token cannot see it"
    elif code == 429:
        hint = "rate limited (429) beyond the retry budget"
    elif code is not None:
        hint = f"GitLab answered {code}"
    elif isinstance(exc, requests.RequestException):
        hint = "GitLab could not be reached (connection failed or dropped)"
    else:
        hint = type(exc).__name__
    return f"{repo}: {action} failed: {hint}" + (f" ({detail})" if detail else "")


def _short(exc: BaseException) -> str:
    text = exc.error_message if isinstance(exc, GitlabError) else ""
    text = git.scrub(str(text))
    return text[:200]


class GitLabForge:
    """Merge requests and branches of the fleet's GitLab projects."""

    def __init__(self, settings: GitLabSettings, token: Secret | None = None,
                 client: gitlab.Gitlab | None = None) -> None:
        self.settings = settings
        self.gl = client if client is not None else connect(settings, token)
        self.git_env = git_env(settings.token_var)

    # merge requests ------------------------------------------------------------------------

    def find_mr(self, repo: RepoRef, branch: str) -> MrInfo | None:
        """The open MR from `branch`, else the most recent closed/merged one, else None."""
        found = self._call(repo, "listing merge requests", lambda: self._project(repo)
                           .mergerequests.list(source_branch=branch, order_by="created_at",
                                               sort="desc", per_page=20, get_all=False,
                                               **ONCE))
        mrs = [mr_from_json(mr.attributes) for mr in found]
        mrs = [m for m in mrs if m.source_branch == branch]
        opened = [m for m in mrs if m.state == "opened"]
        if opened:
            return opened[0]
        return mrs[0] if mrs else None

    def get_mr(self, repo: RepoRef, iid: int) -> MrInfo:
        mr = self._call(repo, f"reading merge request !{iid}",
                        lambda: self._project(repo).mergerequests.get(iid, **ONCE))
        return mr_from_json(mr.attributes)

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
                mr = self._project(repo).mergerequests.create(data, **ONCE)
                return mr_from_json(mr.attributes)
            except GitlabError as exc:
                if exc.response_code == 409:
                    match = _MR_REF.search(str(exc.error_message))
                    if match:
                        raise MergeRequestExists(repo.name, int(match.group(1))) from None
                if not _uncertain(exc) or attempt == attempts:
                    raise ForgeError(describe_http_error(
                        repo.name, "creating the merge request", exc)) from None
            except requests.RequestException as exc:
                if attempt == attempts:
                    raise ForgeError(describe_http_error(
                        repo.name, "creating the merge request", exc)) from None
            existing = self.find_mr(repo, spec.source_branch)
            if existing is not None and existing.state == "opened":
                return existing
            self.settings.retry.sleep(min(self.settings.retry.backoff * 2 ** (attempt - 1),
                                          self.settings.retry.max_backoff))
        raise AssertionError("unreachable")  # pragma: no cover

    def update_mr(self, repo: RepoRef, iid: int, changes: Mapping[str, Any]) -> MrInfo:
        """PUT the given MR fields (GitLab's names); PUT is idempotent, so it is retried."""
        data = dict(changes)
        if isinstance(data.get("labels"), list | tuple):
            data["labels"] = ",".join(data["labels"])
        result = self._call(repo, f"updating merge request !{iid}",
                            lambda: self._project(repo).mergerequests.update(iid, data, **ONCE))
        return mr_from_json(result)

    def add_note(self, repo: RepoRef, iid: int, body: str, marker: str) -> None:
        """Post `body` (which contains `marker`) once, even if a POST's fate is unknown."""
        attempts = self.settings.retry.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                self._project(repo).mergerequests.get(iid, lazy=True).notes.create(
                    {"body": body}, **ONCE)
                return
            except (GitlabError, requests.RequestException) as exc:
                if isinstance(exc, GitlabError) and not _uncertain(exc) or attempt == attempts:
                    raise ForgeError(describe_http_error(
                        repo.name, f"commenting on merge request !{iid}", exc)) from None
            if self.has_note(repo, iid, marker):
                return

    def has_note(self, repo: RepoRef, iid: int, marker: str) -> bool:
        notes = self._call(repo, f"listing notes of merge request !{iid}",
                           lambda: self._project(repo).mergerequests.get(iid, lazy=True)
                           .notes.list(get_all=True, **ONCE))
        return any(marker in str(note.attributes.get("body", "")) for note in notes)

    # branches (git over HTTP, credentials from the environment) ------------------------------

    def branch_head(self, repo: RepoRef, clone: Path, branch: str) -> str | None:
        return self._git(repo, "reading the branch",
                         lambda: git.remote_branch_head(clone, branch, self.git_env))

    def head_commit(self, repo: RepoRef, clone: Path, branch: str) -> CommitInfo | None:
        def fetch() -> CommitInfo | None:
            sha = git.fetch_branch(clone, branch, self.git_env)
            if sha is None:
                return None
            author, committer, message = git.commit_fields(clone, sha)
            return CommitInfo(sha, author, committer, message)
        return self._git(repo, "fetching the branch", fetch)

    def push(self, repo: RepoRef, clone: Path, sha: str, branch: str,
             expected: str | None) -> bool:
        return self._git(repo, "pushing the branch",
                         lambda: git.push_branch(clone, sha, branch, expected, self.git_env))

    def commit_env(self) -> dict[str, str]:
        return self.git_env

    # internals --------------------------------------------------------------------------

    def _project(self, repo: RepoRef) -> Any:
        key: int | str = repo.project_id if repo.project_id is not None else repo.name
        return self.gl.projects.get(key, lazy=True)

    def _call(self, repo: RepoRef, action: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except (GitlabError, requests.RequestException) as exc:
            raise ForgeError(describe_http_error(repo.name, action, exc)) from None

    def _git(self, repo: RepoRef, action: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except GitError as exc:
            raise ForgeError(f"{repo.name}: {action} failed: {_git_hint(str(exc))}") from None


def _uncertain(exc: GitlabError) -> bool:
    """A failed POST that may still have been carried out by the server."""
    return exc.response_code is None or exc.response_code in _TRANSIENT or \
        exc.response_code == 429


def _git_hint(message: str) -> str:
    message = " ".join(message.split())  # one line, whatever git printed
    if "403" in message:
        return ("GitLab refused the push (403): the token needs the `api` (or "
                "`write_repository`) scope and at least the Developer role. " + message)
    if "401" in message or "Authentication failed" in message:
        return "the token was refused (401): unknown, expired or revoked. " + message
    return message
