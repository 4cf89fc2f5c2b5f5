"""Where the fleet's unmapped keys could go in the central chart: the suggestions."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from migrator import tree
from migrator.errors import ConfigError
from migrator.mapping import Mapping, chain
from migrator.model import FleetPlan
from migrator.suggest.shapes import (
    ShapeKey,
    ShapeSeen,
    merge_repos,
    rule_path,
    shape_mismatches,
    shape_why,
)
from migrator.values.shapes import Conversion
from migrator.versions import version_key

EXAMPLES = 3  # repo names a suggestion shows
LINE_LENGTH = 100

# Keys historical templates used for what the central chart names otherwise (last key only).
LEAF_SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("repository",),
    "repo": ("repository",),
    "version": ("tag",),
    "imageTag": ("tag",),
    "replicaCount": ("replicas",),
    "replicas": ("replicaCount",),
    "pullSecrets": ("imagePullSecrets",),
    "policy": ("pullPolicy",),
    "containerPort": ("port",),
    "servicePort": ("port",),
}

# A key that, wherever a fork put it, usually means one central path.
PATH_SYNONYMS: dict[str, str] = {
    "port": "service.port",
    "containerPort": "service.port",
    "servicePort": "service.port",
    "serviceType": "service.type",
    "replicaCount": "replicas",
    "pullPolicy": "image.pullPolicy",
    "imageTag": "image.tag",
    "tag": "image.tag",
}

RULE_FUNCTIONS = ("rename", "drop", "convert")
# A rename replacing these loses nothing: the central default applies in their place.
_NOT_WRITTEN = ("unmapped", "equal-default", "inherited-adopted")
MAPPING_MODULE = "migrator.mapping"


@dataclass(frozen=True)
class Suggestion:
    family: str  # template family (lineage chart name)
    from_range: str  # origin versions the rule translates: the module's FROM
    to: str  # the module's TO
    module: str  # mapping module (file stem) the rule belongs in
    new_module: bool  # True when no module covers these origin versions yet
    source: str  # dotted path, in the keys the existing rules produce
    target: str | None  # dotted central path; None: no target found
    repos: int  # repos with at least one unmapped key under `source`
    examples: tuple[str, ...]  # a few of those repos, sorted
    keys: int  # unmapped keys under `source`
    why: str
    # A `convert` rule for a value of another shape (source == target): how it is rewrapped,
    # and the path from `source` to the value rewrapped ("[]", "paths" for each item's paths)
    conversion: Conversion | None = None
    within: tuple[str, ...] = ()
    shape: bool = False  # about a value of another shape, not an unmapped key

    @property
    def rule(self) -> str:
        return "convert" if self.conversion is not None or self.shape else "rename"


@dataclass(frozen=True)
class _Home:
    """The module a (family, origin version) group's rules go to."""

    module: str
    family: str
    from_range: str
    to: str
    new: bool


@dataclass
class _Seen:
    """Unmapped paths of one group, and the other paths its forks set (to warn of clobbering)."""

    unmapped: dict[tree.Path, set[str]]
    written: dict[str, set[str]]

    def repos_under(self, prefix: tree.Path) -> set[str]:
        found: set[str] = set()
        for path, repos in self.unmapped.items():
            if path[: len(prefix)] == prefix:
                found |= repos
        return found


# ---------------------------------------------------------------------------------------------
# Suggesting


