"""Classify what still differs after values extraction and mappings into customization kinds.

For a blocked or review chart, every functional or destructive difference and every values key
the central chart has no place for becomes a `Customization`: its kind (central/kinds.py), the
manifest paths, the fork's template line behind it, whether it keeps the chart blocked (as
verify/decide.py decides: a destructive difference, or a functional one from an edited template),
and the central values that could already express it (a mapping problem). What else blocks the
chart, that no central-chart feature removes, is kept beside them (`held_by`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from migrator.central import kinds
from migrator.central.evidence import locate
from migrator.central.express import CentralHatches, added_leaves, leaf_text
from migrator.central.paths import kind_of, path_text, tokens
from migrator.model import (
    ChartPlan,
    Customization,
    DiffClass,
    Difference,
    FieldChange,
    Outcome,
    ResourceId,
    Verdict,
)


@dataclass(frozen=True)
class Evidence:
    """What classification reads of the fork, beside the chart's plan."""

    chart_path: str  # repo-relative: templates are named from it
    templates: Mapping[str, str]  # the fork's: "templates/deployment.yaml" -> source
    sources: Mapping[str, Mapping[ResourceId, str]]  # env -> object -> fork template of it
    value_lines: Mapping[str, Mapping[str, int]]  # values file -> dotted key -> line, in the
    # order Helm reads the files


@dataclass(frozen=True)
class Classified:
    customizations: tuple[Customization, ...]
    held_by: tuple[Outcome, ...]
    findings: tuple[str, ...]  # the words for report readers, one per customization


def classify(plan: ChartPlan, evidence: Evidence,
             hatches: Callable[[], CentralHatches | None] = lambda: None,
             also: Sequence[Outcome | None] = (), central: str = "the central chart"
             ) -> Classified:
    """`also`: what decide saw but the outcome hides (a dependency, files still using the
    chart); `hatches`: the central chart's values, made only when something needs them."""
    held = _held(plan.outcome, also)
    if plan.verdict not in (Verdict.BLOCKED, Verdict.REVIEW):
        return Classified((), held, ())
    found = _merged([*_from_differences(plan, evidence), *_from_values(plan, evidence)])
    central_values = hatches() if found else None
    if central_values is not None:
        found = [_expressed(c, central_values) for c in found]
    ordered = sorted(found, key=lambda c: (not c.blocks, c.kind, c.item.resource or "",
                                           c.paths))
    items = tuple(c.item for c in ordered)
    return Classified(items, held, findings(items, central))


@dataclass(frozen=True)
class _Found:
    item: Customization
    resource: ResourceId | None = None
    # how a central value could express it: the whole object (one only the fork renders), by
    # leaving an object out (one only the migration renders), field by field, or not at all
    # (a rename, an immutable field, a values key)
    express: Literal["object", "created", "fields", "none"] = "none"
    fields: tuple[FieldChange, ...] = ()  # what expressibility compares

    @property
    def kind(self) -> str:
        return self.item.kind

    @property
    def blocks(self) -> bool:
        return self.item.blocks

    @property
    def paths(self) -> tuple[str, ...]:
        return self.item.paths


def _held(outcome: Outcome, also: Sequence[Outcome | None]) -> tuple[Outcome, ...]:
    out: list[Outcome] = []
    for o in (outcome, *also):
        if o is not None and o.verdict is Verdict.BLOCKED \
                and o.kind not in kinds.FROM_DIFFERENCES and o not in out:
            out.append(o)
    return tuple(out)


def _from_differences(plan: ChartPlan, evidence: Evidence) -> Iterator[_Found]:
    blocked = plan.verdict is Verdict.BLOCKED
    edited = plan.lineage is not None and bool(plan.lineage.modified_templates)
    for env in plan.environments:
        sources = evidence.sources.get(env.name, {})
        created = {(d.resource.kind, d.resource.namespace) for d in env.differences
                   if d.change == "added"}
        for d in env.differences:
            if d.diff_class is DiffClass.COSMETIC:
                continue
            blocks = blocked and (d.diff_class is DiffClass.DESTRUCTIVE or edited)
            source = _source(sources, d.resource)
            base = Customization(kind=kinds.OTHER, resource=str(d.resource), paths=d.paths,
                                 environments=(env.name,), blocks=blocks,
                                 diff_class=d.diff_class, why=d.why)
            if d.change == "removed":
                # an object only the fork has is an extra object, unless the migration makes
                # one of its kind under another name: a rename, which no value carries
                renamed = (d.resource.kind, d.resource.namespace) in created
                kind = kinds.OTHER if renamed else kinds.extra_object(d.resource.kind)
                file, line = locate(evidence.chart_path, evidence.templates, source,
                                    object_kind=d.resource.kind)
                yield _Found(replace(base, kind=kind, file=file, line=line), d.resource,
                             "none" if renamed else "object")
            elif d.change == "added":
                # only the migration renders it: no template of the fork is behind it
                yield _Found(base, d.resource, "created")
            elif d.diff_class is DiffClass.DESTRUCTIVE:  # no value makes it the same
                file, line = locate(evidence.chart_path, evidence.templates, source,
                                    d.paths[0] if d.paths else "")
                yield _Found(replace(base, file=file, line=line))
            else:
                yield from _by_kind(d, base, source, evidence)


def _by_kind(d: Difference, base: Customization, source: str | None, evidence: Evidence
             ) -> Iterator[_Found]:
    fields = {f.path: f for f in d.fields}
    groups: dict[str, list[str]] = {}
    for path in d.paths or tuple(fields):
        f = fields.get(path)
        fork_only = f is not None and f.after is None and f.before is not None
        groups.setdefault(kind_of(d.resource.kind, path, fork_only=fork_only), []).append(path)
    for kind, paths in groups.items():
        file, line = locate(evidence.chart_path, evidence.templates, source, paths[0])
        yield _Found(replace(base, kind=kind, paths=tuple(paths), file=file, line=line),
                     d.resource, "fields", tuple(fields[p] for p in paths if p in fields))


