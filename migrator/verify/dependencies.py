"""What becomes of an embedded chart's dependencies (Chart.yaml `dependencies:` or a Helm 2
`requirements.yaml`) once the chart is removed.

The central chart carries none of them. A dependency that an environment enables (its condition
or tags, read from that environment's values the way Helm reads them) deploys objects the
migrated release would lose: the chart stays, blocked, naming it. One disabled everywhere goes
with the chart. Either way the report names each one: the change set deletes its declaration,
its lock file and its vendored copy under `charts/`.

A dependency that is declared but not vendored is not rendered by the in-process Helm (it renders
what is on disk, without `helm dependency build`): the fork's render then does not show what the
cluster runs, which is said too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator import tree
from migrator.model import Kind, Notice, NoticeKind, Outcome


@dataclass(frozen=True)
class Dependency:
    name: str
    version: str
    repository: str
    condition: str
    tags: tuple[str, ...]
    alias: str
    enabled_in: tuple[str, ...]  # environments that deploy it
    disabled_in: tuple[str, ...]
    vendored: bool  # under the chart's charts/ (a folder or an archive)
    library: bool  # `type: library`: templates for the chart's own, no objects of its own
    file: str  # where it is declared: Chart.yaml or requirements.yaml
    line: int | None

    @property
    def title(self) -> str:
        version = f" {self.version}" if self.version else ""
        alias = f" as {self.alias}" if self.alias else ""
        source = f" from {self.repository}" if self.repository else ""
        return f"{self.name}{version}{alias}{source}"

    @property
    def carried(self) -> bool:
        """Whether the migrated release would lose what it deploys."""
        return bool(self.enabled_in) and not self.library


@dataclass(frozen=True)
class Dependencies:
    found: tuple[Dependency, ...]

    def notices(self, chart_path: str) -> tuple[Notice, ...]:
        return tuple(Notice(NoticeKind.DEPENDENCY, _sentence(d, chart_path), d.file, d.line)
                     for d in self.found)

    def outcome(self) -> Outcome | None:
        """`dependency-not-carried` for the first dependency an environment enables."""
        kept = [d for d in self.found if d.carried]
        if not kept:
            return None
        first = kept[0]
        return Outcome(Kind.DEPENDENCY_KEPT, detail=first.title, file=first.file,
                       line=first.line, environments=first.enabled_in, count=len(kept))


def assess(repo: Path, chart_path: str, declared: Sequence[Mapping[str, Any]],
           vendored: Sequence[Mapping[str, Any]], defaults: Mapping[str, Any],
           by_env: Mapping[str, Mapping[str, Any]]) -> Dependencies:
    """Each declared dependency of the chart at `chart_path`, enabled or not in each environment
    (`by_env`: its values files merged; `defaults`: the chart's values.yaml)."""
    if not declared:
        return Dependencies(())
    subcharts = {str(s.get("name", "")): s for s in vendored}
    # each environment's values as Helm reads them, merged once for every dependency
    merged = {env: tree.merge(dict(defaults), dict(values))
              for env, values in (by_env or {"default": {}}).items()}
    file, text = _declared_in(repo, chart_path)
    out = []
    for dep in declared:
        name = str(dep.get("name", ""))
        if not name:
            continue
        tags = tuple(str(t) for t in dep.get("tags") or () if t is not None)
        condition = str(dep.get("condition") or "")
        enabled: list[str] = []
        disabled: list[str] = []
        for env, values in merged.items():
            (enabled if is_enabled(condition, tags, values) else disabled).append(env)
        sub = subcharts.get(name)
        out.append(Dependency(
            name=name, version=str(dep.get("version") or ""),
            repository=str(dep.get("repository") or ""), condition=condition, tags=tags,
            alias=str(dep.get("alias") or ""), enabled_in=tuple(enabled),
            disabled_in=tuple(disabled), vendored=sub is not None,
            library=sub is not None and sub.get("type") == "library",
            file=file, line=_line_of(text, name)))
    return Dependencies(tuple(out))


def is_enabled(condition: str, tags: Sequence[str], values: Mapping[str, Any]) -> bool:
    """Helm's rule (ProcessDependencyEnabled): enabled unless its tags say otherwise (one true
    tag enables it, all of its set tags false disable it); the first condition path holding a
    bool decides over the tags."""
    enabled = True
    tag_values = values.get("tags")
    if isinstance(tag_values, Mapping):
        states = [tag_values[t] for t in tags if isinstance(tag_values.get(t), bool)]
        if states and not any(states):
            enabled = False
        elif any(states):
            enabled = True
    for path in (p.strip() for p in condition.split(",")):
        if not path:
            continue
        value = tree.get(values, tree.undotted(path), None)
        if isinstance(value, bool):
            return value
    return enabled


def _declared_in(repo: Path, chart_path: str) -> tuple[str, str]:
    """The file that declares the dependencies, and its text: a Helm 2 chart's
    requirements.yaml when there is one, else Chart.yaml."""
    for name in ("requirements.yaml", "requirements.yml", "Chart.yaml"):
        rel = f"{chart_path}/{name}" if chart_path not in ("", ".") else name
        try:
            return rel, (repo / rel).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
    return f"{chart_path}/Chart.yaml", ""


def _line_of(text: str, name: str) -> int | None:
    rx = re.compile(r"^\s*(?:-\s+)?name:\s*[\"']?" + re.escape(name) + r"[\"']?\s*(?:#.*)?$")
    for number, line in enumerate(text.splitlines(), start=1):
        if rx.match(line):
            return number
    return None


def _sentence(d: Dependency, chart_path: str) -> str:
    how = []
    if d.condition:
        how.append(f"condition {d.condition}")
    if d.tags:
        how.append(f"tags {', '.join(d.tags)}")
    rule = f" ({'; '.join(how)})" if how else ""
    text = f"chart dependency {d.title}{rule}: "
    if not d.enabled_in:
        return text + "disabled in every environment: it goes with the chart"
    envs = f"enabled in {', '.join(d.enabled_in)}"
    if d.disabled_in:
        envs += f", disabled in {', '.join(d.disabled_in)}"
    if d.library:
        return (text + f"{envs}; a library chart (no objects of its own): the renders compare "
                       "what the chart's templates make with it")
    text += f"{envs}; the central chart does not carry it"
    if not d.vendored:
        text += (f"; not vendored under {chart_path}/charts/, so the fork's render leaves out "
                 "what it deploys")
    return text
