"""Helm releases in `skaffold.yaml` (`deploy.helm` and `manifests.helm`, per profile too).

A release under `profiles[].deploy.helm` is reported with the profile name as its environment.
Paths stay as written: skaffold reads them relative to the skaffold.yaml directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from migrator.locate.refs.filerefs import FileRefs
from migrator.locate.refs.lenient import SKAFFOLD
from migrator.locate.refs.yamlpos import Located, load_documents
from migrator.model import HelmInvocation, SetFlag


def wants(rel: str) -> bool:
    return rel.rsplit("/", 1)[-1] in ("skaffold.yaml", "skaffold.yml")


def read(root: Path, rel: str) -> FileRefs:
    loaded = load_documents(root, rel, SKAFFOLD)
    found: list[HelmInvocation] = []
    for doc in loaded.docs:
        if isinstance(doc, dict):
            found.extend(_config(rel, doc, None))
            for profile in doc.get("profiles") or []:
                if isinstance(profile, dict):
                    found.extend(_config(rel, profile, str(profile.get("name", ""))))
    return FileRefs(tuple(found), loaded.notices)


def _config(rel: str, config: dict[str, Any], env: str | None) -> Iterator[HelmInvocation]:
    for section in ("deploy", "manifests"):
        helm = (config.get(section) or {}).get("helm") or {}
        for release in helm.get("releases") or []:
            if isinstance(release, dict):
                yield _release(rel, release, env)


def _release(rel: str, release: dict[str, Any], env: str | None) -> HelmInvocation:
    name = release.get("name")
    chart = release.get("chartPath") or release.get("remoteChart")
    sets = [
        SetFlag("set", str(k), str(v), False) for k, v in (release.get("setValues") or {}).items()
    ]
    sets += [
        SetFlag("set", str(k), str(v), True)
        for k, v in (release.get("setValueTemplates") or {}).items()
    ]
    sets += [
        SetFlag("set-file", str(k), str(v), False)
        for k, v in (release.get("setFiles") or {}).items()
    ]
    templated = any("{{" in str(x) for x in (name, chart, *(release.get("valuesFiles") or [])))
    line = (
        name.line if isinstance(name, Located) else chart.line if isinstance(chart, Located) else 1
    )
    return HelmInvocation(
        file=rel,
        line=line,
        source="skaffold",
        context=str(name or ""),
        subcommand="skaffold",
        release=str(name) if name is not None else None,
        chart=str(chart) if chart is not None else None,
        namespace=str(release["namespace"]) if release.get("namespace") else None,
        values_files=tuple(str(v) for v in release.get("valuesFiles") or []),
        set_flags=tuple(sets),
        version=str(release["version"]) if release.get("version") else None,
        environment=env,
        text=f"release {name} chartPath {chart}",
        rewritable=not templated and "chartPath" in release,
    )
