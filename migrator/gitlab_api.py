"""The GitLab HTTP client that discovery and the forge share: settings, a paced session, errors.

Transport policy (one place for all of it):

- before a request, when the last response said `RateLimit-Remaining` is nearly exhausted,
  wait until its `RateLimit-Reset` so the server never has to answer 429;
- on 429, wait `Retry-After` (or until `RateLimit-Reset`) and try again;
- 5xx and dropped connections are retried with capped exponential backoff, but only for
  requests that are safe to repeat (GET/PUT/HEAD/DELETE). A POST that failed that way may or
  may not have happened (`uncertain`): the caller resolves it by looking (does the MR / note
  exist?) before posting again, so a flaky network never makes a second MR or note;
- every retry budget is bounded; what still fails is put in words by `describe_http_error`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import gitlab
import requests
from gitlab.exceptions import GitlabError

from migrator import git
from migrator.credentials import DEFAULT_TOKEN_VAR, Secret, token_from_env

_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_TRANSIENT = frozenset({500, 502, 503, 504})
# Passed on every python-gitlab call: the session below owns retries, python-gitlab must not
# add its own loop on top (it would multiply the budget and sleep without a cap).
ONCE: dict[str, Any] = {"obey_rate_limit": False, "retry_transient_errors": False}


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5  # per request, first try included
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    max_backoff: float = 8.0
    max_wait: float = 120.0  # longest Retry-After/RateLimit-Reset wait honoured; longer fails
    min_remaining: int = 2  # slow down when RateLimit-Remaining falls to this
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return float(min(self.backoff * 2 ** (attempt - 1), self.max_backoff))


@dataclass(frozen=True)
class GitLabSettings:
    url: str
    token_var: str = DEFAULT_TOKEN_VAR
    timeout: float = 30.0
    retry: RetryPolicy = RetryPolicy()
    ssl_verify: bool = True


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
                self.policy.sleep(self.policy.delay(attempt))
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
                self.policy.sleep(self.policy.delay(attempt))
                continue
            return response

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
        return self.policy.delay(1)


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


def uncertain(exc: GitlabError) -> bool:
    """A failed POST that may still have been carried out by the server."""
    return exc.response_code is None or exc.response_code in _TRANSIENT or \
        exc.response_code == 429


def describe_http_error(subject: str, action: str, exc: BaseException) -> str:
    """A message for a person: who it is about, what was attempted, what GitLab's answer means."""
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
    return f"{subject}: {action} failed: {hint}" + (f" ({detail})" if detail else "")


def _short(exc: BaseException) -> str:
    text = exc.error_message if isinstance(exc, GitlabError) else ""
    text = git.scrub(str(text))
    return text[:200]
