"""Releases declared in helmfiles (`helmfile.yaml`, `helmfile.yaml.gotmpl`, `helmfile.d/*`).

A release is reported once per helmfile environment, with `{{ .Environment.Name }}` in its values
paths filled in, so each environment's deploy can be rendered on its own. Paths stay as written:
helmfile reads them relative to the helmfile's directory.

A values entry helmfile renders at run time is not a file name the tool can read: an inline
template (`- {{ toYaml .Values.web | nindent 8 }}`), a path still templated after the environment
is filled in, or a `.gotmpl` file (a template of values). Such a release is reported, left for a
person, with a `Notice(UNRESOLVED)` saying which entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.errors import RepoError
from migrator.locate.refs.filerefs import FileRefs
from migrator.locate.refs.lenient import HELMFILE
from migrator.locate.refs.yamlpos import Located, load_documents
from migrator.model import HelmInvocation, Notice, NoticeKind, SetFlag

_NAMES = re.compile(
    r"(^|/)(helmfile\.ya?ml(\.gotmpl)?|helmfile\.gotmpl|helmfile\.d/[^/]+\.ya?ml(\.gotmpl)?)$")
_ENV_NAME = re.compile(r"\{\{-?\s*\.Environment\.Name\s*-?\}\}")
_TEMPLATE = re.compile(r"\{\{.*?\}\}")


def wants(rel: str) -> bool:
    return bool(_NAMES.search(rel))


def read(root: Path, rel: str) -> FileRefs:
    try:
        loaded = load_documents(root, rel, HELMFILE, templated=True)
    except RepoError as exc:
        if "{{" not in _text(root, rel):
            raise
        # a heavily templated helmfile is not YAML before helmfile renders it
        return FileRefs((_unreadable(rel),), (Notice(
            NoticeKind.UNRESOLVED, f"templated helmfile that is not YAML until helmfile renders "
            f"it ({exc.cause}): its releases are left for a person", rel, exc.line),))
    docs = loaded.docs
    envs: list[str | None] = []
    for doc in docs:
        if isinstance(doc, dict) and isinstance(doc.get("environments"), dict):
            envs.extend(str(name) for name in doc["environments"])
    found: list[HelmInvocation] = []
    notices: list[Notice] = list(loaded.notices)
    for doc in docs:
        if not isinstance(doc, dict) or not isinstance(doc.get("releases"), list):
            continue
        for release in doc["releases"]:
            if isinstance(release, dict):
                for got in _per_environment(rel, release, envs or [None]):
                    found.append(got.reference)
                    notices.extend(got.notices)
    return FileRefs(tuple(found), tuple(dict.fromkeys(notices)))


def _text(root: Path, rel: str) -> str:
    try:
        return (root / rel).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


@dataclass(frozen=True)
class _Release:
    reference: HelmInvocation
    notices: tuple[Notice, ...]


def _per_environment(
    rel: str, release: dict[str, Any], envs: list[str | None]
) -> Iterator[_Release]:
    name = release.get("name")
    chart = release.get("chart")
    line = (
        name.line if isinstance(name, Located) else chart.line if isinstance(chart, Located) else 1
    )
    allowed = release.get("environments")  # not helmfile syntax, but some teams gate with a list
    for env in envs:
        if isinstance(allowed, list) and env is not None and env not in allowed:
            continue
        entries = [v for v in release.get("values") or [] if isinstance(v, str)]
        values: list[str] = []
        rendered: list[Located | str] = []
        for entry in entries:
            filled = _fill(str(entry), env)
            values.append(filled)  # as written: a rendered one is told by its `{{` or .gotmpl
            if _TEMPLATE.search(filled) or filled.endswith(".gotmpl"):
                rendered.append(entry)
        sets = tuple(_set_flag(s, env) for s in release.get("set") or [] if isinstance(s, dict))
        static = [str(x) for x in (name, chart) if isinstance(x, str)]
        inline = any(isinstance(v, dict) for v in release.get("values") or [])
        notices = tuple(
            Notice(NoticeKind.UNRESOLVED,
                   f"values entry `{entry}`{_at_line(entry)} of release {name} is rendered by "
                   "helmfile at run time, not a file the tool can read: this release is left "
                   "for a person", rel, line)
            for entry in rendered)
        why = (f"values rendered by helmfile at run time (`{rendered[0]}`): move them to a "
               "values file first" if rendered else "")
        yield _Release(HelmInvocation(
            file=rel,
            line=line,
            source="helmfile",
            context=str(name) if name is not None else "",
            subcommand="helmfile",
            release=_fill(str(name), env) if name is not None else None,
            chart=_fill(str(chart), env) if chart is not None else None,
            namespace=_fill(str(release["namespace"]), env) if release.get("namespace") else None,
            values_files=tuple(values),
            set_flags=sets,
            version=str(release["version"]) if release.get("version") is not None else None,
            environment=env,
            text=f"release {name} chart {chart}" + (" (inline values)" if inline else ""),
            rewritable=len(static) == 2
            and not inline
            and not rendered
            and not any(_TEMPLATE.search(_fill(s, env)) for s in static),
            why=why,
        ), notices)


def _at_line(entry: object) -> str:
    return f" (line {entry.line})" if isinstance(entry, Located) else ""


def _fill(text: str, env: str | None) -> str:
    return _ENV_NAME.sub(env, text) if env is not None else text


def _set_flag(entry: dict[str, Any], env: str | None) -> SetFlag:
    key = str(entry.get("name", ""))
    if "file" in entry:
        return SetFlag("set-file", key, str(entry["file"]), False)
    value = entry.get("value")
    text = _fill(str(value), env) if value is not None else ""
    dynamic = bool(_TEMPLATE.search(text)) or "$" in text
    return SetFlag("set", key, text, dynamic)  # helmfile passes every entry as --set


def _unreadable(rel: str) -> HelmInvocation:
    return HelmInvocation(
        file=rel,
        line=1,
        source="helmfile",
        context="",
        subcommand="helmfile",
        release=None,
        chart=None,
        namespace=None,
        values_files=(),
        set_flags=(),
        version=None,
        environment=None,
        text="(templated helmfile: not YAML until helmfile renders it)",
        rewritable=False,
        why="a templated helmfile that is not YAML until helmfile renders it",
    )
