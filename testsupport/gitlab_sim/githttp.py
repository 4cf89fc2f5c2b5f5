"""Git smart HTTP, served by `git http-backend` as a CGI, behind GitLab's Basic authentication.

GitLab takes a token as the password of HTTP Basic authentication and ignores the username.
Missing or wrong credentials get `401` with `WWW-Authenticate: Basic realm="GitLab"`; a token that
may read but not write (`read_api`, `read_repository`) gets `403` on push, with GitLab's message.
"""

from __future__ import annotations

import base64
import binascii
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote

from testsupport.gitlab_sim.core import Core
from testsupport.gitlab_sim.state import ROLE_LEVELS, Project, Token

READ_SCOPES = frozenset({"api", "read_api", "read_repository", "write_repository"})
WRITE_SCOPES = frozenset({"api", "write_repository"})
_GIT_PATH = re.compile(r"^/(?P<repo>.+?)\.git(?P<rest>/.*)?$")
_ACCESS_DENIED = (
    "HTTP Basic: Access denied. If a password was provided for Git authentication, the password "
    "was incorrect or you're required to use a token instead of a password. If a token was "
    "provided, it was either incorrect, expired, or improperly scoped.\n"
)
_NOT_FOUND = (
    "The project you were looking for could not be found or you don't have permission to view it.\n"
)


# GitLab protects the default branch: no force push, no deletion over git.
_PRE_RECEIVE = """#!/bin/sh
zero=0000000000000000000000000000000000000000
while read old new ref; do
  [ "$ref" = "refs/heads/$GITLAB_SIM_PROTECTED" ] || continue
  if [ "$new" = "$zero" ]; then
    echo "GitLab: You can only delete protected branches using the web interface." >&2
    exit 1
  fi
  if [ "$old" != "$zero" ] && ! git merge-base --is-ancestor "$old" "$new"; then
    echo "GitLab: You are not allowed to force push code to a protected branch on this project." >&2
    exit 1
  fi
done
exit 0
"""


def install_hooks(hooks_dir: Path) -> None:
    hooks_dir.mkdir(parents=True, exist_ok=True)
    hook = hooks_dir / "pre-receive"
    hook.write_text(_PRE_RECEIVE)
    hook.chmod(0o755)


def hooks_dir(core: Core) -> Path:
    return core.repos_root.parent / "hooks"


@dataclass(frozen=True)
class GitResponse:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GitTarget:
    project: Project
    rest: str
    service: str


def is_git_path(raw_path: str) -> bool:
    return bool(_GIT_PATH.match(unquote(raw_path)))


def route_template(raw_path: str) -> str | None:
    found = _GIT_PATH.match(unquote(raw_path))
    if not found:
        return None
    return f"/:project_path.git{found['rest'] or ''}"


def _text(status: int, message: str, headers: Mapping[str, str] | None = None) -> GitResponse:
    return GitResponse(
        status,
        message.encode(),
        {"Content-Type": "text/plain; charset=utf-8", **(headers or {})},
    )


def _unauthorized() -> GitResponse:
    return _text(401, _ACCESS_DENIED, {"WWW-Authenticate": 'Basic realm="GitLab"'})


def _basic_password(headers: Mapping[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if auth[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    _, _, password = decoded.partition(":")
    return password


def authorize(
    core: Core, method: str, raw_path: str, query: str, headers: Mapping[str, str]
) -> GitResponse | tuple[GitTarget, Token | None]:
    """Decide access under the store lock; a GitResponse is a refusal."""
    found = _GIT_PATH.match(unquote(raw_path))
    if not found:
        return _text(404, "Not Found\n")
    rest = found["rest"] or ""
    if rest == "/info/refs":
        service = parse_qs(query).get("service", [""])[0]
    elif rest in ("/git-upload-pack", "/git-receive-pack") and method == "POST":
        service = rest[1:]
    else:
        # GitLab serves only the smart protocol.
        return _text(404, "Not Found\n")
    if service not in ("git-upload-pack", "git-receive-pack"):
        return _text(403, "Forbidden\n")
    writes = service == "git-receive-pack"

    token: Token | None = None
    password = _basic_password(headers)
    if password is not None:
        token = core.store.tokens.get(password)
        if token is None or token.revoked or token.expired:
            return _unauthorized()
    project = core.store.project_by_path(found["repo"])
    if token is None:
        if project is None or project.visibility != "public" or writes:
            return _unauthorized()
        return GitTarget(project, rest, service), None
    if project is None:
        return _text(404, _NOT_FOUND)
    user = core.store.users[token.user_id]
    if not token.scopes & READ_SCOPES or user.access_level < ROLE_LEVELS["reporter"]:
        return _text(403, "You are not allowed to download code from this project.\n")
    if writes and (not token.scopes & WRITE_SCOPES or user.access_level < ROLE_LEVELS["developer"]):
        return _text(403, "You are not allowed to push code to this project.\n")
    if writes and project.archived:
        return _text(403, "You are not allowed to push code to an archived project.\n")
    return GitTarget(project, rest, service), token


def run_backend(
    core: Core,
    target: GitTarget,
    token: Token | None,
    method: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    client: str,
) -> GitResponse:
    """Run `git http-backend` for one request; runs outside the store lock."""
    project = target.project
    relative = project.repo_dir.relative_to(core.repos_root).as_posix()
    user = core.store.users.get(token.user_id) if token else None
    env = core.git.env(
        {
            "GIT_PROJECT_ROOT": str(core.repos_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": f"/{relative}{target.rest}",
            "REQUEST_METHOD": method,
            "QUERY_STRING": query,
            "CONTENT_TYPE": headers.get("content-type", ""),
            "REMOTE_ADDR": client,
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_GIT_PROTOCOL": headers.get("git-protocol", ""),
            "HTTP_CONTENT_ENCODING": headers.get("content-encoding", ""),
            # http-backend enables receive-pack only for an authenticated REMOTE_USER.
            "REMOTE_USER": user.username if user else "",
            "GITLAB_SIM_PROTECTED": project.default_branch or "",
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "core.hooksPath",
            "GIT_CONFIG_VALUE_0": str(hooks_dir(core)),
        }
    )
    if method == "POST":
        env["CONTENT_LENGTH"] = str(len(body))
    argv = ["git", "http-backend"]
    core.git.record(argv)
    proc = subprocess.run(argv, input=body, env=env, capture_output=True, check=False)
    return _parse_cgi(proc.stdout, proc.returncode, proc.stderr)


def _parse_cgi(out: bytes, returncode: int, stderr: bytes) -> GitResponse:
    head, sep, payload = out.partition(b"\r\n\r\n")
    if not sep:
        head, sep, payload = out.partition(b"\n\n")
    if not sep:
        message = stderr.decode("utf-8", "replace") or f"http-backend exited {returncode}"
        return _text(500, message)
    status = 200
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").splitlines():
        key, _, value = line.partition(":")
        if key.lower() == "status":
            status = int(value.strip().split()[0])
        elif key:
            headers[key.strip()] = value.strip()
    return GitResponse(status, payload, headers)
