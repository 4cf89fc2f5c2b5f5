"""The hatches `central suggest` can add to a central chart: generic values, off by default.

Each hatch passes content through to one place of the rendered manifests (the pod spec, the app
container, the pod's metadata, or objects of their own) and carries one or more customization
kinds (central/kinds.py). The values keys are those verify/hatches.py fills when a fork moves onto
a version that has them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from migrator import tree
from migrator.central import kinds
from migrator.errors import ConfigError
from migrator.verify import hatches as keys

# Where a hatch's content goes: a field of the pod spec, of the app container (the first one),
# of the pod template's metadata, or a template file of its own.
Place = Literal["pod", "container", "pod-metadata", "file"]


@dataclass(frozen=True)
class Hatch:
    key: str  # the values key: "extraContainers"
    kinds: tuple[str, ...]  # the customization kinds (bases) it carries
    place: Place
    field: str  # the manifest field it feeds ("containers"), or the template file it adds
    shape: Literal["list", "map"]
    doc: str  # the comment above the key in values.yaml (one line per sentence is fine)
    # values keys that already say the same (a chart with `pod.labels` needs no `podLabels`)
    same_as: tuple[str, ...] = ()

    @property
    def default(self) -> list[Any] | dict[str, Any]:
        return [] if self.shape == "list" else {}


EXTRA_OBJECTS_TEMPLATE = "templates/extra-objects.yaml"

HATCHES = (
    Hatch(keys.EXTRA_CONTAINERS, (kinds.EXTRA_CONTAINER,), "pod", "containers", "list",
          "Containers added to the pod beside the app container (sidecars), as Kubernetes "
          "container specs."),
    Hatch(keys.INIT_CONTAINERS, (kinds.INIT_CONTAINER,), "pod", "initContainers", "list",
          "Init containers of the pod, as Kubernetes container specs."),
    Hatch(keys.EXTRA_VOLUMES, (kinds.VOLUMES,), "pod", "volumes", "list",
          "Volumes added to the pod, as Kubernetes volume specs."),
    Hatch(keys.EXTRA_VOLUME_MOUNTS, (kinds.VOLUMES,), "container", "volumeMounts", "list",
          "Volume mounts added to the app container."),
    Hatch(keys.EXTRA_ENV, (kinds.ENV,), "container", "env", "list",
          "Environment variables added to the app container, as a Kubernetes env list "
          "(valueFrom secretKeyRef/configMapKeyRef too)."),
    Hatch(keys.ENV_FROM, (kinds.ENV,), "container", "envFrom", "list",
          "Secrets and ConfigMaps whose keys become environment variables of the app "
          "container, as a Kubernetes envFrom list."),
    Hatch("podLabels", (kinds.LABELS_ANNOTATIONS,), "pod-metadata", "labels", "map",
          "Labels added to every pod.", same_as=("pod.labels",)),
    Hatch("podAnnotations", (kinds.LABELS_ANNOTATIONS,), "pod-metadata", "annotations", "map",
          "Annotations added to every pod.", same_as=("pod.annotations",)),
    Hatch(keys.EXTRA_OBJECTS, (kinds.EXTRA_OBJECT,), "file", EXTRA_OBJECTS_TEMPLATE, "list",
          "Manifests the release adds as they are (a CronJob, a ConfigMap...): each a map or a "
          "string, passed through `tpl`, so `{{ .Release.Name }}` works in them."),
)

BY_KEY = {h.key: h for h in HATCHES}


def for_kinds(wanted: Iterable[str]) -> tuple[Hatch, ...]:
    """The hatches that carry `wanted` kinds (`extra-object:CronJob` counts as `extra-object`),
    in catalogue order. A kind no hatch carries is a usage error naming the ones that can."""
    bases = []
    for kind in wanted:
        base = kinds.base(kind.strip())
        if not any(base in h.kinds for h in HATCHES):
            carried = sorted({k for h in HATCHES for k in h.kinds})
            raise ConfigError(f"--kinds {kind}: no hatch carries it (hatches carry: "
                              f"{', '.join(carried)}; extra-object:<Kind> too)")
        bases.append(base)
    return tuple(h for h in HATCHES if any(b in h.kinds for b in bases))


def carried(kind: str) -> bool:
    """Whether a hatch carries the customization kind."""
    return any(kinds.base(kind) in h.kinds for h in HATCHES)


def already_offered(hatch: Hatch, defaults: Mapping[str, Any]) -> str | None:
    """The values key of the chart that already is this hatch (itself, or one that says the
    same), or None."""
    for key in (hatch.key, *hatch.same_as):
        found = tree.get(dict(defaults), tree.undotted(key), None)
        if isinstance(found, list if hatch.shape == "list" else dict):
            return key
    return None
