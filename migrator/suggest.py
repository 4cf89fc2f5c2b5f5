"""`migrator mappings suggest`: rules for the keys forks set that the central chart does not know.

A plan records, for every chart, the fork's keys (already translated by the existing mapping
rules) that the central chart at the target version has no place for: decisions `unmapped`.
`suggest` gathers them across the fleet per mapping module and looks for a home for each in the
central chart's defaults:

- a subtree whose name, or whose keys, match a central subtree (`deployment.resources` ->
  `resources`, `monitoring.{enabled,interval,path}` -> `serviceMonitor`);
- a leaf whose key, or a known synonym of it, sits under another parent (`deployment.replicas`
  -> `replicas`, `image.name` -> `image.repository`, `containerPort` -> `service.port`).

What finds no home is reported, to be written by hand or dropped. `apply_suggestions` appends
the proposed `rename` rules to a module's `RULES` with libcst, so every byte the team wrote stays
as it was and the platform team reviews a diff. Values never leave the plan: suggestions carry
paths and repo names only.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libcst as cst

from migrator import tree
from migrator.errors import ConfigError
from migrator.mapping import Mapping, chain
from migrator.model import FleetPlan
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

_RULE_FUNCTIONS = ("rename", "drop", "convert")
# A rename replacing these loses nothing: the central default applies in their place.
_NOT_WRITTEN = ("unmapped", "equal-default", "inherited-adopted")
_MAPPING_MODULE = "migrator.mapping"


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
    homes = _homes(sorted(by_origin), mappings, fleet.central.target_version)
    by_home: dict[_Home, _Seen] = {}
    for key, seen in by_origin.items():
        merged = by_home.setdefault(homes[key], _Seen({}, {}))
        for keys, repos in seen.unmapped.items():
            merged.unmapped.setdefault(keys, set()).update(repos)
        for dotted, repos in seen.written.items():
            merged.written.setdefault(dotted, set()).update(repos)
    central = _CentralIndex(central_defaults)
    out: list[Suggestion] = []
    for home in sorted(by_home, key=lambda h: (h.family, h.module)):
        out.extend(_suggest_home(home, by_home[home], central))
    return out


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
    from migrator.chart.central import load_catalog

    catalog = load_catalog(fleet.central.source, fleet.central.name, central_path)
    return catalog.get(fleet.central.target_version).values


# ---------------------------------------------------------------------------------------------
# Writing the rules into mapping modules


def apply_suggestions(module_path: Path, suggestions: Iterable[Suggestion]) -> str:
    """The module's new source with a `rename` per suggestion meant for it (same module name,
    with a target) that it does not already hold a rule for. Every other byte stays.

    When the module does not exist yet, the source of a new one; "" when there is nothing to
    put in it. Writing the file is the caller's job.
    """
    mine = _for_module(module_path.stem, suggestions)
    if not module_path.exists():
        return _new_module(mine) if mine else ""
    try:
        text = module_path.read_text(encoding="utf-8")
        module = cst.parse_module(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{module_path}: cannot read ({exc})") from exc
    except cst.ParserSyntaxError as exc:
        raise ConfigError(f"{module_path}: not valid Python ({exc.message}, "
                          f"line {exc.raw_line})") from exc
    facts = _ModuleFacts()
    module.visit(facts)
    if facts.rules_lists != 1:
        raise ConfigError(f"{module_path}: expected one top-level `RULES = [...]` list, found "
                          f"{facts.rules_lists}; add the rules by hand")
    family = facts.strings.get("FAMILY")
    for s in mine:
        if family is not None and s.family != family:
            raise ConfigError(f"{module_path}: FAMILY is {family!r}, the suggestion for "
                              f"{s.source} is for {s.family!r}")
    todo = [s for s in mine if s.source not in facts.sources]
    if not todo:
        return text
    callee = facts.callee
    if callee is None:
        module = module.visit(_ImportRename())
        callee = "rename"
    edited = module.visit(_AppendRules(todo, callee))
    return edited.code


def module_sources(directory: Path, suggestions: Sequence[Suggestion]) -> dict[Path, str]:
    """path -> new source, for each module file in `directory` the suggestions change or add."""
    out: dict[Path, str] = {}
    for name in sorted({s.module for s in suggestions if s.target is not None}):
        path = directory / f"{name}.py"
        text = apply_suggestions(path, suggestions)
        if text and (not path.exists() or text != path.read_text(encoding="utf-8")):
            out[path] = text
    return out


def _for_module(name: str, suggestions: Iterable[Suggestion]) -> list[Suggestion]:
    out: list[Suggestion] = []
    sources: set[str] = set()
    for s in suggestions:
        if s.module == name and s.target is not None and s.source not in sources:
            sources.add(s.source)
            out.append(s)
    return out


def _literal(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _rule_code(s: Suggestion, callee: str) -> str:
    return f"{callee}({_literal(s.source)}, {_literal(s.target or '')})"


def _comment(s: Suggestion, code: str) -> str:
    """`# suggested: N repos (a, b, ...)`, with as many names as keep the rule's line within
    LINE_LENGTH (the team's linter also reads mappings/)."""
    room = LINE_LENGTH - len(f"    {code},  ")
    head = f"# suggested: {s.repos} repo{'' if s.repos == 1 else 's'}"
    names = [re.sub(r"\s+", " ", n) for n in s.examples]
    for shown in range(len(names), 0, -1):
        more = ", ..." if s.repos > shown else ""
        text = f"{head} ({', '.join(names[:shown])}{more})"
        if len(text) <= room:
            return text
    return head


def _new_module(suggestions: Sequence[Suggestion]) -> str:
    first = suggestions[0]
    rules = "".join(f"    {code},  {_comment(s, code)}\n"
                    for s, code in ((s, _rule_code(s, "rename")) for s in suggestions))
    return (
        f'"""{first.family} {first.from_range} -> {first.to}: generated by '
        "`migrator mappings suggest`.\n\n"
        "Each rule was proposed from keys the fleet's forks set and the central chart does not\n"
        "know. Review them and edit freely: the next `suggest` only appends, and keeps the rest.\n"
        '"""\n\n'
        "from migrator.mapping import rename\n\n"
        f"FAMILY = {_literal(first.family)}\n"
        f"FROM = {_literal(first.from_range)}\n"
        f"TO = {_literal(first.to)}\n\n"
        f"RULES = [\n{rules}]\n"
    )


def _callee_name(func: cst.BaseExpression) -> str | None:
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None


def _dotted_name(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted_name(node.value)}.{node.attr.value}"
    return ""


def _rules_list(node: cst.Assign | cst.AnnAssign) -> cst.List | None:
    if isinstance(node, cst.Assign):
        named = any(isinstance(t.target, cst.Name) and t.target.value == "RULES"
                    for t in node.targets)
    else:
        named = isinstance(node.target, cst.Name) and node.target.value == "RULES"
    return node.value if named and isinstance(node.value, cst.List) else None


class _ModuleFacts(cst.CSTVisitor):
    """What the module already holds: the sources its rules name, how it reaches `rename`, its
    literal settings, how many top-level RULES lists."""

    def __init__(self) -> None:
        self.sources: set[str] = set()
        self.callee: str | None = None
        self.strings: dict[str, str] = {}
        self.rules_lists = 0
        self._depth = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._depth += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._depth -= 1

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._depth += 1

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._depth -= 1

    def visit_Call(self, node: cst.Call) -> None:
        if _callee_name(node.func) not in _RULE_FUNCTIONS or not node.args:
            return
        first = node.args[0].value
        if isinstance(first, cst.SimpleString | cst.ConcatenatedString):
            value = first.evaluated_value
            if isinstance(value, str):
                self.sources.add(value)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.module is None or _dotted_name(node.module) != _MAPPING_MODULE:
            return
        if isinstance(node.names, cst.ImportStar):
            self.callee = "rename"
            return
        for alias in node.names:
            if _dotted_name(alias.name) == "rename":
                self.callee = alias.evaluated_alias or "rename"

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            if _dotted_name(alias.name) == _MAPPING_MODULE and self.callee is None:
                self.callee = f"{alias.evaluated_alias or _MAPPING_MODULE}.rename"

    def visit_Assign(self, node: cst.Assign) -> None:
        if self._depth:
            return
        if _rules_list(node) is not None:
            self.rules_lists += 1
        if (len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name)
                and isinstance(node.value, cst.SimpleString)):
            value = node.value.evaluated_value
            if isinstance(value, str):
                self.strings[node.targets[0].target.value] = value

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if not self._depth and _rules_list(node) is not None:
            self.rules_lists += 1


