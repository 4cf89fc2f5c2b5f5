"""The GitLab token: read from the environment, hidden from every repr, handed to git by name.

The token's value never leaves this process's memory except in the `PRIVATE-TOKEN` header of
API requests and, for git, through a credential helper that expands the environment variable
inside the helper's own shell at run time. So no argv, URL, `.git/config` or file the run leaves
behind ever holds it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from migrator.errors import ConfigError

DEFAULT_TOKEN_VAR = "GITLAB_TOKEN"
# GitLab accepts any user name with a personal, project or group access token over HTTP;
# "oauth2" is the conventional one and keeps audit logs readable.
GIT_USERNAME = "oauth2"

_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Secret:
    """A string that never shows itself in repr/str, logs or exception messages."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __bool__(self) -> bool:
        return bool(self._value)


def check_var_name(name: str) -> str:
    """`name` if it can name an environment variable; it is spliced into a shell helper."""
    if not _VAR_NAME.fullmatch(name):
        raise ConfigError(f"token variable name {name!r} is not a valid environment variable name")
    return name


def token_from_env(var: str = DEFAULT_TOKEN_VAR,
                   environ: Mapping[str, str] | None = None) -> Secret:
    """The token held by environment variable `var`; ConfigError naming the variable if unset."""
    check_var_name(var)
    value = (os.environ if environ is None else environ).get(var, "").strip()
    if not value:
        raise ConfigError(
            f"no GitLab token: set the environment variable {var} (scope `api` for apply, "
            "`read_api` is enough for plan and status)"
        )
    return Secret(value)


def git_env(token_var: str = DEFAULT_TOKEN_VAR) -> dict[str, str]:
    """Environment additions that make git authenticate over HTTP with the token in `token_var`.

    The helper is a shell function given through GIT_CONFIG_* variables (never written to any
    config file). It holds the variable's *name*; the shell expands the value when git asks,
    and `printf` is a shell builtin, so the value never reaches an argv. The empty first entry
    resets any helper from the user's config, so nothing stores the token on disk either.
    """
    check_var_name(token_var)
    helper = (
        "!f() { test \"$1\" = get || return 0; "
        f"printf 'username={GIT_USERNAME}\\npassword=%s\\n' \"${{{token_var}}}\"; }}; f"
    )
    return {
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "credential.helper",
        "GIT_CONFIG_VALUE_0": "",
        "GIT_CONFIG_KEY_1": "credential.helper",
        "GIT_CONFIG_VALUE_1": helper,
        "GIT_TERMINAL_PROMPT": "0",
        # If the helper has nothing (variable unset), fail with 401 rather than prompt.
        "GIT_ASKPASS": "true",
    }
