"""Reading HEAD, refs and origin from a repo's files (no git process), as git itself would
answer, and saying "in doubt" (None) for any layout the readers do not know."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from migrator import git
from migrator.git import Head


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    (path / "a.txt").write_text("a\n")
    _git(path, "add", "a.txt")
    _git(path, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "one")
    return path


def test_head_on_a_branch_is_read_from_its_loose_ref(repo: Path) -> None:
    assert git.read_head(repo) == Head("main", _git(repo, "rev-parse", "HEAD"))


def test_head_on_a_packed_branch_is_read_from_packed_refs(repo: Path) -> None:
    _git(repo, "pack-refs", "--all")
    assert not (repo / ".git/refs/heads/main").exists()
    assert git.read_head(repo) == Head("main", _git(repo, "rev-parse", "HEAD"))


def test_a_loose_ref_wins_over_its_stale_packed_line(repo: Path) -> None:
    _git(repo, "pack-refs", "--all")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "two",
         "--allow-empty")
    assert git.read_head(repo) == Head("main", _git(repo, "rev-parse", "HEAD"))


def test_a_detached_head_and_a_bare_repo(repo: Path, tmp_path: Path) -> None:
    sha = _git(repo, "rev-parse", "HEAD")
    bare = tmp_path / "bare"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
    assert git.read_head(bare) == Head("main", sha)
    _git(repo, "checkout", "-q", "--detach")
    assert git.read_head(repo) == Head(None, sha)
    assert git.head(repo) == sha


@pytest.mark.parametrize("layout", ["symref", "unborn", "gitfile", "fifo", "reftable"])
def test_in_doubt_the_readers_say_so_and_git_still_answers(
        repo: Path, tmp_path: Path, layout: str) -> None:
    sha = _git(repo, "rev-parse", "HEAD")
    where = repo
    if layout == "symref":  # HEAD -> main -> other: a chain only git follows
        _git(repo, "branch", "other")
        _git(repo, "symbolic-ref", "refs/heads/main", "refs/heads/other")
    elif layout == "unborn":
        _git(repo, "checkout", "-q", "--orphan", "fresh")
    elif layout == "gitfile":
        where = tmp_path / "linked"
        _git(repo, "worktree", "add", "-q", "--detach", str(where))
    elif layout == "fifo":  # a hostile repo: reading it must not hang
        (repo / ".git/refs/heads/main").unlink()
        import os
        os.mkfifo(repo / ".git/refs/heads/main")
    else:
        (repo / ".git/reftable").mkdir()
    assert git.read_head(where) is None
    if layout in ("symref", "gitfile"):
        assert git.head(where) == sha


def test_a_tag_named_like_the_branch_makes_the_fetch_ambiguous(repo: Path) -> None:
    head = git.read_head(repo)
    assert head is not None and git.fetched_by_name(repo, head)
    _git(repo, "tag", "main")
    assert not git.fetched_by_name(repo, head)


def test_origin_url_is_read_from_the_config_when_written_plainly(repo: Path) -> None:
    assert git.read_origin_url(repo) is None and git.remote_url(repo) is None
    _git(repo, "remote", "add", "origin", "file:///srv/repos/a")
    assert git.read_origin_url(repo) == git.remote_url(repo) == "file:///srv/repos/a"
    _git(repo, "remote", "set-url", "origin", "file:///srv/repos/with space;x")
    assert git.read_origin_url(repo) is None  # quoted by git: asked of git instead
    assert git.remote_url(repo) == "file:///srv/repos/with space;x"


def test_a_patch_built_with_blobs_stored_in_process_is_the_one_git_builds(
        repo: Path) -> None:
    writes: dict[str, bytes | None] = {"a.txt": b"a\nb\n", "deploy/values.yaml": b"x: 1\r\n",
                                       "bin.dat": b"\xff\xfe\x00"}
    patch = git.patch_for(repo, writes)
    assert "+b\n" in patch and "GIT binary patch" in patch
    for rel, content in writes.items():
        assert content is not None
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_bytes(content)
        stored = _git(repo, "hash-object", "--", rel)
        assert _git(repo, "cat-file", "-t", stored) == "blob"  # written by patch_for
    _git(repo, "add", "-A")
    assert patch.encode() == subprocess.run(
        ["git", "-C", str(repo), "diff", "--cached", "--binary", "--no-color",
         "--find-renames", "HEAD"], check=True, capture_output=True).stdout
    _git(repo, "fsck", "--strict")
