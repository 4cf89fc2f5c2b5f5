from __future__ import annotations

import os
import subprocess

import pytest

from migrator.credentials import Secret, git_env, token_from_env
from migrator.errors import ConfigError


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
        git_env("TOKEN; rm -rf /")


def test_the_git_helper_reads_the_variable_at_run_time_and_holds_no_value() -> None:
    env = git_env("MIGRATOR_TEST_TOKEN")
    assert all("glpat" not in v for v in env.values())
    full = {**os.environ, **env, "MIGRATOR_TEST_TOKEN": "glpat-run-time-value",
            "GIT_CONFIG_NOSYSTEM": "1"}
    out = subprocess.run(["git", "credential", "fill"], input="protocol=https\nhost=gitlab.x\n\n",
                         env=full, capture_output=True, text=True, check=True).stdout
    assert "username=oauth2" in out
    assert "password=glpat-run-time-value" in out
