"""The transport policy of gitlab_api.py, over real HTTP against a scripted local server."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from migrator.gitlab_api import BadResponse, PacedSession, RetryPolicy
from testsupport.gitlab_sim.faults import HTML_PAGE, huge_json


class Script:
    """Answers to give, in order: (status, headers); the last one repeats."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str]]] = [(200, {})]
        self.seen: list[str] = []
        self.drop_first = 0


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            script.seen.append(self.command)
            if script.drop_first > 0:
                script.drop_first -= 1
                self.close_connection = True
                self.connection.shutdown(2)
                return
            status, headers = script.answers.pop(0) if len(script.answers) > 1 \
                else script.answers[0]
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/api/v4/x", script
    httpd.shutdown()


def session(slept: list[float], **kw: object) -> PacedSession:
    return PacedSession(RetryPolicy(sleep=slept.append, **kw))  # type: ignore[arg-type]


def test_a_429_waits_for_retry_after_then_succeeds(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(429, {"Retry-After": "7"}), (200, {})]
    slept: list[float] = []
    assert session(slept).get(url).status_code == 200
    assert slept == [7.0]
    assert script.seen == ["GET", "GET"]


def test_a_post_is_retried_after_429_because_it_was_never_carried_out(
        server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(429, {"Retry-After": "1"}), (201, {})]
    slept: list[float] = []
    assert session(slept).post(url, json={}).status_code == 201
    assert script.seen == ["POST", "POST"]


def test_a_retry_after_longer_than_allowed_is_not_waited_for(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(429, {"Retry-After": "3600"})]
    slept: list[float] = []
    assert session(slept, max_wait=60.0).get(url).status_code == 429
    assert slept == []


def test_low_ratelimit_remaining_slows_down_before_the_server_says_429(
        server: tuple[str, Script]) -> None:
    url, script = server
    reset = int(time.time()) + 30
    script.answers = [(200, {"RateLimit-Remaining": "1", "RateLimit-Reset": str(reset)}),
                      (200, {"RateLimit-Remaining": "50", "RateLimit-Reset": str(reset)})]
    slept: list[float] = []
    s = session(slept, min_remaining=2)
    s.get(url)
    assert slept == []
    s.get(url)
    assert len(slept) == 1 and 25 < slept[0] <= 30
    s.get(url)
    assert len(slept) == 1  # plenty remaining again: no wait


def test_server_errors_on_reads_are_retried_with_growing_backoff_a_bounded_number_of_times(
        server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(503, {})]
    slept: list[float] = []
    response = session(slept, max_attempts=4, backoff=0.5).get(url)
    assert response.status_code == 503
    assert script.seen == ["GET"] * 4
    assert slept == [0.5, 1.0, 2.0]


def test_a_post_that_failed_with_a_server_error_is_not_blindly_repeated(
        server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(502, {}), (201, {})]
    slept: list[float] = []
    assert session(slept).post(url, json={}).status_code == 502
    assert script.seen == ["POST"]


def test_a_dropped_connection_is_retried_for_reads_only(server: tuple[str, Script]) -> None:
    url, script = server
    script.drop_first = 1
    slept: list[float] = []
    assert session(slept).get(url).status_code == 200
    assert script.seen == ["GET", "GET"]
    script.drop_first = 1
    with pytest.raises(requests.ConnectionError):
        session(slept).post(url, json={})


# Answers GitLab would not give: size, shape, origin ---------------------------------------

MIB = 1024 * 1024


class Body:
    """What the body server answers: a status, a content type and the body, given whole or
    produced chunk by chunk (chunked encoding, no Content-Length). `sent` counts the bytes that
    left; `seen` the requests (method, path, headers)."""

    def __init__(self) -> None:
        self.status = 200
        self.content_type = "application/json"
        self.body = b"{}"
        self.stream: Callable[[], Iterator[bytes]] | None = None
        self.location: str | None = None
        self.sent = 0
        self.seen: list[tuple[str, str, dict[str, str]]] = []


@pytest.fixture
def bodies() -> Iterator[Callable[[], tuple[str, Body]]]:
    """A factory of body servers, each on its own port (its own origin)."""
    servers: list[ThreadingHTTPServer] = []

    def start() -> tuple[str, Body]:
        body = Body()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                body.seen.append((self.command, self.path, dict(self.headers.items())))
                self.send_response(body.status)
                self.send_header("Content-Type", body.content_type)
                if body.location:
                    self.send_header("Location", body.location)
                if body.stream is None:
                    self.send_header("Content-Length", str(len(body.body)))
                    self.end_headers()
                    self.wfile.write(body.body)
                    body.sent += len(body.body)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.close_connection = True
                try:
                    for chunk in body.stream():
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        body.sent += len(chunk)
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        httpd.daemon_threads = True
        servers.append(httpd)
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01},
                         daemon=True).start()
        return f"http://127.0.0.1:{httpd.server_address[1]}", body

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def capped(origin: str, max_bytes: int = MIB) -> PacedSession:
    return PacedSession(RetryPolicy(sleep=lambda _: None), origin, max_bytes)


