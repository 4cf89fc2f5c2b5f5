"""A git host that is not the GitLab under test: it records every request, headers included.

It stands for whatever host a hostile clone URL names. Another port on 127.0.0.1 is another
origin, so it can sit beside the GitLab simulator. Two ways to be dangerous:

- `challenge=True`: every request gets `401` with `WWW-Authenticate: Basic` (the strongest lure:
  a client with a careless credential helper answers it with the token);
- otherwise it serves the bare repositories under `root` anonymously with `git http-backend`
  (pushes are refused: http-backend wants an authenticated user for them).

with ForeignGitHost(tmp_path / "foreign") as host:
    host.add_repo("evil/app", source_repo)      # served as host.url + "/evil/app.git"
    ...
    assert not host.authorizations()
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

_ISOLATED = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"}


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


class ForeignGitHost:
    def __init__(self, root: Path, challenge: bool = False) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.challenge = challenge
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def netloc(self) -> str:
        return urlsplit(self.url).netloc

    def add_repo(self, path: str, source: Path) -> str:
        """Serve a bare copy of `source` as `<url>/<path>.git`; returns that URL."""
        dest = self.root / f"{path}.git"
        subprocess.run(["git", "clone", "--quiet", "--bare", "--", str(source), str(dest)],
                       env={**os.environ, **_ISOLATED}, check=True, capture_output=True)
        return f"{self.url}/{path}.git"

    def authorizations(self) -> list[str]:
        """Every Authorization header received."""
        with self._lock:
            return [h for s in self.seen if (h := s.header("authorization")) is not None]

    def received(self, needle: str) -> bool:
        """Whether `needle` appeared anywhere in what was received (paths, headers, bodies)."""
        with self._lock:
            for s in self.seen:
                blob = f"{s.path}\n" + "\n".join(f"{k}: {v}" for k, v in s.headers)
                if needle in blob or needle.encode() in s.body:
                    return True
        return False

    # lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> ForeignGitHost:
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with host._lock:
                    host.seen.append(Seen(self.command, self.path,
                                          tuple(self.headers.items()), body))
                if host.challenge:
                    self._send(401, b"HTTP Basic: Access denied\n",
                               {"WWW-Authenticate": 'Basic realm="foreign"',
                                "Content-Type": "text/plain"})
                    return
                status, headers, payload = host._backend(self.command, self.path,
                                                         dict(self.headers.items()), body)
                self._send(status, payload, headers)

            def _send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() not in ("content-length", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_HEAD = _serve

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _backend(self, method: str, target: str, headers: dict[str, str],
                 body: bytes) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(target)
        lower = {k.lower(): v for k, v in headers.items()}
        env = {
            **os.environ, **_ISOLATED,
            "GIT_PROJECT_ROOT": str(self.root), "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": split.path, "QUERY_STRING": split.query, "REQUEST_METHOD": method,
            "CONTENT_TYPE": lower.get("content-type", ""), "CONTENT_LENGTH": str(len(body)),
            "HTTP_GIT_PROTOCOL": lower.get("git-protocol", ""),
            "HTTP_CONTENT_ENCODING": lower.get("content-encoding", ""),
            "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "",
        }
        proc = subprocess.run(["git", "http-backend"], input=body, env=env,
                              capture_output=True, check=False)
        head, sep, payload = proc.stdout.partition(b"\r\n\r\n")
        if not sep:
            head, sep, payload = proc.stdout.partition(b"\n\n")
        if not sep:
            return 500, {"Content-Type": "text/plain"}, proc.stderr
        status, out = 200, {}
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                out[key.strip()] = value.strip()
        return status, out, payload
