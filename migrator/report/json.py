"""The JSON reports: versioned schema, stable field names, read by other tools.

Field names are a contract (`schema` says which version); new fields may be added, none renamed.
schemas/report.schema.json and schemas/fleet.schema.json publish it: a field added here is added
there too (tests/test_schemas.py validates every fixture's report against them).
`references` lists every deploy reference found to the embedded chart(s); those with
`rewritable: false` are the ones that still point at the embedded chart after the change.
"""

from __future__ import annotations

from typing import Any

from migrator.model import (
    REPORT_SCHEMA,
    CentralInfo,
    ChartPlan,
    Customization,
    Difference,
    EnvResult,
    FleetPlan,
    HelmInvocation,
    Lineage,
    Notice,
    Outcome,
    RepoPlan,
    ResourceId,
    ValueDecision,
    ValueReason,
    Verdict,
    WorkloadKpi,
)
from migrator.redact import patch_redactions
from migrator.report.common import (
    DROPPED_REASONS,
    KEPT_REASONS,
    chart_difference_counts,
    difference_counts,
    jsonable,
    report_path,
    scrub_difference,
    scrub_text,
    shown,
)
from migrator.report.reasons import env_error, reason
from migrator.verify.kpi import KPI_NAMES, fleet_tallies
from migrator.workdir import private_patch

PATCH_FILE = "changes.patch"


def repo_json(plan: RepoPlan, central: CentralInfo) -> dict[str, Any]:
    counts = difference_counts(plan)
    return {
        "schema": REPORT_SCHEMA,
        "repo": plan.repo.name,
        "slug": plan.repo.slug,
        "web_url": plan.repo.web_url,
        "commit": plan.commit,
        "verdict": plan.verdict.value,
        "reason": scrub_text(reason(plan)),
        "outcome": _outcome(plan.outcome),
        "central": central_json(central),
        "differences": {cls.value: n for cls, n in counts.items()},
        "charts": [_chart(c) for c in plan.charts],
        "customization_kinds": customization_kinds(plan),
        "references": [_reference(r) for r in plan.references],
        "notes": [scrub_text(n) for n in plan.notes],
        "notices": [_notice(n) for n in plan.notices],
        "patch": PATCH_FILE if plan.patch is not None else None,
        "patch_secrets": _patch_secrets(plan),
        "plan_hash": plan.plan_hash,
        "seconds": round(plan.seconds, 3),
    }


def _patch_secrets(plan: RepoPlan) -> dict[str, Any] | None:
    """When the patch carries secrets: how many lines the published one hides, and where the
    full one is (relative to the work dir, which is never published)."""
    lines = patch_redactions(plan.patch)
    if not lines:
        return None
    return {"redacted_lines": lines, "full_patch": private_patch(plan.repo.slug),
            "where": "work dir"}


def fleet_json(fleet: FleetPlan) -> dict[str, Any]:
    return {
        "schema": REPORT_SCHEMA,
        "tool_version": fleet.tool_version,
        "plan_id": fleet.plan_id,
        "central": central_json(fleet.central),
        "summary": {v.value: fleet.count(v) for v in Verdict},
        # the repos a run stopped by a signal did not plan; empty when it finished
        "interrupted": fleet.interrupted,
        "unplanned": list(fleet.unplanned),
        "kpis": {
            name: {
                "before": round(before.share, 4),
                "after": round(after.share, 4),
                "workloads_before": before.total,
                "workloads_after": after.total,
            }
            for name, (before, after) in fleet_tallies(fleet).items()
        },
        "repos": [
            {
                "name": plan.repo.name,
                "slug": plan.repo.slug,
                "verdict": plan.verdict.value,
                "reason": scrub_text(reason(plan)),
                "report": report_path(plan.repo.slug),
                "charts": len(plan.charts),
                "differences": {c.value: n for c, n in difference_counts(plan).items()},
                "blocking_kinds": customization_kinds(plan)["blocking"],
            }
            for plan in fleet.repos
        ],
    }


def central_json(central: CentralInfo) -> dict[str, Any]:
    return {
        "name": central.name,
        "source": central.source,
        "target_version": central.target_version,
        "versions": list(central.versions),
        "ref": central.ref,
    }


def _chart(chart: ChartPlan) -> dict[str, Any]:
    decisions = chart.values.decisions if chart.values else ()

    def pick(*reasons: ValueReason) -> list[dict[str, Any]]:
        return [_decision(d) for d in decisions if d.reason in reasons]

    return {
        "path": chart.path,
        "name": chart.name,
        "verdict": chart.verdict.value,
        "reason": scrub_text(reason(chart)),
        "outcome": _outcome(chart.outcome),
        "release": chart.release,
        "app_version": chart.app_version,
        "file_count": chart.file_count,
        "line_count": chart.line_count,
        "source_values_files": list(chart.source_values_files),
        "lineage": _lineage(chart.lineage) if chart.lineage else None,
        "environments": {env.name: _environment(env) for env in chart.environments},
        "differences": {c.value: n for c, n in chart_difference_counts(chart).items()},
        "kept": pick(*KEPT_REASONS),
        "pinned": pick("inherited-pinned"),
        "dropped": pick(*DROPPED_REASONS),
        "unmapped": pick("unmapped"),
        "identity": pick("identity"),
        "findings": [scrub_text(f) for f in chart.findings],
        "customizations": [_customization(c) for c in chart.customizations],
        "held_by": [_outcome(o) for o in chart.held_by],
        "notices": [_notice(n) for n in chart.notices],
    }


