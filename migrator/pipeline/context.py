"""What every repo of a run shares: loaded once, read by every worker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from migrator.lineage.catalog import Catalog
from migrator.lineage.match import DEFAULT_MIN_LINEAGE
from migrator.mapping import Mapping as ValuesMapping
from migrator.mapping import Rule, chain
from migrator.model import Lineage, Verdict
from migrator.rewrite.target import ArgoTarget, CiInclude, Style
from migrator.values.extract import Policy
from migrator.verify import manifests
from migrator.verify.render import LoadedChart
from migrator.workdir import WorkDir

if TYPE_CHECKING:
    from migrator.rewrite.changeset import Destination


@dataclass(frozen=True)
class Context:
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
    work: WorkDir | None = None  # where internal errors leave their traceback
    min_lineage: float = DEFAULT_MIN_LINEAGE  # below it a chart is not derived: skipped

    def proposes(self, verdict: Verdict) -> bool:
        """Whether a chart (or repo) of this verdict gets a change set."""
        return verdict in (Verdict.READY, Verdict.REVIEW) or (
            self.force and verdict is Verdict.BLOCKED)

    @property
    def target(self) -> LoadedChart:
        return self.catalog.get(self.target_version)

    @property
    def destination(self) -> Destination:
        # The rewrite (libcst) is the workers' to load, not the run's, which reads only this
        # context's settings.
        from migrator.rewrite.changeset import Destination

        return Destination(style=self.style, chart_ref=self.chart_ref,
                           chart_name=self.catalog.central, version=self.target_version,
                           ci_include=self.ci_include, argocd=self.argocd)

    def translation(self, origin: Lineage) -> tuple[tuple[Rule, ...], str | None]:
        """The mapping rules from the origin's keys to the target's, and the modules' names."""
        steps = chain(self.mappings, origin.chart, origin.version, self.target_version)
        rules = tuple(r for m in steps for r in m.rules)
        return rules, (", ".join(m.name for m in steps) if steps else None)
