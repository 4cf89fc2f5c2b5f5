"""Which kind a manifest field path belongs to.

Paths are written as verify writes them (`spec.template.spec.containers[app].env[DB].value`,
`metadata.annotations["sidecar.istio.io/inject"]`): keys, `[name]` items of named lists, `[0]`
items of the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from migrator.central import kinds

_TOKEN = re.compile(r'\["((?:[^"\\]|\\.)*)"\]|\[([^\]]*)\]|\.?([^.\[]+)')

# Where each kind of object keeps its pod, as paths of keys.
_POD = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "Pod": (),
}
_CONTAINER_FIELDS = {
    "env": kinds.ENV,
    "envFrom": kinds.ENV,
    "command": kinds.COMMAND_ARGS,
    "args": kinds.COMMAND_ARGS,
    "securityContext": kinds.SECURITY_CONTEXT,
    "lifecycle": kinds.LIFECYCLE,
    "volumeMounts": kinds.VOLUMES,
    "volumeDevices": kinds.VOLUMES,
    "livenessProbe": kinds.PROBES,
    "readinessProbe": kinds.PROBES,
    "startupProbe": kinds.PROBES,
    # the central chart derives the container's ports from its Service's
    "ports": kinds.SERVICE_SHAPE,
}
_POD_FIELDS = {
    "initContainers": kinds.INIT_CONTAINER,
    "volumes": kinds.VOLUMES,
    "securityContext": kinds.SECURITY_CONTEXT,
}
_SHAPES = {"Service": kinds.SERVICE_SHAPE, "Ingress": kinds.INGRESS_SHAPE}


@dataclass(frozen=True)
class Token:
    text: str
    item: bool  # a list item (`[name]`, `[0]`), not a key


def tokens(path: str) -> tuple[Token, ...]:
    out = []
    for quoted, item, key in _TOKEN.findall(path):
        if item:
            out.append(Token(item, True))
        else:
            out.append(Token(quoted or key, False))
    return tuple(out)


def path_text(parts: tuple[Token, ...]) -> str:
    out = ""
    for t in parts:
        if t.item:
            out += f"[{t.text}]"
        elif "." in t.text or "/" in t.text:
            out += f'["{t.text}"]'
        else:
            out += f".{t.text}" if out else t.text
    return out


def wildcard(path: str) -> str:
    """The path with container names left out: the central chart names its container after
    itself, the fork after the app."""
    parts = tokens(path)
    out = []
    for i, t in enumerate(parts):
        after_containers = i > 0 and parts[i - 1].text in ("containers", "initContainers") \
            and not parts[i - 1].item
        out.append(Token("*", True) if t.item and after_containers else t)
    return path_text(tuple(out))


def kind_of(resource_kind: str, path: str, *, fork_only: bool = False) -> str:
    """The kind of one changed field. `fork_only`: the field is absent after the migration (a
    container the fork adds, not one the migration renames)."""
    found = tokens(path)
    parts = [t.text for t in found]
    pod = _POD.get(resource_kind)
    for meta in (["metadata"], [*pod, "metadata"]) if pod is not None else (["metadata"],):
        n = len(meta)
        if parts[:n] == meta and len(parts) > n and parts[n] in ("labels", "annotations"):
            return kinds.LABELS_ANNOTATIONS
    if pod is not None:
        spec = [*pod, "spec"]
        n = len(spec)
        if parts[:n] == spec and len(parts) > n:
            return _pod_field(parts[n:], [t.item for t in found[n:]], fork_only)
    if resource_kind in _SHAPES and parts[:1] == ["spec"]:
        return _SHAPES[resource_kind]
    return kinds.OTHER


def _pod_field(parts: list[str], items: list[bool], fork_only: bool) -> str:
    if parts[0] != "containers":
        return _POD_FIELDS.get(parts[0], kinds.OTHER)
    if len(parts) == 2 and items[1]:  # a whole container
        return kinds.EXTRA_CONTAINER if fork_only else kinds.OTHER
    if len(parts) >= 3 and items[1]:
        return _CONTAINER_FIELDS.get(parts[2], kinds.OTHER)
    return kinds.OTHER
