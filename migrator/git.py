"""Every git command the tool runs goes through here (the git CLI via subprocess).

Credentials never appear in a URL, in argv or in an error message: callers pass them through the
environment (see `env` arguments) and this module scrubs anything URL-credential-shaped from what
it reports.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from migrator.errors import GitError

_URL_USERINFO = re.compile(r"([a-z][a-z0-9+.-]*://)[^/\s@]+@", re.IGNORECASE)

# Make git deterministic and non-interactive whatever the user's config says.
_BASE_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
    "LC_ALL": "C",
}


def scrub(text: str) -> str:
    """Remove user:password@ parts from any URL in `text`."""
    return _URL_USERINFO.sub(r"\1", text)


def run(
    args: list[str],
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
) -> str:
    """Run `git ARGS` and return stdout; raise GitError with a scrubbed message on failure."""
    full_env = {**os.environ, **_BASE_ENV, **(env or {})}
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=full_env,
        input=input_text,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        detail = scrub((proc.stderr or proc.stdout).strip()) or f"exit {proc.returncode}"
        raise GitError(f"git {args[0]} failed: {detail}")
    return proc.stdout


def is_repo(path: Path) -> bool:
    return (path / ".git").exists() or (path / "HEAD").is_file() and (path / "objects").is_dir()


def head(repo: Path) -> str:
    return run(["rev-parse", "HEAD"], cwd=repo).strip()


def as_url(location: str) -> str:
    """Local paths become file:// URLs so that shallow and filtered clones work on them too."""
    if "://" in location or location.startswith("git@"):
        return location
    return Path(location).resolve().as_uri()


