"""Releases declared in helmfiles (`helmfile.yaml`, `helmfile.yaml.gotmpl`, `helmfile.d/*`).

A release is reported once per helmfile environment, with `{{ .Environment.Name }}` in its values
paths filled in, so each environment's deploy can be rendered on its own. Paths stay as written:
helmfile reads them relative to the helmfile's directory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from migrator.errors import RepoError
from migrator.locate.refs.walk import repo_files
from migrator.locate.refs.yamlpos import Located, load_documents
from migrator.model import HelmInvocation, SetFlag

_NAMES = re.compile(r"(^|/)(helmfile\.ya?ml(\.gotmpl)?|helmfile\.d/[^/]+\.ya?ml(\.gotmpl)?)$")
_ENV_NAME = re.compile(r"\{\{-?\s*\.Environment\.Name\s*-?\}\}")
_TEMPLATE = re.compile(r"\{\{.*?\}\}")


def find_helmfile_references(root: Path) -> tuple[HelmInvocation, ...]:
    found: list[HelmInvocation] = []
    for rel in repo_files(root):
        if _NAMES.search(rel):
            found.extend(_releases(root, rel))
    return tuple(found)


def _releases(root: Path, rel: str) -> Iterator[HelmInvocation]:
    try:
        docs = load_documents(root, rel, templated=True)
    except RepoError:
        # a heavily templated helmfile is not YAML before helmfile renders it
        yield _unreadable(root, rel)
        return
    envs: list[str | None] = []
    for doc in docs:
        if isinstance(doc, dict) and isinstance(doc.get("environments"), dict):
            envs.extend(str(name) for name in doc["environments"])
    for doc in docs:
        if not isinstance(doc, dict) or not isinstance(doc.get("releases"), list):
            continue
        for release in doc["releases"]:
            if isinstance(release, dict):
                yield from _per_environment(rel, release, envs or [None])


def _per_environment(
    rel: str, release: dict[str, Any], envs: list[str | None]
) -> Iterator[HelmInvocation]:
    name = release.get("name")
    chart = release.get("chart")
    line = (
        name.line if isinstance(name, Located) else chart.line if isinstance(chart, Located) else 1
    )
    allowed = release.get("environments")  # not helmfile syntax, but some teams gate with a list
    for env in envs:
        if isinstance(allowed, list) and env is not None and env not in allowed:
            continue
        values = tuple(
            _fill(str(v), env) for v in release.get("values") or [] if isinstance(v, str)
        )
        sets = tuple(_set_flag(s, env) for s in release.get("set") or [] if isinstance(s, dict))
        static = [str(x) for x in (name, chart) if isinstance(x, str)]
        inline = any(isinstance(v, dict) for v in release.get("values") or [])
        yield HelmInvocation(
            file=rel,
            line=line,
            source="helmfile",
            context=str(name) if name is not None else "",
            subcommand="helmfile",
            release=_fill(str(name), env) if name is not None else None,
            chart=_fill(str(chart), env) if chart is not None else None,
            namespace=_fill(str(release["namespace"]), env) if release.get("namespace") else None,
            values_files=values,
            set_flags=sets,
            version=str(release["version"]) if release.get("version") is not None else None,
            environment=env,
            text=f"release {name} chart {chart}" + (" (inline values)" if inline else ""),
            rewritable=len(static) == 2
            and not inline
            and not any(_TEMPLATE.search(_fill(s, env)) for s in static),
        )


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


def _unreadable(root: Path, rel: str) -> HelmInvocation:
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
    )
