"""Markdown reports: the merge request description of one repo, and the fleet summary.

A reviewer must learn in ten seconds what changes in the cluster (the banner) and in a minute
why each kept value is there (the values table). Long lists are cut with "… and N more" so the
description stays under GitLab's limit; report.json always holds everything.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from migrator.central.gaps import gaps
from migrator.model import (
    CentralInfo,
    ChartPlan,
    DiffClass,
    EnvResult,
    FieldChange,
    FleetPlan,
    HelmInvocation,
    Kind,
    Lineage,
    Notice,
    RepoPlan,
    ValueDecision,
    Verdict,
    WorkloadKpi,
)
from migrator.mrtext import DESCRIPTION_LIMIT, fit_description, size
from migrator.redact import REDACTED, patch_redactions
from migrator.report.common import (
    KEPT_REASONS,
    KPI_LABELS,
    VERDICT_ICON,
    VERDICT_LABEL,
    VERDICTS_WORST_FIRST,
    DiffGroup,
    difference_counts,
    group_differences,
    ignored_differences,
    leaf_count,
    report_path,
    restarted_workloads,
    scrub_field,
    scrub_text,
    shown,
    sorted_worst_first,
    yamlish,
)
from migrator.report.gaps import GAPS_MD, cumulative_sentence
from migrator.report.json import PATCH_FILE
from migrator.report.reasons import describe, env_error, notice, reason
from migrator.verify.kpi import KPI_NAMES, fleet_tallies
from migrator.workdir import private_patch

# Headroom for what the forge layer adds around the description (the plan marker).
_BUDGET = DESCRIPTION_LIMIT - 10_000


@dataclass(frozen=True)
class _Limits:
    """How many items each list shows before "… and N more"."""

    rows: int = 200
    diffs: int = 100
    fields: int = 12
    names: int = 6
    value_chars: int = 120
    workloads: int = 30
    references: int = 50
    error_chars: int = 4000

    def tighter(self) -> _Limits:
        return _Limits(
            rows=max(self.rows // 4, 1),
            diffs=max(self.diffs // 4, 1),
            fields=max(self.fields // 4, 1),
            names=max(self.names // 2, 1),
            value_chars=max(self.value_chars // 2, 24),
            workloads=max(self.workloads // 4, 1),
            references=max(self.references // 4, 1),
            error_chars=max(self.error_chars // 4, 200),
        )

    @property
    def minimal(self) -> bool:
        return self == self.tighter()


# --- public ----------------------------------------------------------------------------------


def mr_title(plan: RepoPlan, central: CentralInfo) -> str:
    """The merge request's title; `propose` makes it a draft unless the verdict is ready."""
    if plan.kind == "upgrade":
        origins = sorted({c.lineage.version for c in plan.charts if c.lineage})
        return (f"Upgrade the central chart {central.name} to {central.target_version} "
                f"(was: {', '.join(origins)})")
    return (f"Use the central chart {central.name} {central.target_version} "
            f"(was: {_was(plan, central)})")


def repo_markdown(plan: RepoPlan, central: CentralInfo, *, plan_id: str, tool_version: str) -> str:
    limits = _Limits()
    text = _repo(plan, central, plan_id, tool_version, limits)
    while size(text) > _BUDGET and not limits.minimal:
        limits = limits.tighter()
        text = _repo(plan, central, plan_id, tool_version, limits)
    if size(text) > _BUDGET:
        # The last resort, when even the shortest lists are too long: cut the text itself.
        footer = f"\n\n{_footer(plan, plan_id, tool_version)}\n"
        text = fit_description(text.removesuffix(footer), footer,
                               "report.json holds all of it.", _BUDGET)
    return text


def _interrupted(fleet: FleetPlan) -> list[str]:
    """The line that says a run was stopped (Ctrl-C) before it planned every repo."""
    if not fleet.interrupted:
        return []
    names = ", ".join(fleet.unplanned[:10]) + (", ..." if len(fleet.unplanned) > 10 else "")
    total = len(fleet.repos) + len(fleet.unplanned)
    return [f"**Interrupted:** the run was stopped before it planned {len(fleet.unplanned)} of "
            f"{total} repositories ({_text(names)}); only those planned are reported here.", ""]


