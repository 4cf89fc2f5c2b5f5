"""Compare two renders of a release semantically and classify every difference.

Objects are matched by identity (API group, kind, namespace, name), never by position; lists of
named things (containers, env, ports, volumes, volumeMounts) are matched by name; empty values are
what Kubernetes stores for an absent field, so they compare equal to absence.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from migrator.model import DiffClass, Difference, FieldChange, ResourceId
from migrator.redact import REDACTED, is_secret_key

WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}

# Fields the API server refuses to change on an existing object (an upgrade fails or the object
# has to be deleted and recreated).
IMMUTABLE: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec.selector",),
    "ReplicaSet": ("spec.selector",),
    "DaemonSet": ("spec.selector",),
    "StatefulSet": ("spec.selector", "spec.volumeClaimTemplates", "spec.serviceName",
                    "spec.podManagementPolicy"),
    "Service": ("spec.clusterIP", "spec.clusterIPs"),
    "Job": ("spec.template", "spec.selector", "spec.completionMode"),
    "PersistentVolumeClaim": ("spec.storageClassName", "spec.volumeName"),
}

DEFAULT_COSMETIC_KEYS = ("helm.sh/chart", "app.kubernetes.io/version")
_SECRET_KINDS = {"Secret"}


@dataclass(frozen=True)
class Rendered:
    """One release as Helm rendered it: objects by identity, and the template of each."""

    objects: dict[ResourceId, dict[str, Any]]
    sources: dict[ResourceId, str]  # identity -> "templates/deployment.yaml"


def index(parsed: Iterable[tuple[str, dict[str, Any]]], namespace: str | None) -> Rendered:
    """Key parsed objects by identity; test hooks are left out (only `helm test` creates them)."""
    objects: dict[ResourceId, dict[str, Any]] = {}
    sources: dict[ResourceId, str] = {}
    for template, obj in parsed:
        meta = obj.get("metadata") or {}
        hooks = str((meta.get("annotations") or {}).get("helm.sh/hook", ""))
        if "test" in hooks.split(","):
            continue
        rid = ResourceId(
            api_version=str(obj.get("apiVersion", "")),
            kind=str(obj.get("kind", "")),
            namespace=str(meta.get("namespace") or namespace or "default"),
            name=str(meta.get("name", "")),
        )
        objects[rid] = obj
        sources[rid] = template.split("/", 1)[1] if "/" in template else template
    return Rendered(objects, sources)


def _identity(rid: ResourceId) -> tuple[str, str, str, str]:
    # The API group is identity, the version is not: apps/v1 and apps/v1beta2 are one object.
    return (rid.group, rid.kind, rid.namespace, rid.name)


def normalize(value: Any) -> Any:
    """Drop empty values, key lists of named things by name."""
    if isinstance(value, dict):
        out = {k: normalize(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [], "")}
    if isinstance(value, list):
        items = [normalize(v) for v in value]
        names = [i.get("name") for i in items if isinstance(i, dict)]
        if items and len(names) == len(items) and all(isinstance(n, str) for n in names) \
                and len(set(names)) == len(names):
            return {f"[{i['name']}]": i for i in items}
        return items
    return value


def _format_path(parts: Sequence[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("[") and part.endswith("]"):
            out += part
        elif "." in part or "/" in part:
            out += f'["{part}"]'
        else:
            out += f".{part}" if out else part
    return out


def _denormalize(value: Any) -> Any:
    """Named lists back as Kubernetes writes them (normalize keyed them by "[name]")."""
    if isinstance(value, dict):
        items = {k: _denormalize(v) for k, v in value.items()}
        if items and all(isinstance(k, str) and k.startswith("[") for k in items):
            return list(items.values())
        return items
    if isinstance(value, list):
        return [_denormalize(v) for v in value]
    return value


def _short(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(_denormalize(value))
    return text if len(text) <= 120 else text[:117] + "..."


def compare(
    before: Rendered,
    after: Rendered,
    cosmetic_keys: Sequence[str] = DEFAULT_COSMETIC_KEYS,
) -> list[Difference]:
    """Every difference between two renders, classified, most severe first."""
    after_by_id = {_identity(r): r for r in after.objects}
    before_ids = {_identity(r) for r in before.objects}
    diffs: list[Difference] = []
    regrouped: set[ResourceId] = set()
    for rid, obj in before.objects.items():
        other = after_by_id.get(_identity(rid))
        if other is None:
            other = _regrouped(rid, after, before_ids)
            if other is None:
                diffs.append(_removed(rid, after))
                continue
            regrouped.add(other)
            diffs.append(_group_change(rid, other))
            # the rest of the object is compared as if it had moved already
            same_group = {**obj, "apiVersion": other.api_version}
            diffs.extend(_changed(rid, same_group, after.objects[other], cosmetic_keys))
            continue
        diffs.extend(_changed(rid, obj, after.objects[other], cosmetic_keys))
    for rid in after.objects:
        if _identity(rid) not in before_ids and rid not in regrouped:
            diffs.append(Difference(rid, DiffClass.FUNCTIONAL, "added", (),
                                    why="object created by the migration"))
    return sorted(diffs, key=lambda d: (-d.diff_class.rank, d.resource.kind, d.resource.name))


def _regrouped(rid: ResourceId, after: Rendered, before_ids: set[tuple[str, str, str, str]]
               ) -> ResourceId | None:
    """The same kind, namespace and name served from another API group (a Deployment of
    extensions/v1beta1 that the central chart writes as apps/v1)."""
    for other in after.objects:
        if (other.kind, other.namespace, other.name) == (rid.kind, rid.namespace, rid.name) \
                and _identity(other) not in before_ids:
            return other
    return None


def _group_change(rid: ResourceId, other: ResourceId) -> Difference:
    return Difference(
        rid, DiffClass.DESTRUCTIVE, "changed", ("apiVersion",),
        (FieldChange("apiVersion", rid.api_version, other.api_version),),
        why=(f"API group changes ({rid.api_version} -> {other.api_version}): Helm takes it for "
             f"another object, deletes the old one and creates this one; map the release's "
             f"stored manifests first (helm mapkubeapis)"))


def _removed(rid: ResourceId, after: Rendered) -> Difference:
    renamed = [r for r in after.objects if r.kind == rid.kind and r.namespace == rid.namespace]
    why = "object deleted by the migration"
    if renamed and all(_identity(r) != _identity(rid) for r in renamed):
        why = f"object deleted (the migrated chart names it {renamed[0].name})"
    return Difference(rid, DiffClass.DESTRUCTIVE, "removed", (), why=why)


def _changed(rid: ResourceId, before: dict[str, Any], after: dict[str, Any],
             cosmetic_keys: Sequence[str]) -> list[Difference]:
    a, b = normalize(before), normalize(after)
    by_class: dict[DiffClass, list[FieldChange]] = {}
    whys: dict[DiffClass, set[str]] = {}
    for prefix, item in _tree_diff(a, b):
        parts = [*prefix, *item.path(output_format="list")]
        klass, why = classify(rid.kind, parts, cosmetic_keys)
        t1 = None if _absent(item.t1) else item.t1
        t2 = None if _absent(item.t2) else item.t2
        by_class.setdefault(klass, []).append(
            _field_change(rid, parts, _format_path(parts), t1, t2)
        )
        whys.setdefault(klass, set()).add(why)
    return [
        Difference(rid, klass, "changed", tuple(c.path for c in changes), tuple(changes),
                   why="; ".join(sorted(whys[klass])))
        for klass, changes in by_class.items()
    ]


def _tree_diff(
    a: Any, b: Any, prefix: tuple[Any, ...] = ()
) -> Iterable[tuple[tuple[Any, ...], Any]]:
    """DeepDiff's items, run only on the subtrees that differ (most of a manifest does not).
    Below three levels DeepDiff takes a map whole, and finds what `==` overlooks (`true` for
    `1`); where only one key holds anything it would find, that key alone is compared. Two
    scalars that differ (a label's value, the usual difference) are the one item DeepDiff would
    find, without its set-up."""
    if a == b:
        return
    if isinstance(a, dict) and isinstance(b, dict) and (len(prefix) < 3 or _one_differs(a, b)):
        for key in sorted(set(a) | set(b), key=str):
            if key in a and key in b:
                yield from _tree_diff(a[key], b[key], (*prefix, key))
            elif a.get(key) != b.get(key):
                yield from _items(
                    {key: a[key]} if key in a else {}, {key: b[key]} if key in b else {}, prefix
                )
        return
    if prefix:
        if type(a) in _SCALARS and type(b) in _SCALARS and a is not b:
            yield prefix[:-1], _Changed((prefix[-1],), a, b)
            return
        yield from _items({prefix[-1]: a}, {prefix[-1]: b}, prefix[:-1])
    else:
        yield from _items(a, b, prefix)


_SCALARS = (str, int, float, bool, type(None))


def _one_differs(a: dict[Any, Any], b: dict[Any, Any]) -> bool:
    """Whether exactly one key of two maps is not `_same` in both."""
    differ = 0
    for key in a.keys() | b.keys():
        if key not in a or key not in b or not _same(a[key], b[key]):
            differ += 1
            if differ > 1:
                return False
    return differ == 1


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down: where DeepDiff finds nothing."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return bool(a == b)


@dataclass(frozen=True)
class _Changed:
    """One scalar that differs, as DeepDiff's item for it reads."""

    at: tuple[Any, ...]
    t1: Any
    t2: Any

    def path(self, output_format: str) -> list[Any]:
        return list(self.at)


def _items(a: Any, b: Any, prefix: tuple[Any, ...]) -> Iterable[tuple[tuple[Any, ...], Any]]:
    # Imported where it is used: the run's own process (and every CLI command) never compares
    # manifests, and DeepDiff is a tenth of its start-up.
    from deepdiff import DeepDiff

    for _report, items in DeepDiff(a, b, view="tree", verbose_level=2).items():
        for item in items:
            yield prefix, item


def _absent(value: Any) -> bool:
    return type(value).__name__ == "NotPresent"


def _field_change(rid: ResourceId, parts: Sequence[Any], path: str, t1: Any, t2: Any
                  ) -> FieldChange:
    if rid.kind in _SECRET_KINDS and parts and parts[0] in ("data", "stringData"):
        return FieldChange(path, _secret_size(t1), _secret_size(t2))
    if any(isinstance(p, str) and is_secret_key(p.strip("[]")) for p in parts[1:]) or \
            _is_secret_env(parts, t1, t2):
        return FieldChange(path, None if t1 is None else REDACTED,
                           None if t2 is None else REDACTED)
    return FieldChange(path, _short(t1), _short(t2))


def _is_secret_env(parts: Sequence[Any], t1: Any, t2: Any) -> bool:
    names = [p.strip("[]") for p in parts if isinstance(p, str) and p.startswith("[")]
    return bool(names) and is_secret_key(names[-1]) and "env" in parts


def _secret_size(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return f"{len(value)} keys (values hidden)"
    return f"changed ({len(str(value))} bytes)"


def classify(kind: str, parts: Sequence[Any], cosmetic_keys: Sequence[str]
             ) -> tuple[DiffClass, str]:
    path = ".".join(str(p) for p in parts)
    for field in IMMUTABLE.get(kind, ()):
        if path == field or path.startswith(field + "."):
            return DiffClass.DESTRUCTIVE, f"immutable field {field}"
    if len(parts) >= 3 and parts[-2] in ("labels", "annotations") and parts[-1] in cosmetic_keys:
        where = "the pod template (pods roll once)" if "template" in parts else "metadata"
        return DiffClass.COSMETIC, f"descriptive {parts[-2][:-1]} in {where}"
    return DiffClass.FUNCTIONAL, "changes what runs"


def objects_of(rendered: Rendered) -> list[Mapping[str, Any]]:
    return list(rendered.objects.values())
