"""Read helm command lines the way a POSIX shell and helm's flag parser would.

The shell part is a small tokenizer instead of `shlex`: `shlex` splits `$(git rev-parse HEAD)` into
three words and forgets which characters were quoted, and rewriting needs both the exact span of
every word in the source text and which parts of it expand at run time. Quoting follows POSIX
rules (single quotes literal, double quotes keep `$`, backslash escapes, backslash-newline joins
lines, `#` starts a comment at the start of a word).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from migrator.model import SetFlag

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)
_OPERATORS = ("&&", "||", ";;", ";", "&", "|", "(", ")")
_REDIRECTS = ("<<<", "<<", ">>", ">&", "<&", "&>", ">|", "<", ">")


@dataclass(frozen=True)
class Expansion:
    """A run-time expansion inside a word: `$VAR`, `${VAR}`, `$(cmd)` or a backtick command."""

    start: int  # offset in Word.value
    end: int
    name: str | None  # $VAR / ${VAR} name, or "1", "*", "@" ...; None for `$(...)` and backticks
    default: str | None = None  # the word of `${NAME:-word}` / `${NAME-word}`


@dataclass(frozen=True)
class Word:
    """One shell word: its value after quote removal, expansions kept as written."""

    value: str
    start: int  # span of the word in the source text
    end: int
    expansions: tuple[Expansion, ...] = ()
    operator: bool = False  # `;`, `&&`, `|`, a redirection ...
    quoted: bool = False  # some part was quoted or escaped

    @property
    def dynamic(self) -> bool:
        return bool(self.expansions)

    def expand(self, variables: Mapping[str, str], use_defaults: bool = False) -> str | None:
        """The value with every variable substituted, or None when one is unknown or computed.

        With `use_defaults`, `${NAME:-word}` of an unknown NAME gives `word` (used for script
        assignments such as `CHART="${CHART:-./chart}"`, whose default is the script's choice).
        """
        out: list[str] = []
        pos = 0
        for exp in self.expansions:
            if exp.name is not None and exp.name in variables:
                replacement = variables[exp.name]
            elif use_defaults and exp.default is not None and "$" not in exp.default:
                replacement = exp.default
            else:
                return None
            out.append(self.value[pos : exp.start])
            out.append(replacement)
            pos = exp.end
        out.append(self.value[pos:])
        return "".join(out)

    def expand_known(self, variables: Mapping[str, str]) -> str:
        """The value with known variables substituted and the other expansions kept as written."""
        out: list[str] = []
        pos = 0
        for exp in self.expansions:
            out.append(self.value[pos : exp.start])
            name = exp.name
            if name is not None and name in variables:
                out.append(variables[name])
            else:
                out.append(self.value[exp.start : exp.end])
            pos = exp.end
        out.append(self.value[pos:])
        return "".join(out)


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self, n: int = 0) -> str:
        i = self.pos + n
        return self.text[i] if i < len(self.text) else ""

    def startswith(self, s: str) -> bool:
        return self.text.startswith(s, self.pos)


def _read_dollar(sc: _Scanner) -> tuple[str, str | None, str | None]:
    """Read an expansion starting at `$`; return its source text and the variable name if any."""
    text = sc.text
    start = sc.pos
    if sc.startswith("$(("):
        sc.pos = _skip_balanced(text, sc.pos + 3, "((", "))")
        return text[start : sc.pos], None, None
    if sc.startswith("$("):
        sc.pos = _skip_command(text, sc.pos + 2)
        return text[start : sc.pos], None, None
    if sc.startswith("${"):
        end = text.find("}", sc.pos + 2)
        sc.pos = len(text) if end < 0 else end + 1
        inner = text[start + 2 : sc.pos - 1]
        m = _NAME.fullmatch(inner)
        if m:
            return text[start : sc.pos], m.group(0), None
        d = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*):?-(.*)", inner, re.DOTALL)
        if d:
            return text[start : sc.pos], d.group(1), d.group(2).strip("\"'")
        return text[start : sc.pos], None, None
    m = _NAME.match(text, sc.pos + 1)
    if m:
        sc.pos = m.end()
        return text[start : sc.pos], m.group(0), None
    nxt = sc.peek(1)
    if nxt and (nxt.isdigit() or nxt in "@*#?$!-"):
        sc.pos += 2
        # positional and special parameters are named by their character: never defined
        # statically, but a rewrite may keep using them (`-f values-$1.yaml`, make's `$*`)
        return text[start : sc.pos], nxt, None
    sc.pos += 1
    return "$", "", None  # a lone dollar is literal


def _skip_balanced(text: str, pos: int, opening: str, closing: str) -> int:
    depth = 1
    while pos < len(text) and depth:
        if text.startswith(closing, pos):
            depth -= 1
            pos += len(closing)
        elif text.startswith(opening, pos):
            depth += 1
            pos += len(opening)
        else:
            pos += 1
    return pos


def _skip_command(text: str, pos: int) -> int:
    """Position just after the `)` closing a `$(` that starts before `pos`, honouring quotes."""
    depth = 1
    while pos < len(text):
        ch = text[pos]
        if ch == "\\":
            pos += 2
            continue
        if ch == "'":
            end = text.find("'", pos + 1)
            pos = len(text) if end < 0 else end + 1
            continue
        if ch == '"':
            pos = _skip_double(text, pos + 1)
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return pos + 1
        pos += 1
    return pos


def _skip_double(text: str, pos: int) -> int:
    while pos < len(text):
        ch = text[pos]
        if ch == "\\":
            pos += 2
            continue
        if ch == '"':
            return pos + 1
        if text.startswith("$(", pos):
            pos = _skip_command(text, pos + 2)
            continue
        pos += 1
    return pos


def tokenize(text: str, folded: bool = False) -> list[Word]:
    """Split shell text into words and operators; newlines become `\\n` operators.

    `folded` reads text the way YAML folds a multi-line plain or `>` scalar: line breaks are
    spaces (used to find a command's words where the file spells them across lines).
    """
    sc = _Scanner(text)
    words: list[Word] = []
    while sc.pos < len(text):
        ch = sc.peek()
        if ch in " \t\r" or (folded and ch == "\n"):
            sc.pos += 1
            continue
        if sc.startswith("\\\n"):
            sc.pos += 2
            continue
        if ch == "\n":
            words.append(Word("\n", sc.pos, sc.pos + 1, operator=True))
            sc.pos += 1
            continue
        if ch == "#":
            end = text.find("\n", sc.pos)
            sc.pos = len(text) if end < 0 else end
            continue
        op = _operator_at(sc)
        if op:
            words.append(Word(op, sc.pos, sc.pos + len(op), operator=True))
            sc.pos += len(op)
            continue
        words.append(_read_word(sc))
    return words


def _operator_at(sc: _Scanner) -> str:
    for op in _REDIRECTS:
        if sc.startswith(op):
            return op
    for op in _OPERATORS:
        if sc.startswith(op):
            return op
    return ""


def _read_word(sc: _Scanner) -> Word:
    text = sc.text
    start = sc.pos
    value: list[str] = []
    expansions: list[Expansion] = []
    quoted = False

    def add_expansion(src: str, name: str | None, default: str | None = None) -> None:
        at = sum(len(v) for v in value)
        value.append(src)
        expansions.append(Expansion(at, at + len(src), name, default))

    while sc.pos < len(text):
        ch = sc.peek()
        if ch in " \t\r\n" or (_operator_at(sc) and not sc.startswith("$")):
            break
        if sc.startswith("\\\n"):
            sc.pos += 2
            continue
        if ch == "\\":
            quoted = True
            value.append(sc.peek(1))
            sc.pos += 2
            continue
        if ch == "'":
            quoted = True
            end = text.find("'", sc.pos + 1)
            end = len(text) if end < 0 else end
            value.append(text[sc.pos + 1 : end])
            sc.pos = end + 1
            continue
        if ch == '"':
            quoted = True
            sc.pos += 1
            while sc.pos < len(text) and sc.peek() != '"':
                c = sc.peek()
                if c == "\\" and sc.peek(1) in '$`"\\\n':
                    if sc.peek(1) != "\n":
                        value.append(sc.peek(1))
                    sc.pos += 2
                elif c == "$":
                    src, name, default = _read_dollar(sc)
                    if name == "":
                        value.append(src)
                    else:
                        add_expansion(src, name, default)
                elif c == "`":
                    end = _backtick_end(text, sc.pos)
                    add_expansion(text[sc.pos : end], None)
                    sc.pos = end
                else:
                    value.append(c)
                    sc.pos += 1
            sc.pos += 1
            continue
        if ch == "$":
            src, name, default = _read_dollar(sc)
            if name == "":
                value.append(src)
            else:
                add_expansion(src, name, default)
            continue
        if ch == "`":
            end = _backtick_end(text, sc.pos)
            add_expansion(text[sc.pos : end], None)
            sc.pos = end
            continue
        value.append(ch)
        sc.pos += 1
    return Word("".join(value), start, sc.pos, tuple(expansions), quoted=quoted)


def _backtick_end(text: str, pos: int) -> int:
    pos += 1
    while pos < len(text):
        if text[pos] == "\\":
            pos += 2
            continue
        if text[pos] == "`":
            return pos + 1
        pos += 1
    return pos


_SEPARATORS = {"\n", ";", "&&", "||", "|", "&", "(", ")", ";;"}


def split_command_spans(script: str) -> list[tuple[int, int, int]]:
    """(line offset, start, end) of every simple command in a script, in order."""
    spans: list[tuple[int, int, int]] = []
    current: list[Word] = []

    def flush() -> None:
        if current:
            start, end = current[0].start, current[-1].end
            spans.append((script.count("\n", 0, start), start, end))
            current.clear()

    for word in tokenize(script):
        if word.operator and word.value in _SEPARATORS:
            flush()
        else:
            current.append(word)
    flush()
    return spans


def split_commands(script: str) -> list[tuple[int, str]]:
    """(0-based line offset, command text) for each command separated by newlines, `;`, `&&`,
    `||`, `|` or `&`; backslash-newline continuations stay inside one command."""
    return [(line, script[start:end]) for line, start, end in split_command_spans(script)]


# --- helm ----------------------------------------------------------------------------------------

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


def is_helm_word(value: str) -> bool:
    return value in HELM_NAMES or value.rsplit("/", 1)[-1] in ("helm", "helm3")


def parse_helm_command(
    text: str, variables: Mapping[str, str] | None = None, folded: bool = False
) -> ParsedHelm | None:
    """Parse one helm command, or None when `text` is not a helm command.

    `variables` are values known statically (CI `variables:`, make variables): release, chart,
    namespace, version and values files that use them are substituted; names absent from it make
    the part unresolved. `--set` values are never substituted: they stay flags (`dynamic`).
    """
    words = tuple(w for w in tokenize(text, folded) if w.value != "\n" or not w.operator)
    variables = variables or {}
    i = 0
    env: list[tuple[str, str]] = []
    while i < len(words):
        w = words[i]
        m = _ASSIGNMENT.match(w.value)
        if m and not w.operator and _NAME.fullmatch(m.group(1)):
            env.append((m.group(1), m.group(2)))
            i += 1
        elif w.value in _PREFIXES and not w.quoted:
            i += 1
        else:
            break
    if i >= len(words) or words[i].operator or not is_helm_word(words[i].value):
        return None
    command_word = i
    local_vars = {**variables, **dict(env)}

    def resolved(w: Word) -> str | None:
        return w.value if not w.expansions else w.expand(local_vars)

    flags: list[FlagUse] = []
    positionals: list[int] = []
    sub: list[str] = []
    generate_name = False
    i += 1
    while i < len(words):
        w = words[i]
        if w.operator:
            if w.value in _REDIRECTS:
                i += 2  # the redirection and its target
                continue
            break
        nxt = words[i + 1] if i + 1 < len(words) else None
        if nxt and nxt.value in _REDIRECTS and nxt.start == w.end and w.value.isdigit():
            i += 3  # `2>/dev/null`: file descriptor, redirection, target
            continue
        if w.value.startswith("-") and len(w.value) > 1 and not w.quoted:
            flag, used = _read_flag(words, i)
            flags.append(flag)
            if flag.name == "--generate-name":
                generate_name = True
            i += used
            continue
        if not sub or len(sub) == 1 and sub[0] in _TWO_WORD and not positionals:
            sub.append(w.value)
        else:
            positionals.append(i)
        i += 1
    if not sub:
        return None
    if sub[0] == "dep":
        sub[0] = "dependency"
    subcommand = " ".join(sub)
    verb = sub[-1]
    release_word, chart_word = _roles(verb, positionals, generate_name)
    unresolved: list[str] = []

    def role(index: int | None, name: str) -> str | None:
        if index is None:
            return None
        value = resolved(words[index])
        if value is None:
            unresolved.append(name)
            return words[index].value
        return value

    release = role(release_word, "release")
    chart = role(chart_word, "chart")
    namespace = version = repo = None
    values_files: list[str] = []
    set_flags: list[SetFlag] = []
    for flag in flags:
        value = flag.value
        if value is None:
            continue
        value_word = words[flag.words[-1]]
        full = value if len(flag.words) == 1 else resolved(value_word)
        if flag.name == "--namespace":
            namespace = _resolved_or_mark(full, value, "namespace", unresolved)
        elif flag.name == "--version":
            version = _resolved_or_mark(full, value, "version", unresolved)
        elif flag.name == "--repo":
            repo = _resolved_or_mark(full, value, "repo", unresolved)
        elif flag.name == "--values":
            partial = value_word.expand_known(local_vars) if len(flag.words) > 1 else value
            got = _resolved_or_mark(full, partial, "values", unresolved)
            values_files.extend(p for p in got.split(",") if p)
        elif flag.name in _SET_KINDS:
            kind = _SET_KINDS[flag.name]
            set_flags.extend(
                SetFlag(kind, k, v, value_word.dynamic and _is_dynamic_text(v))
                for k, v in split_set_value(value, kind)
            )
    return ParsedHelm(
        text=text,
        words=words,
        env=tuple(env),
        command_word=command_word,
        subcommand=subcommand,
        release=release,
        chart=chart,
        namespace=namespace,
        version=version,
        values_files=tuple(values_files),
        set_flags=tuple(set_flags),
        flags=tuple(flags),
        positionals=tuple(positionals),
        release_word=release_word,
        chart_word=chart_word,
        repo=repo,
        unresolved=tuple(unresolved),
    )


def _resolved_or_mark(full: str | None, raw: str, name: str, unresolved: list[str]) -> str:
    if full is None:
        unresolved.append(name)
        return raw
    return full


_DYNAMIC_TEXT = re.compile(r"\$(\{|\(|[A-Za-z_])|`")


def _is_dynamic_text(value: str) -> bool:
    return bool(_DYNAMIC_TEXT.search(value))


def _read_flag(words: tuple[Word, ...], i: int) -> tuple[FlagUse, int]:
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


def _roles(verb: str, positionals: list[int], generate_name: bool) -> tuple[int | None, int | None]:
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