def fleet_markdown(fleet: FleetPlan) -> str:
    central = fleet.central
    out = [
        f"# Fleet migration onto `{central.name}` {central.target_version}",
        "",
        f"Plan `{fleet.plan_id}` · migrator {fleet.tool_version} · {len(fleet.repos)} "
        f"repositor{'y' if len(fleet.repos) == 1 else 'ies'} · central chart "
        f"{_code(central.ref or central.source)}",
        "",
        *_interrupted(fleet),
        "| verdict | repositories |",
        "| --- | ---: |",
    ]
    for verdict in VERDICTS_WORST_FIRST:
        out.append(f"| {VERDICT_ICON[verdict]} {VERDICT_LABEL[verdict]} | {fleet.count(verdict)} |")
    out += [f"| **total** | **{len(fleet.repos)}** |"]
    out += _gaps_headline(fleet)
    out += ["", "## Repositories", ""]
    if not fleet.repos:
        out.append("No repository in this plan.")
    else:
        out += [
            "| repository | verdict | reason | charts | destructive | functional | cosmetic |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: |",
        ]
        for plan in sorted_worst_first(fleet.repos):
            counts = difference_counts(plan)
            target = report_path(plan.repo.slug, "report.md")
            link = f"[{_code(plan.repo.name, table=True)}]({target})"
            out.append(
                f"| {link} | {VERDICT_ICON[plan.verdict]} {VERDICT_LABEL[plan.verdict]} | "
                f"{_text(reason(plan), table=True)} | {len(plan.charts)} | "
                f"{counts[DiffClass.DESTRUCTIVE]} | {counts[DiffClass.FUNCTIONAL]} | "
                f"{counts[DiffClass.COSMETIC]} |"
            )
    tallies = fleet_tallies(fleet)
    if any(before.total or after.total for before, after in tallies.values()):
        out += ["", "## Deployment quality across the fleet", "",
                "Share of workloads passing each check (every environment counts).", "",
                "| check | before | after |", "| --- | ---: | ---: |"]
        for name in KPI_NAMES:
            before, after = tallies[name]
            out.append(f"| {KPI_LABELS[name]} | {_share(before.passed, before.total)} | "
                       f"{_share(after.passed, after.total)} |")
    return "\n".join(out) + "\n"


def _gaps_headline(fleet: FleetPlan) -> list[str]:
    found = gaps(fleet)
    if not found.kinds:
        return []
    steps = [f"- {cumulative_sentence(found.order[:i + 1])}"
             for i in range(min(3, len(found.order)))]
    more = f" ({len(found.held)} held whatever the central chart adds)" if found.held else ""
    return ["", "## What the central chart must learn", "",
            f"{found.blocked} blocked repo{'' if found.blocked == 1 else 's'}{more}; the kinds "
            f"that block them and the unblock order are in [{GAPS_MD}]({GAPS_MD}).",
            *([""] + steps if steps else [])]


# --- the repo report -------------------------------------------------------------------------


def _repo(plan: RepoPlan, central: CentralInfo, plan_id: str, tool_version: str,
          limits: _Limits) -> str:
    out = _banner(plan, limits)
    several = len(plan.charts) > 1
    for chart in plan.charts:
        if several:
            out += ["", f"## {VERDICT_ICON[chart.verdict]} `{chart.path}`: "
                        f"{VERDICT_LABEL[chart.verdict]}", "", _text(reason(chart))]
        if chart.outcome.kind is not Kind.NOT_DERIVED:  # not a fork: nothing of it moves
            if not _in_patch(plan, chart) and chart.verdict in (Verdict.BLOCKED, Verdict.ERROR):
                out += ["", "_Not in the change set; moving it would look like this:_"]
            out += _before_after(chart, _chart_refs(plan, chart), central, limits)
        out += _values(chart, central, limits)
        out += _render_errors(chart, limits)
        out += _differences(chart, limits)
        out += _findings(chart, limits)
        out += _notices("Notes on the chart", chart.notices, limits)
        out += _templates(chart, limits)
        out += _kpis(chart, limits)
    out += _stale_references(plan, limits)
    out += _change_notes(plan, limits)
    out += _secret_patch(plan)
    out += _notices("Notes on the repository's files", plan.notices, limits)
    out += _reproduce(plan, central)
    out += ["", _footer(plan, plan_id, tool_version)]
    return "\n".join(out) + "\n"


