"""The GitLab HTTP client that discovery and the forge share: settings, a paced session, errors.

Transport policy (one place for all of it):

- before a request, when the last response said `RateLimit-Remaining` is nearly exhausted,
  wait until its `RateLimit-Reset` so the server never has to answer 429;
- on 429, wait `Retry-After` (or until `RateLimit-Reset`) and try again;
- 5xx and dropped connections are retried with capped exponential backoff, but only for
  requests that are safe to repeat (GET/PUT/HEAD/DELETE). A POST that failed that way may or
  may not have happened (`uncertain`): the caller resolves it by looking (does the MR / note
  exist?) before posting again, so a flaky network never makes a second MR or note;
- every retry budget is bounded; what still fails is put in words by `describe_http_error`;
- an answer is read up to a size cap (`max_response_bytes`) and no further, and a successful
  answer must be JSON: anything else (an HTML page from a proxy, a truncated or malformed body)
  is a `BadResponse` naming the call, so it costs the call that got it, never the run;
- the session talks to the GitLab origin (scheme, host, port) only: a pagination link or a
  redirect to anywhere else is refused before the `PRIVATE-TOKEN` header could go there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import gitlab
import requests
from gitlab.exceptions import GitlabError, GitlabParsingError

from migrator import git
from migrator.credentials import DEFAULT_TOKEN_VAR, Origin, Secret, token_from_env

_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_TRANSIENT = frozenset({500, 502, 503, 504})
# Passed on every python-gitlab call: the session below owns retries, python-gitlab must not
# add its own loop on top (it would multiply the budget and sleep without a cap).
ONCE: dict[str, Any] = {"obey_rate_limit": False, "retry_transient_errors": False}
# Far above any real page (100 projects, an MR with a 1 MB description), far below what would
# hurt: a larger answer is refused, not read.
DEFAULT_MAX_RESPONSE_MIB = 32
_CHUNK = 64 * 1024
_DROPPED = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


class BadResponse(requests.RequestException):
    """GitLab's answer to one call cannot be used (too large, not JSON, another origin).

    Never retried: the same call would get the same answer. The message names the call.
    """


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
    # Hosts ("host" or "host:port") a project's clone URL may name besides GitLab's own; they
    # are cloned without the token (`credentials.CloneScope`).
    allowed_clone_hosts: tuple[str, ...] = ()
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_MIB * 1024 * 1024


class PacedSession(requests.Session):
    """A requests session that applies `RetryPolicy`, the size cap and the origin binding (see
    the module docstring). `origin` None leaves the origin unchecked (tests of pacing alone)."""

    def __init__(self, policy: RetryPolicy, origin: str | None = None,
                 max_bytes: int = DEFAULT_MAX_RESPONSE_MIB * 1024 * 1024) -> None:
        super().__init__()
        self.policy = policy
        self.origin = Origin.parse(origin) if origin is not None else None
        self.max_bytes = max_bytes
        self._remaining: int | None = None
        self._reset_at: float | None = None

    def request(self, method: str | bytes, url: str | bytes,
                *args: Any, **kwargs: Any) -> requests.Response:
        verb = method.decode() if isinstance(method, bytes) else method
        target = url.decode() if isinstance(url, bytes) else url
        call = f"{verb.upper()} {_call(target, kwargs.get('params'))}"
        self._check_origin(call, target)
        idempotent = verb.upper() in _IDEMPOTENT
        # Streamed, so that the cap can stop reading: the body is read (or refused) below.
        kwargs["stream"] = True
        attempt = 0
        while True:
            attempt += 1
            self._pace()
            try:
                response = super().request(verb, target, *args, **kwargs)
                self._read_capped(call, response)
            except _DROPPED:
                if not idempotent or attempt >= self.policy.max_attempts:
                    raise
                self.policy.sleep(self.policy.delay(attempt))
                continue
            self._note_limits(response)
            if 200 <= response.status_code < 300:
                _check_json(call, response)
                return response
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

    def rebuild_auth(self, prepared_request: requests.PreparedRequest,
                     response: requests.Response) -> None:
        """Called on each redirect: one that leaves the origin is refused (requests would drop
        an `Authorization` header there, but not python-gitlab's `PRIVATE-TOKEN`)."""
        url = str(prepared_request.url)
        self._check_origin(f"{prepared_request.method or 'GET'} {_call(url)}", url,
                           redirect=True)
        super().rebuild_auth(prepared_request, response)

    def _check_origin(self, call: str, url: str, redirect: bool = False) -> None:
        if self.origin is None or Origin.of(url) == self.origin:
            return
        what = "a redirect to" if redirect else "a request to"
        raise BadResponse(f"{call}: refused {what} {_origin_text(url)}, "
                          f"outside the GitLab instance {self.origin} (the token stays there)")

    def _read_capped(self, call: str, response: requests.Response) -> None:
        """Read the body, at most `max_bytes` of it (decompressed): past that, stop and refuse."""
        declared = response.headers.get("Content-Length", "")
        too_large = BadResponse(
            f"{call}: GitLab's answer is larger than the "
            f"{_size(self.max_bytes)} cap (set [gitlab] max_response_mib to allow more)")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response.close()
            raise too_large
        chunks: list[bytes] = []
        total = 0
        for chunk in response.iter_content(_CHUNK):
            total += len(chunk)
            if total > self.max_bytes:
                response.close()
                raise too_large
            chunks.append(chunk)
        response._content = b"".join(chunks)
        response._content_consumed = True

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


def _check_json(call: str, response: requests.Response) -> None:
    """A successful API answer is JSON (or empty); an HTML page or a broken body is refused
    here, where the call can still be named."""
    body = response.content
    if not body.strip():
        return
    try:
        json.loads(body)
        return
    except (ValueError, UnicodeDecodeError) as exc:
        error = str(exc)[:80]
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower() or "no type"
    if "html" in kind or body.lstrip()[:1] == b"<":
        problem = f"an HTML page ({kind}, {_size(len(body))}) where JSON was expected"
    elif "json" in kind:
        problem = f"malformed JSON ({_size(len(body))}: {error})"
    else:
        problem = f"{kind} ({_size(len(body))}) where JSON was expected"
    raise BadResponse(f"{call}: GitLab answered {problem}")


def _call(url: str, params: Any = None) -> str:
    """The call as a person names it: the path, and the page of a listing (in the URL or in the
    parameters python-gitlab passes beside it)."""
    parts = urlsplit(url)
    page: Any = parse_qs(parts.query).get("page", [""])[0]
    if isinstance(params, dict) and params.get("page") is not None:
        page = params["page"]
    if isinstance(page, list | tuple):
        page = page[0] if page else ""
    page = str(page)[:10]
    return parts.path + (f" (page {page})" if page else "")


def _origin_text(url: str) -> str:
    origin = Origin.of(url)
    return str(origin) if origin is not None else repr(git.scrub(url)[:100])


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    if count < 1024 * 1024:
        return f"{count / 1024:.0f} KiB"
    return f"{count / (1024 * 1024):.0f} MiB"


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
    session = PacedSession(settings.retry, settings.url, settings.max_response_bytes)
    return gitlab.Gitlab(
        settings.url,
        private_token=secret.reveal(),
        timeout=settings.timeout,
        ssl_verify=settings.ssl_verify,
        per_page=100,
        session=session,
        # Pagination links naming another base (a misconfigured external_url, or worse) are
        # followed on the configured URL, where the token belongs.
        keep_base_url=True,
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
    elif isinstance(exc, BadResponse):
        hint = str(exc)
    elif isinstance(exc, GitlabParsingError):
        hint = "GitLab's answer could not be read as what was asked for"
    elif isinstance(exc, requests.RequestException):
        hint = "GitLab could not be reached (connection failed or dropped)"
    else:
        hint = type(exc).__name__
    return f"{subject}: {action} failed: {hint}" + (f" ({detail})" if detail else "")


def _short(exc: BaseException) -> str:
    text = exc.error_message if isinstance(exc, GitlabError) else ""
    text = git.scrub(str(text))
    return text[:200]