def suggest(fleet: FleetPlan, central_defaults: dict[str, Any],
            mappings: tuple[Mapping, ...]) -> list[Suggestion]:
    """One suggestion per (module, source path), with a target when a heuristic finds one."""
    by_origin: dict[tuple[str, str], _Seen] = {}
    for plan in fleet.repos:
        for chart in plan.charts:
            if chart.lineage is None or chart.values is None:
                continue
            decisions = chart.values.decisions
            unmapped = {d.path for d in decisions if d.reason == "unmapped"}
            if not unmapped:
                continue
            seen = by_origin.setdefault((chart.lineage.chart, chart.lineage.version),
                                        _Seen({}, {}))
            for dotted in unmapped:
                seen.unmapped.setdefault(tree.undotted(dotted), set()).add(plan.repo.name)
            for d in decisions:
                if d.reason not in _NOT_WRITTEN:
                    seen.written.setdefault(d.path, set()).add(plan.repo.name)
    shapes = shape_mismatches(fleet, central_defaults)
    homes = _homes(sorted(set(by_origin) | set(shapes)), mappings,
                   fleet.central.target_version)
    by_home: dict[_Home, _Seen] = {}
    for key, seen in by_origin.items():
        merged = by_home.setdefault(homes[key], _Seen({}, {}))
        for keys, repos in seen.unmapped.items():
            merged.unmapped.setdefault(keys, set()).update(repos)
        for dotted, repos in seen.written.items():
            merged.written.setdefault(dotted, set()).update(repos)
    shaped: dict[_Home, list[dict[ShapeKey, ShapeSeen]]] = {}
    for key, found in shapes.items():
        shaped.setdefault(homes[key], []).append(found)
    central = _CentralIndex(central_defaults)
    out: list[Suggestion] = []
    for home in sorted(set(by_home) | set(shaped), key=lambda h: (h.family, h.module)):
        if home in by_home:
            out.extend(_suggest_home(home, by_home[home], central))
        out.extend(_shape_suggestions(home, merge_repos(shaped.get(home, ()))))
    return out


def _shape_suggestions(home: _Home, found: dict[ShapeKey, ShapeSeen]) -> list[Suggestion]:
    """A `convert` rule per value of another shape where one fits, else "no rule fits"."""
    out = []
    for seen in found.values():
        m = seen.mismatch
        source, within = rule_path(m)
        dotted = tree.dotted(source)
        out.append(Suggestion(
            family=home.family, from_range=home.from_range, to=home.to, module=home.module,
            new_module=home.new, source=dotted if m.conversion else m.dotted,
            target=dotted if m.conversion else None, repos=len(seen.repos),
            examples=tuple(sorted(seen.repos)[:EXAMPLES]), keys=1, why=shape_why(m),
            conversion=m.conversion, within=within if m.conversion else (), shape=True))
    return sorted(out, key=lambda s: (s.target is None, -s.repos, s.source))


def _homes(origins: Sequence[tuple[str, str]], mappings: tuple[Mapping, ...],
           target: str) -> dict[tuple[str, str], _Home]:
    """The module each (family, origin version) extends: the last of its chain, else a new one
    per family and major version."""
    homes: dict[tuple[str, str], _Home] = {}
    orphans: dict[tuple[str, int], list[str]] = defaultdict(list)
    for family, version in origins:
        steps = chain(mappings, family, version, target)
        if steps:
            last = steps[-1]
            homes[(family, version)] = _Home(last.name, family, last.from_spec, last.to, False)
        else:
            orphans[(family, _major(version))].append(version)
    taken = {m.name for m in mappings}
    for (family, major), versions in sorted(orphans.items()):
        spec = _new_range(family, major, versions, mappings)
        name = _module_name(family, major, taken, min(versions, key=version_key))
        taken.add(name)
        for version in versions:
            homes[(family, version)] = _Home(name, family, spec, target, True)
    return homes


def _major(version: str) -> int:
    head = version.lstrip("v").split(".", 1)[0]
    return int(head) if head.isdigit() else 0


def _new_range(family: str, major: int, versions: Sequence[str],
               mappings: tuple[Mapping, ...]) -> str:
    """The whole major version, as the shipped modules do, unless a module of the family
    already covers part of it: then just the versions seen."""
    whole = f">={major}.0.0,<{major + 1}.0.0"
    if not any(m.family == family and _overlap(whole, m.from_spec) for m in mappings):
        return whole
    ordered = sorted(versions, key=version_key)
    return f">={ordered[0]},<={ordered[-1]}"


_Bound = tuple[tuple[tuple[int, str], ...], bool] | None  # (version key, inclusive)


def _bounds(spec: str) -> tuple[_Bound, _Bound]:
    low: _Bound = None
    high: _Bound = None
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        op = next((o for o in (">=", "<=", "==", ">", "<", "=") if part.startswith(o)), None)
        if op is None:
            raise ConfigError(f"version range {spec!r}: cannot read {part!r}")
        key = version_key(part[len(op):].strip())
        if op in (">=", ">", "==", "="):
            low = (key, op != ">")
        if op in ("<=", "<", "==", "="):
            high = (key, op != "<")
    return low, high


def _overlap(a: str, b: str) -> bool:
    (a_low, a_high), (b_low, b_high) = _bounds(a), _bounds(b)
    return _below(a_low, b_high) and _below(b_low, a_high)


