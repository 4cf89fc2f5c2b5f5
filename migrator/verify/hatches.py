"""Carry what a fork adds to its manifests in the central chart's hatches, when the target has them.

A hatch is a generic value that passes content through to the manifests: `extraContainers`,
`initContainers`, `extraVolumes`, `extraVolumeMounts`, `extraEnv`, `envFrom` and `extraObjects`
(`migrator central suggest` adds them to a central chart). When the target version offers one,
what the fork renders and the central chart does not (a sidecar, a CronJob, env from a Secret)
is copied from the fork's rendered manifests, per environment, into that hatch. These are
proposals like the other repairs: verify renders again and keeps them only because the render
proves them.

Hatch content is static. A deploy-time value (`--set image.tag=$CI_COMMIT_SHA`) renders as its
literal text on both sides of the comparison, so a hatch holding it would compare equal and still
deploy the literal: `frozen_deploy_values` finds those, and the chart stays in review.
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from migrator import tree
from migrator.model import Kind, Outcome, ResourceId, SetFlag
from migrator.verify.manifests import WORKLOADS, Rendered

EXTRA_CONTAINERS = "extraContainers"
INIT_CONTAINERS = "initContainers"
EXTRA_VOLUMES = "extraVolumes"
EXTRA_VOLUME_MOUNTS = "extraVolumeMounts"
EXTRA_ENV = "extraEnv"
ENV_FROM = "envFrom"
EXTRA_OBJECTS = "extraObjects"
KEYS = (EXTRA_CONTAINERS, INIT_CONTAINERS, EXTRA_VOLUMES, EXTRA_VOLUME_MOUNTS, EXTRA_ENV,
        ENV_FROM, EXTRA_OBJECTS)

_POD_SPEC = ("spec", "template", "spec")


@dataclass(frozen=True)
class Carried:
    """The whole list a hatch should hold for `after` to render what the fork renders."""

    path: str  # the hatch's values key
    value: list[Any]
    note: str


def offered(central_defaults: Mapping[str, Any]) -> frozenset[str]:
    """The hatches the target version has: a list default under the hatch's key."""
    return frozenset(k for k in KEYS if isinstance(central_defaults.get(k), list))


def propose(before: Rendered, after: Rendered, central_defaults: Mapping[str, Any],
            current: Mapping[str, Any], cosmetic_keys: Sequence[str] = (),
            renaming: bool = False) -> list[Carried]:
    """What the target's hatches should hold for `after` to render what `before` renders.

    `current` is what is written now (a hatch keeps what it already holds); with `renaming`
    a name repair is pending, so objects missing under their old name are not carried yet
    (the next round sees them under the name they keep)."""
    hatches = offered(central_defaults)
    if not hatches:
        return []
    wanted: dict[str, list[Any]] = {}
    notes: dict[str, list[str]] = {}

    def carry(key: str, item: Any, what: str) -> None:
        if key not in hatches:
            return
        have = wanted.setdefault(key, list(current.get(key) or []))
        if item not in have:
            have.append(item)
            notes.setdefault(key, []).append(what)

    after_by_id = {_identity(r): obj for r, obj in after.objects.items()}
    for rid, obj in before.objects.items():
        other = after_by_id.get(_identity(rid))
        if other is None or rid.kind not in WORKLOADS:
            continue
        source = before.sources.get(rid, "a template")
        fork_pod, central_pod = _pod(obj), _pod(other)
        for key, field in ((EXTRA_CONTAINERS, "containers"), (INIT_CONTAINERS, "initContainers"),
                           (EXTRA_VOLUMES, "volumes")):
            for item in _missing(fork_pod.get(field), central_pod.get(field)):
                carry(key, item, f"{source}: {_singular(field)} {item.get('name')}")
        fork_main, central_main = _main_containers(fork_pod, central_pod)
        if fork_main is None or central_main is None:
            continue
        for key, field in ((EXTRA_ENV, "env"), (ENV_FROM, "envFrom"),
                           (EXTRA_VOLUME_MOUNTS, "volumeMounts")):
            for item in _missing(fork_main.get(field), central_main.get(field)):
                carry(key, item, f"{source}: {field} of container {fork_main.get('name')}")
    if not renaming:
        for rid, obj in _extra_objects(before, after):
            carry(EXTRA_OBJECTS, _as_tpl_content(_without(obj, cosmetic_keys)),
                  f"{before.sources.get(rid, 'a template')}: {rid}")
    return [Carried(key, value, f"the fork adds {', '.join(notes[key])}; the central chart "
                                f"carries it in `{key}`")
            for key, value in wanted.items() if key in notes]


def _identity(rid: ResourceId) -> tuple[str, str, str, str]:
    return (rid.group, rid.kind, rid.namespace, rid.name)


