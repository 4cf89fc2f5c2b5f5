"""Charts handed to a CI building block as an input: a GitHub Action or reusable workflow
(`with: {chart_path: ./chart}`), a CircleCI orb job (`helm/upgrade-helm-chart: {chart: ./.helm}`).

The block runs helm somewhere the tool cannot read, so such a deploy is reported and left for a
person: its inputs must be pointed at the central chart by hand. Only a value naming a chart of
this repository (a folder holding a Chart.yaml) counts; `bitnami/redis` and templated values do
not.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from migrator.locate.refs.filerefs import FileRefs
from migrator.locate.refs.lenient import CIRCLECI
from migrator.locate.refs.yamlpos import Located, load_documents
from migrator.model import HelmInvocation

_CHART_KEY = re.compile(r"(?i)^(?:chart|chart[-_]?(?:path|dir|directory)|helm[-_]?chart"
                        r"(?:[-_]?(?:path|dir))?)$")
_RELEASE_KEY = re.compile(r"(?i)^release[-_]?name$|^release$")
_CIRCLECI = re.compile(r"^\.circleci/config\.ya?ml$")


def wants_circleci(rel: str) -> bool:
    return bool(_CIRCLECI.match(rel))


def read_circleci(root: Path, rel: str) -> FileRefs:
    loaded = load_documents(root, rel, CIRCLECI)
    found = [ref for doc in loaded.docs for ref in chart_inputs(root, rel, doc, "circleci")]
    return FileRefs(tuple(found), loaded.notices)


def chart_inputs(root: Path, rel: str, doc: Any, source: str) -> Iterator[HelmInvocation]:
    """Every mapping of `doc` with a key naming a local chart, as a deploy left for a person."""
    for owner, block in _mappings(doc, ""):
        for key, value in block.items():
            if not (isinstance(key, str) and _CHART_KEY.match(key) and isinstance(value, Located)):
                continue
            chart = str(value).strip()
            if not chart or any(t in chart for t in ("$", "{{", "<<", "://")):
                continue
            directory = posixpath.normpath(chart).lstrip("/")
            if directory.startswith("..") or not (root / directory / "Chart.yaml").is_file():
                continue
            release = next((str(v) for k, v in block.items()
                            if isinstance(k, str) and _RELEASE_KEY.match(k)
                            and isinstance(v, Located) and "<<" not in v and "$" not in v),
                           None)
            yield HelmInvocation(
                file=rel, line=value.line, source=source, context=owner, subcommand="input",
                release=release, chart=chart, namespace=None, values_files=(), set_flags=(),
                version=None, environment=None, text=f"{owner}: {key}: {chart}",
                rewritable=False,
                why=f"`{owner}` deploys the chart from its inputs: point them at the central "
                    "chart by hand")


def _mappings(node: Any, owner: str) -> Iterator[tuple[str, dict[Any, Any]]]:
    """Each mapping with the name of what it configures (the key or `uses:` above it)."""
    if isinstance(node, dict):
        uses = node.get("uses")
        name = str(uses) if isinstance(uses, str) else owner
        yield name, node
        for key, value in node.items():
            yield from _mappings(value, name if key == "with" else str(key))
    elif isinstance(node, list):
        for item in node:
            yield from _mappings(item, owner)