def test_an_answer_over_the_size_cap_is_refused_after_reading_only_the_cap(
        bodies: Callable[[], tuple[str, Body]]) -> None:
    origin, body = bodies()
    body.stream = huge_json(100 * MIB)
    started = time.monotonic()
    with pytest.raises(BadResponse, match=r"GET /api/v4/groups/7/projects \(page 2\): .*"
                                          r"larger than the 1 MiB cap.*max_response_mib"):
        capped(origin).get(f"{origin}/api/v4/groups/7/projects?page=2&per_page=100")
    assert time.monotonic() - started < 10
    # The client stopped: far less than the 100 MiB body ever left the server.
    time.sleep(0.2)
    assert body.sent < 20 * MIB
    assert body.seen and len(body.seen) == 1  # not retried: the same call gets the same answer


def test_a_declared_length_over_the_cap_is_refused_before_reading(
        bodies: Callable[[], tuple[str, Body]]) -> None:
    origin, body = bodies()
    body.body = b"[" + b"0," * MIB + b"0]"
    with pytest.raises(BadResponse, match="larger than the 1 MiB cap"):
        capped(origin).get(f"{origin}/api/v4/projects")


def test_an_answer_under_the_cap_is_read_whole(bodies: Callable[[], tuple[str, Body]]) -> None:
    origin, body = bodies()
    body.stream = huge_json(MIB // 2)
    answer = capped(origin).get(f"{origin}/api/v4/projects")
    assert answer.status_code == 200
    assert answer.json()[0]["path_with_namespace"] == "huge/answer"


def test_an_html_page_where_json_was_expected_names_the_call(
        bodies: Callable[[], tuple[str, Body]]) -> None:
    origin, body = bodies()
    body.content_type, body.body = "text/html; charset=utf-8", HTML_PAGE
    with pytest.raises(BadResponse, match=r"GET /api/v4/projects/12/merge_requests: GitLab "
                                          r"answered an HTML page \(text/html, \d+ bytes\) where "
                                          r"JSON was expected"):
        capped(origin).get(f"{origin}/api/v4/projects/12/merge_requests")


def test_malformed_json_names_the_call_and_the_page(
        bodies: Callable[[], tuple[str, Body]]) -> None:
    origin, body = bodies()
    body.body = b'[{"id": 1, "path_with_namespace": "half/an'
    with pytest.raises(BadResponse, match=r"GET /api/v4/groups/7/projects \(page 3\): GitLab "
                                          r"answered malformed JSON"):
        capped(origin).get(f"{origin}/api/v4/groups/7/projects?page=3")


def test_an_error_status_keeps_its_body_for_the_caller_to_read(
        bodies: Callable[[], tuple[str, Body]]) -> None:
    origin, body = bodies()
    body.status, body.content_type, body.body = 404, "text/html", HTML_PAGE
    answer = capped(origin).get(f"{origin}/api/v4/projects/404")
    assert answer.status_code == 404 and answer.content == HTML_PAGE


def test_a_request_outside_the_gitlab_origin_is_refused_before_it_leaves(
        bodies: Callable[[], tuple[str, Body]]) -> None:
    gitlab, _ = bodies()
    elsewhere, other = bodies()
    with pytest.raises(BadResponse, match=r"refused a request to http://127\.0\.0\.1:\d+, "
                                          r"outside the GitLab instance"):
        capped(gitlab).get(f"{elsewhere}/api/v4/projects?page=2",
                           headers={"PRIVATE-TOKEN": "glpat-origin-bound"})
    assert other.seen == []


def test_a_redirect_to_another_origin_is_not_followed_with_the_token(
        bodies: Callable[[], tuple[str, Body]]) -> None:
    gitlab, answer = bodies()
    elsewhere, other = bodies()
    answer.status, answer.location = 302, f"{elsewhere}/api/v4/projects"
    with pytest.raises(BadResponse, match="refused a redirect to"):
        capped(gitlab).get(f"{gitlab}/api/v4/projects",
                           headers={"PRIVATE-TOKEN": "glpat-origin-bound"})
    assert other.seen == []


def test_a_redirect_within_the_origin_is_followed(
        bodies: Callable[[], tuple[str, Body]]) -> None:
    gitlab, answer = bodies()
    answer.status, answer.location = 301, f"{gitlab}/api/v4/elsewhere"
    session = capped(gitlab)
    session.max_redirects = 2
    with pytest.raises(requests.TooManyRedirects):  # it kept following, on the same origin
        session.get(f"{gitlab}/api/v4/projects")
    assert len(answer.seen) == 3