def _banner(plan: RepoPlan, limits: _Limits) -> list[str]:
    verdict = plan.verdict
    head = f"> {VERDICT_ICON[verdict]} **{VERDICT_LABEL[verdict]}: "
    envs = _env_names(plan.charts)
    groups = [g for c in plan.charts for g in _all_groups(c)]
    by_class = {cls: [g for g in groups if g.difference.diff_class is cls] for cls in DiffClass}
    cosmetic = ignored_differences(plan)  # the count the reason and the commit message say
    ignoring = (f" (ignoring {cosmetic} descriptive difference{_s(cosmetic)})"
                if cosmetic else "")
    where = f" in {_names(envs)}" if envs else ""
    detail: list[str] = []
    restarted = restarted_workloads(plan)
    if verdict is Verdict.READY and restarted:
        # Identical in function, yet not nothing: a reviewer planning the deploy must know
        # before opening the folded list.
        releases = _unique(c.release or e.release for c in plan.charts for e in c.environments)
        what = f" {_names(releases)}" if releases else ""
        their = "its pods" if len(restarted) == 1 else "their pods"
        sentence = (f"no functional change; pods restart once on deploy.** Rendering{what} "
                    f"before and after this change gives the same manifests{where}{ignoring}, "
                    f"but the pod template of {_names(restarted)} gets new descriptive "
                    f"labels, so Kubernetes rolls {their} once when this change is deployed.")
    elif verdict is Verdict.READY:
        releases = _unique(c.release or e.release for c in plan.charts for e in c.environments)
        what = f" {_names(releases)}" if releases else ""
        sentence = (f"the cluster sees no change.** Rendering{what} before and after this change "
                    f"gives identical manifests{where}{ignoring}.")
    elif verdict is Verdict.REVIEW:
        functional = by_class[DiffClass.FUNCTIONAL]
        sentence = (f"the cluster sees {len(functional)} functional change{_s(len(functional))}, "
                    f"nothing is deleted or recreated.** {_summaries(functional, 3)}{where}"
                    f"{ignoring}. Each one is listed below.")
    elif verdict is Verdict.BLOCKED:
        causes = []
        destructive = by_class[DiffClass.DESTRUCTIVE]
        if destructive:
            causes.append(f"{len(destructive)} destructive difference{_s(len(destructive))} "
                          f"would delete, recreate or fail to update objects "
                          f"({_summaries(destructive, 2)})")
        failed = _unique(e.name for c in plan.charts for e in c.environments if env_error(e))
        if failed:
            causes.append(f"rendering failed in {_names(failed)}")
        findings = sum(len(c.findings) for c in plan.charts)
        if findings:
            causes.append(f"the central chart cannot express {findings} customization"
                          f"{_s(findings)} of the fork (see the findings below)")
        cause = "; ".join(causes) if causes else _text(reason(plan))
        moving = [c for c in plan.charts if _in_patch(plan, c)]
        held = [c for c in plan.charts if c.verdict is Verdict.BLOCKED and c not in moving]
        if plan.patch is None:
            after = "Nothing is proposed until this is resolved."
        elif held:
            after = (f"The change set moves only {_names([c.path for c in moving])}; "
                     f"{_names([c.path for c in held])} stays until this is resolved.")
        else:
            after = "Proposed anyway (forced): check every difference below before merging."
        sentence = f"not safe to merge as is.** {_capital(cause)}. {after}"
    elif verdict is Verdict.SKIPPED:
        sentence = f"nothing to change.** {_sentence(_text(reason(plan)))}"
    else:
        first, _, rest = scrub_text(reason(plan)).strip().partition("\n")
        sentence = (f"the migrator failed on this repo.** {_sentence(_text(first))} "
                    "The rest of the fleet is not affected.")
        if rest.strip():
            detail = ["", *_fenced(rest.strip()[: limits.error_chars], "text")]
    return [head + sentence, *detail]


def _in_patch(plan: RepoPlan, chart: ChartPlan) -> bool:
    """Whether the change set deletes this chart's files (it moves onto the central chart)."""
    if not plan.patch:
        return False
    prefix = "diff --git a/" + ("" if chart.path in ("", ".") else chart.path.rstrip("/") + "/")
    inside = False
    for line in plan.patch.splitlines():
        if line.startswith("diff --git "):
            inside = line.startswith(prefix)
        elif line.startswith("@@"):
            inside = False
        elif inside and line.startswith("deleted file mode"):
            return True
    return False


def _chart_before(chart: ChartPlan) -> str:
    text = f"`{chart.path.rstrip('/')}/`"
    if chart.file_count or chart.line_count:
        text += f" ({chart.file_count} files, {chart.line_count} lines)"
    lineage = chart.lineage
    if lineage is None:
        return text + ", origin unknown"
    same = "identical" if lineage.score >= 1.0 else f"{_pct(lineage.score)} identical"
    text += f", forked from {lineage.chart} **{lineage.version}** (templates {same}"
    text += f", {_confidence(lineage)})" if lineage.confidence < 1.0 else ")"
    if lineage.mapping:
        text += f", values mapped by `{lineage.mapping}`"
    return text


def _confidence(lineage: Lineage) -> str:
    """How sure the origin is; a low one says why, since the values kept as the team's
    choices depend on it."""
    if not lineage.low_confidence:
        return f"confidence {_pct(lineage.confidence)}"
    why = []
    if lineage.lead < 0.5 and lineage.runner_up:
        why.append(f"{lineage.runner_up} is nearly as close")
    if lineage.explained < 0.5:
        why.append(f"it accounts for {_pct(lineage.explained)} of the chart's template lines")
    because = f": {' and '.join(why)}" if why else ""
    return f"**low confidence** {_pct(lineage.confidence)}{because}; check the origin"


