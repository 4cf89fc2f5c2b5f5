"""Injectable faults: rate limits, failing requests, dropped connections, slow responses, and
answers GitLab would not give (a huge body, malformed JSON, an HTML page where JSON belongs).

Faults are consulted in the order they were added, before the request reaches the API or git, so a
request answered by a fault changes nothing. The first fault that answers (a status or a drop)
wins; delays add up and let the request go on. `DropConnection(after_processing=True)` is the one
exception, on purpose: the request is applied and only its answer is lost, the case that tests
whether a client's retry is idempotent.
"""

from __future__ import annotations

import json
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Protocol, TypeVar

DEFAULT_LIMIT = 2000
DEFAULT_PERIOD = 60.0


@dataclass(frozen=True)
class RequestInfo:
    method: str
    path: str
    route: str
    client: str


@dataclass(frozen=True)
class Answer:
    """Respond with `status` instead of handling the request: with the page GitLab (or its load
    balancer) gives for that status, or with `body` / the bytes `stream` yields (sent chunked,
    without a Content-Length, so a client only learns the size by reading)."""

    status: int
    retry_after: int | None = None
    body: bytes | None = None
    content_type: str = "application/json"
    stream: Callable[[], Iterator[bytes]] | None = None


@dataclass(frozen=True)
class Drop:
    """Close the connection without a response (before or after applying the request)."""

    after_processing: bool = False


@dataclass(frozen=True)
class Sleep:
    seconds: float


Action = Answer | Drop | Sleep


@dataclass(frozen=True)
class Match:
    """Which requests a fault applies to: method, regex searched in the raw path, route template.

    `path` is searched in the path as sent (for example `/api/v4/projects/1/merge_requests` or
    `/platform/orders.git/git-receive-pack`); `route` compares with the template the request log
    counts (`/projects/:id/merge_requests`).
    """

    method: str | None = None
    path: str | None = None
    route: str | None = None

    def __call__(self, req: RequestInfo) -> bool:
        if self.method is not None and req.method.upper() != self.method.upper():
            return False
        if self.path is not None and not re.search(self.path, req.path):
            return False
        return self.route is None or req.route == self.route


class Fault(Protocol):
    def decide(self, req: RequestInfo) -> Action | None: ...


