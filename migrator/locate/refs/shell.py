"""Helm commands in shell scripts (`*.sh`, `*.bash`, and files with a sh/bash shebang).

Assignments are followed top to bottom (`CHART_DIR="${CHART_DIR:-./chart}"` gives `./chart`);
control flow is not: a value set in one branch counts for the rest of the file. The context of a
command is the function it sits in.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from migrator.locate.refs.common import ScriptLine, helm_invocations_in_script
from migrator.locate.refs.walk import repo_files
from migrator.locate.shellwords import split_command_spans
from migrator.model import HelmInvocation

_SHEBANG = re.compile(r"^#!\s*/\S*(?:/env\s+)?(?:ba|da|z|k)?sh\b")
_FUNCTION = re.compile(r"^\s*(?:function\s+([A-Za-z_][\w:-]*)|([A-Za-z_][\w:-]*)\s*\(\s*\))")


def find_shell_references(root: Path) -> tuple[HelmInvocation, ...]:
    found: list[HelmInvocation] = []
    for rel in repo_files(root):
        path = root / rel
        if rel.endswith((".sh", ".bash")) or ("." not in rel.rsplit("/", 1)[-1] and _shebang(path)):
            text = path.read_text(encoding="utf-8", errors="replace")
            found.extend(shell_invocations(rel, text))
    return tuple(found)


def _shebang(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.readline(200).decode("utf-8", errors="replace")
    except OSError:
        return False
    return bool(_SHEBANG.match(head))


def shell_invocations(rel: str, text: str) -> list[HelmInvocation]:
    lines = text.split("\n")
    out: list[HelmInvocation] = []
    functions = _function_of_line(lines)
    script = [ScriptLine(rel, off + 1, text[s:e]) for off, s, e in split_command_spans(text)]
    for found in helm_invocations_in_script(
        script, {}, source="shell", context="", environment=None
    ):
        out.append(_with_context(found, functions[found.line - 1]))
    return out


def _with_context(inv: HelmInvocation, context: str) -> HelmInvocation:
    return replace(inv, context=context)


def _function_of_line(lines: list[str]) -> list[str]:
    """For each line, the shell function defined around it ("" at top level)."""
    out: list[str] = []
    current = ""
    depth = 0
    for line in lines:
        stripped = line.split("#", 1)[0]
        header = re.match(
            r"^\s*(?:function\s+([A-Za-z_][\w:-]*)|([A-Za-z_][\w:-]*)\s*\(\s*\))", line
        )
        if header and depth == 0:
            current = header.group(1) or header.group(2)
        out.append(current)
        depth += stripped.count("{") - stripped.count("}")
        if depth <= 0:
            depth = 0
            if not header:
                current = "" if "}" in stripped else current
    return out