def _pod(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    pod = tree.get(dict(obj), _POD_SPEC, None)
    return pod if isinstance(pod, Mapping) else {}


def _missing(fork: Any, central: Any) -> list[Any]:
    """Items of the fork's list the central list lacks: named items by name (a container the
    central chart renders otherwise is a difference, not something to add), others whole."""
    fork_items = fork if isinstance(fork, list) else []
    central_items = central if isinstance(central, list) else []
    names = {_name(i) for i in central_items}
    out = []
    for item in fork_items:
        name = _name(item)
        absent = name not in names if name is not None else item not in central_items
        if absent:
            out.append(copy.deepcopy(item))
    return out


def _name(item: Any) -> str | None:
    if isinstance(item, Mapping) and isinstance(item.get("name"), str):
        # a volume may be mounted at several paths: a mount is its name and path
        return f"{item['name']}:{item.get('mountPath', '')}"
    return None


def _singular(field: str) -> str:
    return {"containers": "container", "initContainers": "init container",
            "volumes": "volume"}.get(field, field)


def _main_containers(fork_pod: Mapping[str, Any], central_pod: Mapping[str, Any]
                     ) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
    """The container the central chart renders (its first: the one the env and mount hatches
    feed) and the fork's container of the same name."""
    central = central_pod.get("containers")
    if not isinstance(central, list) or not central or not isinstance(central[0], Mapping):
        return None, None
    main = central[0]
    for item in fork_pod.get("containers") or ():
        if isinstance(item, Mapping) and item.get("name") == main.get("name"):
            return item, main
    return None, main


def _extra_objects(before: Rendered, after: Rendered
                   ) -> Iterator[tuple[ResourceId, dict[str, Any]]]:
    """Objects the fork renders and the migration would delete, that are the fork's own: none
    of the central chart's objects of that kind is missing from the fork (else the object is
    more likely one the central chart renders under another name: a destructive rename no
    hatch makes safe)."""
    before_ids = {_identity(r) for r in before.objects}
    after_ids = {_identity(r) for r in after.objects}
    renamed_kinds = {r.kind for r in after.objects if _identity(r) not in before_ids}
    for rid, obj in before.objects.items():
        if _identity(rid) not in after_ids and rid.kind not in renamed_kinds:
            yield rid, obj


def _without(obj: Mapping[str, Any], cosmetic_keys: Sequence[str]) -> dict[str, Any]:
    """The object without its descriptive labels: in static content they would go on naming the
    fork's chart and version after the move."""
    def strip(value: Any, parent: str | None) -> Any:
        if isinstance(value, Mapping):
            return {k: strip(v, str(k)) for k, v in value.items()
                    if not (parent in ("labels", "annotations") and k in cosmetic_keys)}
        if isinstance(value, list):
            return [strip(v, None) for v in value]
        return value

    stripped: dict[str, Any] = strip(obj, None)
    return stripped


def _as_tpl_content(value: Any) -> Any:
    """`extraObjects` pass through `tpl`: what the fork rendered literally must stay literal
    (a ConfigMap holding `{{ $labels.instance }}` for Prometheus)."""
    if isinstance(value, Mapping):
        return {_as_tpl_content(k): _as_tpl_content(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_tpl_content(v) for v in value]
    if isinstance(value, str) and "{{" in value:
        return value.replace("{{", '{{ "{{" }}')
    return value


# --- deploy-time values inside static content -------------------------------------------------


def frozen_deploy_values(values: Mapping[str, Any], flags: Sequence[SetFlag], env: str
                         ) -> Outcome | None:
    """A review outcome when a hatch holds the literal text of a deploy-time `--set` value
    (a Secret's base64 data too): written as static content it would deploy that text."""
    found: list[tuple[str, SetFlag]] = []
    literals = [f for f in flags if f.dynamic and f.value]
    for key in KEYS:
        for path, text in _strings(values.get(key), key):
            for flag in literals:
                if flag.value in text or flag.value in _decoded(text):
                    found.append((path, flag))
    if not found:
        return None
    path, flag = found[0]
    return Outcome(Kind.HATCH_DEPLOY_TIME, detail=f"--set {flag.key}={flag.value}",
                   paths=tuple(dict.fromkeys(p for p, _ in found)), environments=(env,),
                   count=len(found))


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _strings(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            name = v.get("name") if isinstance(v, Mapping) else None
            label = name if isinstance(name, str) else (
                tree.get(v, ("metadata", "name"), None) if isinstance(v, dict) else None)
            yield from _strings(v, f"{path}[{label if isinstance(label, str) else i}]")
    elif isinstance(value, str):
        yield path, value


def _decoded(text: str) -> str:
    """`text` as base64-decoded UTF-8 (how a Secret's data holds a rendered value), or ""."""
    if len(text) < 4 or len(text) % 4:
        return ""
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
