"""`migrator mappings suggest`: rules for the keys forks set that the central chart does not know.

A plan records, for every chart, the fork's keys (already translated by the existing mapping
rules) that the central chart at the target version has no place for: decisions `unmapped`.
`suggest` gathers them across the fleet per mapping module and looks for a home for each in the
central chart's defaults:

- a subtree whose name, or whose keys, match a central subtree (`deployment.resources` ->
  `resources`, `monitoring.{enabled,interval,path}` -> `serviceMonitor`);
- a leaf whose key, or a known synonym of it, sits under another parent (`deployment.replicas`
  -> `replicas`, `image.name` -> `image.repository`, `containerPort` -> `service.port`).

What finds no home is reported, to be written by hand or dropped. `apply_suggestions` appends
the proposed `rename` rules to a module's `RULES` with libcst, so every byte the team wrote stays
as it was and the platform team reviews a diff. Values never leave the plan: suggestions carry
paths and repo names only.
"""

from migrator.suggest.edit import apply_suggestions, module_sources
from migrator.suggest.heuristics import Suggestion, load_central_defaults, suggest
from migrator.suggest.report import render_report

__all__ = [
    "Suggestion",
    "apply_suggestions",
    "load_central_defaults",
    "module_sources",
    "render_report",
    "suggest",
]
