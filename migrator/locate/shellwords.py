"""Split shell text into words the way a POSIX shell reads it.

A small tokenizer instead of `shlex`: `shlex` splits `$(git rev-parse HEAD)` into three words and
forgets which characters were quoted, and rewriting needs both the exact span of every word in the
source text and which parts of it expand at run time. Quoting follows POSIX rules (single quotes
literal, double quotes keep `$`, backslash escapes, backslash-newline joins lines, `#` starts a
comment at the start of a word).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)
_DEFAULTED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):?-(.*)", re.DOTALL)
_OPERATORS = ("&&", "||", ";;", ";", "&", "|", "(", ")")
REDIRECTS = ("<<<", "<<", ">>", ">&", "<&", "&>", ">|", "<", ">")
_SEPARATORS = {"\n", ";", "&&", "||", "|", "&", "(", ")", ";;"}
_OPERATOR_STARTS = frozenset(op[0] for op in (*_OPERATORS, *REDIRECTS))
_PLAIN_RUN = re.compile(r"[^ \t\r\n\\'\"$`&|;()<>]+")  # what `_read_word` takes literally


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
        A command substitution is known when `variables` has its exact text as a key.

        With `use_defaults`, `${NAME:-word}` of an unknown NAME gives `word` (used for script
        assignments such as `CHART="${CHART:-./chart}"`, whose default is the script's choice).
        """
        out: list[str] = []
        pos = 0
        for exp in self.expansions:
            # a command substitution is known by its text (`$(dirname "$0")` in a script)
            key = exp.name if exp.name is not None else self.value[exp.start : exp.end]
            if key in variables:
                replacement = variables[key]
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
            name = exp.name if exp.name is not None else self.value[exp.start : exp.end]
            if name in variables:
                out.append(variables[name])
            else:
                out.append(self.value[exp.start : exp.end])
            pos = exp.end
        out.append(self.value[pos:])
        return "".join(out)


def assignment(word: Word) -> tuple[str, str] | None:
    """(name, value) when `word` is a variable assignment (`FOO=bar`), else None."""
    if word.operator:
        return None
    match = _ASSIGNMENT.match(word.value)
    return (match.group(1), match.group(2)) if match else None


def tokenize(text: str, folded: bool = False) -> list[Word]:
    """Split shell text into words and operators; newlines become `\\n` operators.

    `folded` reads text the way YAML folds a multi-line plain or `>` scalar: line breaks are
    spaces (used to find a command's words where the file spells them across lines).
    """
    return list(_tokenized(text, folded))


def forget() -> None:
    """Drop the words kept of the texts read so far: a planning worker, done with a repo,
    would otherwise hold every command of every repo it planned."""
    _tokenized.cache_clear()


@functools.lru_cache(maxsize=4096)
def _tokenized(text: str, folded: bool) -> tuple[Word, ...]:
    """`tokenize`, kept: each command is looked at several times (an assignment? a `cd`? helm?
    a script handed to another shell?), and a large CI file has thousands."""
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
    return tuple(words)


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


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self, n: int = 0) -> str:
        i = self.pos + n
        return self.text[i] if i < len(self.text) else ""

    def startswith(self, s: str) -> bool:
        return self.text.startswith(s, self.pos)


def _operator_at(sc: _Scanner) -> str:
    if sc.peek() not in _OPERATOR_STARTS:  # most characters: skip the comparisons below
        return ""
    for op in REDIRECTS:
        if sc.startswith(op):
            return op
    for op in _OPERATORS:
        if sc.startswith(op):
            return op
    return ""


@dataclass
class _Parts:
    """A word being read: its value so far and where the expansions sit in it."""

    value: list[str] = field(default_factory=list)
    expansions: list[Expansion] = field(default_factory=list)
    quoted: bool = False

    def literal(self, text: str) -> None:
        self.value.append(text)

    def expansion(self, src: str, name: str | None, default: str | None = None) -> None:
        at = sum(len(v) for v in self.value)
        self.value.append(src)
        self.expansions.append(Expansion(at, at + len(src), name, default))


def _read_word(sc: _Scanner) -> Word:
    text = sc.text
    start = sc.pos
    parts = _Parts()
    while sc.pos < len(text):
        ch = sc.peek()
        if ch in " \t\r\n" or (_operator_at(sc) and not sc.startswith("$")):
            break
        if sc.startswith("\\\n"):
            sc.pos += 2
        elif ch == "\\":
            parts.quoted = True
            parts.literal(sc.peek(1))
            sc.pos += 2
        elif ch == "'":
            parts.quoted = True
            end = text.find("'", sc.pos + 1)
            end = len(text) if end < 0 else end
            parts.literal(text[sc.pos + 1 : end])
            sc.pos = end + 1
        elif ch == '"':
            parts.quoted = True
            _read_double_quoted(sc, parts)
        elif ch == "$":
            _read_dollar_into(sc, parts)
        elif ch == "`":
            _read_backticks_into(sc, parts)
        else:  # a run of characters with no meaning to the shell, at once
            run = _PLAIN_RUN.match(text, sc.pos)
            end = run.end() if run else sc.pos + 1
            parts.literal(text[sc.pos:end])
            sc.pos = end
    return Word("".join(parts.value), start, sc.pos, tuple(parts.expansions), quoted=parts.quoted)


def _read_double_quoted(sc: _Scanner, parts: _Parts) -> None:
    """Read `"..."` from its opening quote to just after its closing one."""
    sc.pos += 1
    while sc.pos < len(sc.text) and sc.peek() != '"':
        c = sc.peek()
        if c == "\\" and sc.peek(1) in '$`"\\\n':
            if sc.peek(1) != "\n":
                parts.literal(sc.peek(1))
            sc.pos += 2
        elif c == "$":
            _read_dollar_into(sc, parts)
        elif c == "`":
            _read_backticks_into(sc, parts)
        else:
            parts.literal(c)
            sc.pos += 1
    sc.pos += 1


def _read_dollar_into(sc: _Scanner, parts: _Parts) -> None:
    src, name, default = _read_dollar(sc)
    if name == "":
        parts.literal(src)
    else:
        parts.expansion(src, name, default)


def _read_backticks_into(sc: _Scanner, parts: _Parts) -> None:
    end = _backtick_end(sc.text, sc.pos)
    parts.expansion(sc.text[sc.pos : end], None)
    sc.pos = end


def _read_dollar(sc: _Scanner) -> tuple[str, str | None, str | None]:
    """Read an expansion starting at `$`: its source text, the variable name if any ("" for a
    lone, literal dollar) and the default word of `${NAME:-word}`."""
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
        if _NAME.fullmatch(inner):
            return text[start : sc.pos], inner, None
        defaulted = _DEFAULTED.fullmatch(inner)
        if defaulted:
            return text[start : sc.pos], defaulted.group(1), defaulted.group(2).strip("\"'")
        return text[start : sc.pos], None, None
    name = _NAME.match(text, sc.pos + 1)
    if name:
        sc.pos = name.end()
        return text[start : sc.pos], name.group(0), None
    nxt = sc.peek(1)
    if nxt and (nxt.isdigit() or nxt in "@*#?$!-"):
        sc.pos += 2
        # positional and special parameters are named by their character: never defined
        # statically, but a rewrite may keep using them (`-f values-$1.yaml`, make's `$*`)
        return text[start : sc.pos], nxt, None
    sc.pos += 1
    return "$", "", None


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
