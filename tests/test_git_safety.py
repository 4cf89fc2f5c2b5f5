"""git.py runs git in a fixed safe environment and never lets a URL, path or name become an
option (the hostile repos themselves are in tests/hostile/)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from migrator import git
from migrator.errors import GitError
from tests.forge.fleetkit import app_files, make_repo


@pytest.mark.parametrize(("location", "why"), [
    ("--upload-pack=touch /tmp/x;://x", "starts with '-'"),
    ("-q", "starts with '-'"),
    ("ext::sh -c touch% /tmp/x", "names a git remote helper"),
    ("file::/srv/repo", "names a git remote helper"),
    ("fd::3", "names a git remote helper"),
    ("gopher://example.com/x.git", "uses the scheme 'gopher'"),
    ("https://example.com/x.git\nprotocol=https", "control characters"),
    ("", "no clone URL"),
])
def test_an_unsafe_clone_url_is_named_with_why(location: str, why: str) -> None:
    assert why in str(git.unsafe_url(location))


@pytest.mark.parametrize("location", [
    "https://gitlab.example.com/shop/orders.git", "http://127.0.0.1:8080/shop/orders.git",
    "ssh://git@gitlab.example.com:2222/shop/orders.git", "git@gitlab.example.com:shop/orders.git",
    "file:///srv/git/orders", "/srv/git/orders", "repos/orders",
])
def test_ordinary_clone_urls_and_paths_pass(location: str) -> None:
    assert git.unsafe_url(location) is None


def test_a_refused_url_never_reaches_git(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="starts with '-'"):
        git.clone_or_update(f"--template={tmp_path};://x", tmp_path / "clone")
    assert not (tmp_path / "clone").exists()
    assert list(tmp_path.iterdir()) == []  # not even the temporary clone directory


def test_a_branch_name_that_is_an_option_is_refused(tmp_path: Path) -> None:
    src = make_repo(tmp_path / "src", app_files("orders"))
    with pytest.raises(GitError, match="branch name '--upload-pack=x' starts with '-'"):
        git.clone_or_update(str(src), tmp_path / "clone", "--upload-pack=x")


def test_a_moved_project_is_fetched_from_its_new_url(tmp_path: Path) -> None:
    old = make_repo(tmp_path / "old", app_files("orders"))
    new = make_repo(tmp_path / "new", {**app_files("orders"), "MOVED": "yes\n"})
    clone = tmp_path / "clone"
    git.clone_or_update(str(old), clone)
    assert git.clone_or_update(str(new), clone) == git.head(new)
    assert git.is_origin(git.remote_url(clone), str(new))
    assert (clone / "MOVED").exists()


def test_the_callers_git_variables_are_left_out_but_tls_and_ssh_settings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"GIT_DIR": "/elsewhere", "GIT_CONFIG_PARAMETERS": "'core.x'='y'",
                       "GIT_TRACE_CURL": "1", "GIT_TEMPLATE_DIR": "/t", "GIT_EXEC_PATH": "/x",
                       "GIT_SSL_CAINFO": "/etc/ca.pem", "GIT_SSH_COMMAND": "ssh -i key"}.items():
        monkeypatch.setenv(key, value)
    env = git.environment({"GIT_INDEX_FILE": "/tmp/index"})
    for dropped in ("GIT_DIR", "GIT_CONFIG_PARAMETERS", "GIT_TRACE_CURL", "GIT_TEMPLATE_DIR",
                    "GIT_EXEC_PATH"):
        assert dropped not in env
    assert env["GIT_SSL_CAINFO"] == "/etc/ca.pem" and env["GIT_SSH_COMMAND"] == "ssh -i key"
    assert env["GIT_INDEX_FILE"] == "/tmp/index"
    assert env["GIT_CONFIG_GLOBAL"] == os.devnull and env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert "ext" not in env["GIT_ALLOW_PROTOCOL"].split(":")
    # No helper of the tool's: an empty one resets any a config names.
    assert (env["GIT_CONFIG_KEY_0"], env["GIT_CONFIG_VALUE_0"]) == ("credential.helper", "")


def test_no_user_config_is_read_and_a_repos_own_hooks_path_loses(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "user.gitconfig"
    user.write_text("[migrator]\n\tfrom = user\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(user))
    repo = make_repo(tmp_path / "repo", app_files("orders"))
    git.run(["config", "core.hooksPath", ".githooks"], cwd=repo)
    git.run(["config", "core.fsmonitor", "true"], cwd=repo)
    with pytest.raises(GitError):
        git.run(["config", "--get", "migrator.from"], cwd=repo)
    assert git.run(["config", "--get", "core.hooksPath"], cwd=repo).strip() == "/dev/null"
    assert git.run(["config", "--get", "core.fsmonitor"], cwd=repo).strip() == "false"
