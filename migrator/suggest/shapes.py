"""`convert` rules for values of another shape.

A chart the plan blocked with "values of another shape" (values/shapes.py) holds a value the
central chart reads in another shape: a list of host strings where the central default is a list
of `{host, paths}` maps, an `env` map where it is a list of `{name, value}`. Where a simple
rewrapping gives the central shape, built from the central default's first item, the suggestion
is a `convert` rule on the value's path (its keys are already the central chart's: the rule comes
after the module's renames); otherwise it says that no rule fits, with both shapes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from migrator.model import FleetPlan, Kind
from migrator.values.shapes import ITEM, Mismatch, values_shape_mismatches

Origin = tuple[str, str]  # (family, origin version)
ShapeKey = tuple[tuple[str, ...], str, str]  # path, both shapes, the rule (forks differ)


@dataclass
class ShapeSeen:
    """One mismatch and the repos whose plan found it."""

    mismatch: Mismatch
    repos: set[str]


def shape_key(m: Mismatch) -> ShapeKey:
    return m.path, m.detail, m.conversion.describe() if m.conversion else ""


def shape_mismatches(fleet: FleetPlan, central_defaults: dict[str, Any]
                     ) -> dict[Origin, dict[ShapeKey, ShapeSeen]]:
    """Per origin, the mismatches of the charts the plan blocked for them, once per path and
    shape (one fork's `env` may be a map, another's a string)."""
    found: dict[Origin, dict[ShapeKey, ShapeSeen]] = {}
    for plan in fleet.repos:
        for chart in plan.charts:
            if (chart.outcome.kind is not Kind.VALUES_SHAPE or chart.lineage is None
                    or chart.values is None):
                continue
            named = set(chart.outcome.paths)
            seen = found.setdefault((chart.lineage.chart, chart.lineage.version), {})
            for m in values_shape_mismatches(chart.values, central_defaults):
                if m.dotted in named:
                    seen.setdefault(shape_key(m), ShapeSeen(m, set())).repos.add(plan.repo.name)
    return found


def rule_path(m: Mismatch) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the rule's source: the keys up to the first list, the segments from there to the
    value reshaped): `ingress.hosts[].paths` -> (ingress, hosts), ([], paths)."""
    cut = m.path.index(ITEM) if ITEM in m.path else len(m.path)
    return m.path[:cut], m.path[cut:]


def shape_why(m: Mismatch) -> str:
    head = f"`{m.dotted}` is {m.detail}"
    if m.conversion is None:
        return f"{head}: no rule fits (write a `convert` rule by hand, or change the value)"
    return f"{head}: {m.conversion.describe()}"


def merge_repos(groups: Iterable[dict[ShapeKey, ShapeSeen]]) -> dict[ShapeKey, ShapeSeen]:
    """One entry per path and shape across several origins that share a module."""
    out: dict[ShapeKey, ShapeSeen] = {}
    for group in groups:
        for key, seen in group.items():
            out.setdefault(key, ShapeSeen(seen.mismatch, set())).repos |= seen.repos
    return out