def clone_or_update(
    url: str,
    dest: Path,
    branch: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Keep a blobless, shallow, single-branch clone of `url` at `dest`; return its HEAD sha.

    A later call fetches and resets the same clone instead of cloning again.
    """
    url = as_url(url)
    if (dest / ".git").is_dir():
        ref = branch or "HEAD"
        run(["fetch", "--quiet", "--depth", "1", "--filter=blob:none", "origin", ref],
            cwd=dest, env=env)
        run(["reset", "--quiet", "--hard", "FETCH_HEAD"], cwd=dest, env=env)
        run(["clean", "-qfdx"], cwd=dest, env=env)
        return head(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        args = ["clone", "--quiet", "--depth", "1", "--filter=blob:none", "--single-branch"]
        if branch:
            args += ["--branch", branch]
        run([*args, url, str(tmp)], env=env)
        # Clone next to the destination and rename, so an interrupted clone never looks done.
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return head(dest)


def patch_for(repo: Path, writes: Mapping[str, bytes | None]) -> str:
    """A `git apply`-able patch against HEAD of `repo` that makes exactly `writes`.

    `writes` maps repo-relative paths to new content, or None to delete (a directory path
    deletes everything under it). Neither the work tree nor the index of `repo` changes: the
    change is staged in a throwaway index, with the new blobs written to the object store.
    """
    with tempfile.TemporaryDirectory(prefix="migrator-patch-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        run(["read-tree", "HEAD"], cwd=repo, env=env)
        deleted = [rel for rel, content in writes.items() if content is None]
        lines: list[str] = []
        if deleted:
            listed = run(["ls-files", "-z", "--", *deleted], cwd=repo, env=env)
            lines += [f"0 {'0' * 40}\t{path}" for path in listed.split("\0") if path]
        added = [(rel, content) for rel, content in writes.items() if content is not None]
        for i, (rel, content) in enumerate(added):
            blob = Path(tmp) / f"blob-{i}"
            blob.write_bytes(content)
            sha = run(["hash-object", "-w", str(blob)], cwd=repo).strip()
            lines.append(f"100644 {sha}\t{rel}")
        if lines:
            run(
                ["update-index", "--index-info"],
                cwd=repo,
                env=env,
                input_text="".join(f"{line}\n" for line in lines),
            )
        return run(
            [
                "diff",
                "--cached",
                "--binary",
                "--no-color",
                "--no-ext-diff",
                "--find-renames",
                "HEAD",
            ],
            cwd=repo,
            env=env,
        )


# --- branch, commit and push helpers for `apply` (propose stage) -----------------------------


def commit_patch(
    repo: Path,
    base: str,
    patch: str,
    message: str,
    name: str,
    email: str,
    env: Mapping[str, str] | None = None,
) -> str:
    """Create a commit of `patch` on top of `base` and return its sha.

    Neither the work tree, the index nor HEAD of `repo` changes (the clone cache stays as the
    plan stage left it): the tree is built in a throwaway index and the commit object is only
    written to the object store. `name`/`email` are both author and committer.
    """
    with tempfile.TemporaryDirectory(prefix="migrator-index-") as tmp:
        index_env = {**(env or {}), "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        run(["read-tree", base], cwd=repo, env=index_env)
        # In a blobless clone this fetches the touched blobs on demand: `env` carries the
        # credentials for that.
        run(["apply", "--cached", "--whitespace=nowarn", "-"], cwd=repo, env=index_env,
            input_text=patch)
        tree = run(["write-tree"], cwd=repo, env=index_env).strip()
    ident = {
        "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email,
    }
    return run(["commit-tree", tree, "-p", base, "-F", "-"], cwd=repo,
               env={**(env or {}), **ident}, input_text=message).strip()


def remote_branch_head(repo: Path, branch: str,
                       env: Mapping[str, str] | None = None) -> str | None:
    """The sha `branch` points to on `origin`, or None when the branch does not exist."""
    out = run(["ls-remote", "--heads", "origin", f"refs/heads/{branch}"], cwd=repo, env=env)
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        if ref == f"refs/heads/{branch}":
            return sha
    return None


def fetch_branch(repo: Path, branch: str, env: Mapping[str, str] | None = None) -> str | None:
    """Fetch the head commit of `origin`'s `branch` (no blobs) and return its sha, or None when
    the branch does not exist."""
    local = f"refs/migrator/remote/{branch}"
    try:
        run(["fetch", "--quiet", "--no-tags", "--depth", "1", "--filter=blob:none", "origin",
             f"+refs/heads/{branch}:{local}"], cwd=repo, env=env)
    except GitError as exc:
        if "couldn't find remote ref" in str(exc).lower():
            return None
        raise
    return run(["rev-parse", local], cwd=repo).strip()


def commit_fields(repo: Path, sha: str) -> tuple[str, str, str]:
    """(author email, committer email, full message) of commit `sha`."""
    out = run(["show", "-s", "--format=%ae%x00%ce%x00%B", sha], cwd=repo)
    author, committer, message = out.split("\x00", 2)
    return author, committer, message


def trailer(message: str, key: str) -> str | None:
    """The value of the last `key: value` trailer line of a commit message."""
    found: str | None = None
    prefix = f"{key.lower()}:"
    for line in message.splitlines():
        if line.lower().startswith(prefix):
            found = line[len(prefix):].strip()
    return found


def has_object(repo: Path, sha: str) -> bool:
    try:
        run(["cat-file", "-e", f"{sha}^{{commit}}"], cwd=repo)
    except GitError:
        return False
    return True


def push_branch(
    repo: Path,
    sha: str,
    branch: str,
    expected: str | None,
    env: Mapping[str, str] | None = None,
) -> bool:
    """Point `origin`'s `branch` at `sha`, only if it still points at `expected` (None: only
    if the branch does not exist yet). False when that lease did not hold: someone else
    pushed in between, and nothing was overwritten."""
    ref = f"refs/heads/{branch}"
    lease = f"--force-with-lease={ref}:{expected or ''}"
    try:
        run(["push", "--quiet", lease, "origin", f"{sha}:{ref}"],
            cwd=repo, env=env)
    except GitError as exc:
        text = str(exc)
        if "stale info" in text or "[rejected]" in text or "fetch first" in text:
            return False
        raise
    return True
