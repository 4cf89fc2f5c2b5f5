"""Every git process the simulator spawns, and the repository reads and writes it needs.

The bare repositories are the truth for branches and commits: the REST API reads refs with git on
each request, so whatever a client pushes over HTTP shows up in the API at once. Every argv is
appended to `Git.argv_log` so a test can prove no credential ever reached a command line.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_FIELD = "\x1f"
_RECORD = "\x1e"
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

# The sim must not depend on the developer's ~/.gitconfig (init.defaultBranch, hooks, signing).
_ISOLATED_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
}


class GitSimError(RuntimeError):
    """A git command run by the simulator failed."""


@dataclass(frozen=True)
class CommitInfo:
    id: str
    parent_ids: tuple[str, ...]
    author_name: str
    author_email: str
    authored_date: str
    committer_name: str
    committer_email: str
    committed_date: str
    message: str
    trailers: tuple[tuple[str, str], ...]

    @property
    def title(self) -> str:
        return self.message.split("\n", 1)[0]


@dataclass(frozen=True)
class Identity:
    name: str
    email: str


@dataclass
class Git:
    argv_log: list[list[str]] = field(default_factory=list)
    _log_lock: threading.Lock = field(default_factory=threading.Lock)

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {**os.environ, **_ISOLATED_ENV, **(extra or {})}

    def record(self, argv: Sequence[str]) -> None:
        with self._log_lock:
            self.argv_log.append(list(argv))

    def run(
        self,
        args: Sequence[str],
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        argv = ["git", *args]
        self.record(argv)
        proc = subprocess.run(
            argv, cwd=cwd, env=self.env(env), capture_output=True, text=True, check=False
        )
        if check and proc.returncode != 0:
            raise GitSimError(f"{' '.join(argv[:3])} failed: {proc.stderr.strip()}")
        return proc


@dataclass(frozen=True)
class Repo:
    """One bare repository; created lazily when a project starts empty."""

    git: Git
    path: Path

    @property
    def exists(self) -> bool:
        return (self.path / "HEAD").is_file()

    def is_empty(self) -> bool:
        """No branch at all; read from the files so listing many projects spawns no git."""
        heads = self.path / "refs" / "heads"
        if heads.is_dir() and any(p.is_file() for p in heads.rglob("*")):
            return False
        packed = self.path / "packed-refs"
        return not (packed.is_file() and " refs/heads/" in packed.read_text())

    def ensure(self, default_branch: str | None) -> None:
        if self.exists:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.git.run(["init", "--quiet", "--bare", str(self.path)])
        if default_branch:
            self.set_head(default_branch)

    def clone_from(self, source: Path) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.git.run(["clone", "--quiet", "--bare", str(source), str(self.path)])

    def set_head(self, branch: str) -> None:
        self.git.run(["symbolic-ref", "HEAD", f"refs/heads/{branch}"], cwd=self.path)

    def head_branch(self) -> str | None:
        if not self.exists:
            return None
        proc = self.git.run(["symbolic-ref", "--short", "HEAD"], cwd=self.path, check=False)
        if proc.returncode != 0:
            return None
        return proc.stdout.strip() or None

    def branches(self) -> dict[str, str]:
        """Branch name -> head sha, sorted by name."""
        if not self.exists:
            return {}
        out = self.git.run(
            ["for-each-ref", "--format=%(refname:lstrip=2)%1f%(objectname)", "refs/heads"],
            cwd=self.path,
        ).stdout
        pairs = (line.split(_FIELD) for line in out.splitlines() if line)
        return dict(sorted((name, sha) for name, sha in pairs))

    def merged_into(self, sha: str) -> set[str]:
        out = self.git.run(
            ["for-each-ref", f"--merged={sha}", "--format=%(refname:lstrip=2)", "refs/heads"],
            cwd=self.path,
        ).stdout
        return set(out.split())

    def resolve(self, rev: str) -> str | None:
        """Full sha of a commit named by sha, branch or tag; None when it names nothing."""
        if not self.exists or rev.startswith("-"):
            return None
        proc = self.git.run(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
            cwd=self.path,
            check=False,
        )
        return proc.stdout.strip() if proc.returncode == 0 else None

    def commits(
        self,
        revs: Sequence[str],
        paths: Sequence[str] = (),
        extra: Sequence[str] = (),
    ) -> list[CommitInfo]:
        if not self.exists:
            return []
        fmt = _FIELD.join(
            ["%H", "%P", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%B", "%(trailers:only,unfold)"]
        )
        args = ["log", f"--format={fmt}{_RECORD}", *extra, *revs, "--"]
        out = self.git.run([*args, *paths], cwd=self.path).stdout
        return [_parse_commit(chunk) for chunk in out.split(_RECORD) if chunk.strip()]

    def commit(self, sha: str) -> CommitInfo:
        return self.commits([sha], extra=["-1"])[0]

    def stats(self, sha: str, parent: str | None) -> tuple[int, int]:
        out = self.git.run(["diff", "--numstat", parent or EMPTY_TREE, sha], cwd=self.path).stdout
        additions = deletions = 0
        for line in out.splitlines():
            added, deleted, _ = line.split("\t", 2)
            additions += int(added) if added.isdigit() else 0
            deletions += int(deleted) if deleted.isdigit() else 0
        return additions, deletions

    def merge_base(self, a: str, b: str) -> str | None:
        proc = self.git.run(["merge-base", a, b], cwd=self.path, check=False)
        return proc.stdout.strip() or None

    def changed_files(self, base: str, head: str) -> int:
        out = self.git.run(["diff", "--name-only", base, head], cwd=self.path).stdout
        return len(out.splitlines())

    def merge_tree(self, target: str, source: str) -> str | None:
        """The merged tree, or None when the two commits conflict."""
        proc = self.git.run(
            ["merge-tree", "--write-tree", "--no-messages", target, source],
            cwd=self.path,
            check=False,
        )
        if proc.returncode == 0:
            return proc.stdout.split()[0]
        if proc.returncode == 1:
            return None
        raise GitSimError(f"git merge-tree failed: {proc.stderr.strip()}")

    def tree_of(self, sha: str) -> str:
        return self.git.run(["rev-parse", f"{sha}^{{tree}}"], cwd=self.path).stdout.strip()

    def commit_tree(self, tree: str, parents: Sequence[str], message: str, who: Identity) -> str:
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        env = {
            "GIT_AUTHOR_NAME": who.name,
            "GIT_AUTHOR_EMAIL": who.email,
            "GIT_COMMITTER_NAME": who.name,
            "GIT_COMMITTER_EMAIL": who.email,
        }
        return self.git.run([*args, "-m", message], cwd=self.path, env=env).stdout.strip()

    def update_ref(self, branch: str, new: str, old: str | None = None) -> bool:
        """Move (or create, with old None) a branch; False when it moved or exists meanwhile."""
        expected = old if old is not None else "0" * 40
        proc = self.git.run(
            ["update-ref", f"refs/heads/{branch}", new, expected], cwd=self.path, check=False
        )
        return proc.returncode == 0

    def delete_branch(self, branch: str) -> None:
        self.git.run(["update-ref", "-d", f"refs/heads/{branch}"], cwd=self.path)

    def valid_branch_name(self, name: str) -> bool:
        proc = self.git.run(["check-ref-format", "--branch", name], check=False)
        return proc.returncode == 0 and not name.startswith("-") and name != "HEAD"


def _parse_commit(chunk: str) -> CommitInfo:
    parts = chunk.lstrip("\n").split(_FIELD)
    (sha, parents, an, ae, ad, cn, ce, cd, message, trailer_text) = parts
    trailers = []
    for line in trailer_text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            trailers.append((key.strip(), value.strip()))
    return CommitInfo(
        id=sha,
        parent_ids=tuple(parents.split()),
        author_name=an,
        author_email=ae,
        authored_date=ad,
        committer_name=cn,
        committer_email=ce,
        committed_date=cd,
        message=message.rstrip("\n") + "\n" if message.strip() else "",
        trailers=tuple(trailers),
    )
