"""Definitions the rewrite left unused: `CHART := ./chart` once no command reads `$(CHART)`.

A deploy file often names the chart once, in a variable, and uses the variable in its helm
commands. The rewrite replaces the uses; the definition would stay behind, naming a folder the
change set deletes. A definition goes when the rewrite removed every use of it, its value names
what is removed, and nothing outside the file can read it (not exported, no make `include`, no
`__all__`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_MAKE_DEF = re.compile(r"^(?:override\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(?:::=|:=|\?=|\+=|=)(.*)$")
_SHELL_DEF = re.compile(r"^\s*(?:local\s+|readonly\s+)?([A-Za-z_][A-Za-z0-9_]*)="
                        r"(\"[^\"\n]*\"|'[^'\n]*'|[^\s;&|\"'`]*)\s*(?:#.*)?$")
_PYTHON_DEF = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*str\s*)?=\s*"
                         r"(\"[^\"\n]*\"|'[^'\n]*')\s*(?:#.*)?$")
_MAKE_SHARES = re.compile(r"^(?:-?include|sinclude)\s|^\.EXPORT_ALL_VARIABLES\b|^export\s*$",
                          re.MULTILINE)


def drop_dead_definitions(before: str, after: str, source: str, names: Sequence[str]) -> str:
    """`after` (the rewrite of `before`) without the definitions only the rewritten commands
    used. `source`: the file's kind ("makefile", "shell", "python"); `names`: what the change
    set removes (a definition's value must name one of them)."""
    if source == "makefile":
        if _MAKE_SHARES.search(after):
            return after
        definition = _MAKE_DEF
    elif source == "shell":
        definition = _SHELL_DEF
    elif source == "python":
        definition = _PYTHON_DEF
    else:
        return after
    lines = after.split("\n")
    defined: dict[str, list[int]] = {}
    for index, line in enumerate(lines):
        m = definition.match(line)
        if m and any(n and n in m.group(2) for n in names):
            defined.setdefault(m.group(1), []).append(index)
    dead: set[int] = set()
    for name, rows in defined.items():
        if _exported(after, name, source):
            continue
        if _used(before, name, definition) and not _used(after, name, definition):
            dead.update(rows)
    if not dead:
        return after
    return "\n".join(line for index, line in enumerate(lines) if index not in dead)


def _used(text: str, name: str, definition: re.Pattern[str]) -> bool:
    word = re.compile(r"(?<![\w.-])" + re.escape(name) + r"(?![\w-])")
    for line in text.split("\n"):
        m = definition.match(line)
        rest = line[m.end(1):] if m and m.group(1) == name else line
        if word.search(rest):
            return True
    return False


def _exported(text: str, name: str, source: str) -> bool:
    if source == "python":
        return "__all__" in text
    return re.search(r"(?m)^\s*(?:export|declare\s+-\w*x\w*)\s+(?:\w+\s+)*" + re.escape(name)
                     + r"\b", text) is not None
