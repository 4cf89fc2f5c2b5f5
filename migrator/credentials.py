"""The GitLab token: read from the environment, hidden from every repr, handed to git by name,
and bound to the GitLab origin.

The token's value never leaves this process's memory except in the `PRIVATE-TOKEN` header of
API requests and, for git, through a credential helper that expands the environment variable
inside the helper's own shell at run time. So no argv, URL, `.git/config` or file the run leaves
behind ever holds it.

Where it goes is bound too: the API session talks only to the GitLab origin (scheme, host, port;
see gitlab_api.py) and the git helper answers only when git asks for that origin. A clone URL
outside it (a project's `http_url_to_repo` naming another host) is refused before git runs,
unless the operator allowed its host (`CloneScope`); even then git gets no token there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

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
            f"no GitLab token: set the environment variable {var} (scope `api` for apply; "
            "`read_api` and `read_repository` for plan, `read_api` for status)"
        )
    return Secret(value)


def git_env(token_var: str = DEFAULT_TOKEN_VAR, *, origin: str | Origin) -> dict[str, str]:
    """Environment additions that make git authenticate to `origin`, and only there, with the
    token in `token_var`.

    The helper is a shell function given through GIT_CONFIG_* variables (never written to any
    config file). It holds the variable's *name*; the shell expands the value when git asks,
    and `printf` is a shell builtin, so the value never reaches an argv. The empty first entry
    resets any helper from any config, so nothing stores the token on disk either.

    Two locks keep the token with GitLab: the helper is configured for the origin's URL only
    (`credential.<origin>.helper`, matched by git on scheme, host and port), and the helper
    itself reads the `protocol=`/`host=` git sends and stays silent for anything else.
    """
    check_var_name(token_var)
    bound = origin if isinstance(origin, Origin) else Origin.parse(origin)
    if bound.scheme not in ("http", "https"):
        raise ConfigError(f"the GitLab URL {bound} is not an http(s) URL")
    accepted = "|".join(f"'{bound.scheme}://{host}'" for host in bound.credential_hosts())
    helper = (
        "!f() { test \"$1\" = get || return 0; p=; h=; "
        "while IFS= read -r l; do case \"$l\" in "
        "protocol=*) p=\"${l#protocol=}\";; host=*) h=\"${l#host=}\";; esac; done; "
        f"case \"$p://$h\" in {accepted}) "
        f"printf 'username={GIT_USERNAME}\\npassword=%s\\n' \"${{{token_var}}}\";; esac; }}; f"
    )
    return {
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "credential.helper",
        "GIT_CONFIG_VALUE_0": "",
        "GIT_CONFIG_KEY_1": f"credential.{bound}.helper",
        "GIT_CONFIG_VALUE_1": helper,
        "GIT_TERMINAL_PROMPT": "0",
        # If the helper has nothing (another host, variable unset), fail with 401 rather than
        # prompt; `true` answers empty, and git sends no credentials with empty ones.
        "GIT_ASKPASS": "true",
        # GitLab's own transports only: never `file` (a project URL naming a local path) nor
        # `ext` (a command).
        "GIT_ALLOW_PROTOCOL": ":".join(sorted({"https", "ssh", bound.scheme})),
    }


_DEFAULT_PORTS = {"http": 80, "https": 443, "ssh": 22, "git+ssh": 22, "ssh+git": 22}
_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\]")
_ALLOWED_HOST = re.compile(rf"(?:{_HOST.pattern})(?::[0-9]{{1,5}})?")
# `[user@]host:path` (no `://`); `name::address` is a remote helper, not a host.
_SCP_LIKE = re.compile(r"^(?:[^@/:]+@)?(?P<host>[^/:]+|\[[^\]]+\]):(?!:)")


@dataclass(frozen=True)
class Origin:
    """Scheme, host and port of a URL: what the token is bound to. Compared as a whole."""

    scheme: str  # "https", "http" or "ssh"
    host: str  # lower case; an IPv6 address in brackets
    port: int

    @classmethod
    def of(cls, url: str) -> Origin | None:
        """The origin of an http(s) or ssh URL (`git@host:path` too); None for anything else."""
        scp = _SCP_LIKE.match(url) if "://" not in url else None
        if scp is not None:
            host, scheme, port = scp.group("host").lower(), "ssh", 22
        else:
            try:
                parts = urlsplit(url)
                scheme = parts.scheme.lower()
                port_or_none = parts.port
                host = (parts.hostname or "").lower()
            except ValueError:
                return None
            if scheme not in _DEFAULT_PORTS or not host:
                return None
            scheme = "ssh" if scheme in ("git+ssh", "ssh+git") else scheme
            port = port_or_none if port_or_none is not None else _DEFAULT_PORTS[scheme]
            if ":" in host:
                host = f"[{host}]"
        if not _HOST.fullmatch(host):
            return None
        return cls(scheme, host, port)

    @classmethod
    def parse(cls, url: str) -> Origin:
        """The origin of the GitLab URL; ConfigError when it has none."""
        found = cls.of(url)
        if found is None:
            raise ConfigError(f"the GitLab URL {url!r} has no http(s) scheme and host")
        return found

    def credential_hosts(self) -> tuple[str, ...]:
        """How git spells this host in the `host=` line of a credential request: with the port
        when the URL has one, and the default port may be written or not."""
        with_port = f"{self.host}:{self.port}"
        return (self.host, with_port) if self.port == _DEFAULT_PORTS[self.scheme] \
            else (with_port,)

    def __str__(self) -> str:
        default = self.port == _DEFAULT_PORTS[self.scheme]
        return f"{self.scheme}://{self.host}" + ("" if default else f":{self.port}")


@dataclass(frozen=True)
class CloneScope:
    """Which clone URLs git may fetch when the fleet lives on GitLab: the GitLab origin, and the
    hosts the operator allowed besides (`[gitlab] allowed_clone_hosts`, `--allow-clone-host`).

    An allowed host is cloned without the token: the token only ever goes to the GitLab origin.
    """

    gitlab: Origin
    allowed_hosts: tuple[str, ...] = ()  # "host" (any port) or "host:port", lower case

    @classmethod
    def of(cls, gitlab_url: str, allowed_hosts: Sequence[str] = ()) -> CloneScope:
        return cls(Origin.parse(gitlab_url),
                   tuple(check_clone_host(h) for h in allowed_hosts))

    def refusal(self, url: str) -> str | None:
        """Why git must not fetch `url`, in words for the repo's reason; None when it may."""
        origin = Origin.of(url)
        if origin == self.gitlab:
            return None
        if origin is None:
            return (f"the clone URL {_shown(url)} is not an http(s) or ssh URL of the GitLab "
                    f"instance {self.gitlab}; refusing to clone it")
        if any(allowed in (origin.host, f"{origin.host}:{origin.port}")
               for allowed in self.allowed_hosts):
            return None
        where = f"{origin.host}:{origin.port}"
        return (f"the clone URL {_shown(url)} is outside the GitLab instance {self.gitlab}: "
                f"refusing to clone it, so the GitLab token cannot reach {origin}; if that host "
                f"is trusted, allow it with --allow-clone-host {where} (it is then cloned "
                "without the token)")


def check_clone_host(text: str) -> str:
    """`host` or `host:port` as `allowed_clone_hosts` takes it, lower case; ConfigError else."""
    value = text.strip().lower()
    if not _ALLOWED_HOST.fullmatch(value):
        raise ConfigError(f"allowed clone host {text!r}: expected HOST or HOST:PORT "
                          "(no scheme, no path)")
    return value


def _shown(url: str) -> str:
    """A URL for a reason: credentials and control characters out, length bounded."""
    cleaned = re.sub(r"(://)[^/@\s]*@", r"\1", url)
    cleaned = "".join(c if c.isprintable() else "?" for c in cleaned)
    return repr(cleaned[:200])
