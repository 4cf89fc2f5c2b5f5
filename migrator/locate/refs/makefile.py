"""Helm commands in Makefile recipes, with make variables defined statically in the Makefile.

Make expands `$(NAME)` before the shell sees the line; a `$(NAME)` is rewritten as `${NAME}` (the
same length, so word positions still point into the file) and resolved from the Makefile's own
`NAME = value` lines. `$$VAR`, automatic variables and `$(shell ...)` stay run-time values.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from pathlib import Path

from migrator.locate.refs.common import ScriptLine, helm_invocations_in_script
from migrator.locate.refs.filerefs import FileRefs
from migrator.locate.refs.walk import read_script
from migrator.locate.shellwords import split_command_spans
from migrator.model import HelmInvocation

_NAMES = ("Makefile", "makefile", "GNUmakefile")
_ASSIGN = re.compile(
    r"^(?:export\s+|override\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(:::=|::=|:=|\?=|\+=|!=|=)\s*(.*)$"
)
_TARGET_VAR = re.compile(r"^([^\t:#=][^:#=]*?)\s*:\s*" + _ASSIGN.pattern[1:])
_RULE = re.compile(r"^([^\t:#=][^:#=]*?)\s*::?(?!=)(.*)$")
_MAKE_REF = re.compile(r"\$[({]([A-Za-z_][A-Za-z0-9_.-]*)[)}]")


def wants(rel: str) -> bool:
    return rel.rsplit("/", 1)[-1] in _NAMES or rel.endswith(".mk")


def read(root: Path, rel: str) -> FileRefs:
    return FileRefs(tuple(makefile_invocations(rel, read_script(root, rel))))


def as_shell(text: str) -> str:
    """Make references `$(NAME)` spelled `${NAME}`: same length, readable by the shell parser."""
    return _MAKE_REF.sub(lambda m: "${" + m.group(1) + "}", text)


def makefile_invocations(rel: str, text: str) -> Iterator[HelmInvocation]:
    lines = text.split("\n")
    variables: dict[str, str | None] = {}
    target_vars: dict[str, dict[str, str | None]] = {}
    recipes: list[tuple[str, int, str]] = []  # target, first line (0-based), recipe text
    target = ""
    i = 0
    while i < len(lines):
        start = i
        while lines[i].endswith("\\") and i + 1 < len(lines):
            i += 1
        logical = "\n".join(lines[start : i + 1])
        i += 1
        if logical.startswith("\t"):
            if target:
                recipes.append((target, start, logical[1:]))
            continue
        tv = _TARGET_VAR.match(logical)
        if tv:
            for name in tv.group(1).split():
                _assign(target_vars.setdefault(name, {}), tv.group(2), tv.group(3), tv.group(4))
            continue
        assign = _ASSIGN.match(logical)
        if assign:
            _assign(variables, assign.group(1), assign.group(2), assign.group(3))
            continue
        rule = _RULE.match(logical)
        if rule and not logical.startswith((" ", "#", "define", "endef", "include", "-include")):
            target = rule.group(1).split()[0]
        elif logical.strip() and not logical.lstrip().startswith("#"):
            target = ""  # a directive or anything else ends the rule
    static = _resolve({k: v for k, v in variables.items()})
    for target_name, first, recipe in recipes:
        local = _resolve({**variables, **target_vars.get(target_name, {})})
        known = {**static, **local}
        shell = as_shell(recipe)
        script = [
            ScriptLine(rel, first + 1 + off, shell[s:e].lstrip("@-+ \t"))
            for off, s, e in split_command_spans(shell)
        ]
        yield from helm_invocations_in_script(
            script, known, source="makefile", context=target_name, environment=None,
            base=posixpath.dirname(rel),
        )


def _assign(into: dict[str, str | None], name: str, op: str, value: str) -> None:
    value = value.split(" #", 1)[0].strip()
    if op == "!=" or "$(shell" in value or "${shell" in value:
        into[name] = None  # computed by a command
    elif op == "+=":
        before = into.get(name, "")
        into[name] = None if before is None else f"{before} {value}".strip()
    elif op == "?=" and name in into:
        return
    else:
        into[name] = value


def _resolve(variables: dict[str, str | None]) -> dict[str, str]:
    """Expand references between variables; variables that stay open are left out."""
    out = {k: v for k, v in variables.items() if v is not None}
    for _ in range(5):
        for name, value in list(out.items()):
            out[name] = _MAKE_REF.sub(lambda m: out.get(m.group(1), m.group(0)), value)
    return {k: v for k, v in out.items() if "$" not in v}