def _source(sources: Mapping[ResourceId, str], rid: ResourceId) -> str | None:
    """The fork's template of an object; for one only a deploy elsewhere rendered (another
    release, another name), the template of the fork's object of the same kind."""
    found = sources.get(rid)
    if found is not None:
        return found
    same_kind = sorted(s for r, s in sources.items() if r.kind == rid.kind)
    return same_kind[0] if same_kind else None


def _from_values(plan: ChartPlan, evidence: Evidence) -> Iterator[_Found]:
    decisions = plan.values.decisions if plan.values else ()
    for d in decisions:
        if d.reason != "unmapped":
            continue
        file, line = _value_line(evidence.value_lines, d.source or d.path)
        yield _Found(Customization(
            kind=kinds.VALUES_WITHOUT_EQUIVALENT, resource=None, paths=(d.path,),
            environments=(d.env,) if d.env else (), blocks=False, file=file, line=line,
            why=d.note))


def _value_line(lines: Mapping[str, Mapping[str, int]], key: str
                ) -> tuple[str | None, int | None]:
    for rel in reversed(list(lines)):  # the file Helm reads last wins
        line = lines[rel].get(key)
        if line is not None:
            return rel, line
    return None, None


def _merged(found: Sequence[_Found]) -> list[_Found]:
    """One customization per kind, object and paths, with every environment it shows in."""
    out: dict[tuple[str, str | None, tuple[str, ...]], _Found] = {}
    for f in found:
        key = (f.kind, f.item.resource, f.paths)
        seen = out.get(key)
        if seen is None:
            out[key] = f
            continue
        envs = tuple(dict.fromkeys((*seen.item.environments, *f.item.environments)))
        out[key] = replace(seen, item=replace(seen.item, environments=envs,
                                              blocks=seen.blocks or f.blocks))
    return list(out.values())


def _expressed(f: _Found, hatches: CentralHatches) -> _Found:
    if f.resource is None or f.express == "none":
        return f
    if f.express == "object":
        values = hatches.expressing(f.resource.kind)
    elif f.express == "created":
        values = hatches.removing(f.resource.kind)
    else:
        values = hatches.expressing(f.resource.kind, list(_leaves(f)))
    return replace(f, item=replace(f.item, expressed_by=values)) if values else f


def _leaves(f: _Found) -> Iterator[tuple[str, str | None]]:
    """Each field's leaves, as the central chart's effects are written: a whole map the fork
    adds (all its annotations) is the annotations one by one."""
    fields = {c.path: c for c in f.fields}
    for path in f.paths:
        change = fields.get(path)
        value = _parsed(change.before) if change is not None else None
        if isinstance(value, dict):
            for parts, leaf in added_leaves(value, {}, tokens(path)):
                yield path_text(parts), leaf_text(leaf)
        else:
            yield path, change.before if change is not None else None


def _parsed(text: str | None) -> Any:
    if text is None or not text.startswith("{"):
        return None
    try:
        value = json.loads(text)  # verify shows maps as JSON (cut past 120 characters)
    except ValueError:
        return None
    return _renamed(value)


def _renamed(value: Any) -> Any:
    """Named lists keyed by name, as the central chart's effects are."""
    if isinstance(value, dict):
        return {k: _renamed(v) for k, v in value.items()}
    if isinstance(value, list) and value and all(
            isinstance(i, dict) and isinstance(i.get("name"), str) for i in value):
        return {f"[{i['name']}]": _renamed(i) for i in value}
    return value


def findings(items: Sequence[Customization], central: str = "the central chart"
             ) -> tuple[str, ...]:
    """One sentence per customization, the values keys without a place said once."""
    keys = [c for c in items if c.kind == kinds.VALUES_WITHOUT_EQUIVALENT]
    out = [finding(c, central) for c in items if c.kind != kinds.VALUES_WITHOUT_EQUIVALENT]
    if keys:
        named = _paths([f"{c.paths[0]} ({c.where})" if c.where else c.paths[0] for c in keys])
        out.append(f"{kinds.VALUES_WITHOUT_EQUIVALENT}, {named}: {central} has no key for "
                   f"{'it' if len(keys) == 1 else 'them'} (not written to the values files)")
    return tuple(out)


def finding(c: Customization, central: str = "the central chart") -> str:
    """What the central chart would need to offer, in words a reviewer can act on. The kind
    is followed by a comma, never a colon: `Secret: name` reads as a credential to scrub."""
    what = f"{c.resource} {_paths(c.paths)}".strip() if c.resource else _paths(c.paths)
    where = f" ({c.where})" if c.where else ""
    head = f"{c.kind}, {what}{where}"
    if c.expressed_by:
        keys = ", ".join(f"{kinds.setting(v)} ({_versions(v.versions)})" for v in c.expressed_by)
        return f"{head}: {central} already has {keys}: a mapping to write, not a feature"
    if c.kind == kinds.OTHER:
        if c.diff_class is DiffClass.DESTRUCTIVE:
            return f"{head}: {c.why}; no central-chart value makes this safe"
        return f"{head}: {c.why or 'changes what runs'}; no generic value covers it"
    return f"{head}: needs {kinds.needs(c.kind)}"


def _paths(paths: Sequence[str]) -> str:
    shown = ", ".join(paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _versions(versions: Sequence[str]) -> str:
    return versions[0] if len(versions) == 1 else f"{versions[0]} to {versions[-1]}"

