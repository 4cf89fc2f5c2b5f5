"""Read a helm command line the way helm's flag parser would.

The words come from `shellwords`; this module decides which word is `helm`, which words name the
subcommand, which are flags (and which of those take the next word as their value), and which
positional words are the release and the chart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from migrator.locate.shellwords import REDIRECTS, Word, assignment, tokenize
from migrator.model import SetFlag

# Flags that take a value as the next word (everything else is a boolean switch).
_VALUE_FLAGS = {
    "--namespace", "--version", "--values", "--set", "--set-string", "--set-file", "--set-json",
    "--set-literal", "--kube-context", "--kubeconfig", "--timeout", "--description",
    "--post-renderer", "--post-renderer-args", "--repo", "--username", "--password", "--ca-file",
    "--cert-file", "--key-file", "--history-max", "--max-history", "--output", "--output-dir",
    "--api-versions", "--kube-version", "--show-only", "--name-template", "--labels",
    "--registry-config", "--repository-cache", "--repository-config", "--kube-apiserver",
    "--kube-as-user", "--kube-as-group", "--kube-token", "--kube-ca-file",
    "--kube-tls-server-name", "--burst-limit", "--qps", "--keyring", "--context", "--destination",
    "--untardir", "--app-version", "--selector", "--filter",
    "--name",  # Helm 2: `helm install <chart> --name <release>`
}  # fmt: skip
_SHORT = {
    "-n": "--namespace", "-f": "--values", "-o": "--output", "-a": "--api-versions",
    "-s": "--show-only", "-l": "--labels", "-d": "--destination", "-g": "--generate-name",
    "-i": "--install", "-q": "--quiet",
}  # fmt: skip
SetKind = Literal["set", "set-string", "set-file", "set-json", "set-literal"]
_SET_KINDS: dict[str, SetKind] = {
    "--set": "set", "--set-string": "set-string", "--set-file": "set-file",
    "--set-json": "set-json", "--set-literal": "set-literal",
}  # fmt: skip
_TWO_WORD = {"diff", "secrets", "dependency", "dep", "show", "inspect", "get", "repo", "plugin",
             "registry", "search"}  # fmt: skip
_CHART_ONLY = {"lint", "package", "pull", "fetch", "build", "update", "values", "chart", "all",
               "readme", "crds", "push"}  # fmt: skip
_RELEASE_ONLY = {"uninstall", "delete", "del", "status", "history", "rollback", "test", "manifest",
                 "notes", "hooks", "revision", "release"}  # fmt: skip
# Words that may precede a command without being it: wrappers and shell keywords.
_PREFIXES = {"exec", "time", "command", "sudo", "nohup", "env", "then", "do", "else", "if", "elif",
             "while", "until", "{", "!"}  # fmt: skip
HELM_NAMES = {"helm", "helm3", "$HELM", "${HELM}", "$HELM_BIN", "${HELM_BIN}"}
_HELM_BINARY = re.compile(r"helm(?:[-_]?v?\d[\w.]*)?(?:\.exe)?")  # helm, helm2, helm3, helm-v3.14
_VARIABLE_WORD = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_DYNAMIC_TEXT = re.compile(r"\$(\{|\(|[A-Za-z_])|`")


@dataclass(frozen=True)
class FlagUse:
    """One flag as written: canonical long name, its value, and the word indexes it occupies."""

    name: str
    value: str | None
    words: tuple[int, ...]  # indexes into ParsedHelm.words (flag, and value when separate)


@dataclass(frozen=True)
class ParsedHelm:
    """One helm command. Indexes point into `words`, whose spans point into `text`."""

    text: str
    words: tuple[Word, ...]
    env: tuple[tuple[str, str], ...]  # assignments before the command (FOO=bar helm ...)
    command_word: int  # index of `helm`
    subcommand: str  # "upgrade", "diff upgrade", "dependency build", "template" ...
    release: str | None
    chart: str | None
    namespace: str | None
    version: str | None
    values_files: tuple[str, ...]
    set_flags: tuple[SetFlag, ...]
    flags: tuple[FlagUse, ...]  # every flag in order, values and set flags included
    positionals: tuple[int, ...]  # word indexes after the subcommand
    release_word: int | None
    chart_word: int | None
    repo: str | None = None  # --repo URL
    unresolved: tuple[str, ...] = ()  # parts built at run time: "chart", "release", "namespace"

    @property
    def verb(self) -> str:
        return self.subcommand.rsplit(" ", 1)[-1]

    def flag_uses(self, *names: str) -> tuple[FlagUse, ...]:
        return tuple(f for f in self.flags if f.name in names)

    @property
    def other_flags(self) -> tuple[FlagUse, ...]:
        known = {"--namespace", "--version", "--values", "--repo", *_SET_KINDS}
        return tuple(f for f in self.flags if f.name not in known)


def is_helm_word(value: str, variables: Mapping[str, str] | None = None) -> bool:
    """Whether a command word runs helm: `helm`, an alias (`helm2`, `helm3`, `/usr/bin/helm`),
    or a variable holding one (`$HELM`, `${HELM_BIN}`). A variable the file assigns is judged by
    its value; one it does not is taken for helm when its name says so."""
    if _HELM_BINARY.fullmatch(value.rsplit("/", 1)[-1]):
        return True
    variable = _VARIABLE_WORD.fullmatch(value)
    if variable is None:
        return False
    name = variable.group(1) or variable.group(2)
    known = (variables or {}).get(name)
    if known is not None:
        first = known.split(None, 1)[0] if known.strip() else ""
        return bool(_HELM_BINARY.fullmatch(first.rsplit("/", 1)[-1]))
    return value in HELM_NAMES or "HELM" in name.upper()


def parse_helm_command(
    text: str, variables: Mapping[str, str] | None = None, folded: bool = False
) -> ParsedHelm | None:
    """Parse one helm command, or None when `text` is not a helm command.

    `variables` are values known statically (CI `variables:`, make variables): release, chart,
    namespace, version and values files that use them are substituted; names absent from it make
    the part unresolved. `--set` values are never substituted: they stay flags (`dynamic`).
    """
    words = tuple(w for w in tokenize(text, folded) if w.value != "\n" or not w.operator)
    found = _find_helm(words, variables or {})
    if found is None:
        return None
    command_word, env = found
    arguments = _read_arguments(words, command_word + 1)
    if not arguments.subcommand:
        return None
    sub = _canonical_subcommand(arguments.subcommand)
    release_word, chart_word = _roles(sub[-1], arguments.positionals,
                                      any(f.name == "--generate-name" for f in arguments.flags))
    known = {**(variables or {}), **dict(env)}
    unresolved: list[str] = []
    named = _helm2_name(sub[-1], arguments)
    if named is not None:
        release_word, chart_word = None, arguments.positionals[0]
    release = _positional_value(words, release_word, "release", known, unresolved)
    if named is not None:
        release = _positional_value(words, named, "release", known, unresolved)
    chart = _positional_value(words, chart_word, "chart", known, unresolved)
    options = _read_options(words, arguments.flags, known, unresolved)
    return ParsedHelm(
        text=text,
        words=words,
        env=env,
        command_word=command_word,
        subcommand=" ".join(sub),
        release=release,
        chart=chart,
        namespace=options.namespace,
        version=options.version,
        values_files=options.values_files,
        set_flags=options.set_flags,
        flags=arguments.flags,
        positionals=arguments.positionals,
        release_word=release_word,
        chart_word=chart_word,
        repo=options.repo,
        unresolved=tuple(unresolved),
    )


def _find_helm(words: tuple[Word, ...], variables: Mapping[str, str]
               ) -> tuple[int, tuple[tuple[str, str], ...]] | None:
    """The index of the `helm` word and the assignments before it, or None when the command is
    another program. Wrappers and shell keywords before it (`exec`, `if`, `sudo` ...) are skipped.
    """
    env: list[tuple[str, str]] = []
    i = 0
    while i < len(words):
        assigned = assignment(words[i])
        if assigned is not None:
            env.append(assigned)
        elif words[i].value not in _PREFIXES or words[i].quoted:
            break
        i += 1
    if i >= len(words) or words[i].operator or not is_helm_word(words[i].value, variables):
        return None
    return i, tuple(env)


@dataclass(frozen=True)
class _Arguments:
    """The words after `helm`, sorted into subcommand words, flags and positional words."""

    subcommand: tuple[str, ...]
    flags: tuple[FlagUse, ...]
    positionals: tuple[int, ...]


def _read_arguments(words: tuple[Word, ...], i: int) -> _Arguments:
    """Walk the words from `i` to the end of the command, skipping redirections."""
    flags: list[FlagUse] = []
    positionals: list[int] = []
    sub: list[str] = []
    while i < len(words):
        w = words[i]
        if w.operator:
            if w.value not in REDIRECTS:
                break
            i += 2  # the redirection and its target
        elif _is_fd_redirection(words, i):
            i += 3  # `2>/dev/null`: file descriptor, redirection, target
        elif w.value.startswith("-") and len(w.value) > 1 and (
                not w.quoted or w.value.startswith("--")):  # `--version="$V"` is a flag
            flag, used = _read_flag(words, i)
            flags.append(flag)
            i += used
        else:
            if not sub or (len(sub) == 1 and sub[0] in _TWO_WORD):
                sub.append(w.value)
            else:
                positionals.append(i)
            i += 1
    return _Arguments(tuple(sub), tuple(flags), tuple(positionals))


def _helm2_name(verb: str, arguments: _Arguments) -> int | None:
    """The word holding the release of a Helm 2 `helm install <chart> --name <release>`."""
    if verb != "install" or len(arguments.positionals) != 1:
        return None
    named = [f for f in arguments.flags if f.name == "--name" and len(f.words) == 2]
    return named[-1].words[1] if named else None


def _is_fd_redirection(words: tuple[Word, ...], i: int) -> bool:
    """Whether word `i` is the file descriptor of a redirection written against it (`2>`)."""
    nxt = words[i + 1] if i + 1 < len(words) else None
    return (nxt is not None and nxt.value in REDIRECTS and nxt.start == words[i].end
            and words[i].value.isdigit())


def _read_flag(words: tuple[Word, ...], i: int) -> tuple[FlagUse, int]:
    """The flag at word `i` and how many words it occupies (two when its value is the next)."""
    raw = words[i].value
    if raw.startswith("--"):
        name, eq, attached = raw.partition("=")
        if eq:
            return FlagUse(name, attached, (i,)), 1
    else:
        short = raw[:2]
        name = _SHORT.get(short, short)
        rest = raw[2:]
        if rest:
            return FlagUse(name, rest[1:] if rest.startswith("=") else rest, (i,)), 1
    if name in _VALUE_FLAGS and i + 1 < len(words) and not words[i + 1].operator:
        return FlagUse(name, words[i + 1].value, (i, i + 1)), 2
    return FlagUse(name, None, (i,)), 1


def _canonical_subcommand(words: tuple[str, ...]) -> tuple[str, ...]:
    return ("dependency", *words[1:]) if words[0] == "dep" else words


def _roles(verb: str, positionals: tuple[int, ...],
           generate_name: bool) -> tuple[int | None, int | None]:
    """Which positional words are the release and the chart, for this subcommand."""
    first = positionals[0] if positionals else None
    second = positionals[1] if len(positionals) > 1 else None
    if verb in ("upgrade", "install"):
        return (None, first) if generate_name and second is None else (first, second)
    if verb == "template":
        return (None, first) if second is None else (first, second)
    if verb in _CHART_ONLY:
        return None, first
    if verb in _RELEASE_ONLY:
        return first, None
    return None, None


def _positional_value(words: tuple[Word, ...], index: int | None, role: str,
                      known: Mapping[str, str], unresolved: list[str]) -> str | None:
    """The value of the release or chart word, substituted; as written when it cannot be."""
    if index is None:
        return None
    return _resolved_or_mark(_resolved(words[index], known), words[index].value, role, unresolved)


def _resolved(word: Word, known: Mapping[str, str]) -> str | None:
    return word.value if not word.expansions else word.expand(known)


def _resolved_or_mark(full: str | None, raw: str, name: str, unresolved: list[str]) -> str:
    if full is None:
        unresolved.append(name)
        return raw
    return full


@dataclass(frozen=True)
class _Options:
    """What the flags say about the deployment (of a repeated --namespace, --version or --repo,
    the last wins, as in helm)."""

    namespace: str | None = None
    version: str | None = None
    repo: str | None = None
    values_files: tuple[str, ...] = ()
    set_flags: tuple[SetFlag, ...] = ()


def _read_options(words: tuple[Word, ...], flags: tuple[FlagUse, ...],
                  known: Mapping[str, str], unresolved: list[str]) -> _Options:
    """Namespace, version, repo, values files and set flags, in the order the flags come."""
    single: dict[str, str] = {}
    values_files: list[str] = []
    set_flags: list[SetFlag] = []
    for flag in flags:
        value = flag.value
        if value is None:
            continue
        value_word = words[flag.words[-1]]
        separate = len(flag.words) > 1
        # An attached value (`--namespace=$NS`) shares its word with the flag name, whose
        # expansion would not be the value alone: it is kept as written.
        full = _resolved(value_word, known) if separate else value
        if flag.name in ("--namespace", "--version", "--repo"):
            role = flag.name.removeprefix("--")
            single[role] = _resolved_or_mark(full, value, role, unresolved)
        elif flag.name == "--values":
            partial = value_word.expand_known(known) if separate else value
            got = _resolved_or_mark(full, partial, "values", unresolved)
            values_files.extend(p for p in got.split(",") if p)
        elif flag.name in _SET_KINDS:
            set_flags.extend(_set_flags(_SET_KINDS[flag.name], value, value_word))
    return _Options(namespace=single.get("namespace"), version=single.get("version"),
                    repo=single.get("repo"), values_files=tuple(values_files),
                    set_flags=tuple(set_flags))


def _set_flags(kind: SetKind, value: str, value_word: Word) -> list[SetFlag]:
    # A pair is dynamic when the shell expands something in the word and that something is in
    # this pair: in `a=$SHA,b=3` only `a` changes per run, and `'a=$X'` reaches helm as written.
    return [SetFlag(kind, k, v, value_word.dynamic and _is_dynamic_text(v))
            for k, v in split_set_value(value, kind)]


def _is_dynamic_text(value: str) -> bool:
    return bool(_DYNAMIC_TEXT.search(value))


def split_set_value(value: str, kind: SetKind) -> list[tuple[str, str]]:
    """Split a --set style value into (key, value) pairs like helm does.

    Helm splits on commas that are not escaped and not inside `{...}` list literals (and, for
    --set-json, not inside JSON brackets or strings); --set-literal takes the value whole.
    """
    if kind == "set-literal":
        key, _, val = value.partition("=")
        return [(key, val)]
    parts: list[str] = []
    depth = 0
    in_string = False
    current: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            current.append(value[i + 1])  # helm takes an escaped character literally
            i += 2
            continue
        if kind == "set-json" and ch == '"':
            in_string = not in_string
        elif not in_string and ch in "{[":
            depth += 1
        elif not in_string and ch in "}]" and depth:
            depth -= 1
        elif ch == "," and depth == 0 and not in_string:
            parts.append("".join(current))
            current = []
            i += 1
            continue
        current.append(ch)
        i += 1
    parts.append("".join(current))
    pairs = []
    for part in parts:
        if not part:
            continue
        key, _, val = part.partition("=")
        pairs.append((key, val))
    return pairs