def _before_after(chart: ChartPlan, refs: Sequence[HelmInvocation], central: CentralInfo,
                  limits: _Limits) -> list[str]:
    lineage = chart.lineage
    if chart.path == "." and lineage is not None and not chart.file_count:
        # an upgrade: the repo already deploys the central chart
        before_chart = (f"{_code(central.ref or central.source, table=True)} "
                        f"**{lineage.version}**")
    else:
        before_chart = _chart_before(chart)
    after_chart = f"{_code(central.ref or central.source, table=True)} **{central.target_version}**"
    before_config = _file_list(chart.source_values_files, limits) or "—"
    after_config = _written_files(chart, limits) or "—"
    before_deploy, after_deploy = _deploy_cells(refs, central, limits)
    return [
        "",
        "| | before | after |",
        "| --- | --- | --- |",
        f"| chart | {before_chart} | {after_chart} |",
        f"| app-owned config | {before_config} | {after_config} |",
        f"| deploy | {before_deploy} | {after_deploy} |",
    ]


def _written_files(chart: ChartPlan, limits: _Limits) -> str:
    if chart.values is None:
        return ""
    envs = chart.environments
    files = _unique(f for e in envs for f in e.values_files)
    cells = []
    for file in files[: limits.names]:
        users = [e.name for e in envs if file in e.values_files]
        # A file every environment passes is the base file; the others belong to one env each.
        tree = chart.values.base if len(users) == len(envs) else chart.values.envs.get(users[0])
        count = leaf_count(tree) if tree else 0
        cells.append(f"{_code(file, table=True)} ({count} value{_s(count)})")
    return ", ".join(cells) + _more(len(files), limits.names)


_CONTEXT_NOUN = {
    "gitlab-ci": "jobs",
    "makefile": "targets",
    "python": "functions",
    "helmfile": "releases",
    "argocd": "applications",
}


def _deploy_cells(refs: Sequence[HelmInvocation], central: CentralInfo,
                  limits: _Limits) -> tuple[str, str]:
    if not refs:
        return "no deploy command found", "—"
    by_file: dict[str, list[HelmInvocation]] = {}
    for ref in refs:
        by_file.setdefault(ref.file, []).append(ref)
    parts = []
    for file, items in list(by_file.items())[: limits.names]:
        noun = _CONTEXT_NOUN.get(items[0].source, "")
        listed = items[: limits.names]
        where = ", ".join(_code(r.context, table=True) if r.context else f"line {r.line}"
                          for r in listed)
        prefix = f"{noun} " if noun and any(r.context for r in listed) else ""
        parts.append(f"{_code(file, table=True)} {prefix}{where}"
                     f"{_more(len(items), limits.names)}")
    before = "; ".join(parts) + _more(len(by_file), limits.names)
    stale = [r for r in refs if not r.rewritable]
    if not stale:
        after = f"same places, now the central chart **{central.target_version}**"
    else:
        done = len(refs) - len(stale)
        verb = "points" if len(stale) == 1 else "point"
        after = (f"{done} of {len(refs)} rewritten; {len(stale)} still {verb} at the embedded "
                 "chart (see below)")
    return before, after


def _values(chart: ChartPlan, central: CentralInfo, limits: _Limits) -> list[str]:
    if chart.values is None:
        return []
    decisions = chart.values.decisions
    kept = [d for reason in KEPT_REASONS for d in decisions if d.reason == reason]
    out = ["", "### What the values file keeps, and why", ""]
    if not kept:
        out.append("Nothing: the central chart's defaults reproduce this chart as it is.")
    else:
        out += ["| key | value | why |", "| --- | --- | --- |"]
        for d in kept[: limits.rows]:
            key = _code(d.path, table=True) + (f" ({_code(d.env, table=True)})" if d.env else "")
            value = _value(d.path, d.value, limits, table=True)
            out.append(f"| {key} | {value} | {_why(d, chart, central, limits)} |")
        if len(kept) > limits.rows:
            out.append(f"| … and {len(kept) - limits.rows} more (see report.json) | | |")

    dropped = [d for d in decisions if d.reason == "equal-default"]
    adopted = [d for d in decisions if d.reason == "inherited-adopted"]
    unmapped = [d for d in decisions if d.reason == "unmapped"]
    out.append("")
    if dropped:
        names = ", ".join(_code(d.path) for d in dropped[: limits.names])
        out.append(f"Dropped as equal to the central default: {len(dropped)} key{_s(len(dropped))}"
                   f" ({names}{', …' if len(dropped) > limits.names else ''}).")
    else:
        out.append("Nothing dropped as equal to the central default.")
    if adopted:
        names = ", ".join(
            f"{_code(d.path)}: {_value(d.path, d.origin_value, limits)} → "
            f"{_value(d.path, d.central_value, limits)}" for d in adopted[: limits.names])
        out += ["", f"Inherited values that now take the central default: {len(adopted)} "
                    f"({names}{', …' if len(adopted) > limits.names else ''}); they show up "
                    "below as functional differences."]
    out.append("")
    if not unmapped:
        out.append("Nothing unmapped.")
    else:
        out += [f"**Not carried over: {len(unmapped)} key{_s(len(unmapped))} the central chart "
                "has no value for** (the migrated deployment ignores them):", ""]
        for d in unmapped[: limits.rows]:
            where = f" in {_code(d.env)}" if d.env else ""
            source = f" (was {_code(d.source)})" if d.source and d.source != d.path else ""
            note = f": {_text(d.note)}" if d.note else ""
            out.append(f"- {_code(d.path)}{source}{where} = "
                       f"{_value(d.path, d.value, limits)}{note}")
        out += _more_line(len(unmapped), limits.rows)
    return out