class _ImportRename(cst.CSTTransformer):
    """Makes `rename` importable: added to a one-line `from migrator.mapping import ...`, else
    a new import line after the last top-level import (or the docstring)."""

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        body = list(updated_node.body)
        last_import = -1
        for i, stmt in enumerate(body):
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            if _is_import(stmt):
                last_import = i
            small = stmt.body[0] if len(stmt.body) == 1 else None
            if (isinstance(small, cst.ImportFrom) and small.module is not None
                    and _dotted_name(small.module) == _MAPPING_MODULE
                    and not isinstance(small.names, cst.ImportStar) and small.lpar is None):
                body[i] = stmt.with_changes(body=[_with_alias(small, "rename")])
                return updated_node.with_changes(body=body)
        new = cst.parse_statement(f"from {_MAPPING_MODULE} import rename\n")
        if last_import < 0 and body and _is_docstring(body[0]):
            last_import = 0
            new = new.with_changes(leading_lines=[cst.EmptyLine()])
        at = last_import + 1
        body.insert(at, new)
        after = body[at + 1] if at + 1 < len(body) else None
        if (isinstance(after, cst.SimpleStatementLine | cst.BaseCompoundStatement)
                and not after.leading_lines and not _is_import(after)):
            # Imports are set apart from the code below them by a blank line.
            body[at + 1] = after.with_changes(leading_lines=[cst.EmptyLine()])
        return updated_node.with_changes(body=body)


