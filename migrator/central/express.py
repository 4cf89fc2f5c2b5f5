"""Which values of the central chart, at any published version, already say what a fork does.

Every version is rendered with its defaults, then once per value that could switch something on:
a `false` toggle set to true (what it adds, exactly: `istio.enabled` writes the pod annotation
`sidecar.istio.io/inject: "true"`), and an empty list or map given a probe item (where any content
lands: a generic value such as `volumes` or `extraObjects`). A customization one of them produces
is a mapping problem, not a missing feature. Made once per catalog: a few renders per version.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from migrator import tree
from migrator.central.paths import Token, path_text, wildcard
from migrator.errors import MigratorError
from migrator.lineage.catalog import Catalog
from migrator.model import CentralValue
from migrator.verify import manifests
from migrator.verify import render as helm
from migrator.verify.render import LoadedChart

PROBE = "migrator-probe"
# One item that fits the lists a chart passes through `toYaml`: containers, env, volumes,
# volume mounts, and whole manifests (the probe object is named for it).
_PROBE_ITEM = {"name": PROBE, "image": PROBE, "value": PROBE, "mountPath": f"/{PROBE}",
               "emptyDir": {}, "apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": PROBE}}
_PROBE_MAP = {PROBE: PROBE}
_MAX_KEYS = 400  # per version: a chart with more switches than that is not hand-written
_RELEASE = "release"


@dataclass(frozen=True)
class Effect:
    """What setting one value of one version adds to the default render."""

    key: str
    version: str
    resource_kind: str  # "*": an object of any kind (a list of extra manifests)
    path: str  # containers wildcarded; "" for a whole object
    value: str | None = None  # what a toggle writes there; None for a hatch
    hatch: bool = False  # any content under `path`, not one fixed value
    setting: str | None = None  # a switch: "true" adds this, "false" removes it (`removes`)
    removes: bool = False  # the whole object goes when the switch is set


@dataclass(frozen=True)
class CentralHatches:
    effects: tuple[Effect, ...]

    def expressing(self, resource_kind: str, leaves: Sequence[tuple[str, str | None]] = ()
                   ) -> tuple[CentralValue, ...]:
        """The values that produce every one of `leaves` (field path, value as verify shows
        it) of a `resource_kind` object, each with the versions that have it; no leaves: the
        whole object. None unless every leaf is produced by one of them."""
        hits: list[Effect] = []
        for path, value in leaves or (("", None),):
            field = wildcard(path) if path else ""
            found = [e for e in self.effects if _produces(e, resource_kind, field, value)]
            if not found:
                return ()
            hits.extend(found)
        return _values(hits)

    def removing(self, resource_kind: str) -> tuple[CentralValue, ...]:
        """The switches whose setting leaves out an object of `resource_kind` that the defaults
        render (an object the migration would create, which the fork does not have)."""
        return _values([e for e in self.effects
                        if e.removes and e.resource_kind == resource_kind])


def _values(effects: Sequence[Effect]) -> tuple[CentralValue, ...]:
    found: dict[tuple[str, str | None], list[str]] = {}
    for e in effects:
        versions = found.setdefault((e.key, e.setting), [])
        if e.version not in versions:
            versions.append(e.version)
    return tuple(CentralValue(key, tuple(versions), setting)
                 for (key, setting), versions in found.items())


def _produces(e: Effect, resource_kind: str, field: str, value: str | None) -> bool:
    if e.removes:
        return False
    if not field:
        return (e.hatch and e.resource_kind == "*") or (
            not e.hatch and not e.path and e.resource_kind == resource_kind)
    if e.resource_kind != resource_kind or not e.path:
        return False
    if e.hatch:
        return field == e.path or field.startswith((e.path + ".", e.path + "["))
    return field == e.path and value == e.value


_lock = threading.Lock()
_made: dict[int, tuple[Catalog, CentralHatches]] = {}


def hatches(catalog: Catalog) -> CentralHatches:
    """The effects of every published version's values, made on first use."""
    with _lock:
        hit = _made.get(id(catalog))
        if hit is None or hit[0] is not catalog:
            hit = (catalog, _probe(catalog))
            _made[id(catalog)] = hit
        return hit[1]


def _probe(catalog: Catalog) -> CentralHatches:
    effects: list[Effect] = []
    for version in catalog.versions():
        effects.extend(version_effects(catalog.get(version)))
    return CentralHatches(tuple(effects))