def _why(d: ValueDecision, chart: ChartPlan, central: CentralInfo, limits: _Limits) -> str:
    note = _text(d.note, table=True)
    origin = f"template {chart.lineage.version}" if chart.lineage else "the template"
    if d.reason == "identity":
        return note or "keeps resource names and selector labels"
    if d.reason == "metadata":
        version = chart.app_version
        meta = f" (`appVersion` {_code(version, table=True)})" if version else ""
        return note or f"pins what the fork's chart metadata decided{meta}"
    if d.reason == "repair":
        return note or "reproduces a template edit of the fork with a value"
    if d.reason == "inherited-pinned":
        why = (f"inherited from {origin}; central {central.target_version} uses "
               f"{_value(d.path, d.central_value, limits, table=True)}. Pinned so nothing "
               "changes; consider dropping")
    else:
        why = "set by the team"
        if d.origin_value is not None:
            why += f" (template default was {_value(d.path, d.origin_value, limits, table=True)})"
    if d.source and d.source != d.path:
        why += f"; {_code(d.source, table=True)} in the fork"
    return f"{why}; {note}" if note else why


def _render_errors(chart: ChartPlan, limits: _Limits) -> list[str]:
    failed = [e for e in chart.environments if env_error(e)]
    if not failed:
        return []
    out = ["", "### Render failures", ""]
    for env in failed:
        error = scrub_text(env_error(env) or "")
        out += [f"`{env.name}`:", "", *_fenced(error[: limits.error_chars], "text"), ""]
    return out


_CLASS_TITLE = {
    DiffClass.DESTRUCTIVE: "⛔ Destructive differences ({n}): objects deleted or recreated, "
                           "or immutable fields changed",
    DiffClass.FUNCTIONAL: "🔍 Functional differences ({n})",
    DiffClass.COSMETIC: "Differences ignored as descriptive ({n})",
}


def _differences(chart: ChartPlan, limits: _Limits) -> list[str]:
    out: list[str] = []
    env_count = len(chart.environments)
    for cls, groups in group_differences(chart.environments).items():
        if not groups:
            continue
        # What a reviewer must judge is open; what was ignored stays folded.
        tag = "<details>" if cls is DiffClass.COSMETIC else "<details open>"
        out += ["", f"{tag}<summary>{_CLASS_TITLE[cls].format(n=len(groups))}</summary>", ""]
        for group in groups[: limits.diffs]:
            out += _difference(group, env_count, limits)
        out += _more_line(len(groups), limits.diffs)
        out += ["", "</details>"]
    return out


def _difference(group: DiffGroup, env_count: int, limits: _Limits) -> list[str]:
    diff = group.difference
    envs = f" in {_names(group.envs)}" if env_count > 1 and len(group.envs) < env_count else ""
    why = f" ({_text(diff.why)})" if diff.why else ""
    head = f"- {_code(str(diff.resource))}"
    if diff.change != "changed":
        return [f"{head} {diff.change}{envs}{why}"]
    fields = diff.fields or tuple(FieldChange(p, None, None) for p in diff.paths)
    shown_fields = [_field(diff.resource.kind, f, bool(diff.fields), limits)
                    for f in fields[: limits.fields]]
    if len(fields) == 1:
        return [f"{head} {shown_fields[0]}{envs}{why}"]
    lines = [f"{head}{envs}{why}"]
    lines += [f"  - {f}" for f in shown_fields]
    if len(fields) > limits.fields:
        lines.append(f"  - … and {len(fields) - limits.fields} more")
    return lines


def _field(kind: str, change: FieldChange, with_values: bool, limits: _Limits) -> str:
    if not with_values:
        return _code(change.path)
    change = scrub_field(kind, change)
    return f"{_code(change.path)}: {_side(change.before, limits)} → {_side(change.after, limits)}"


def _side(text: str | None, limits: _Limits) -> str:
    if text is None:
        return "*(absent)*"
    return _code(_cut(text, limits.value_chars))