def _is_import(stmt: cst.BaseStatement) -> bool:
    return (isinstance(stmt, cst.SimpleStatementLine)
            and any(isinstance(s, cst.Import | cst.ImportFrom) for s in stmt.body))


def _is_docstring(stmt: cst.BaseStatement) -> bool:
    return (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Expr)
            and isinstance(stmt.body[0].value, cst.SimpleString | cst.ConcatenatedString))


def _with_alias(node: cst.ImportFrom, name: str) -> cst.ImportFrom:
    """`name` added where isort (ruff's I rules) would put it: constants, classes, functions."""
    assert not isinstance(node.names, cst.ImportStar)
    aliases = list(node.names)
    names = [_dotted_name(a.name) for a in aliases]
    at = sum(1 for n in names if _isort_key(n) < _isort_key(name))
    aliases.insert(at, cst.ImportAlias(name=cst.Name(name)))
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    rebuilt = [a.with_changes(comma=comma if i < len(aliases) - 1 else cst.MaybeSentinel.DEFAULT)
               for i, a in enumerate(aliases)]
    return node.with_changes(names=rebuilt)


def _isort_key(name: str) -> tuple[int, str]:
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name.lower()


class _AppendRules(cst.CSTTransformer):
    """Appends one element per suggestion to the top-level `RULES` list, each on its own line
    with a comment; the existing elements, their comments and the closing bracket's line stay
    byte for byte (a last element without a trailing comma gains one)."""

    def __init__(self, suggestions: Sequence[Suggestion], callee: str) -> None:
        self.suggestions = suggestions
        self.callee = callee

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        found = _rules_list(updated_node)
        return updated_node if found is None else updated_node.with_changes(
            value=self._extended(found))

    def leave_AnnAssign(self, original_node: cst.AnnAssign,
                        updated_node: cst.AnnAssign) -> cst.AnnAssign:
        found = _rules_list(updated_node)
        return updated_node if found is None else updated_node.with_changes(
            value=self._extended(found))

    def _extended(self, node: cst.List) -> cst.List:
        closing = node.rbracket.whitespace_before
        if not isinstance(closing, cst.ParenthesizedWhitespace):
            return self._exploded(node)
        indent = _element_indent(node)
        elements = list(node.elements)
        if elements:
            last = elements[-1]
            before = (last.comma.whitespace_before if isinstance(last.comma, cst.Comma)
                      else cst.SimpleWhitespace(""))
            # The last element's line (and comments before `]`) end where they did.
            elements[-1] = last.with_changes(comma=cst.Comma(
                whitespace_before=before,
                whitespace_after=closing.with_changes(last_line=cst.SimpleWhitespace(indent))))
        added, final = self._elements(indent, closing.last_line)
        return node.with_changes(
            elements=[*elements, *added],
            rbracket=node.rbracket.with_changes(whitespace_before=final))

    def _elements(self, indent: str, closing_indent: cst.SimpleWhitespace
                  ) -> tuple[list[cst.Element], cst.ParenthesizedWhitespace]:
        """New elements, each ending its line with its comment; the last one's line end goes
        before `]`."""
        codes = [(s, _rule_code(s, self.callee)) for s in self.suggestions]
        lines = [(cst.parse_expression(code),
                  cst.TrailingWhitespace(whitespace=cst.SimpleWhitespace("  "),
                                         comment=cst.Comment(_comment(s, code))))
                 for s, code in codes]
        out = []
        for i, (value, end) in enumerate(lines):
            last = i == len(lines) - 1
            after: cst.BaseParenthesizableWhitespace = (
                cst.SimpleWhitespace("") if last else cst.ParenthesizedWhitespace(
                    first_line=end, indent=True, last_line=cst.SimpleWhitespace(indent)))
            out.append(cst.Element(value=value, comma=cst.Comma(whitespace_after=after)))
        final = cst.ParenthesizedWhitespace(first_line=lines[-1][1], indent=True,
                                            last_line=closing_indent)
        return out, final

    def _exploded(self, node: cst.List) -> cst.List:
        """A one-line list (`[]`, `[rename(...)]`) becomes one element per line."""
        indent = "    "
        newline = cst.ParenthesizedWhitespace(first_line=cst.TrailingWhitespace(), indent=True,
                                              last_line=cst.SimpleWhitespace(indent))
        kept = [e.with_changes(comma=cst.Comma(whitespace_after=newline))
                for e in node.elements if isinstance(e, cst.Element | cst.StarredElement)]
        added, final = self._elements(indent, cst.SimpleWhitespace(""))
        return node.with_changes(
            elements=[*kept, *added],
            lbracket=node.lbracket.with_changes(whitespace_after=newline),
            rbracket=node.rbracket.with_changes(whitespace_before=final))


