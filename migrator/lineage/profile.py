"""A chart as lineage compares it: its templates with the helper names undone, lines normalized,
the helpers it defines, the values keys it has and the values each template reads.

Forks rename their helpers, and not always after the chart: `helm create orders` defines
`orders.fullname`; a copy of a copy may still define `template-service.fullname` in a chart now
named `ticket-service`; a Helm 2 era chart defines a bare `fullname`; a chart named after its
folder may define `.helm.fullname`; a generic one `app.fullname`. So the prefix is read from what
the chart's own templates `define`, never from its name: every helper a chart defines becomes
`HELPER.<rest>` wherever it is named in quotes, so `include "orders.fullname"` in a fork and
`include "app-template.fullname"` in the central chart read the same. A helper the chart does not
define (`template "common.deployment"` from a library chart) is left as written: it is not the
chart's own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from migrator.verify.render import LoadedChart

HELPER = "HELPER."
_DEFINE = re.compile(r"\{\{-?\s*define\s+\"([^\"]+)\"")
_QUOTED = re.compile(r"\"([^\"\s]+)\"")
_VALUES_REF = re.compile(r"\.Values((?:\.[A-Za-z_][\w-]*)+)")
_COMMENT = re.compile(r"\{\{-?\s*/\*.*?\*/\s*-?\}\}", re.DOTALL)
_GATE = re.compile(r"^\{\{-?\s*if\s+.*\.Values\.")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Profile:
    """What lineage reads of one chart. Template keys are paths under `templates/`, lowercased,
    `.yml` read as `.yaml` and a `.gotmpl` suffix dropped, so a renamed extension still pairs."""

    files: Mapping[str, tuple[str, ...]]  # key -> lines, helpers undone, spacing normalized
    strict: Mapping[str, tuple[str, ...]]  # key -> lines only stripped, helpers undone
    paths: Mapping[str, str]  # key -> the chart's own template path ("templates/x.yaml")
    helpers: frozenset[str]  # the helpers it defines, undone ("HELPER.fullname")
    keys: frozenset[str]  # every dotted path of its values.yaml ("image.repository")
    optional: Mapping[str, frozenset[str]]  # key -> values only it reads, for templates
    # rendered only behind a values switch (`{{- if .Values.ingress.enabled }}`)

    @property
    def line_count(self) -> int:
        return sum(len(lines) for lines in self.files.values())


def profile(chart: LoadedChart) -> Profile:
    templates = own_templates(chart)
    names = helper_names(templates)
    files: dict[str, tuple[str, ...]] = {}
    strict: dict[str, tuple[str, ...]] = {}
    paths: dict[str, str] = {}
    for path in sorted(templates):
        key = template_key(path)
        if key in paths:
            key = path  # two files read as one name: keep both apart
        text = _undo_helpers(templates[path], names)
        strict[key] = tuple(line.strip() for line in text.splitlines() if line.strip())
        files[key] = tuple(_loose(line) for line in strict[key])
        paths[key] = path
    return Profile(files=files, strict=strict, paths=paths,
                   helpers=frozenset(names.values()),
                   keys=frozenset(value_paths(chart.values)),
                   optional=_optional(templates, paths))


def own_templates(chart: LoadedChart) -> dict[str, str]:
    """The templates that are the chart's own work. NOTES.txt and test hooks never reach the
    cluster; they would only add noise."""
    return {path: text for path, text in chart.templates.items()
            if path.rsplit("/", 1)[-1] != "NOTES.txt" and "/tests/" not in f"/{path}"}


def template_key(path: str) -> str:
    key = path.removeprefix("templates/").lower().removesuffix(".gotmpl")
    return f"{key[:-4]}.yaml" if key.endswith(".yml") else key


def helper_names(templates: Mapping[str, str]) -> dict[str, str]:
    """Each helper the chart defines -> its name with the chart's own prefix undone.

    The prefix is the one its `fullname` helper carries (every scaffold defines one), else the
    most common first part of its helper names; a name without a dot (Helm 2 era) has none.
    """
    defined = sorted({name for text in templates.values() for name in _DEFINE.findall(text)})
    prefixes = [name.removesuffix(".fullname") for name in defined
                if name.endswith(".fullname") and name != ".fullname"]
    counts: dict[str, int] = {}
    for name in defined:
        cut = name.find(".", 1)
        if cut > 0:
            counts[name[:cut]] = counts.get(name[:cut], 0) + 1
    prefixes += sorted((p for p in counts if p not in prefixes), key=lambda p: (-counts[p], p))
    longest_first = sorted(prefixes, key=len, reverse=True)
    undone: dict[str, str] = {}
    for name in defined:
        prefix = next((p for p in longest_first if name.startswith(f"{p}.")), None)
        undone[name] = HELPER + (name[len(prefix) + 1:] if prefix is not None else name)
    return undone


def _undo_helpers(text: str, names: Mapping[str, str]) -> str:
    if not names:
        return text
    return _QUOTED.sub(lambda m: f'"{names.get(m.group(1), m.group(1))}"', text)


def _loose(line: str) -> str:
    """A line as its meaning reads: trim markers and spacing are how Helm 2, 3 and 4
    scaffolds differ most, not what a team changed."""
    line = line.replace("{{-", "{{").replace("-}}", "}}")
    line = _SPACES.sub(" ", line)
    return line.replace("{{ ", "{{").replace(" }}", "}}")


def value_paths(values: Any, prefix: str = "") -> set[str]:
    """Every dotted key path of a values tree; nothing for a chart without values (None) or a
    tree that is not a map."""
    out: set[str] = set()
    if not isinstance(values, Mapping):
        return out
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        out.add(path)
        out |= value_paths(value, path)
    return out


def _reads(text: str) -> set[str]:
    """The values a template reads, two levels deep (`.Values.ingress.hosts` -> ingress.hosts)."""
    return {".".join(ref.lstrip(".").split(".")[:2]) for ref in _VALUES_REF.findall(text)}


def _related(a: str, b: str) -> bool:
    return a == b or a.startswith(f"{b}.") or b.startswith(f"{a}.")


def _optional(templates: Mapping[str, str], paths: Mapping[str, str]) -> dict[str, frozenset[str]]:
    """For each template rendered only behind a values switch, the values no other template
    reads: a fork that lacks the template but still has one of those keys deleted it."""
    reads = {key: _reads(templates[path]) for key, path in paths.items()}
    out: dict[str, frozenset[str]] = {}
    for key, path in paths.items():
        if path.rsplit("/", 1)[-1].startswith("_") or not _gated(templates[path]):
            continue
        others = [r for other, rs in reads.items() if other != key for r in rs]
        own = frozenset(r for r in reads[key] if not any(_related(r, o) for o in others))
        if own:
            out[key] = own
    return out


def _gated(text: str) -> bool:
    for line in _COMMENT.sub("", text).splitlines():
        if line.strip():
            return bool(_GATE.match(line.strip()))
    return False