def _customization(c: Customization) -> dict[str, Any]:
    """One classified difference: `kind` is a stable name (central/kinds.py)."""
    return {
        "kind": c.kind,
        "blocks": c.blocks,
        "resource": c.resource,
        "paths": [scrub_text(p) for p in c.paths],
        "environments": list(c.environments),
        "class": c.diff_class.value if c.diff_class else None,
        "file": c.file,
        "line": c.line,
        "why": scrub_text(c.why) if c.why else None,
        "expressed_by": [{"key": v.key, "setting": v.setting, "versions": list(v.versions)}
                         for v in c.expressed_by],
    }


def customization_kinds(plan: RepoPlan) -> dict[str, list[str]]:
    """The repo's kinds, each once: those that keep it blocked, and every one seen."""
    found = [c for chart in plan.charts for c in chart.customizations]
    return {"blocking": sorted({c.kind for c in found if c.blocks}),
            "all": sorted({c.kind for c in found})}


def _outcome(o: Outcome) -> dict[str, Any]:
    """The outcome as data: `kind` is a stable name, the other fields its facts."""
    data: dict[str, Any] = {"kind": o.kind.value}
    for key, value in (("detail", scrub_text(o.detail) if o.detail else None),
                       ("file", o.file), ("line", o.line), ("chart", o.chart),
                       ("environments", list(o.environments) or None), ("resource", o.resource),
                       ("paths", list(o.paths) or None), ("files", list(o.files) or None),
                       ("count", o.count or None), ("score", o.score),
                       ("upgrade_from", o.upgrade_from), ("log", o.log)):
        if value is not None:
            data[key] = value
    return data


def _notice(n: Notice) -> dict[str, Any]:
    return {"kind": n.kind.value, "file": n.file, "line": n.line, "detail": scrub_text(n.detail)}


def _lineage(lineage: Lineage) -> dict[str, Any]:
    return {
        "chart": lineage.chart,
        "version": lineage.version,
        "score": round(lineage.score, 4),
        "confidence": round(lineage.confidence, 4),
        "low_confidence": lineage.low_confidence,
        "runner_up": lineage.runner_up,
        "lead": round(lineage.lead, 4),
        "explained": round(lineage.explained, 4),
        "mapping": lineage.mapping,
        "templates": [
            {"file": t.file, "score": round(t.score, 4), "counterpart": t.counterpart}
            for t in lineage.templates
        ],
    }


def _environment(env: EnvResult) -> dict[str, Any]:
    return {
        "release": env.release,
        "namespace": env.namespace,
        "values_files": list(env.values_files),
        "values": jsonable(shown("", env.values)),
        "error": _scrubbed(env_error(env)),
        "differences": [_difference_body(scrub_difference(d)) for d in env.differences],
        "kpis": {
            "before": [_kpi(k) for k in env.kpis_before],
            "after": [_kpi(k) for k in env.kpis_after],
        },
    }


def _difference_body(diff: Difference) -> dict[str, Any]:
    return {
        "resource": _resource(diff.resource),
        "class": diff.diff_class.value,
        "change": diff.change,
        "paths": list(diff.paths),
        "fields": [{"path": f.path, "before": f.before, "after": f.after} for f in diff.fields],
        "why": diff.why,
    }


def _resource(resource: ResourceId) -> dict[str, str]:
    return {
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "namespace": resource.namespace,
        "name": resource.name,
    }


def _kpi(kpi: WorkloadKpi) -> dict[str, Any]:
    return {
        "resource": _resource(kpi.resource),
        "checks": {name: kpi.checks[name] for name in KPI_NAMES if name in kpi.checks},
        # In KPI_NAMES order, as the checks: the journal keeps maps key-sorted, and a plan
        # taken from it must give the bytes the fresh plan gave.
        "notes": {name: scrub_text(kpi.notes[name])
                  for name in (*KPI_NAMES, *sorted(set(kpi.notes) - set(KPI_NAMES)))
                  if name in kpi.notes},
    }


def _decision(decision: ValueDecision) -> dict[str, Any]:
    return {
        "path": decision.path,
        "value": jsonable(shown(decision.path, decision.value)),
        "env": decision.env,
        "source": decision.source,
        "reason": decision.reason,
        "note": scrub_text(decision.note),
        "origin_value": jsonable(shown(decision.path, decision.origin_value)),
        "central_value": jsonable(shown(decision.path, decision.central_value)),
    }


def _reference(ref: HelmInvocation) -> dict[str, Any]:
    return {
        "file": ref.file,
        "line": ref.line,
        "source": ref.source,
        "context": ref.context,
        "text": scrub_text(ref.text),
        "environment": ref.environment,
        "rewritable": ref.rewritable,
        "why": scrub_text(ref.why) if ref.why else None,
    }


def _scrubbed(text: str | None) -> str | None:
    return None if text is None else scrub_text(text)