def _findings(chart: ChartPlan, limits: _Limits) -> list[str]:
    if not chart.findings:
        return []
    out = ["", "### For the central chart maintainers", ""]
    if chart.customizations:
        blocking = {c.kind for c in chart.customizations if c.blocks}
        kinds = sorted({c.kind for c in chart.customizations},
                       key=lambda k: (k not in blocking, k))
        out += ["Customization kinds (`customizations` in report.json; the fleet's "
                "central-gaps.md ranks them): "
                + ", ".join(f"{_code(k)}{' (blocks)' if k in blocking else ''}" for k in kinds)
                + ".", ""]
    out += ["For this repo to migrate, the central chart would need to offer:", ""]
    out += [f"- {_text(f)}" for f in chart.findings[: limits.rows]]
    out += _more_line(len(chart.findings), limits.rows)
    held = [o for o in chart.held_by if o != chart.outcome]
    if held:
        out += ["", "Whatever the central chart offers, this chart is also held by: "
                + "; ".join(_text(describe(o)) for o in held) + "."]
    return out


def _templates(chart: ChartPlan, limits: _Limits) -> list[str]:
    lineage = chart.lineage
    if lineage is None or not lineage.modified_templates:
        return []
    changed = sorted(lineage.modified_templates, key=lambda t: (t.score, t.file))
    out = ["", f"<details><summary>Templates that differ from {lineage.chart} {lineage.version} "
               f"({len(changed)} of {len(lineage.templates)})</summary>", "",
           "| template | identical | counterpart |", "| --- | ---: | --- |"]
    for t in changed[: limits.rows]:
        counterpart = _code(t.counterpart, table=True) if t.counterpart else "added by the fork"
        out.append(f"| {_code(t.file, table=True)} | {_pct(t.score)} | {counterpart} |")
    if len(changed) > limits.rows:
        out.append(f"| … and {len(changed) - limits.rows} more | | |")
    return [*out, "", "</details>"]


def _kpis(chart: ChartPlan, limits: _Limits) -> list[str]:
    rows = _kpi_rows(chart.environments)
    if not rows:
        return []
    better = worse = 0
    for _, _, before, after in rows:
        for name in KPI_NAMES:
            b = before.checks.get(name) if before else None
            a = after.checks.get(name) if after else None
            better += b is False and a is True
            worse += b is True and a is False
    trend = ", ".join(x for x in (f"{better} better" if better else "",
                                  f"{worse} worse" if worse else "") if x)
    summary = "Deployment quality, before → after" + (f": {trend}" if trend else "")
    out = ["", f"<details><summary>{summary}</summary>", ""]
    for label, envs, before, after in rows[: limits.workloads]:
        if len(rows) > 1 or len(chart.environments) > 1:
            out += [f"**{_code(label)}** in {_names(envs)}", ""]
        out += ["| check | before | after |", "| --- | --- | --- |"]
        for name in KPI_NAMES:
            if any(k is not None and name in k.checks for k in (before, after)):
                out.append(f"| {KPI_LABELS[name]} | {_kpi_cell(before, name)} | "
                           f"{_kpi_cell(after, name)} |")
        out.append("")
    out += _more_line(len(rows), limits.workloads)
    return [*out, "</details>"]


_KpiRow = tuple[str, tuple[str, ...], WorkloadKpi | None, WorkloadKpi | None]


def _kpi_rows(envs: Sequence[EnvResult]) -> list[_KpiRow]:
    """One row per workload and outcome; environments with the same outcome share a row."""
    rows: dict[tuple[Any, ...], _KpiRow] = {}
    for env in envs:
        before = {(k.resource.kind, k.resource.name): k for k in env.kpis_before}
        after = {(k.resource.kind, k.resource.name): k for k in env.kpis_after}
        for key in _unique([*before, *after]):
            b, a = before.get(key), after.get(key)
            outcome = (key, _kpi_key(b), _kpi_key(a))
            label = f"{key[0]}/{key[1]}"
            if outcome in rows:
                _, names, rb, ra = rows[outcome]
                rows[outcome] = (label, (*names, env.name), rb, ra)
            else:
                rows[outcome] = (label, (env.name,), b, a)
    return list(rows.values())


def _kpi_key(kpi: WorkloadKpi | None) -> Any:
    if kpi is None:
        return None
    return tuple(sorted(kpi.checks.items())), tuple(sorted(kpi.notes.items()))


def _kpi_cell(kpi: WorkloadKpi | None, name: str) -> str:
    if kpi is None:
        return "absent"
    if name not in kpi.checks:
        return "—"
    if kpi.checks[name]:
        return "✅"
    note = kpi.notes.get(name)
    return f"❌ {_text(note, table=True)}" if note else "❌"


