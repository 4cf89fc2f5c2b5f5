"""The fleet as CSV, one row per repository, for spreadsheets and ad-hoc queries."""

from __future__ import annotations

import csv
import io

from migrator.model import FleetPlan, RepoPlan
from migrator.report.common import (
    CLASSES_WORST_FIRST,
    DROPPED_REASONS,
    KEPT_REASONS,
    difference_counts,
    report_path,
    scrub_text,
)
from migrator.report.reasons import reason

COLUMNS = (
    "repo",
    "slug",
    "verdict",
    "reason",
    "charts",
    *(cls.value for cls in CLASSES_WORST_FIRST),
    "environments",
    "kept",
    "pinned",
    "dropped",
    "unmapped",
    "findings",
    "references",
    "lineage",
    "lineage_score",
    "commit",
    "report",
)

# Spreadsheets run a cell that starts like a formula; names and reasons come from the fleet.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def fleet_csv(fleet: FleetPlan) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for plan in fleet.repos:
        writer.writerow([_cell(v) for v in _row(plan)])
    return out.getvalue()


def _row(plan: RepoPlan) -> list[str | int]:
    counts = difference_counts(plan)
    decisions = [d for c in plan.charts if c.values for d in c.values.decisions]
    lineages = [c.lineage for c in plan.charts if c.lineage]
    return [
        plan.repo.name,
        plan.repo.slug,
        plan.verdict.value,
        " ".join(scrub_text(reason(plan)).split()),
        len(plan.charts),
        *(counts[cls] for cls in CLASSES_WORST_FIRST),
        sum(len(c.environments) for c in plan.charts),
        sum(d.reason in KEPT_REASONS for d in decisions),
        sum(d.reason == "inherited-pinned" for d in decisions),
        sum(d.reason in DROPPED_REASONS for d in decisions),
        sum(d.reason == "unmapped" for d in decisions),
        sum(len(c.findings) for c in plan.charts),
        len(plan.references),
        "; ".join(f"{lin.chart} {lin.version}" for lin in lineages),
        "; ".join(f"{lin.score:.2f}" for lin in lineages),
        plan.commit or "",
        report_path(plan.repo.slug),
    ]


def _cell(value: str | int) -> str | int:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
