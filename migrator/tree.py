"""Operations on values trees (nested dicts from YAML), with Helm's semantics.

Paths are tuples of keys. Lists are leaves: Helm replaces lists, it never merges them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

Path = tuple[str, ...]

MISSING: Any = object()


def same(a: Any, b: Any) -> bool:
    """Equality that, unlike ==, tells "3" from 3 and 1 from True (a type change is a change)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def get(tree: Mapping[str, Any], path: Path, default: Any = MISSING) -> Any:
    node: Any = tree
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return default
        node = node[key]
    return node


def put(tree: dict[str, Any], path: Path, value: Any) -> None:
    """Set `path` in `tree`, creating (or replacing non-dict) intermediate maps."""
    node = tree
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[path[-1]] = value


def delete(tree: dict[str, Any], path: Path) -> None:
    """Remove `path` and every map that becomes empty on the way up."""
    parents: list[tuple[dict[str, Any], str]] = []
    node: Any = tree
    for key in path[:-1]:
        if not isinstance(node, dict) or key not in node:
            return
        parents.append((node, key))
        node = node[key]
    if isinstance(node, dict):
        node.pop(path[-1], None)
    for parent, key in reversed(parents):
        if parent[key] == {}:
            del parent[key]
        else:
            break


def leaves(tree: Mapping[str, Any], prefix: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every leaf (non-dict value, or empty dict) with its path, in document order."""
    for key, value in tree.items():
        path = (*prefix, str(key))
        if isinstance(value, dict) and value:
            yield from leaves(value, path)
        else:
            yield path, value


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge user values files the way `helm -f a -f b` does: later wins, null is kept."""
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        current = out.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            out[key] = merge(current, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def coalesce(defaults: Mapping[str, Any], user: Mapping[str, Any]) -> dict[str, Any]:
    """User values over chart defaults, as an install does: a null deletes the default."""
    out = copy.deepcopy(dict(defaults))
    for key, value in user.items():
        if value is None:
            out.pop(key, None)
            continue
        current = out.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            out[key] = coalesce(current, value)
        else:
            out[key] = _drop_nulls(copy.deepcopy(value))
    return out


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    return value


def dotted(path: Path) -> str:
    return ".".join(path)


def undotted(path: str) -> Path:
    return tuple(path.split("."))


def prune_empty(tree: dict[str, Any]) -> dict[str, Any]:
    """Drop maps that hold nothing: an empty map in a values file changes nothing."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            value = prune_empty(value)
            if not value:
                continue
        out[key] = value
    return out