def _below(low: _Bound, high: _Bound) -> bool:
    """Some version is >= low and <= high."""
    if low is None or high is None:
        return True
    if low[0] != high[0]:
        return low[0] < high[0]
    return low[1] and high[1]


def _module_name(family: str, major: int, taken: set[str], first: str) -> str:
    base = f"{re.sub(r'[^0-9A-Za-z]+', '_', family).strip('_').lower() or 'family'}_v{major}"
    if base not in taken:
        return base
    return f"{base}_from_{re.sub(r'[^0-9A-Za-z]+', '_', first).strip('_')}"


class _CentralIndex:
    """The central defaults as paths: leaves, and maps with the leaf paths under them."""

    def __init__(self, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.leaves = [path for path, _ in tree.leaves(defaults)]
        self.maps: dict[tree.Path, frozenset[tree.Path]] = {}
        for path, node in _maps(defaults):
            self.maps[path] = frozenset(p for p, _ in tree.leaves(node)) if node else frozenset()

    def has(self, path: tree.Path) -> bool:
        return tree.get(self.defaults, path) is not tree.MISSING


def _maps(node: dict[str, Any], prefix: tree.Path = ()) -> Iterator[tuple[tree.Path, Any]]:
    for key, value in node.items():
        if isinstance(value, dict):
            path = (*prefix, str(key))
            yield path, value
            yield from _maps(value, path)


def _suggest_home(home: _Home, seen: _Seen, central: _CentralIndex) -> list[Suggestion]:
    found: dict[tree.Path, tuple[tree.Path | None, str]] = {}  # source -> (target, why)
    covered: set[tree.Path] = set()
    ambiguous: dict[tree.Path, list[tree.Path]] = {}
    for path in sorted(seen.unmapped):
        if path in covered:
            continue
        hit = _subtree_target(path, seen, central)
        if hit is not None:
            source, home_path, why = hit
            found[source] = (home_path, why)
            covered.update(p for p in seen.unmapped if p[: len(source)] == source)
            continue
        leaf, why, tied = _leaf_target(path, central)
        if leaf is not None:
            found[path] = (leaf, why)
            covered.add(path)
        elif tied:
            ambiguous[path] = tied
    left = [p for p in sorted(seen.unmapped) if p not in covered]
    for path in left:
        if any(path[: len(s)] == s for s in found):
            continue
        source = _unknown_root(path, seen, covered, central)
        under = [p for p in left if p[: len(source)] == source]
        found[source] = (None, _no_target_why(source, under, ambiguous))
    out = []
    for source, (target, why) in found.items():
        repos = seen.repos_under(source)
        if target is not None:
            why += _clobber_note(target, source, seen)
        out.append(Suggestion(
            family=home.family, from_range=home.from_range, to=home.to, module=home.module,
            new_module=home.new, source=tree.dotted(source),
            target=None if target is None else tree.dotted(target), repos=len(repos),
            examples=tuple(sorted(repos)[:EXAMPLES]),
            keys=sum(1 for p in seen.unmapped if p[: len(source)] == source), why=why))
    return sorted(out, key=lambda s: (s.target is None, -s.repos, s.source))


def _subtree_target(path: tree.Path, seen: _Seen, central: _CentralIndex
                    ) -> tuple[tree.Path, tree.Path, str] | None:
    """The shortest unknown prefix of `path` whose whole subtree has one home in the central
    chart: a map of the same name (open, or holding every key), else the only map holding
    every key."""
    for depth in range(1, len(path)):
        source = path[:depth]
        if central.has(source):
            continue
        rel = frozenset(p[depth:] for p in seen.unmapped if p[:depth] == source)
        fits = [t for t, keys in central.maps.items()
                if not _related(t, source) and (not keys or rel <= keys)]
        named = [t for t in fits if t[-1] == source[-1]]
        if len(named) == 1:
            target = named[0]
            shape = ("an open map" if not central.maps[target]
                     else "a map holding every key under it")
            return source, target, (f"same name: the central `{tree.dotted(target)}` is "
                                    f"{shape}")
        by_keys = [t for t in fits if central.maps[t]]
        if len(rel) >= 2 and len(by_keys) == 1:
            target = by_keys[0]
            keys = ", ".join(sorted(tree.dotted(k) for k in rel))
            return source, target, (f"its keys ({keys}) are all keys of the central "
                                    f"`{tree.dotted(target)}`")
    return None


def _related(a: tree.Path, b: tree.Path) -> bool:
    """One is inside the other: a rename between them would move a map into itself."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _leaf_target(path: tree.Path, central: _CentralIndex
                 ) -> tuple[tree.Path | None, str, list[tree.Path]]:
    """(target, why, tied candidates): the central leaf sharing the longest tail with `path`
    (its last key equal or a synonym), else the key's usual central path."""
    key = path[-1]
    scored: list[tuple[int, bool, tree.Path]] = []
    for leaf in central.leaves:
        if _related(leaf, path):
            continue
        exact = leaf[-1] == key
        if not exact and leaf[-1] not in LEAF_SYNONYMS.get(key, ()):
            continue
        tail = 1
        while (tail < min(len(leaf), len(path))
               and leaf[-1 - tail] == path[-1 - tail]):
            tail += 1
        scored.append((tail, exact, leaf))
    scored.sort(key=lambda s: (s[0], s[1]), reverse=True)
    best = [s for s in scored if s[:2] == scored[0][:2]] if scored else []
    usual = tree.undotted(PATH_SYNONYMS[key]) if key in PATH_SYNONYMS else None
    if usual is not None and not central.has(usual):
        usual = None
    if len(best) == 1 and best[0][0] >= 2:
        return best[0][2], _leaf_why(path, best[0]), []
    if usual is not None:
        return usual, f"`{key}` usually means the central `{tree.dotted(usual)}`", []
    if len(best) == 1:
        return best[0][2], _leaf_why(path, best[0]), []
    return None, "", [s[2] for s in best]


def _leaf_why(path: tree.Path, scored: tuple[int, bool, tree.Path]) -> str:
    tail, exact, leaf = scored
    what = (f"same key `{leaf[-1]}`" if exact
            else f"`{path[-1]}` is a known synonym of `{leaf[-1]}`")
    if tail >= 2:
        return f"{what}, under the same parent `{tree.dotted(leaf[-tail:-1])}`"
    return f"{what}, under another parent (the only central key of that name)"


def _unknown_root(path: tree.Path, seen: _Seen, covered: set[tree.Path],
                  central: _CentralIndex) -> tree.Path:
    """The shortest prefix the central chart does not know whose unmapped keys all lack a
    target: one entry for a whole unknown subtree."""
    for depth in range(1, len(path) + 1):
        source = path[:depth]
        if central.has(source):
            continue
        if not any(p[:depth] == source and p in covered for p in seen.unmapped):
            return source
    return path


def _no_target_why(source: tree.Path, under: Sequence[tree.Path],
                   ambiguous: dict[tree.Path, list[tree.Path]]) -> str:
    why = "no target found: write a rule by hand or drop it"
    if len(under) > 1:
        keys = ", ".join(tree.dotted(p[len(source):]) for p in under[:6])
        more = ", ..." if len(under) > 6 else ""
        why += f" ({len(under)} keys: {keys}{more})"
    tied = ambiguous.get(under[0]) if len(under) == 1 else None
    if tied:
        names = ", ".join(f"`{tree.dotted(t)}`" for t in tied[:4])
        why += f"; several central keys fit: {names}{', ...' if len(tied) > 4 else ''}"
    return why


def _clobber_note(target: tree.Path, source: tree.Path, seen: _Seen) -> str:
    """Renaming onto a path the fork sets too replaces that value (and, for a map, all of it)."""
    dotted = tree.dotted(target)
    repos: set[str] = set()
    for path, who in seen.written.items():
        if path == dotted or path.startswith(dotted + ".") or dotted.startswith(path + "."):
            repos |= who & seen.repos_under(source)
    if not repos:
        return ""
    names = ", ".join(sorted(repos)[:EXAMPLES])
    return (f"; careful: {len(repos)} of these repos also set `{dotted}` ({names}): "
            "the renamed value replaces theirs")


def load_central_defaults(fleet: FleetPlan, central_path: str | None = None) -> dict[str, Any]:
    """The central chart's default values at the plan's target version, from its source."""
    # Imported here: it brings in the Helm bindings, which the rest of this module never needs.
    from migrator.lineage.catalog import load_catalog

    catalog = load_catalog(fleet.central.source, fleet.central.name, central_path)
    return catalog.get(fleet.central.target_version).values