def _stale_references(plan: RepoPlan, limits: _Limits) -> list[str]:
    stale = [r for r in plan.references if not r.rewritable]
    if not stale:
        return []
    out = ["", "### Deploy references that still point at the embedded chart", "",
           "The tool could not edit these safely, so it lists them with the reason instead of "
           "guessing. Change them by hand to use the central chart:", ""]
    for ref in stale[: limits.references]:
        context = f" ({_code(ref.context)})" if ref.context else ""
        why = f" — {_text(scrub_text(ref.why))}" if ref.why else ""
        out.append(f"- `{ref.file}:{ref.line}`{context}: "
                   f"{_code(_cut(scrub_text(ref.text), limits.value_chars * 2))}{why}")
    return out + _more_line(len(stale), limits.references)


def _change_notes(plan: RepoPlan, limits: _Limits) -> list[str]:
    """What the rewrite of deploy files did that a reviewer should know (jobs replaced...)."""
    if not plan.notes:
        return []
    out = ["", "### Notes on the deploy changes", ""]
    out += [f"- {_text(scrub_text(n))}" for n in plan.notes[: limits.references]]
    return out + _more_line(len(plan.notes), limits.references)


def _secret_patch(plan: RepoPlan) -> list[str]:
    """Where the whole change is, when it carries secrets the published patch cannot show."""
    lines = patch_redactions(plan.patch)
    if not lines:
        return []
    return ["", "### Secret values in the change", "",
            f"The change carries secret values: {lines} line{_s(lines)} of `{PATCH_FILE}` "
            f"show `{REDACTED}` instead, so that no report reveals them. The full patch is "
            f"`{private_patch(plan.repo.slug)}` in the work dir of the run that planned it "
            "(private to the user who ran migrator, never published); `apply` commits that "
            "one."]


def _notices(title: str, notices: Sequence[Notice], limits: _Limits) -> list[str]:
    """What the tool noticed on the way that did not stop the plan (a file read leniently, a
    deploy file it could not read, a chart dependency...)."""
    if not notices:
        return []
    out = ["", f"### {title}", ""]
    out += [f"- {_text(scrub_text(notice(n)))}" for n in notices[: limits.references]]
    return out + _more_line(len(notices), limits.references)


def _reproduce(plan: RepoPlan, central: CentralInfo) -> list[str]:
    """Commands a reviewer runs in a clone of the repo to see what the plan saw. The central
    chart is named as deploys name it (`--chart-ref`), never by the planner's local copy: the
    versions the plan compared are pulled from there into a chart repository of their own."""
    chart_ref = central.ref or central.source
    here = f'"${{TMPDIR:-/tmp}}"/{shlex.quote(f"{central.name}-charts")}'
    lines = [f"# the central chart {central.name} as deploys name it, at the versions this "
             "plan compared:"]
    for version in _compared_versions(plan, central):
        lines.append(shlex.join(["helm", "pull", *_chart_args(central, chart_ref),
                                 "--version", version]) + f" --destination {here}")
    lines.append(f"helm repo index {here}")
    for lineage in _unique(c.lineage for c in plan.charts if c.lineage):
        if lineage.chart != central.name:
            lines.append(f"# {lineage.chart} {lineage.version}, the template family a chart "
                         "here was forked from, is not published as the central chart: add "
                         "--families with a chart repository that holds it")
    lines += ["# in a clone of this repository:",
              f"migrator plan --fleet . --central {here} "
              f"--chart-ref {shlex.quote(chart_ref)} "
              f"--target-version {shlex.quote(central.target_version)} "
              + "".join(f"{shlex.quote(option)} " for option in central.options)
              + '--out "${TMPDIR:-/tmp}"/plan']
    renders = []
    for chart in plan.charts:
        for env in chart.environments:
            if env_error(env):
                continue
            cmd = ["helm", "template", env.release, *_chart_args(central, chart_ref),
                   "--version", central.target_version]
            if env.namespace:
                cmd += ["--namespace", env.namespace]
            for file in env.values_files:
                cmd += ["-f", file]
            renders.append(shlex.join(cmd))
    if renders:
        lines += ["", "# the migrated deployment, per environment (after applying the change):",
                  *renders]
    return ["", "<details><summary>Reproduce locally</summary>", "",
            *_fenced(scrub_text("\n".join(lines)), "sh"), "", "</details>"]


def _chart_args(central: CentralInfo, chart_ref: str) -> list[str]:
    """How Helm names the central chart: an OCI reference (or `repo/chart`) as it is, a chart
    repository URL with the chart's name."""
    if chart_ref.startswith(("http://", "https://")):
        return [central.name, "--repo", chart_ref]
    return [chart_ref]


def _compared_versions(plan: RepoPlan, central: CentralInfo) -> list[str]:
    """The central versions the plan compared: each chart's origin, and the target."""
    wanted = {c.lineage.version for c in plan.charts
              if c.lineage and c.lineage.chart == central.name}
    wanted.add(central.target_version)
    known = [v for v in central.versions if v in wanted]
    return known + sorted(wanted - set(known))


