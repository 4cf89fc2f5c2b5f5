"""The transport policy of gitlab_api.py, over real HTTP against a scripted local server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from migrator.gitlab_api import PacedSession, RetryPolicy


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
