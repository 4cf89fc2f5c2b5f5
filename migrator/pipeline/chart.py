"""Plan one embedded chart: read -> lineage -> values -> verify -> rewrite -> check -> decide.

Each step is a function from frozen records to a frozen record; the verdict is decided once, at
the end, from everything the steps found.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from migrator.central.classify import Evidence, classify
from migrator.central.express import hatches
from migrator.errors import MigratorError, RenderError, RepoError
from migrator.lineage import match as lineage
from migrator.model import (
    ChartPlan,
    EmbeddedChart,
    HelmInvocation,
    Kind,
    Lineage,
    Outcome,
    RepoRef,
    Verdict,
)
from migrator.pipeline.context import Context
from migrator.rewrite.changeset import rewrite_deploys, values_writes, written_files
from migrator.rewrite.leftovers import find_leftovers, keep_in_place
from migrator.rewrite.target import RewriteResult
from migrator.values import shapes
from migrator.values.extract import ValuesInputs, plan_values
from migrator.values.flags import flag_paths
from migrator.values.read import ForkValues, read_fork_values, read_text, shape_notice
from migrator.verify import dependencies, render
from migrator.verify.decide import decide
from migrator.verify.deploys import check_deploys
from migrator.verify.environments import Sides, Verified, verify_environments


@dataclass(frozen=True)
class RepoView:
    """The repository as one chart's rewrite sees it."""

    source: Path  # the checkout, as committed: where the chart and its values are read
    root: Path  # where deploys are rewritten: the checkout, or a scratch copy that already
    # holds the edits of the repo's earlier charts (two charts deployed from one file)
    refs: tuple[HelmInvocation, ...]  # the deploy references found in `root`


@dataclass(frozen=True)
class ChartResult:
    plan: ChartPlan
    values_writes: dict[str, bytes | None]  # the chart and its values files out, new ones in
    rewrite: RewriteResult  # its deploys pointed at the central chart


_NOTHING = RewriteResult({}, (), ())


def plan_chart(view: RepoView, repo: RepoRef, chart: EmbeddedChart, ctx: Context,
               values_dir: str) -> ChartResult:
    plan = _unplanned(chart)
    if chart.problem is not None:
        return ChartResult(replace(plan, outcome=chart.problem), {}, _NOTHING)
    try:
        # Helm loads the chart first: a values.yaml it refuses is the chart's own reason.
        fork = render.load_fork(view.source, chart.path)
        origin = lineage.find(fork, ctx.catalog)
        if origin.score < ctx.min_lineage or not origin.templates:
            # not a fork of anything known (a chart without templates never is): nothing to
            # migrate, whatever its values files hold
            return ChartResult(replace(plan, outcome=not_derived(origin)), {}, _NOTHING)
        fork_values = read_fork_values(view.source, chart)
    except render.ChartLoadError as exc:
        return ChartResult(replace(plan, outcome=chart_invalid(exc)), {}, _NOTHING)
    except RepoError as exc:
        return ChartResult(replace(plan, outcome=bad_input(exc)), {}, _NOTHING)
    except RenderError as exc:
        return ChartResult(replace(plan, outcome=Outcome(Kind.NOT_RENDERABLE, detail=str(exc))),
                           {}, _NOTHING)
    plan = replace(plan, notices=plan.notices + fork_values.notices)
    deps = dependencies.assess(view.source, chart.path, fork.dependencies, fork.subcharts,
                               fork_values.defaults, fork_values.by_env)
    plan = replace(plan, notices=plan.notices + deps.notices(chart.path))

    rules, mapping = ctx.translation(origin)
    if mapping:
        origin = replace(origin, mapping=mapping)
    target = ctx.target
    planned = plan_values(ValuesInputs(
        fork_defaults=fork_values.defaults,
        env_user=fork_values.by_env,
        origin_defaults=ctx.catalog.get(origin.version, origin.chart).values if origin else None,
        central_defaults=target.values,
        rules=rules,
        fork_name=chart.name,
        central_name=target.name,
        fork_app_version=chart.app_version,
        policy=ctx.policy,
        name_key=ctx.name_key,
        app_version_key=ctx.app_version_key,
        flag_paths=flag_paths(chart.environments),
        central_templates=target.templates,
    ))

    mismatched = shapes.values_shape_mismatches(planned, target.values)
    if mismatched:  # the central chart would fail on them: say which, before any render
        notices = tuple(shape_notice(m, fork_values, planned.decisions) for m in mismatched)
        return ChartResult(replace(plan, lineage=origin, values=planned,
                                   outcome=shapes.outcome(mismatched),
                                   notices=plan.notices + notices), {}, _NOTHING)

    sides = Sides(fork, chart.path, fork_values, target, rules, ctx.cosmetic_keys)
    verified = verify_environments(sides, chart.environments, planned)
    verified = replace(verified, environments=tuple(
        replace(e, values_files=written_files(e, values_dir)) for e in verified.environments))
    plan = replace(plan, lineage=origin, values=verified.values,
                   environments=verified.environments)

    writes = values_writes(view.source, chart, verified.values, values_dir, rules, ctx.style)
    try:
        rewritten = rewrite_deploys(view.root, repo, view.refs, chart, verified.environments,
                                    ctx.destination)
    except RepoError as exc:
        return ChartResult(replace(plan, outcome=_rewrite_failed(exc)), writes, _NOTHING)

    def read(rel: str) -> str:
        content = writes.get(rel)
        return content.decode() if content is not None else read_text(view.root, rel)

    try:
        checked = check_deploys(sides, verified, chart.environments, rewritten.deploys, read,
                                nest_under=chart.name if ctx.style == "dependency" else None)
    except RepoError as exc:
        return ChartResult(replace(plan, outcome=bad_input(exc)), writes, rewritten)
    left = find_leftovers(view.root, {**writes, **rewritten.writes}, rewritten.untouched,
                          chart.path)
    if left.uses:  # nothing still used is deleted, whatever the verdict (--force included)
        writes = keep_in_place(writes)
    decision = decide(origin, checked.environments, rewritten.untouched, checked.failure,
                      dependency=deps.outcome(), still_used=left.outcome())
    outcome = decision.outcome
    if verified.held and outcome.verdict.rank < Verdict.REVIEW.rank:
        # render-equal only because both sides render the deploy-time value's literal text
        outcome = replace(verified.held[0], environments=tuple(
            e for h in verified.held for e in h.environments))
    plan = replace(plan, outcome=outcome, findings=decision.findings,
                   environments=checked.environments, notices=plan.notices + left.notices())
    return ChartResult(_classified(plan, chart, fork, verified, fork_values, ctx,
                                   also=(deps.outcome(), left.outcome())), writes, rewritten)


