"""Argo CD `Application` and `ApplicationSet` manifests whose Helm source is a path in a repo.

`chart` is the source's `path` (repo-relative in the source repository); `values_files` stay as
written, relative to that path, the way Argo CD reads them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from migrator.errors import RepoError
from migrator.locate.refs.walk import repo_files
from migrator.locate.refs.yamlpos import Located, load_documents
from migrator.model import HelmInvocation, SetFlag

_KINDS = ("Application", "ApplicationSet")


def find_argocd_references(root: Path) -> tuple[HelmInvocation, ...]:
    found: list[HelmInvocation] = []
    for rel in repo_files(root):
        if not rel.endswith((".yaml", ".yml")) or "/templates/" in f"/{rel}":
            continue
        text = _text(root / rel)
        if "argoproj.io" not in text or "kind:" not in text:
            continue
        try:
            docs = load_documents(root, rel)
        except RepoError:
            continue  # not YAML (a chart template, a go template): not an Argo CD manifest
        for doc in docs:
            found.extend(_applications(rel, doc))
    return tuple(found)


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _applications(rel: str, doc: Any) -> Iterator[HelmInvocation]:
    if not isinstance(doc, dict) or doc.get("kind") not in _KINDS:
        return
    if not str(doc.get("apiVersion", "")).startswith("argoproj.io/"):
        return
    templated = doc["kind"] == "ApplicationSet"
    spec = doc.get("spec") or {}
    if templated:
        spec = (spec.get("template") or {}).get("spec") or {}
    name = str((doc.get("metadata") or {}).get("name", ""))
    namespace = (spec.get("destination") or {}).get("namespace")
    sources = [spec["source"]] if isinstance(spec.get("source"), dict) else []
    sources += [s for s in spec.get("sources") or [] if isinstance(s, dict)]
    for source in sources:
        path = source.get("path")
        if not isinstance(path, str):
            continue  # a chart from a repository, or a ref-only source
        helm = source.get("helm") or {}
        params = tuple(
            SetFlag(
                "set-string" if p.get("forceString") else "set",
                str(p.get("name", "")),
                str(p.get("value", "")),
                "{{" in str(p.get("value", "")),
            )
            for p in helm.get("parameters") or []
            if isinstance(p, dict)
        )
        release = helm.get("releaseName") or name
        dynamic = templated and any("{{" in str(x) for x in (path, release))
        inline = bool(helm.get("values") or helm.get("valuesObject"))
        yield HelmInvocation(
            file=rel,
            line=path.line if isinstance(path, Located) else 1,
            source="argocd",
            context=name,
            subcommand="argocd",
            release=str(release),
            chart=str(path),
            namespace=str(namespace) if namespace is not None else None,
            values_files=tuple(str(v) for v in helm.get("valueFiles") or []),
            set_flags=params,
            version=None,
            environment=None,
            text=f"{doc['kind']} {name} path {path}" + (" (inline values)" if inline else ""),
            rewritable=not dynamic and not inline,
        )
