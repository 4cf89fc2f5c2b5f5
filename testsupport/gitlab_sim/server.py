"""The HTTP side: one `App` decides every answer (log, faults, API or git), and a stdlib
`ThreadingHTTPServer` handler does only the socket I/O.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from testsupport.gitlab_sim import api, githttp
from testsupport.gitlab_sim.core import Core
from testsupport.gitlab_sim.faults import Answer, Faults, RequestInfo
from testsupport.gitlab_sim.routing import API_PREFIX


class LoggedRequest(NamedTuple):
    method: str
    path: str
    query: dict[str, str]


@dataclass(frozen=True)
class Exchange:
    """One request and how it was answered: `fault` is "status", "drop" or None."""

    method: str
    path: str
    route: str
    status: int | None
    fault: str | None


@dataclass(frozen=True)
class Outcome:
    status: int
    body: bytes
    headers: Mapping[str, str]
    drop: bool = False
    stream: Callable[[], Iterator[bytes]] | None = None  # sent chunked instead of `body`


_DROPPED = Outcome(0, b"", {}, drop=True)


@dataclass
class App:
    core: Core
    faults: Faults = field(default_factory=Faults)
    requests: list[LoggedRequest] = field(default_factory=list)
    request_counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    exchanges: list[Exchange] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _log_lock: threading.Lock = field(default_factory=threading.Lock)

    def respond(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
        client_addr: str,
    ) -> Outcome:
        split = urlsplit(target)
        raw_path, query = split.path, split.query
        pairs = parse_qsl(query, keep_blank_values=True)
        is_api = raw_path == API_PREFIX or raw_path.startswith(API_PREFIX + "/")
        if is_api:
            route = api.route_template(method, raw_path) or raw_path
        else:
            route = githttp.route_template(raw_path) or raw_path
        if is_api and route.startswith(API_PREFIX):
            route = "(unknown route)"
        with self._log_lock:
            self.requests.append(LoggedRequest(method, raw_path, dict(pairs)))
            self.request_counts[(method, route)] += 1
        client = _client_key(headers, dict(pairs), client_addr)

        decision = self.faults.decide(RequestInfo(method, raw_path, route, client))
        if decision.sleep:
            time.sleep(decision.sleep)
        if decision.drop is not None and not decision.drop.after_processing:
            self._exchange(method, raw_path, route, None, "drop")
            return _DROPPED
        if decision.answer is not None:
            outcome = _fault_outcome(decision.answer)
            if outcome.status == 429:
                # Only the throttle speaks for the rate limiter; a 5xx from the infrastructure
                # carries no RateLimit-* (python-gitlab would sleep until RateLimit-Reset on it).
                outcome = _with_headers(outcome, self.faults.rate_headers(client))
            self._exchange(method, raw_path, route, outcome.status, "status")
            return outcome

        try:
            if is_api:
                outcome = self._api(method, raw_path, pairs, headers, body)
            else:
                outcome = self._git(method, raw_path, query, headers, body, client_addr)
        except Exception:
            # A bug in the simulator must not look like a flaky network to a retrying client.
            with self._log_lock:
                self.errors.append(f"{method} {raw_path}\n{traceback.format_exc()}")
            payload = json.dumps({"message": "500 Internal Server Error"}).encode()
            outcome = Outcome(500, payload, {"Content-Type": "application/json"})
        if decision.drop is not None:
            self._exchange(method, raw_path, route, None, "drop")
            return _DROPPED
        self._exchange(method, raw_path, route, outcome.status, None)
        return _with_headers(outcome, self.faults.rate_headers(client))

    def reset_log(self) -> None:
        with self._log_lock:
            self.requests.clear()
            self.request_counts.clear()
            self.exchanges.clear()

    def _exchange(
        self, method: str, path: str, route: str, status: int | None, fault: str | None
    ) -> None:
        with self._log_lock:
            self.exchanges.append(Exchange(method, path, route, status, fault))

    def _api(
        self,
        method: str,
        raw_path: str,
        pairs: list[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Outcome:
        with self.core.store.lock:
            self.core.begin_request()
            response = api.handle(self.core, method, raw_path, pairs, headers, body)
        if response.status == 204 or response.body is None:
            return Outcome(response.status, b"", dict(response.headers))
        payload = json.dumps(response.body).encode()
        return Outcome(
            response.status,
            payload,
            {"Content-Type": "application/json", **response.headers},
        )

    def _git(
        self,
        method: str,
        raw_path: str,
        query: str,
        headers: Mapping[str, str],
        body: bytes,
        client_addr: str,
    ) -> Outcome:
        with self.core.store.lock:
            decided = githttp.authorize(self.core, method, raw_path, query, headers)
            if isinstance(decided, githttp.GitResponse):
                return Outcome(decided.status, decided.body, dict(decided.headers))
            target, token = decided
            repo = self.core.repo(target.project)
            repo.ensure(target.project.default_branch)
            was_empty = repo.is_empty()
        # git serialises its own ref updates; the store lock is not held while git runs.
        result = githttp.run_backend(
            self.core, target, token, method, query, headers, body, client_addr
        )
        if target.service == "git-receive-pack" and method == "POST":
            self._after_push(target.project.id, was_empty)
        return Outcome(result.status, result.body, dict(result.headers))

    def _after_push(self, project_id: int, was_empty: bool) -> None:
        with self.core.store.lock:
            project = self.core.store.projects[project_id]
            self.core.begin_request()
            refs = self.core.refs(project)
            if was_empty and refs and project.default_branch not in refs:
                # GitLab makes the first pushed branch the default of an empty project.
                chosen = next((b for b in ("main", "master") if b in refs), next(iter(refs)))
                project.default_branch = chosen
                self.core.repo(project).set_head(chosen)
            self.core.touch(project)


def _client_key(headers: Mapping[str, str], query: Mapping[str, str], addr: str) -> str:
    """Who a rate limit counts against: the token (hashed, never kept in clear) or the address."""
    secret = api.token_value(headers, query) or headers.get("authorization")
    if secret:
        return "token:" + hashlib.sha256(secret.encode()).hexdigest()[:16]
    return "ip:" + addr


def _with_headers(outcome: Outcome, extra: Mapping[str, str]) -> Outcome:
    return Outcome(outcome.status, outcome.body, {**outcome.headers, **extra}, outcome.drop,
                   outcome.stream)


def _fault_outcome(answer: Answer) -> Outcome:
    status, retry_after = answer.status, answer.retry_after
    if answer.body is not None or answer.stream is not None:
        return Outcome(status, answer.body or b"", {"Content-Type": answer.content_type},
                       stream=answer.stream)
    if status == 429:
        # Rack::Attack's throttled response, as GitLab sends it.
        headers = {"Content-Type": "text/plain"}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return Outcome(429, b"Retry later\n", headers)
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    if status == 500:
        body = json.dumps({"message": "500 Internal Server Error"}).encode()
        return Outcome(500, body, {"Content-Type": "application/json"})
    # 502/503/504 come from the load balancer in front of GitLab: an HTML page, not JSON.
    html = f"<html><body><h1>{status} {reason}</h1></body></html>\n".encode()
    headers = {"Content-Type": "text/html"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return Outcome(status, html, headers)


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SimServer
    # Idle keep-alive connections must not pin a thread forever.
    timeout = 30

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests read `sim.requests` instead of stderr."""

    def _serve(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self._read_body(headers)
        outcome = self.server.app.respond(
            self.command, self.path, headers, body, self.client_address[0]
        )
        if outcome.drop:
            self.close_connection = True
            return
        self.send_response(outcome.status)
        for key, value in outcome.headers.items():
            if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(key, value)
        if outcome.stream is not None:
            self._send_stream(outcome.stream)
            return
        self.send_header("Content-Length", str(len(outcome.body)))
        self.end_headers()
        if self.command != "HEAD" and outcome.body:
            self.wfile.write(outcome.body)

    def _send_stream(self, stream: Callable[[], Iterator[bytes]]) -> None:
        """Chunked, as produced; a client that stops reading ends it (not an error here)."""
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        try:
            for chunk in stream():
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _read_body(self, headers: Mapping[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""
