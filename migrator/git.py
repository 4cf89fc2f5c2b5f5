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
    deletes everything under it). The repo itself is not touched: the change is built in a
    throwaway shared clone.
    """
    with tempfile.TemporaryDirectory(prefix="migrator-patch-") as tmp:
        work = Path(tmp) / "w"
        run(["clone", "--quiet", "--shared", "--no-checkout", str(repo), str(work)])
        run(["checkout", "--quiet", "HEAD"], cwd=work)
        for rel, content in writes.items():
            target = work / rel
            if content is None:
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists() or target.is_symlink():
                    target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        run(["add", "--all"], cwd=work)
        return run(["diff", "--cached", "--binary", "--no-color", "--no-ext-diff", "HEAD"],
                   cwd=work)
