"""What the stages of one repo share: the run's context and the state of one chart.

`Context` is loaded once per run and read by every worker; `ChartWork` is one chart while the
stages work on it (verify may still repair its values). Also the small helpers several stages
use to turn deploy flags into values and to render a release.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrator import tree
from migrator.errors import RepoError
from migrator.lineage.catalog import Catalog
from migrator.mapping import Mapping as ValuesMapping
from migrator.mapping import Rule, translate
from migrator.model import (
    ChartPlan,
    EmbeddedChart,
    Environment,
    SetFlag,
    ValueDecision,
    ValuesPlan,
)
from migrator.rewrite import (
    ArgoTarget,
    CiInclude,
    Style,
)
from migrator.values.extract import Policy
from migrator.verify import manifests, render
from migrator.verify.render import LoadedChart


@dataclass(frozen=True)
class Context:
    """What every repo of a run shares: loaded once, read by all workers."""

    catalog: Catalog
    target_version: str
    mappings: tuple[ValuesMapping, ...] = ()
    policy: Policy = "pin"
    cosmetic_keys: tuple[str, ...] = manifests.DEFAULT_COSMETIC_KEYS
    values_dir: str = "deploy"  # where the migrated values files go
    force: bool = False  # propose blocked repos too
    name_key: str = "nameOverride"
    app_version_key: str = "image.tag"
    style: Style = "values-only"
    chart_ref: str = "oci://registry.example.com/charts/app-template"
    ci_include: CiInclude | None = None
    argocd: ArgoTarget | None = None

    @property
    def target(self) -> LoadedChart:
        return self.catalog.get(self.target_version)


@dataclass
class ChartWork:
    """One chart while the stages work on it: what verify may still repair, and its result."""

    chart: EmbeddedChart
    result: ChartPlan
    values_dir: str
    fork: LoadedChart | None = None
    rules: tuple[Rule, ...] = ()
    values: ValuesPlan | None = None
    env_user: dict[str, dict[str, Any]] = field(default_factory=dict)
    repairs: list[ValueDecision] = field(default_factory=list)
    before: dict[str, manifests.Rendered] = field(default_factory=dict)  # env -> fork render

    def prepared(self) -> tuple[LoadedChart, ValuesPlan]:
        if self.fork is None or self.values is None:
            raise RuntimeError(f"{self.chart.path}: used before it was prepared")
        return self.fork, self.values


def static(flags: Sequence[SetFlag]) -> list[SetFlag]:
    return [f for f in flags if not f.dynamic and f.kind != "set-file"]


def dynamic(flags: Sequence[SetFlag]) -> list[SetFlag]:
    return [f for f in flags if f.dynamic]


def flag_paths(envs: Sequence[Environment]) -> frozenset[str]:
    """Keys every environment sets with dynamic --set flags (they stay flags)."""
    sets = [{f.key for f in dynamic(e.set_flags)} for e in envs]
    return frozenset(set.intersection(*sets)) if sets else frozenset()


def flag_values(flags: Sequence[SetFlag], rules: Sequence[Rule]) -> dict[str, Any]:
    """--set flags as values; a dynamic value renders as its literal text on both sides."""
    merged: dict[str, Any] = {}
    for flag in flags:
        if flag.kind == "set-file":
            continue
        merged = tree.merge(merged, render.parse_set(flag.kind, f"{flag.key}={flag.value}"))
    return translate(merged, rules).values if rules else merged


def render_env(chart: LoadedChart, values: Mapping[str, Any], env: Environment,
            origin: str) -> manifests.Rendered:
    rendered = render.render(chart, values, release=env.release, namespace=env.namespace,
                             origin=origin)
    return manifests.index(render.parse_manifests(rendered), env.namespace)


def read_text(workdir: Path, rel: str, cited_by: str = "") -> str:
    path = workdir / rel
    if path.is_symlink() and not path.resolve().is_relative_to(workdir.resolve()):
        raise RepoError(f"{rel}: symlink points outside the repository")
    if not path.is_file():
        suffix = f" (passed by {cited_by})" if cited_by else ""
        raise RepoError(f"{rel}: values file does not exist{suffix}")
    if path.stat().st_size > render.MAX_FILE_BYTES:
        raise RepoError(f"{rel}: values file is over {render.MAX_FILE_BYTES} bytes")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RepoError(f"{rel}: not a UTF-8 text file") from exc
