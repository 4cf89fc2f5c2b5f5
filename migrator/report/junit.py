"""The fleet as JUnit XML, one test case per repository, for GitLab's test report widget.

GitLab lists failed and errored cases first, with their message and text: that list is the
platform team's work queue. So:

- `ready` passes; `skipped` is `<skipped/>` (nothing to migrate is not a problem);
- `review` is a `<failure type="review">`: a person must read the differences before merging;
- `blocked` is a `<failure type="blocked">`: the migration cannot go ahead as planned;
- `error` is an `<error type="error">`: the tool itself failed on that repo.

The widget does not fail the pipeline; the job's exit status does, so a fleet full of `review`
cases shows red in the widget without stopping anything. The test case's `classname` (the
widget's "Suite" column) is the repo's group, its `file` the repo's report.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from migrator.model import DiffClass, FleetPlan, RepoPlan, Verdict
from migrator.report.common import group_differences, report_path, scrub_text
from migrator.report.reasons import env_error, reason

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_DETAIL_ITEMS = 20


def fleet_junit(fleet: FleetPlan) -> str:
    central = fleet.central
    suite_name = f"migrate to {central.name} {central.target_version}"
    failures = sum(fleet.count(v) for v in (Verdict.REVIEW, Verdict.BLOCKED))
    attrs = {
        "name": suite_name,
        "tests": str(len(fleet.repos)),
        "failures": str(failures),
        "errors": str(fleet.count(Verdict.ERROR)),
        "skipped": str(fleet.count(Verdict.SKIPPED)),
        "time": f"{sum(p.seconds for p in fleet.repos):.3f}",
    }
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", {**attrs, "id": fleet.plan_id})
    for plan in fleet.repos:
        suite.append(_case(plan))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _case(plan: RepoPlan) -> ET.Element:
    group, _, _name = plan.repo.name.rpartition("/")
    case = ET.Element("testcase", {
        "name": _clean(plan.repo.name),
        "classname": _clean(group.replace("/", ".") or "fleet"),
        "file": report_path(plan.repo.slug, "report.md"),
        "time": f"{plan.seconds:.3f}",
    })
    why = _clean(" ".join(scrub_text(reason(plan)).split()))
    if plan.verdict is Verdict.SKIPPED:
        ET.SubElement(case, "skipped", {"message": why})
    elif plan.verdict in (Verdict.REVIEW, Verdict.BLOCKED):
        failure = ET.SubElement(case, "failure", {"type": plan.verdict.value, "message": why})
        failure.text = _clean(_details(plan))
    elif plan.verdict is Verdict.ERROR:
        error = ET.SubElement(case, "error", {"type": "error", "message": why})
        error.text = _clean(scrub_text(reason(plan)))
    out = ET.SubElement(case, "system-out")
    out.text = f"{plan.verdict.value}: {why}\nreport: {report_path(plan.repo.slug, 'report.md')}"
    return case


def _details(plan: RepoPlan) -> str:
    """What the reviewer will have to look at: differences worst first, render errors, findings."""
    lines: list[str] = []
    for chart in plan.charts:
        for env in chart.environments:
            error = env_error(env)
            if error:
                lines.append(f"{chart.path} [{env.name}] render failed: {scrub_text(error)}")
        for cls, groups in group_differences(chart.environments).items():
            if cls is DiffClass.COSMETIC:
                continue
            for group in groups:
                diff = group.difference
                paths = ", ".join(f.path for f in diff.fields) or ", ".join(diff.paths)
                what = f"{diff.change} {paths}".strip()
                lines.append(f"{cls.value}: {diff.resource} {what} [{', '.join(group.envs)}]"
                             + (f" ({scrub_text(diff.why)})" if diff.why else ""))
        lines += [f"finding: {scrub_text(f)}" for f in chart.findings]
    if len(lines) > _DETAIL_ITEMS:
        lines = [*lines[:_DETAIL_ITEMS], f"… and {len(lines) - _DETAIL_ITEMS} more"]
    return "\n".join(lines) or scrub_text(reason(plan))


def _clean(text: str) -> str:
    # Error messages can carry terminal escapes; XML 1.0 cannot hold them at all.
    return _XML_INVALID.sub("", text)
