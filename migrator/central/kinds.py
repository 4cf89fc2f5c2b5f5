"""The customization kinds: stable names for what a fork does that the central chart cannot say.

The names are a contract (report.json, central-gaps.json, `central suggest --kinds`); add one,
never rename one. Each kind but `other` and `values-without-equivalent` names a feature the central
chart could add (a generic value, off by default), which is what the gap report ranks.
"""

from __future__ import annotations

from migrator.model import CentralValue, Kind

EXTRA_CONTAINER = "extra-container"  # a sidecar
INIT_CONTAINER = "init-container"
VOLUMES = "volumes"  # volumes and volume mounts
ENV = "env"  # env and envFrom, from Secrets and ConfigMaps too
COMMAND_ARGS = "command-args"
SECURITY_CONTEXT = "security-context"
LIFECYCLE = "lifecycle"  # lifecycle hooks
LABELS_ANNOTATIONS = "labels-annotations"  # where the central chart exposes none
PROBES = "probes"  # probes of another shape
SERVICE_SHAPE = "service-shape"  # the Service, and the container ports it targets
INGRESS_SHAPE = "ingress-shape"
EXTRA_OBJECT = "extra-object"  # a prefix: "extra-object:CronJob"
VALUES_WITHOUT_EQUIVALENT = "values-without-equivalent"  # values keys the central chart lacks
OTHER = "other"  # the raw paths say what; no generic value covers it (an immutable field...)

KINDS = (EXTRA_CONTAINER, INIT_CONTAINER, VOLUMES, ENV, COMMAND_ARGS, SECURITY_CONTEXT,
         LIFECYCLE, LABELS_ANNOTATIONS, PROBES, SERVICE_SHAPE, INGRESS_SHAPE, EXTRA_OBJECT,
         VALUES_WITHOUT_EQUIVALENT, OTHER)

# What the central chart would add for a kind: the unit the unblock order adds, one at a time.
# Every extra object, whatever its kind, rides in one `extraObjects` list.
_FEATURES = {
    EXTRA_CONTAINER: "extraContainers",
    INIT_CONTAINER: "initContainers",
    VOLUMES: "extraVolumes + extraVolumeMounts",
    ENV: "extraEnv + envFrom",
    COMMAND_ARGS: "command/args values",
    SECURITY_CONTEXT: "securityContext values",
    LIFECYCLE: "lifecycle values",
    LABELS_ANNOTATIONS: "labels/annotations values",
    PROBES: "probe values of any shape",
    SERVICE_SHAPE: "Service values (type, ports, selector)",
    INGRESS_SHAPE: "Ingress values",
    EXTRA_OBJECT: "extraObjects",
}

# The words a reviewer reads after "the central chart would need": what would carry it.
_NEEDS = {
    EXTRA_CONTAINER: "a value for extra containers (sidecars)",
    INIT_CONTAINER: "a value for init containers",
    VOLUMES: "values for extra volumes and volume mounts",
    ENV: "values for extra env and envFrom (Secrets, ConfigMaps)",
    COMMAND_ARGS: "values for the container's command and args",
    SECURITY_CONTEXT: "values for the security context",
    LIFECYCLE: "a value for lifecycle hooks",
    LABELS_ANNOTATIONS: "values for these labels or annotations",
    PROBES: "probe values of this shape",
    SERVICE_SHAPE: "Service values of this shape",
    INGRESS_SHAPE: "Ingress values of this shape",
    EXTRA_OBJECT: "a value for extra objects (manifests passed through `tpl`)",
    VALUES_WITHOUT_EQUIVALENT: "keys for these values",
}


# Chart outcomes that come from the differences themselves: their customizations say what they
# need. Any other blocked outcome holds the chart whatever the central chart adds.
FROM_DIFFERENCES = frozenset({Kind.DESTRUCTIVE, Kind.CUSTOMIZED})


def extra_object(object_kind: str) -> str:
    return f"{EXTRA_OBJECT}:{object_kind}"


def base(kind: str) -> str:
    """`extra-object:CronJob` -> `extra-object`; other kinds are their own base."""
    return kind.partition(":")[0]


def coverable(kind: str) -> bool:
    """Whether some central-chart feature could carry it (no value makes an immutable field
    change safe; a values key alone changes nothing the cluster sees)."""
    return base(kind) in _FEATURES


def feature(kind: str) -> str:
    """The central chart's addition that covers `kind`; the kind itself when none does."""
    return _FEATURES.get(base(kind), kind)


def features_of(feature_name: str) -> tuple[str, ...]:
    """The kinds (bases) one feature covers."""
    return tuple(k for k, f in _FEATURES.items() if f == feature_name)


def needs(kind: str) -> str:
    return _NEEDS.get(base(kind), "a person: no central-chart value covers it")


def setting(v: CentralValue) -> str:
    """`istio.enabled=true`, or `volumes` for a value that takes any content."""
    return f"`{v.key}={v.setting}`" if v.setting else f"`{v.key}`"