def _footer(plan: RepoPlan, plan_id: str, tool_version: str) -> str:
    commit = f" · commit {plan.commit[:12]}" if plan.commit else ""
    return (f"<sub>Generated by migrator {tool_version} · plan {plan_id}{commit} · do not push "
            "to this branch by hand unless you take it over: the tool will then leave it alone "
            "and flag it.</sub>")


# --- small pieces ----------------------------------------------------------------------------


def _was(plan: RepoPlan, central: CentralInfo) -> str:
    if len(plan.charts) > 1:
        return f"{len(plan.charts)} embedded charts"
    if not plan.charts:
        return "embedded chart"
    chart = plan.charts[0]
    lineage = chart.lineage
    if lineage is None:
        return f"embedded chart {chart.name}"
    family = "" if lineage.chart == central.name else f"{lineage.chart} "
    return f"embedded chart forked from {family}{lineage.version}"


def _chart_refs(plan: RepoPlan, chart: ChartPlan) -> list[HelmInvocation]:
    if len(plan.charts) == 1:
        return list(plan.references)
    path = _norm(chart.path)
    return [r for r in plan.references if r.chart and _norm(r.chart) == path]


def _norm(path: str) -> str:
    path = path.strip().rstrip("/")
    while path.startswith("./"):
        path = path[2:]
    return path


def _all_groups(chart: ChartPlan) -> list[DiffGroup]:
    return [g for groups in group_differences(chart.environments).values() for g in groups]


def _summaries(groups: Sequence[DiffGroup], count: int) -> str:
    def one(group: DiffGroup) -> str:
        diff = group.difference
        if diff.change != "changed":
            return f"{_code(str(diff.resource))} {diff.change}"
        paths = [f.path for f in diff.fields] or list(diff.paths)
        return f"{_code(str(diff.resource))} {_code(paths[0])}" if paths else _code(
            str(diff.resource))

    shown_ = ", ".join(one(g) for g in groups[:count])
    rest = len(groups) - count
    return _capital(shown_ + (f" and {rest} more" if rest > 0 else ""))


def _env_names(charts: Sequence[ChartPlan]) -> list[str]:
    return _unique(e.name for c in charts for e in c.environments)


def _unique(items: Any) -> list[Any]:
    seen: dict[Any, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


def _names(names: Sequence[str]) -> str:
    coded = [f"`{n}`" for n in names]
    if len(coded) <= 1:
        return "".join(coded)
    return ", ".join(coded[:-1]) + " and " + coded[-1]


def _file_list(files: Sequence[str], limits: _Limits) -> str:
    return ", ".join(_code(f, table=True) for f in files[: limits.names]) + (
        _more(len(files), limits.names) if files else "")


def _value(path: str, value: Any, limits: _Limits, *, table: bool = False) -> str:
    return _code(yamlish(shown(path, value), limits.value_chars), table=table)


def _code(text: str | None, *, table: bool = False) -> str:
    """Inline code that survives backticks, newlines and (in tables) pipes."""
    text = (text or "").replace("\r", "").replace("\n", "\\n")
    if table:
        text = text.replace("|", "\\|")
    run = longest = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _text(text: str | None, *, table: bool = False) -> str:
    """Free text on one line, credentials hidden, without HTML that GitLab would interpret."""
    text = " ".join(scrub_text(text or "").split())
    text = text.replace("<", "&lt;")
    return text.replace("|", "\\|") if table else text


def _fenced(text: str, lang: str) -> list[str]:
    """A code block whose fence is longer than any backtick run that opens a line of `text`."""
    runs = (len(line.lstrip()) - len(line.lstrip().lstrip("`")) for line in text.splitlines())
    fence = "`" * max(3, max(runs, default=0) + 1)
    return [f"{fence}{lang}", text, fence]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


def _more(total: int, shown_count: int) -> str:
    return f" … and {total - shown_count} more" if total > shown_count else ""


def _more_line(total: int, shown_count: int) -> list[str]:
    return [f"- … and {total - shown_count} more (see report.json)"] if total > shown_count else []


def _pct(score: float) -> str:
    # Rounded down: "100 %" must mean identical, not 99.6 %.
    return f"{math.floor(score * 100 + 1e-9)} %"


def _share(passed: int, total: int) -> str:
    if not total:
        return "—"
    return f"{_pct(passed / total)} ({passed}/{total})"


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _sentence(text: str) -> str:
    text = _capital(text.strip())
    return text if not text or text[-1] in ".!?:" else text + "."


def _capital(text: str) -> str:
    # Only a plain word gets a capital: never a path, a key or a code span.
    first = text.split(" ", 1)[0]
    return text[:1].upper() + text[1:] if first.isalpha() and first.islower() else text