def version_effects(chart: LoadedChart) -> list[Effect]:
    defaults = chart.values
    renders: dict[str, manifests.Rendered | None] = {}

    def rendered(values: dict[str, Any]) -> manifests.Rendered | None:
        key = json.dumps(values, sort_keys=True)
        if key not in renders:
            renders[key] = _rendered(chart, values)
        return renders[key]

    out: list[Effect] = []
    for path, value in list(tree.leaves(defaults))[:_MAX_KEYS]:
        key = tree.dotted(path)
        if not isinstance(value, bool) and value not in ([], {}):
            continue
        # what the value adds to the chart with the features above it on (and nothing else)
        baseline = rendered(_switched_on(defaults, path, None))
        if isinstance(value, bool):
            toggled = rendered(_switched_on(defaults, path, not value))
            if toggled is not None and baseline is not None:
                out.extend(_toggle_effects(key, chart.version, toggled, baseline)
                           if value is False else
                           _removals(key, chart.version, toggled, baseline))
        else:
            probe: Any = [dict(_PROBE_ITEM)] if value == [] else dict(_PROBE_MAP)
            probed = rendered(_switched_on(defaults, path, probe))
            if probed is not None and baseline is not None:
                out.extend(_probe_effects(key, chart.version, probed, baseline))
    return out


def _switched_on(defaults: Mapping[str, Any], path: tree.Path, value: Any) -> dict[str, Any]:
    """User values setting `path`, with every `enabled: false` above it turned on (an ingress
    annotation shows only with the ingress); `value` None sets only those."""
    values: dict[str, Any] = {}
    for i in range(1, len(path)):
        switch = (*path[:i], "enabled")
        if switch != path and tree.get(defaults, switch, None) is False:
            tree.put(values, switch, True)
    if value is not None:
        tree.put(values, path, value)
    return values


def _rendered(chart: LoadedChart, values: Mapping[str, Any]) -> manifests.Rendered | None:
    try:
        text = helm.render(chart, values, release=_RELEASE, namespace=None, origin=chart.name)
        return manifests.index(helm.parse_manifests(text), None)
    except MigratorError:
        return None  # a value that does not render alone says nothing


def _toggle_effects(key: str, version: str, toggled: manifests.Rendered,
                    base: manifests.Rendered) -> Iterator[Effect]:
    for rid, obj in toggled.objects.items():
        before = base.objects.get(rid)
        if before is None:
            yield Effect(key, version, rid.kind, "", setting="true")
            continue
        for path, value in added_leaves(manifests.normalize(obj), manifests.normalize(before)):
            yield Effect(key, version, rid.kind, wildcard(path_text(path)), leaf_text(value),
                         setting="true")


def _removals(key: str, version: str, toggled: manifests.Rendered,
              base: manifests.Rendered) -> Iterator[Effect]:
    for rid in base.objects:
        if rid not in toggled.objects:
            yield Effect(key, version, rid.kind, "", setting="false", removes=True)


def added_leaves(value: Any, other: Any, at: tuple[Token, ...] = ()
                 ) -> Iterator[tuple[tuple[Token, ...], Any]]:
    """The leaves of `value` that `other` lacks or holds otherwise (named lists keyed by name,
    as `manifests.normalize` keys them)."""
    if isinstance(value, dict):
        theirs = other if isinstance(other, dict) else {}
        for k, v in value.items():
            yield from added_leaves(v, theirs.get(k), (*at, _token(str(k))))
    elif value != other:
        yield at, value


def leaf_text(value: Any) -> str:
    """A leaf as verify shows a field's value (`FieldChange.before`)."""
    return value if isinstance(value, str) else json.dumps(value)


def _token(key: str) -> Token:
    if key.startswith("[") and key.endswith("]"):
        return Token(key[1:-1], True)
    return Token(key, False)


def _probe_effects(key: str, version: str, probed: manifests.Rendered,
                   baseline: manifests.Rendered) -> Iterator[Effect]:
    for rid, obj in probed.objects.items():
        if rid.name == PROBE or rid not in baseline.objects and PROBE in rid.name:
            yield Effect(key, version, "*", "", hatch=True)
            continue
        for parent in _landings(manifests.normalize(obj)):
            yield Effect(key, version, rid.kind, wildcard(path_text(parent)), hatch=True)


def _landings(value: Any, at: tuple[Token, ...] = ()) -> Iterator[tuple[Token, ...]]:
    """Where the probe landed: the paths of the maps and lists holding it."""
    if not isinstance(value, dict):
        return
    if f"[{PROBE}]" in value or PROBE in value:
        yield at
        return
    for k, v in value.items():
        yield from _landings(v, (*at, _token(str(k))))
