"""What every report format shares: redaction of shown values, value text, difference grouping.

Every value a report shows passes through `shown`, every free text through `scrub_text`, and
every manifest field change through `scrub_field`: reports are published as CI artifacts and
merge request descriptions, where a leaked credential cannot be taken back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, is_dataclass, replace
from enum import Enum
from typing import Any

from migrator.model import (
    ChartPlan,
    DiffClass,
    Difference,
    EnvResult,
    FieldChange,
    RepoPlan,
    ValueReason,
    Verdict,
    WorkloadKpi,
)
from migrator.redact import (
    REDACTED,
    is_secret_key,
    redact_env_list,
    redact_patch,
    redact_value,
)
from migrator.redact import scrub_text as scrub_text  # the reports' door to it

VERDICT_ICON = {
    Verdict.READY: "✅",
    Verdict.REVIEW: "🔍",
    Verdict.BLOCKED: "⛔",
    Verdict.SKIPPED: "⏭",
    Verdict.ERROR: "💥",
}
VERDICT_LABEL = {
    Verdict.READY: "Ready",
    Verdict.REVIEW: "Review",
    Verdict.BLOCKED: "Blocked",
    Verdict.SKIPPED: "Skipped",
    Verdict.ERROR: "Error",
}
# Worst first: the order a platform engineer works through the fleet.
VERDICTS_WORST_FIRST: tuple[Verdict, ...] = tuple(sorted(Verdict, key=lambda v: -v.rank))
CLASSES_WORST_FIRST: tuple[DiffClass, ...] = tuple(sorted(DiffClass, key=lambda c: -c.rank))

KPI_LABELS = {
    "replicas": "replicas ≥ 2 (or HPA min ≥ 2)",
    "probes": "liveness and readiness probes",
    "resources": "CPU/memory requests and memory limit",
    "image_pinned": "image pinned",
    "pdb": "PodDisruptionBudget",
    "non_root": "runs as non-root",
    "read_only_fs": "read-only root filesystem",
}

KEPT_REASONS: tuple[ValueReason, ...] = (
    "identity",
    "metadata",
    "repair",
    "deliberate",
    "inherited-pinned",
)
DROPPED_REASONS: tuple[ValueReason, ...] = ("equal-default", "inherited-adopted")


# --- secrets -------------------------------------------------------------------------------


def shown(path: str, value: Any) -> Any:
    """`value` as a report may show it: credential-like keys, values and env entries hidden."""
    return _hide_env_entries(redact_value(path, value))


def _hide_env_entries(value: Any) -> Any:
    # Container env lists carry the secret in `value` under an innocent path (`env[0].value`);
    # the entry's `name` is what says it is a credential.
    if isinstance(value, dict):
        return {k: _hide_env_entries(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide_env_entries(v) for v in redact_env_list(value)]
    return value


_SAFE_SECRET_TEXT = re.compile(
    rf"{re.escape(REDACTED)}( \(\d+ bytes?\))?|(changed |set |)\(?\d+ bytes?\)?"
)


def scrub_field(kind: str, change: FieldChange) -> FieldChange:
    """A manifest field change with Secret data and credential-like fields hidden again.

    The verify stage already redacts; this is the second lock on the door.
    """
    secret_data = (kind == "Secret" and re.match(r"(data|stringData)\b", change.path)) or (
        re.match(r"stringData\b", change.path)
    )
    if not secret_data and not is_secret_key(change.path):
        return FieldChange(change.path, _scrub_opt(change.before), _scrub_opt(change.after))
    return FieldChange(change.path, _hide_opt(change.before), _hide_opt(change.after))


def _scrub_opt(text: str | None) -> str | None:
    return None if text is None else scrub_text(text)


def _hide_opt(text: str | None) -> str | None:
    if text is None or _SAFE_SECRET_TEXT.fullmatch(text):
        return text
    return f"{REDACTED} ({len(text.encode())} bytes)"


def scrub_difference(diff: Difference) -> Difference:
    return Difference(
        resource=diff.resource,
        diff_class=diff.diff_class,
        change=diff.change,
        paths=diff.paths,
        fields=tuple(scrub_field(diff.resource.kind, f) for f in diff.fields),
        why=scrub_text(diff.why),
    )


def redact_plan(plan: RepoPlan) -> RepoPlan:
    """The plan as every report shows it: values through `shown`, manifest fields through
    `scrub_field`, the patch through `redact_patch`, every other text through `scrub_text`.

    This is what leaves the process (plan-state.json, the journal's plan cache) and what the
    rest of a run works with (`pipeline.fleet` keeps only the real patch beside it). Reports
    apply the same functions again, which changes nothing: a report written from this plan is
    the report written from the plan itself.
    """
    charts = tuple(_redacted_chart(chart) for chart in plan.charts)
    references = tuple(
        replace(r, set_flags=tuple(replace(f, value=str(shown(f.key, f.value)))
                                   for f in r.set_flags))
        for r in plan.references)
    patch = redact_patch(plan.patch) if plan.patch else plan.patch
    scrubbed: RepoPlan = _scrub_strings(replace(plan, charts=charts, references=references),
                                        keep=("repo", "commit", "plan_hash", "patch"))
    return replace(scrubbed, patch=patch)


def _redacted_chart(chart: ChartPlan) -> ChartPlan:
    values = chart.values
    if values is not None:
        values = replace(
            values, base=shown("", values.base),
            envs={env: shown("", tree) for env, tree in values.envs.items()},
            decisions=tuple(replace(d, value=shown(d.path, d.value),
                                    origin_value=shown(d.path, d.origin_value),
                                    central_value=shown(d.path, d.central_value))
                            for d in values.decisions))
    envs = tuple(
        replace(e, values=shown("", e.values),
                differences=tuple(scrub_difference(d) for d in e.differences),
                kpis_before=tuple(_redacted_kpi(k) for k in e.kpis_before),
                kpis_after=tuple(_redacted_kpi(k) for k in e.kpis_after))
        for e in chart.environments)
    return replace(chart, values=values, environments=envs)


def _redacted_kpi(kpi: WorkloadKpi) -> WorkloadKpi:
    return replace(kpi, notes={name: scrub_text(note) for name, note in kpi.notes.items()})


def _scrub_strings(record: Any, keep: tuple[str, ...] = ()) -> Any:
    """Every text field of a record tree through `scrub_text` (dicts are values trees, which
    `shown` handled already; enums are names, not text)."""
    if isinstance(record, Enum):
        return record
    if isinstance(record, str):
        return scrub_text(record)
    if isinstance(record, tuple):
        return tuple(_scrub_strings(item) for item in record)
    if is_dataclass(record) and not isinstance(record, type):
        changes = {f.name: _scrub_strings(getattr(record, f.name)) for f in fields(record)
                   if f.name not in keep}
        return replace(record, **changes)
    return record


# --- values as text --------------------------------------------------------------------------

_LOOKS_TYPED = re.compile(
    r"[-+]?[0-9][0-9._:eExXoObB+-]*|[-+]?\.(inf|Inf|INF|nan|NaN|NAN)|"
    r"(?i:y|n|yes|no|on|off|true|false|null|~)"
)
_FLOW_SPECIAL = set(",[]{}#&*!|>'\"%@`")


def yamlish(value: Any, limit: int = 120) -> str:
    """A value as one line of YAML flow style, cut at `limit` characters."""
    text = _flow(value)
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


def _flow(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return _scalar(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(str(k))}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(str(value))


def _scalar(text: str) -> str:
    needs_quotes = (
        not text
        or text != text.strip()
        or _LOOKS_TYPED.fullmatch(text) is not None
        or text[0] in _FLOW_SPECIAL
        or text[0] in "-?:"
        or any(c in ",[]{}" for c in text)
        or ": " in text
        or " #" in text
        or any(ord(c) < 32 for c in text)
    )
    return json.dumps(text, ensure_ascii=False) if needs_quotes else text


def leaf_count(tree: Any) -> int:
    """How many values a values tree sets (a list counts as one value, as Helm merges it)."""
    if isinstance(tree, dict):
        return sum(leaf_count(v) for v in tree.values()) if tree else 1
    return 1


def jsonable(value: Any) -> Any:
    """Plain JSON data from YAML-loaded data (dates, ruamel scalars, tuples)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return str(value)


# --- differences -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffGroup:
    """One difference, and every environment where the same difference shows up.

    `difference` is as the engine gave it: pass what you show through `scrub_field` and
    `scrub_text` (done per shown item, because a capped report shows few of many).
    """

    difference: Difference
    envs: tuple[str, ...]


def group_differences(envs: Sequence[EnvResult]) -> dict[DiffClass, list[DiffGroup]]:
    """Differences by class (worst first), the same change in several environments once."""
    order: list[tuple[Any, ...]] = []
    found: dict[tuple[Any, ...], tuple[Difference, list[str]]] = {}
    for env in envs:
        for diff in env.differences:
            # Environments often differ only by namespace: the same change counts once.
            r = diff.resource
            key = (r.api_version, r.kind, r.name, diff.diff_class, diff.change, diff.paths,
                   diff.fields, diff.why)
            if key not in found:
                found[key] = (diff, [])
                order.append(key)
            if env.name not in found[key][1]:
                found[key][1].append(env.name)
    grouped: dict[DiffClass, list[DiffGroup]] = {c: [] for c in CLASSES_WORST_FIRST}
    for key in order:
        diff, names = found[key]
        grouped[diff.diff_class].append(DiffGroup(diff, tuple(names)))
    return grouped


def chart_difference_counts(chart: ChartPlan) -> dict[DiffClass, int]:
    return {c: len(g) for c, g in group_differences(chart.environments).items()}


def difference_counts(plan: RepoPlan) -> dict[DiffClass, int]:
    """Distinct differences per class over every chart of a repo."""
    totals = {c: 0 for c in CLASSES_WORST_FIRST}
    for chart in plan.charts:
        for cls, n in chart_difference_counts(chart).items():
            totals[cls] += n
    return totals


def ignored_differences(of: RepoPlan | ChartPlan | Sequence[EnvResult]) -> int:
    """How many differences were ignored as descriptive: each distinct one once (an object's
    change, however many fields and environments it spans), as the reports list them.

    The one count of them: the verdict's outcome (`verify.decide`), so the reason in the CLI
    table, fleet.md and the commit message, and the merge request's banner all say this number.
    """
    if isinstance(of, RepoPlan):
        return sum(ignored_differences(chart) for chart in of.charts)
    envs = of.environments if isinstance(of, ChartPlan) else of
    return len(group_differences(envs)[DiffClass.COSMETIC])


_POD_TEMPLATE = re.compile(r"(^|\.)template\.metadata\.")


def restarted_workloads(plan: RepoPlan) -> list[str]:
    """The workloads whose pod template gets new descriptive labels or annotations: nothing
    functional changes, but Kubernetes rolls their pods once when the change is deployed."""
    found: list[str] = []
    for chart in plan.charts:
        for group in group_differences(chart.environments)[DiffClass.COSMETIC]:
            diff = group.difference
            paths = [f.path for f in diff.fields] or list(diff.paths)
            name = f"{diff.resource.kind}/{diff.resource.name}"
            if any(_POD_TEMPLATE.search(p) for p in paths) and name not in found:
                found.append(name)
    return found


def sorted_worst_first(plans: Iterable[RepoPlan]) -> list[RepoPlan]:
    return sorted(plans, key=lambda p: (-p.verdict.rank, p.repo.name))


def report_path(slug: str, file: str = "report.json") -> str:
    """Where a repo's report lives, relative to the fleet report directory."""
    return f"repos/{slug}/{file}"
