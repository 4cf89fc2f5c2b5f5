from __future__ import annotations

import os
import subprocess

import pytest

from migrator.credentials import (
    CloneScope,
    Origin,
    Secret,
    check_clone_host,
    git_env,
    token_from_env,
)
from migrator.errors import ConfigError

GITLAB = "https://gitlab.example.com"


def test_a_secret_hides_its_value_from_repr_str_and_formatting() -> None:
    secret = Secret("glpat-very-secret-value")
    shown = f"{secret} {secret!r} {[secret]} {dict(t=secret)}"
    assert "very-secret" not in shown
    assert secret.reveal() == "glpat-very-secret-value"


def test_the_token_comes_from_the_named_variable() -> None:
    assert token_from_env("MY_TOKEN", {"MY_TOKEN": " abc \n"}).reveal() == "abc"


def test_a_missing_token_names_the_variable_and_the_scopes() -> None:
    with pytest.raises(ConfigError, match=r"CI_BOT_TOKEN.*`api`.*`read_api`"):
        token_from_env("CI_BOT_TOKEN", {})


def test_a_token_variable_name_that_is_not_an_identifier_is_refused() -> None:
    with pytest.raises(ConfigError):
        git_env("TOKEN; rm -rf /", origin=GITLAB)


def fill(origin: str, request: str) -> str:
    """What git's credential machinery answers for `request` with the helper bound to `origin`."""
    env = {**os.environ, **git_env("MIGRATOR_TEST_TOKEN", origin=origin),
           "MIGRATOR_TEST_TOKEN": "glpat-run-time-value", "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(["git", "credential", "fill"], input=request + "\n", env=env,
                          capture_output=True, text=True, check=False).stdout


def test_the_git_helper_reads_the_variable_at_run_time_and_holds_no_value() -> None:
    env = git_env("MIGRATOR_TEST_TOKEN", origin=GITLAB)
    assert all("glpat" not in v for v in env.values())
    out = fill(GITLAB, "protocol=https\nhost=gitlab.example.com")
    assert "username=oauth2" in out
    assert "password=glpat-run-time-value" in out


@pytest.mark.parametrize("request_", [
    "protocol=https\nhost=gitlab.example.com",
    "protocol=https\nhost=gitlab.example.com:443",  # the default port, written out
    "protocol=https\nhost=gitlab.example.com\npath=platform/orders.git",  # useHttpPath
])
def test_the_helper_answers_for_the_gitlab_origin(request_: str) -> None:
    assert "password=glpat-run-time-value" in fill(GITLAB, request_)


@pytest.mark.parametrize("request_", [
    "protocol=https\nhost=evil.example.com",
    "protocol=http\nhost=gitlab.example.com",  # same host, other scheme: in clear
    "protocol=https\nhost=gitlab.example.com:8443",  # same host, other port
    "protocol=https\nhost=gitlab.example.com.evil.example",
    "protocol=https\nhost=evil.example/gitlab.example.com",
])
def test_the_helper_gives_nothing_for_any_other_origin(request_: str) -> None:
    assert "glpat-run-time-value" not in fill(GITLAB, request_)


def test_the_helper_itself_stays_silent_for_another_origin() -> None:
    # The second lock alone, as git runs it (`sh -c '<helper> get'`, the request on stdin),
    # without git's own URL matching of `credential.<url>.helper` in front of it.
    helper = git_env("MIGRATOR_TEST_TOKEN", origin=GITLAB)["GIT_CONFIG_VALUE_1"]
    assert helper.startswith("!")

    def ask(request: str) -> str:
        env = {**os.environ, "MIGRATOR_TEST_TOKEN": "glpat-run-time-value"}
        return subprocess.run(["sh", "-c", f"{helper[1:]} get"], input=request + "\n\n",
                              env=env, capture_output=True, text=True, check=True).stdout

    assert "glpat-run-time-value" in ask("protocol=https\nhost=gitlab.example.com")
    assert ask("protocol=https\nhost=evil.example.com") == ""
    assert ask("protocol=http\nhost=gitlab.example.com") == ""


def test_a_helper_bound_to_a_port_answers_on_that_port_only() -> None:
    assert "glpat" in fill("http://127.0.0.1:8080", "protocol=http\nhost=127.0.0.1:8080")
    assert "glpat" not in fill("http://127.0.0.1:8080", "protocol=http\nhost=127.0.0.1:8081")
    assert "glpat" not in fill("http://127.0.0.1:8080", "protocol=http\nhost=127.0.0.1")


def test_git_may_use_only_gitlab_transports_with_the_token() -> None:
    env = git_env(origin=GITLAB)
    assert env["GIT_ALLOW_PROTOCOL"].split(":") == ["https", "ssh"]
    assert "http" in git_env(origin="http://127.0.0.1:8080")["GIT_ALLOW_PROTOCOL"].split(":")


def test_origins_compare_scheme_host_and_port() -> None:
    assert Origin.of("https://GitLab.Example.com/group/app.git") == Origin.of(
        "https://gitlab.example.com:443/other.git")
    assert Origin.of("http://gitlab.example.com/a.git") != Origin.of(GITLAB)
    assert Origin.of("git@gitlab.example.com:group/app.git") == Origin("ssh", "gitlab.example.com",
                                                                      22)
    for not_a_host_url in ("ext::sh -c touch% /tmp/x", "/srv/repos/app", "file:///srv/app",
                           "--upload-pack=touch /tmp/x;://x", "https:///nohost"):
        assert Origin.of(not_a_host_url) is None, not_a_host_url


def test_clone_urls_outside_the_gitlab_origin_are_refused_with_the_host_to_allow() -> None:
    scope = CloneScope.of("http://127.0.0.1:8080")
    assert scope.refusal("http://127.0.0.1:8080/platform/orders.git") is None
    refusal = scope.refusal("http://127.0.0.1:9090/platform/orders.git")
    assert refusal is not None
    assert "outside the GitLab instance http://127.0.0.1:8080" in refusal
    assert "--allow-clone-host 127.0.0.1:9090" in refusal
    assert scope.refusal("https://127.0.0.1:8080/platform/orders.git") is not None
    assert "not an http(s) or ssh URL" in str(scope.refusal("/srv/git/orders"))


def test_an_allowed_clone_host_is_cloned_with_any_port_or_the_one_given() -> None:
    scope = CloneScope.of(GITLAB, ["Mirror.example.com", "git.example.com:2222"])
    assert scope.refusal("https://mirror.example.com/a.git") is None
    assert scope.refusal("https://mirror.example.com:8443/a.git") is None
    assert scope.refusal("ssh://git@git.example.com:2222/a.git") is None
    assert scope.refusal("https://git.example.com/a.git") is not None


@pytest.mark.parametrize("bad", ["https://mirror.example.com", "mirror.example.com/path",
                                 "mirror.example.com:port", "", "a b"])
def test_an_allowed_clone_host_is_a_host_and_a_port_nothing_else(bad: str) -> None:
    with pytest.raises(ConfigError, match="HOST or HOST:PORT"):
        check_clone_host(bad)
