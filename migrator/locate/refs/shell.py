"""Helm commands in shell scripts (`*.sh`, `*.bash`, and files with a sh/bash shebang).

Assignments are followed top to bottom (`CHART_DIR="${CHART_DIR:-./chart}"` gives `./chart`);
control flow is not: a value set in one branch counts for the rest of the file. The context of a
command is the function it sits in.

A script that finds its own folder (`cd "$(dirname "$0")"`, `here=$(cd "$(dirname "$0")" &&
pwd)`, `"$(dirname "${BASH_SOURCE[0]}")/chart"`) names paths relative to where it is written,
not to where it is run: those spellings stand for the script's folder in the repository, and
`$(git rev-parse --show-toplevel)` for its top.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import replace
from pathlib import Path

from migrator.locate.refs.common import ScriptLine, helm_invocations_in_script
from migrator.locate.refs.filerefs import FileRefs
from migrator.locate.refs.walk import head, read_script
from migrator.locate.shellwords import split_command_spans, tokenize
from migrator.model import HelmInvocation

_SHEBANG = re.compile(r"^#!\s*/\S*(?:/env\s+)?(?:ba|da|z|k)?sh\b")
_FUNCTION = re.compile(r"^\s*(?:function\s+([A-Za-z_][\w:-]*)|([A-Za-z_][\w:-]*)\s*\(\s*\))")

# "this script's path" and "its folder", once quotes, redirections and spacing are removed
_SELF = r"(?:\$\{?0\}?|\$\{?BASH_SOURCE(?:\[0\])?\}?)"
_SELF_RESOLVED = rf"(?:{_SELF}|\$\((?:realpath|readlink -[fem]) {_SELF}\))"
_DIRNAME = rf"(?:\$\(dirname {_SELF_RESOLVED}\)|`dirname {_SELF_RESOLVED}`)"
_SCRIPT_DIR = re.compile(
    rf"{_DIRNAME}"
    rf"|\$\(cd (?:-P )?{_DIRNAME} ?(?:&&|;) ?pwd(?: -P)?\)"
    rf"|\$\((?:realpath|readlink -[fem]) {_DIRNAME}\)"
    r"|\$\{(?:0|BASH_SOURCE(?:\[0\])?)%/\*\}"
)
_TOPLEVEL = re.compile(r"\$\(git rev-parse --show-toplevel\)|`git rev-parse --show-toplevel`")


def wants(rel: str) -> bool:
    return rel.endswith((".sh", ".bash")) or "." not in rel.rsplit("/", 1)[-1]


def read(root: Path, rel: str) -> FileRefs:
    if not rel.endswith((".sh", ".bash")) and not _SHEBANG.match(head(root, rel)):
        return FileRefs()
    return FileRefs(tuple(shell_invocations(rel, read_script(root, rel))))


def shell_invocations(rel: str, text: str) -> list[HelmInvocation]:
    lines = text.split("\n")
    out: list[HelmInvocation] = []
    functions = _function_of_line(lines)
    script = [ScriptLine(rel, off + 1, text[s:e]) for off, s, e in split_command_spans(text)]
    for found in helm_invocations_in_script(
        script, {}, source="shell", context="", environment=None,
        script_dir=folder_spellings(rel, text),
    ):
        out.append(replace(found, context=functions[found.line - 1]))
    return out


def folder_spellings(rel: str, text: str) -> dict[str, str]:
    """The expansions in `text` that give the script's own folder or the repository's top
    (`$(git rev-parse --show-toplevel)`), exactly as written, and that folder as the shell gives
    it: absolute, from the repository root (`/deploy`), whatever `cd` did before."""
    found: dict[str, str] = {}
    for word in tokenize(text):
        for exp in word.expansions:
            written = word.value[exp.start : exp.end]
            plain = _plain(written)
            if exp.name is None and _SCRIPT_DIR.fullmatch(plain):
                found[written] = "/" + posixpath.dirname(rel)
            elif exp.name is None and _TOPLEVEL.fullmatch(plain):
                found[written] = "/"
    return found


def _plain(expansion: str) -> str:
    text = re.sub(r"""["']""", "", expansion)
    text = re.sub(r"\s*\d*>\s*&?\s*(?:/dev/null|\d)", "", text)  # >/dev/null 2>&1
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\(\s+", "(", text)
    return re.sub(r"\s+\)", ")", text)


def _function_of_line(lines: list[str]) -> list[str]:
    """For each line, the shell function defined around it ("" at top level)."""
    out: list[str] = []
    current = ""
    depth = 0
    for line in lines:
        stripped = line.split("#", 1)[0]
        header = _FUNCTION.match(line)
        if header and depth == 0:
            current = header.group(1) or header.group(2)
        out.append(current)
        depth += stripped.count("{") - stripped.count("}")
        if depth <= 0:
            depth = 0
            if not header:
                current = "" if "}" in stripped else current
    return out
