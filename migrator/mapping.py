"""The rule API for mappings/ and the engine that applies the rules to a values tree.

A mapping module is data the platform team reviews. It declares which template family and which
origin versions it applies to, what it produces, and a list of rules:

    FAMILY = "app-template"
    FROM = ">=1.0.0,<2.0.0"      # origin versions these rules translate
    TO = "2.0.0"                 # the first version whose keys they produce
    RULES = [rename("replicaCount", "replicas"), drop("debug", "no longer used")]

Modules carry no I/O. They are loaded from files by path (`load_mappings`), which is the one place
Python from the mappings directory runs: the platform team's own code, never an app repo's.
"""

from __future__ import annotations

import copy
import importlib.util
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrator import tree
from migrator.errors import ConfigError
from migrator.versions import in_range, version_key


@dataclass(frozen=True)
class Rule:
    kind: str  # "rename", "drop", "convert"
    source: str
    target: str | None = None
    reason: str = ""
    fn: Callable[[Any], Any] | None = field(default=None, compare=False)


def rename(source: str, target: str) -> Rule:
    """The value at `source` moves to `target` unchanged (a whole subtree moves along)."""
    return Rule("rename", source, target)


def drop(source: str, reason: str) -> Rule:
    """The value at `source` has no meaning in the target; it is dropped and reported."""
    return Rule("drop", source, reason=reason)


def convert(source: str, target: str, fn: Callable[[Any], Any], reason: str = "") -> Rule:
    """`fn(value)` is written at `target`; when it returns a dict and target is "", it merges
    at the root (for one key that becomes several)."""
    return Rule("convert", source, target, reason=reason, fn=fn)


@dataclass(frozen=True)
class Mapping:
    name: str  # module name
    family: str
    from_spec: str
    to: str
    rules: tuple[Rule, ...]

    def applies(self, family: str, origin: str, target: str) -> bool:
        return (family == self.family and in_range(origin, self.from_spec)
                and version_key(target) >= version_key(self.to))


@dataclass(frozen=True)
class Translation:
    values: dict[str, Any]
    renamed: tuple[tuple[str, str], ...]  # (old dotted path, new dotted path)
    dropped: tuple[tuple[str, str], ...]  # (old dotted path, reason)


def translate(values: dict[str, Any], rules: Sequence[Rule]) -> Translation:
    """Apply rules in order to a copy of `values`."""
    out = copy.deepcopy(values)
    renamed: list[tuple[str, str]] = []
    dropped: list[tuple[str, str]] = []
    for rule in rules:
        src = tree.undotted(rule.source)
        value = tree.get(out, src)
        if value is tree.MISSING:
            continue
        tree.delete(out, src)
        if rule.kind == "drop":
            dropped.append((rule.source, rule.reason))
            continue
        new = rule.fn(value) if rule.kind == "convert" and rule.fn else value
        if rule.target:
            tree.put(out, tree.undotted(rule.target), new)
        elif isinstance(new, dict):
            out = tree.merge(out, new)
        renamed.append((rule.source, rule.target or "(root)"))
    return Translation(out, tuple(renamed), tuple(dropped))


def chain(mappings: Iterable[Mapping], family: str, origin: str, target: str) -> list[Mapping]:
    """The mappings to apply, in order, to move values from `origin` to `target`."""
    steps = [m for m in mappings if m.applies(family, origin, target)]
    return sorted(steps, key=lambda m: version_key(m.to))


def load_mappings(directory: Path) -> tuple[Mapping, ...]:
    if not directory.is_dir():
        return ()
    found: list[Mapping] = []
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"migrator_mappings.{path.stem}", path)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
            found.append(Mapping(
                name=path.stem,
                family=str(module.FAMILY),
                from_spec=str(module.FROM),
                to=str(module.TO),
                rules=tuple(module.RULES),
            ))
        except (AttributeError, SyntaxError, ImportError) as exc:
            raise ConfigError(f"{path}: not a mapping module ({exc})") from exc
    return tuple(found)
