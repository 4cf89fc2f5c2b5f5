"""A rewritten file must still parse, and a script list must not have become empty: the last
line of defence against a rewrite that would break a pipeline instead of migrating it."""

from __future__ import annotations

from typing import Any

import libcst as cst

from migrator.errors import RepoError
from migrator.rewrite.yamltext import load

_YAML = (".yaml", ".yml", ".gotmpl")


def check_still_valid(rel: str, before: str, after: str) -> None:
    if rel.endswith(_YAML):
        templated = "helmfile" in rel
        old = load(before, templated, rel, shape_only=True)
        try:
            new = load(after, templated, rel, shape_only=True)
        except RepoError as exc:
            raise RepoError(f"the rewrite produced invalid YAML: {exc.cause}", file=rel,
                            line=exc.line) from exc
        for o, n in zip(old, new, strict=False):
            emptied = _emptied_lists(o, n, "")
            if emptied:
                raise RepoError(f"{rel}: the rewrite would leave {emptied} empty")
    elif rel.endswith(".py"):
        try:
            cst.parse_module(after)
        except cst.ParserSyntaxError as exc:
            raise RepoError(f"{rel}: the rewrite produced invalid Python: {exc.message}") from exc


def _emptied_lists(old: Any, new: Any, path: str) -> str | None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key, value in old.items():
            if key in new:
                found = _emptied_lists(value, new[key], f"{path}.{key}" if path else str(key))
                if found:
                    return found
        return None
    if isinstance(old, list) and old and (new is None or new == []):
        return path
    return None
