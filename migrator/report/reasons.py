"""The words of an outcome: what a person reads where a report says why.

Stages conclude with `model.Outcome` (a kind and the facts behind it); every report renders the
sentence here, so the same outcome reads the same in report.md, fleet.md, the CLI table and JUnit,
and tools read `kind` instead of parsing text.
"""

from __future__ import annotations

from dataclasses import replace

from migrator.model import ChartPlan, EnvResult, Kind, Notice, Outcome, RepoPlan
from migrator.report.common import ignored_differences


def describe(outcome: Outcome, *, with_environment: bool = True) -> str:
    """The sentence a person reads. `with_environment=False` leaves out the environment of a
    render failure, for where the environment is already said (a per-environment table)."""
    text = _sentence(outcome, with_environment)
    if outcome.upgrade_from:
        text = f"upgrade from {outcome.upgrade_from}: {text}"
    if outcome.chart:
        text = f"{outcome.chart}: {text}"
    return text


def _sentence(o: Outcome, with_environment: bool) -> str:  # noqa: C901 - one case per kind
    where = o.where
    located = f"{where}: {o.detail}" if where else o.detail
    env = ", ".join(o.environments)
    more = f" and {o.count - 1} more" if o.count > 1 else ""
    paths = ", ".join(o.paths[:3])
    match o.kind:
        case Kind.NO_CHART:
            if o.paths:  # not fetched: a submodule's URL is the repo's to choose
                more_paths = f" and {len(o.paths) - 3} more" if len(o.paths) > 3 else ""
                return ("no embedded chart in the repo itself (no Chart.yaml outside vendored "
                        f"charts/); git submodules {paths}{more_paths} are not read: plan the "
                        "repos they name as repos of their own")
            return "no embedded chart (no Chart.yaml outside vendored charts/)"
        case Kind.ALREADY_CENTRAL:
            return f"already uses the central chart {o.detail} ({where})"
        case Kind.CENTRAL_WRAPPER:
            return f"already uses the central chart {o.detail} ({where} depends on it)"
        case Kind.NOT_DERIVED:
            if not o.detail:  # nothing to compare: no templates of its own (an umbrella)
                return ("not derived from the central chart or a known template family "
                        "(no templates of its own)")
            score = f", {round(o.score * 100)} % of templates" if o.score is not None else ""
            return (f"not derived from the central chart or a known template family "
                    f"(closest: {o.detail}{score})")
        case Kind.IDENTICAL:
            noun = "difference" if o.count == 1 else "differences"
            ignoring = f" (ignoring {o.count} descriptive {noun})" if o.count else ""
            return f"rendered manifests identical in {env}{ignoring}"
        case Kind.FUNCTIONAL:
            return f"functional differences: {o.resource} {paths} in {env}{more}"
        case Kind.DEPLOY_LEFT:
            return f"{o.count} deploy reference(s) left for a person: {where} ({o.detail})"
        case Kind.HATCH_DEPLOY_TIME:
            return (f"{paths} would hold the deploy-time value of {o.detail} as static text in "
                    f"{env}{more}: set that field at deploy time, not in the hatch")
        case Kind.DESTRUCTIVE:
            what = f"{paths} ({o.detail})" if o.paths else o.detail
            return f"destructive: {o.resource} {what} in {env}{more}"
        case Kind.CUSTOMIZED:
            return (f"template customization the central chart cannot express: "
                    f"{', '.join(sorted(o.files))} ({o.resource}: {paths})")
        case Kind.NOT_RENDERABLE:
            return f"does not render: {o.detail}"
        case Kind.FORK_RENDER_FAILED | Kind.CENTRAL_RENDER_FAILED:
            what = ("does not render" if o.kind is Kind.FORK_RENDER_FAILED
                    else "the central chart does not render with the extracted values")
            text = f"{what}: {o.detail}"
            return f"{env}: {text}" if with_environment and env else text
        case Kind.CHART_INVALID:
            return f"Helm cannot load the chart: {located}"
        case Kind.VALUES_SHAPE:  # detail says the first path's shapes; the others are named
            first, *others = o.paths or ("",)
            also = (f" (and {len(others)} more: {', '.join(others[:3])}"
                    f"{', ...' if len(others) > 3 else ''})" if others else "")
            return f"values of another shape: {first}: {o.detail}{also}"
        case Kind.STILL_USED:
            uses = ", ".join(o.files[:3]) + (f" and {len(o.files) - 3} more"
                                             if len(o.files) > 3 else "")
            return (f"still used after the rewrite, so the chart is kept: {uses}"
                    + (f" ({o.detail})" if o.detail else ""))
        case Kind.DEPENDENCY_KEPT:
            at = f"{where}: " if where else ""
            return (f"{at}the chart dependency {o.detail} is enabled in {env} and the central "
                    f"chart does not carry it{more}")
        case Kind.RENDER_LIMIT:
            text = f"render stopped: {o.detail}"
            return f"{env}: {text}" if with_environment and env else text
        case Kind.DEPLOY_RENDER_FAILED:
            return f"{where}: the rewritten deploy does not render: {o.detail}"
        case Kind.BAD_INPUT:
            return located
        case Kind.REWRITE_FAILED:
            return f"rewrite failed: {located}"
        case Kind.FETCH_FAILED:
            return f"fetch failed: {o.detail}"
        case Kind.INTERNAL:
            log = f" (traceback in {o.log}; please report it with that file)" if o.log else ""
            return f"internal error: {o.detail}{log}"
    raise AssertionError(f"no words for {o.kind}")  # pragma: no cover - every kind has a case


def reason(plan: RepoPlan | ChartPlan) -> str:
    outcome = plan.outcome
    if outcome.kind is Kind.IDENTICAL:
        # The ignored differences counted from the plan itself, as the merge request's banner
        # counts them (a plan cached by an older version counted fields).
        outcome = replace(outcome, count=ignored_differences(plan))
        if isinstance(plan, RepoPlan) and len(plan.charts) > 1 and all(
                c.outcome.kind is Kind.IDENTICAL for c in plan.charts):
            # Every chart is identical: said of the repo, not of the chart that stood for it.
            # (Beside a skipped chart the sentence stays the moving chart's: the skipped one
            # renders nothing, so the count is the same.)
            envs = tuple(dict.fromkeys(e.name for c in plan.charts for e in c.environments))
            outcome = replace(outcome, chart=None, environments=envs)
    return describe(outcome)


def env_error(env: EnvResult) -> str | None:
    """An environment's render failure, without its name (said beside it)."""
    if env.failure is None:
        return None
    return describe(env.failure, with_environment=False)


def notice(n: Notice) -> str:
    where = n.where
    return f"{where}: {n.detail}" if where else n.detail