@dataclass
class RateLimit:
    """N requests per fixed window per client, then 429 `Retry later` (as Rack::Attack does).

    Windows are aligned on the clock like Rack::Attack's (`now // period`), and every request
    counts, the throttled ones too.
    """

    limit: int
    period: float = DEFAULT_PERIOD
    match: Match = field(default_factory=lambda: Match(path=r"^/api/"))
    throttled: int = 0
    _counts: dict[tuple[str, int], int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def decide(self, req: RequestInfo) -> Action | None:
        if not self.match(req):
            return None
        with self._lock:
            window = self._window()
            self._counts = _bump(self._counts, req.client, window)
            if self._counts[(req.client, window)] <= self.limit:
                return None
            self.throttled += 1
        return Answer(429, retry_after=self.retry_after())

    def headers(self, client: str) -> dict[str, str]:
        with self._lock:
            window = self._window()
            observed = self._counts.get((client, window), 0)
        return rate_limit_headers(self.limit, observed, (window + 1) * self.period)

    def retry_after(self) -> int:
        now = time.time()
        return max(1, math.ceil(self.period - (now % self.period)))

    def _window(self) -> int:
        return int(time.time() // self.period)


@dataclass
class FailNext:
    """Answer the next `count` matching requests with `status` (500/502/503/504/429...)."""

    count: int
    status: int = 503
    match: Match = field(default_factory=Match)
    retry_after: int | None = None
    triggered: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def decide(self, req: RequestInfo) -> Action | None:
        if not self.match(req):
            return None
        with self._lock:
            if self.triggered >= self.count:
                return None
            self.triggered += 1
        retry = (
            self.retry_after
            if self.retry_after is not None
            else (1 if self.status == 429 else None)
        )
        return Answer(self.status, retry_after=retry)


@dataclass
class RandomFaults:
    """Fail a seeded-random share of matching requests, at most `max_faults` times."""

    probability: float
    statuses: tuple[int, ...] = (429, 500, 502, 503)
    seed: int = 0
    max_faults: int | None = None
    retry_after: int = 1
    match: Match = field(default_factory=lambda: Match(path=r"^/api/"))
    triggered: int = 0
    _rng: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def decide(self, req: RequestInfo) -> Action | None:
        if not self.match(req):
            return None
        with self._lock:
            if self.max_faults is not None and self.triggered >= self.max_faults:
                return None
            if self._rng.random() >= self.probability:
                return None
            status = self._rng.choice(self.statuses)
            self.triggered += 1
        return Answer(status, retry_after=self.retry_after if status == 429 else None)


@dataclass
class BadAnswer:
    """Answer `count` matching requests (every one when None) with `answer`, a body that is not
    what GitLab sends, after letting the first `after` of them through (`after=1` on a listing
    spoils its second page). The request itself is not carried out."""

    answer: Answer
    count: int | None = 1
    match: Match = field(default_factory=Match)
    after: int = 0
    seen: int = 0
    triggered: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def decide(self, req: RequestInfo) -> Action | None:
        if not self.match(req):
            return None
        with self._lock:
            self.seen += 1
            if self.seen <= self.after:
                return None
            if self.count is not None and self.triggered >= self.count:
                return None
            self.triggered += 1
        return self.answer


MIB = 1024 * 1024


def huge_json(size: int, chunk: int = MIB) -> Callable[[], Iterator[bytes]]:
    """A valid JSON list of project-like objects of about `size` bytes, produced as it is sent:
    only a size cap stops a client that would parse whatever arrives."""
    def chunks() -> Iterator[bytes]:
        padding = "x" * 1000
        item = json.dumps({"id": 1, "path_with_namespace": "huge/answer",
                           "description": padding}).encode()
        per_chunk = max(1, min(chunk, size) // (len(item) + 1))
        block = b",".join([item] * per_chunk)
        yield b"[" + item
        sent = len(item) + 1
        while sent < size:
            yield b"," + block
            sent += len(block) + 1
        yield b"]"
    return chunks


# An error page from a proxy or a login redirect target, where the API's JSON belongs.
HTML_PAGE = (b"<!DOCTYPE html>\n<html><head><title>Sign in \xc2\xb7 GitLab</title></head>"
             b"<body><h1>Maintenance</h1><p>We'll be back shortly.</p></body></html>\n")


@dataclass
class DropConnection:
    """Close the socket without answering the `nth` matching request (and `count - 1` after it)."""

    nth: int = 1
    count: int = 1
    after_processing: bool = False
    match: Match = field(default_factory=Match)
    seen: int = 0
    triggered: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def decide(self, req: RequestInfo) -> Action | None:
        if not self.match(req):
            return None
        with self._lock:
            self.seen += 1
            if not self.nth <= self.seen < self.nth + self.count:
                return None
            self.triggered += 1
        return Drop(after_processing=self.after_processing)


@dataclass
class Delay:
    """Hold matching responses for `seconds` (the first `count` of them, or all when None)."""

    seconds: float
    count: int | None = None
    match: Match = field(default_factory=Match)
    triggered: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def decide(self, req: RequestInfo) -> Action | None:
        if not self.match(req):
            return None
        with self._lock:
            if self.count is not None and self.triggered >= self.count:
                return None
            self.triggered += 1
        return Sleep(self.seconds)


def _bump(
    counts: dict[tuple[str, int], int], client: str, window: int
) -> dict[tuple[str, int], int]:
    """Count one request in the current window, forgetting finished windows."""
    fresh = {key: n for key, n in counts.items() if key[1] == window}
    fresh[(client, window)] = fresh.get((client, window), 0) + 1
    return fresh


def rate_limit_headers(limit: int, observed: int, reset_at: float) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(limit),
        "RateLimit-Observed": str(observed),
        "RateLimit-Remaining": str(max(0, limit - observed)),
        "RateLimit-Reset": str(int(reset_at)),
        "RateLimit-ResetTime": formatdate(reset_at, usegmt=True),
    }


F = TypeVar("F", bound=Fault)


@dataclass(frozen=True)
class Decision:
    answer: Answer | None
    drop: Drop | None
    sleep: float


class Faults:
    """The faults a test has set; thread-safe."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        # Observed counts for the RateLimit-* headers when no RateLimit fault is set.
        self._observed: dict[tuple[str, int], int] = {}

    def add(self, fault: F) -> F:
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            self._faults.remove(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    # Shorthands for the common cases -----------------------------------------------------------

    def rate_limit(
        self, limit: int, period: float = DEFAULT_PERIOD, path: str = r"^/api/"
    ) -> RateLimit:
        return self.add(RateLimit(limit=limit, period=period, match=Match(path=path)))

    def fail_next(
        self,
        count: int,
        status: int = 503,
        method: str | None = None,
        path: str | None = None,
        route: str | None = None,
    ) -> FailNext:
        return self.add(FailNext(count, status, Match(method, path, route)))

    def random(
        self,
        probability: float,
        seed: int = 0,
        statuses: tuple[int, ...] = (429, 500, 502, 503),
        max_faults: int | None = None,
        retry_after: int = 1,
        path: str = r"^/api/",
    ) -> RandomFaults:
        return self.add(
            RandomFaults(probability, statuses, seed, max_faults, retry_after, Match(path=path))
        )

    def drop(
        self,
        nth: int = 1,
        method: str | None = None,
        path: str | None = None,
        route: str | None = None,
        after_processing: bool = False,
        count: int = 1,
    ) -> DropConnection:
        return self.add(DropConnection(nth, count, after_processing, Match(method, path, route)))

    def huge_body(
        self,
        size: int = 100 * MIB,
        method: str | None = None,
        path: str | None = None,
        route: str | None = None,
        count: int | None = 1,
        after: int = 0,
    ) -> BadAnswer:
        """A 200 whose JSON body is `size` bytes (100 MiB by default), streamed."""
        answer = Answer(200, stream=huge_json(size))
        return self.add(BadAnswer(answer, count, Match(method, path, route), after))

    def malformed_json(
        self,
        method: str | None = None,
        path: str | None = None,
        route: str | None = None,
        count: int | None = 1,
        after: int = 0,
        body: bytes = b'[{"id": 1, "path_with_namespace": "half/an',
    ) -> BadAnswer:
        """A 200 `application/json` answer that does not parse (a body cut short by default)."""
        answer = Answer(200, body=body)
        return self.add(BadAnswer(answer, count, Match(method, path, route), after))

    def html_page(
        self,
        status: int = 200,
        method: str | None = None,
        path: str | None = None,
        route: str | None = None,
        count: int | None = 1,
        after: int = 0,
    ) -> BadAnswer:
        """An HTML page (a proxy's maintenance or sign-in page) with `status`, 200 by default."""
        answer = Answer(status, body=HTML_PAGE, content_type="text/html; charset=utf-8")
        return self.add(BadAnswer(answer, count, Match(method, path, route), after))

    def delay(
        self,
        seconds: float,
        method: str | None = None,
        path: str | None = None,
        route: str | None = None,
        count: int | None = None,
    ) -> Delay:
        return self.add(Delay(seconds, count, Match(method, path, route)))

    # Used by the server ------------------------------------------------------------------------

    def decide(self, req: RequestInfo) -> Decision:
        with self._lock:
            faults = list(self._faults)
            if req.path.startswith("/api/"):
                window = int(time.time() // DEFAULT_PERIOD)
                self._observed = _bump(self._observed, req.client, window)
        sleep = 0.0
        for fault in faults:
            action = fault.decide(req)
            if isinstance(action, Sleep):
                sleep += action.seconds
            elif isinstance(action, Answer):
                return Decision(action, None, sleep)
            elif isinstance(action, Drop):
                return Decision(None, action, sleep)
        return Decision(None, None, sleep)

    def rate_headers(self, client: str) -> dict[str, str]:
        """RateLimit-* for a response: from the first RateLimit fault, else GitLab's defaults."""
        with self._lock:
            limiter = next((f for f in self._faults if isinstance(f, RateLimit)), None)
        if limiter is not None:
            return limiter.headers(client)
        window = int(time.time() // DEFAULT_PERIOD)
        with self._lock:
            observed = self._observed.get((client, window), 0)
        return rate_limit_headers(DEFAULT_LIMIT, observed, (window + 1) * DEFAULT_PERIOD)