def _classified(plan: ChartPlan, chart: EmbeddedChart, fork: render.LoadedChart,
                verified: Verified, fork_values: ForkValues, ctx: Context,
                also: tuple[Outcome | None, ...]) -> ChartPlan:
    """What still differs, by customization kind; the kinds' words replace decide's findings
    where there are any."""
    evidence = Evidence(chart.path, fork.templates,
                        {env: r.sources for env, r in verified.before.items()},
                        fork_values.lines)
    found = classify(plan, evidence, lambda: hatches(ctx.catalog), also,
                     central=ctx.catalog.central)
    return replace(plan, customizations=found.customizations, held_by=found.held_by,
                   findings=found.findings or plan.findings)


def _unplanned(chart: EmbeddedChart) -> ChartPlan:
    return ChartPlan(
        path=chart.path, name=chart.name, outcome=Outcome(Kind.INTERNAL, "not planned"),
        release=chart.environments[0].release if chart.environments else None,
        file_count=chart.file_count, line_count=chart.line_count,
        app_version=chart.app_version, source_values_files=_source_files(chart))


def _source_files(chart: EmbeddedChart) -> tuple[str, ...]:
    files = [chart.values_file] if chart.values_file else []
    for env in chart.environments:
        files.extend(f for f in env.values_files if f not in files)
    return tuple(files)


def not_derived(closest: Lineage) -> Outcome:
    """Skipped below the lineage threshold, naming the closest candidate (none for a chart
    without templates of its own: an umbrella has nothing to compare)."""
    detail = f"{closest.chart} {closest.version}" if closest.templates else ""
    return Outcome(Kind.NOT_DERIVED, detail=detail, score=closest.score)


def chart_invalid(exc: MigratorError) -> Outcome:
    return Outcome(Kind.CHART_INVALID, detail=exc.cause, file=exc.file, line=exc.line)


def bad_input(exc: MigratorError) -> Outcome:
    return Outcome(Kind.BAD_INPUT, detail=exc.cause, file=exc.file, line=exc.line)


def _rewrite_failed(exc: RepoError) -> Outcome:
    return Outcome(Kind.REWRITE_FAILED, detail=exc.cause, file=exc.file, line=exc.line)