def _element_indent(node: cst.List) -> str:
    opening = node.lbracket.whitespace_after
    if isinstance(opening, cst.ParenthesizedWhitespace):
        return opening.last_line.value
    for element in node.elements:
        comma = element.comma
        if (isinstance(comma, cst.Comma)
                and isinstance(comma.whitespace_after, cst.ParenthesizedWhitespace)):
            return comma.whitespace_after.last_line.value
    return "    "


# ---------------------------------------------------------------------------------------------
# The report for the platform team


def render_report(suggestions: Sequence[Suggestion], mappings_dir: str = "mappings") -> str:
    """Markdown: per module, the rules proposed, then the keys with no target."""
    if not suggestions:
        return "# Mapping suggestions\n\nNo unmapped keys in this plan: nothing to suggest.\n"
    mapped = [s for s in suggestions if s.target is not None]
    unknown = [s for s in suggestions if s.target is None]
    out = ["# Mapping suggestions", "",
           f"{len(mapped)} rule{_s(len(mapped))} proposed, {len(unknown)} "
           f"key{_s(len(unknown))} without a target "
           f"({sum(s.keys for s in suggestions)} unmapped keys in all).", ""]
    modules: dict[str, list[Suggestion]] = {}
    for s in suggestions:
        modules.setdefault(s.module, []).append(s)
    for name, group in modules.items():
        first = group[0]
        where = f"`{mappings_dir}/{name}.py`" + (" (new)" if first.new_module else "")
        out += [f"## {first.family} {first.from_range} -> {first.to}: {where}", ""]
        rules = [s for s in group if s.target is not None]
        if rules:
            out += ["| rule | repos | why |", "| --- | --- | --- |"]
            out += [f"| `{_cell(_rule_code(s, 'rename'))}` | {_repos(s)} | {_cell(s.why)} |"
                    for s in rules]
            out.append("")
        rest = [s for s in group if s.target is None]
        if rest:
            out += ["No target found (write a rule by hand, or `drop` it):", "",
                    "| key | repos | why |", "| --- | --- | --- |"]
            out += [f"| `{_cell(s.source)}` | {_repos(s)} | {_cell(s.why)} |" for s in rest]
            out.append("")
    return "\n".join(out)


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _repos(s: Suggestion) -> str:
    more = ", ..." if s.repos > len(s.examples) else ""
    return _cell(f"{s.repos} ({', '.join(s.examples)}{more})")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
