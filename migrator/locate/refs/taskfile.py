"""Helm commands in Taskfiles (go-task: `Taskfile.yml`, `tasks/Taskfile.cluster.yaml`...).

A task's `cmds:` are shell commands (strings, or `cmd:` entries); its `dir:` is where they run.
Task renders `{{.VAR}}` in a command before the shell sees it: such a command is read (release,
chart) but left for a person. Static `vars:`/`env:` of the file and the task are known variables.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from migrator.locate.refs.common import ScriptLine, helm_invocations_in_script
from migrator.locate.refs.filerefs import FileRefs
from migrator.locate.refs.gitlabci import script_lines
from migrator.locate.refs.lenient import TASK
from migrator.locate.refs.yamlpos import Located, load_text, read_text
from migrator.model import HelmInvocation

_NAMES = re.compile(r"(^|/)[Tt]askfile[^/]*\.ya?ml$")


def wants(rel: str) -> bool:
    return bool(_NAMES.search(rel))


def read(root: Path, rel: str) -> FileRefs:
    text = read_text(root, rel)  # read once: parsed here, its lines located below
    loaded = load_text(text, rel, TASK)
    doc = next((d for d in loaded.docs if isinstance(d, dict)), None)
    if doc is None or not isinstance(doc.get("tasks"), dict):
        return FileRefs((), loaded.notices)
    lines = text.splitlines()
    known = {**_static(doc.get("vars")), **_static(doc.get("env"))}
    found: list[HelmInvocation] = []
    for name, task in doc["tasks"].items():
        if isinstance(task, dict):
            found.extend(_task(root, rel, lines, str(name), task, known))
    return FileRefs(tuple(found), loaded.notices)


def _task(root: Path, rel: str, lines: list[str], name: str, task: Mapping[str, Any],
          known: Mapping[str, str]) -> Iterator[HelmInvocation]:
    script: list[ScriptLine] = []
    for item in task.get("cmds") or []:
        command = item.get("cmd") if isinstance(item, dict) else item
        if isinstance(command, Located):
            script.extend(script_lines(command, lines))
    variables = {**known, **_static(task.get("vars")), **_static(task.get("env"))}
    for found in helm_invocations_in_script(
            script, variables, source="taskfile", context=name, environment=None,
            cwd=_directory(root, rel, task.get("dir"))):
        if "{{" in found.text:
            found = replace(found, rewritable=False, why=(
                "Task renders `{{...}}` in the command at run time: rewrite it by hand"))
        yield found


def _directory(root: Path, rel: str, value: Any) -> str | None:
    """The repo-relative folder a task runs in: its `dir:` read from the Taskfile's folder, or,
    for a Taskfile included from the root one, from the repository root where that exists."""
    if not isinstance(value, str) or not value or "{{" in value or value.startswith("/"):
        return None
    here = posixpath.normpath(posixpath.join(posixpath.dirname(rel), value))
    if (root / here).is_dir() or posixpath.dirname(rel) == "":
        return here
    top = posixpath.normpath(value)
    return top if (root / top).is_dir() else here


def _static(block: Any) -> dict[str, str]:
    if not isinstance(block, dict):
        return {}
    return {str(k): str(v) for k, v in block.items()
            if isinstance(v, str | int | float) and not isinstance(v, bool) and "{{" not in str(v)}
