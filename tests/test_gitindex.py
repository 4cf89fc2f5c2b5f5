"""The change staged in this process (`gitindex.edited`) gives the very patch git's own staging
(`ls-files` + `update-index`) gives, and anything outside the plain case is left to git."""

from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator import git, gitindex


def _git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return git.run(list(args), cwd=repo, env=env)


def _repo(root: Path, files: dict[str, bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        if rel.endswith(".sh"):
            path.chmod(0o755)  # a mode update-index is told to make 100644
    git.run(["init", "-q", "-b", "main", str(root)])
    _git(root, "-c", "core.autocrlf=false", "add", "-A")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q",
         "--allow-empty", "-m", "c")
    return root


def _patch_staged_by_git(repo: Path, writes: dict[str, bytes | None],
                         monkeypatch: pytest.MonkeyPatch) -> str:
    """The patch as it was made before this module: git stages the change."""
    with monkeypatch.context() as m:
        m.setattr(gitindex, "edited", lambda *_: None)
        return git.patch_for(repo, writes)


def _staged_in_process(repo: Path, writes: dict[str, bytes | None]) -> bool:
    """Whether `patch_for` stages `writes` itself (no ls-files nor update-index)."""
    index = repo / ".git" / "probe-index"
    env = {"GIT_INDEX_FILE": str(index)}
    _git(repo, "-c", "index.version=2", "read-tree", "HEAD", env=env)
    blobs = {rel: "0" * 40 for rel, content in writes.items() if content is not None}
    try:
        return gitindex.edited(index.read_bytes(), [r for r, c in writes.items() if c is None],
                               blobs) is not None
    finally:
        index.unlink()


CASES: dict[str, tuple[dict[str, bytes], dict[str, bytes | None]]] = {
    "a chart folder deleted, values and a deploy written": (
        {"chart/Chart.yaml": b"name: a\n", "chart/templates/d.yaml": b"kind: D\n",
         "chart/values.yaml": b"x: 1\n", "deploy.sh": b"helm upgrade a ./chart\n",
         "chart-notes.txt": b"kept: a sibling whose name starts like the folder\n"},
        {"chart": None, "deploy/values.yaml": b"x: 2\n",
         "deploy.sh": b"helm upgrade a oci://c\n"}),
    "a file written under the folder that goes": (
        {"chart/a.yaml": b"a\n", "chart/b/c.yaml": b"c\n"},
        {"chart": None, "chart/new.yaml": b"n\n"}),
    "files at the root deleted one by one": (
        {"Chart.yaml": b"name: r\n", "values.yaml": b"a: 1\n", "templates/x.yaml": b"x\n",
         "README.md": b"r\n"},
        {"Chart.yaml": None, "values.yaml": None, "templates": None, "Chart.lock": None,
         "values/values.yaml": b"a: 2\n"}),
    "an executable file rewritten": (
        {"deploy.sh": b"#!/bin/sh\nhelm upgrade a ./chart\n"},
        {"deploy.sh": b"#!/bin/sh\nhelm upgrade a oci://c\n"}),
    "paths with spaces and non-ASCII names": (
        {"my chart/Chart.yaml": b"n\n", "d\u00e9ploy/run.sh": "caf\u00e9\n".encode()},
        {"my chart": None, "d\u00e9ploy/run.sh": b"run\n", "z/\u00fc.yaml": b"u\n"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_patch_is_the_one_git_staging_gives(tmp_path: Path, case: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    files, writes = CASES[case]
    repo = _repo(tmp_path / "repo", files)
    assert _staged_in_process(repo, writes)
    assert git.patch_for(repo, writes) == _patch_staged_by_git(repo, writes, monkeypatch)


_NAMES = st.sampled_from(["a", "b", "chart", "values.yaml", "t.yaml", "x y", "\u00e9"])
_PATHS = st.lists(_NAMES, min_size=1, max_size=3).map("/".join)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.dictionaries(_PATHS, st.binary(max_size=30), min_size=1, max_size=8),
       writes=st.dictionaries(_PATHS, st.none() | st.binary(max_size=30), min_size=1,
                              max_size=5))
def test_any_change_gives_the_patch_git_staging_gives(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
        files: dict[str, bytes], writes: dict[str, bytes | None]) -> None:
    # A tree git can hold: no path that is both a file and a folder.
    files = {p: c for p, c in files.items()
             if not any(o.startswith(p + "/") for o in files if o != p)}
    repo = _repo(tmp_path_factory.mktemp("repo"), files)
    try:
        expected = _patch_staged_by_git(repo, writes, monkeypatch)
    except git.GitError:  # a file where a folder stays: git refuses it, so must the fast path
        with pytest.raises(git.GitError):
            git.patch_for(repo, writes)
        return
    assert git.patch_for(repo, writes) == expected


def test_a_file_written_where_a_folder_stays_is_left_to_git(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", {"chart/a.yaml": b"a\n", "b": b"b\n"})
    assert not _staged_in_process(repo, {"chart": b"now a file\n"})
    assert not _staged_in_process(repo, {"b/c.yaml": b"under a file\n"})
    # once the folder goes, the file may take its place
    assert _staged_in_process(repo, {"chart": None, "b": None, "b/c.yaml": b"c\n"})


@pytest.mark.parametrize("path", ["chart*", "ch?rt", "[c]hart", ":(glob)chart", "./chart",
                                  "chart/", "a//b", "../x"])
def test_a_path_git_would_read_as_a_pattern_is_left_to_git(tmp_path: Path, path: str) -> None:
    repo = _repo(tmp_path / "repo", {"chart/a.yaml": b"a\n"})
    assert not _staged_in_process(repo, {path: None})


def test_an_index_of_another_version_or_with_a_conflict_is_left_to_git(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", {"a.yaml": b"a\n"})
    index = repo / ".git" / "index"
    data = index.read_bytes()
    assert gitindex.edited(data, ["a.yaml"], {}) is not None
    for version in (3, 4):
        assert gitindex.edited(data[:4] + struct.pack(">L", version) + data[8:], [], {}) is None
    flags_at = 12 + 60
    (flags,) = struct.unpack_from(">H", data, flags_at)
    staged = data[:flags_at] + struct.pack(">H", flags | 0x1000) + data[flags_at + 2:]
    assert gitindex.edited(staged, [], {}) is None
    mode_at = 12 + 24  # a sparse index's folder entry: mode 040000
    folder = data[:mode_at] + struct.pack(">L", 0o040000) + data[mode_at + 4:]
    assert gitindex.edited(folder, [], {}) is None
    assert gitindex.edited(b"not an index", [], {}) is None


def test_the_index_written_is_one_git_reads(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo", {"chart/a.yaml": b"a\n", "keep.txt": b"k\n"})
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo, input=b"new\n",
                          capture_output=True, check=True).stdout.decode().strip()
    index = repo / ".git" / "probe"
    env = {"GIT_INDEX_FILE": str(index)}
    _git(repo, "read-tree", "HEAD", env=env)
    staged = gitindex.edited(index.read_bytes(), ["chart"], {"values/v.yaml": blob})
    assert staged is not None
    index.write_bytes(staged)
    assert _git(repo, "ls-files", "-s", env=env).splitlines() == [
        f"100644 {_git(repo, 'rev-parse', 'HEAD:keep.txt').strip()} 0\tkeep.txt",
        f"100644 {blob} 0\tvalues/v.yaml"]
    _git(repo, "fsck", "--no-progress", "--cache", env=env)


def test_symlinks_and_submodules_in_the_tree_stay_as_they_are(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _repo(tmp_path / "repo", {"chart/Chart.yaml": b"name: a\n", "deploy.sh": b"x\n"})
    (repo / "link").symlink_to("deploy.sh")
    _git(repo, "add", "link")
    sub = _git(repo, "rev-parse", "HEAD").strip()
    _git(repo, "update-index", "--add", "--cacheinfo", f"160000,{sub},vendor/lib")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "more")
    writes: dict[str, bytes | None] = {"chart": None, "values/values.yaml": b"a: 1\n"}
    assert _staged_in_process(repo, writes)
    assert git.patch_for(repo, writes) == _patch_staged_by_git(repo, writes, monkeypatch)


def test_a_name_that_is_not_utf8_keeps_its_bytes(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "repo"
    folder = os.fsdecode(b"caf\xe9")  # a Latin-1 folder name, as os.walk gives it
    repo = _repo(root, {f"{folder}/Chart.yaml": b"name: a\n", "deploy.sh": b"x\n"})
    for writes in ({folder: None, "values/values.yaml": b"a: 1\n"},
                   {f"{folder}/new.yaml": b"n\n"}):
        assert _staged_in_process(repo, writes)
        assert git.patch_for(repo, writes) == _patch_staged_by_git(repo, writes, monkeypatch)


def test_git_staging_keeps_the_bytes_of_a_name_that_is_not_utf8_too(tmp_path: Path) -> None:
    folder = os.fsdecode(b"caf\xe9")
    # .gitattributes: blobs go through `git hash-object`, the change through git's staging
    repo = _repo(tmp_path / "repo", {f"{folder}/Chart.yaml": b"name: a\n",
                                     ".gitattributes": b"*.txt text\n"})
    patch = git.patch_for(repo, {folder: None, f"{folder}-values/v.yaml": b"a: 1\n"})
    check = subprocess.run(["git", "apply", "--check", "-"], cwd=repo, input=patch.encode(),
                           capture_output=True, check=False)
    assert check.returncode == 0, check.stderr.decode()
    assert "caf\\351/Chart.yaml" in patch and "caf\\351-values/v.yaml" in patch
