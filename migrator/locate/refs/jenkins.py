"""Helm commands in Jenkinsfiles: the shell scripts of `sh` steps, where they run.

A Jenkinsfile is Groovy; it is not run, only scanned: each `sh '...'`, `sh "..."`, the
triple-quoted forms and `sh(script: '...')` is a shell script read like any other.
`dir('x') { ... }` blocks (nested ones add up) give the directory the script runs in, relative to
the workspace (the repository root); the enclosing `stage('name')` is the context. Static
`NAME = 'value'` lines of `environment { }` blocks are known variables; Groovy's own `${...}`
interpolation is a run-time value like a shell variable.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from migrator.locate.refs.common import ScriptLine, helm_invocations_in_script
from migrator.locate.refs.filerefs import FileRefs
from migrator.locate.refs.walk import read_script
from migrator.locate.shellwords import split_command_spans
from migrator.model import HelmInvocation

_SH = re.compile(
    r"\bsh\b\s*\(?\s*"
    r"(?:(?:label|returnStdout|returnStatus|encoding)\s*:\s*[^,()]+,\s*)*"
    r"(?:script\s*:\s*)?"
    r"(?P<quote>'''|\"\"\"|'|\")"
)
_BLOCK = re.compile(r"\b(?P<kind>dir|stage)\s*\(\s*(?P<q>['\"])(?P<arg>[^'\"\n]*)(?P=q)\s*\)\s*\{")
_ENVIRONMENT = re.compile(r"\benvironment\s*\{")
_ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(['\"])([^'\"$\\]*)\2\s*$", re.M)
_UNESCAPE = re.compile(r"\\([\\'\"$])")


def wants(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return name == "Jenkinsfile" or name.startswith("Jenkinsfile.") or name.endswith(
        (".jenkinsfile", ".Jenkinsfile"))


def read(root: Path, rel: str) -> FileRefs:
    return FileRefs(tuple(jenkins_invocations(rel, read_script(root, rel))))


@dataclass(frozen=True)
class _Block:
    kind: str  # "dir" or "stage"
    arg: str
    start: int  # offset of the `{`
    end: int  # offset of the matching `}`


def jenkins_invocations(rel: str, text: str) -> Iterator[HelmInvocation]:
    blocks = _blocks(text)
    variables = _environment(text)
    for match in _SH.finditer(text):
        if _in_comment(text, match.start()):
            continue
        quote = match.group("quote")
        start = match.end()
        end = _string_end(text, start, quote)
        if end is None:
            continue
        script = _UNESCAPE.sub(r"\1", text[start:end])
        around = [b for b in blocks if b.start < match.start() < b.end]
        directory = ""
        for block in sorted((b for b in around if b.kind == "dir"), key=lambda b: b.start):
            directory = posixpath.normpath(posixpath.join(directory, block.arg))
        stages = [b.arg for b in sorted(around, key=lambda b: b.start) if b.kind == "stage"]
        first_line = text.count("\n", 0, start) + 1
        lines = [ScriptLine(rel, first_line + off, script[s:e])
                 for off, s, e in split_command_spans(script)]
        yield from helm_invocations_in_script(
            lines, variables, source="jenkins", context=stages[-1] if stages else "",
            environment=None,
            cwd=None if directory in ("", ".") or directory.startswith("..") else directory,
        )


def _string_end(text: str, start: int, quote: str) -> int | None:
    """Offset of the closing quote of a Groovy string whose content starts at `start`."""
    pos = start
    while pos < len(text):
        if text[pos] == "\\":
            pos += 2
            continue
        if text.startswith(quote, pos):
            return pos
        if len(quote) == 1 and text[pos] == "\n":
            return None  # a one-line string cannot span lines
        pos += 1
    return None


def _blocks(text: str) -> list[_Block]:
    out = []
    for match in _BLOCK.finditer(text):
        if _in_comment(text, match.start()):
            continue
        brace = match.end() - 1
        out.append(_Block(match.group("kind"), match.group("arg"), brace,
                          _matching_brace(text, brace)))
    return out


def _matching_brace(text: str, brace: int) -> int:
    """Offset of the `}` closing the `{` at `brace`, skipping strings and comments."""
    depth = 0
    pos = brace
    while pos < len(text):
        ch = text[pos]
        if text.startswith(("'''", '"""'), pos):
            end = text.find(text[pos : pos + 3], pos + 3)
            pos = len(text) if end < 0 else end + 3
            continue
        if ch in "'\"":
            closing = _string_end(text, pos + 1, ch)
            pos = pos + 1 if closing is None else closing + 1
            continue
        if text.startswith("//", pos):
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end
            continue
        if text.startswith("/*", pos):
            end = text.find("*/", pos + 2)
            pos = len(text) if end < 0 else end + 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return pos
        pos += 1
    return len(text)


def _environment(text: str) -> dict[str, str]:
    """Static `NAME = 'value'` lines of the `environment { }` blocks."""
    out: dict[str, str] = {}
    for match in _ENVIRONMENT.finditer(text):
        end = _matching_brace(text, match.end() - 1)
        for name, _, value in _ASSIGN.findall(text[match.end() : end]):
            out[name] = value
    return out


def _in_comment(text: str, pos: int) -> bool:
    line_start = text.rfind("\n", 0, pos) + 1
    return "//" in text[line_start:pos] or text[line_start:pos].lstrip().startswith("*")
