"""typer commands: parse options, call the pipeline, print. No logic lives here."""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
import typer.core
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from migrator import __version__, config, lock
from migrator.errors import ConfigError, MigratorError
from migrator.history import load as load_history
from migrator.journal import Journal
from migrator.lineage.match import DEFAULT_MIN_LINEAGE
from migrator.mapping import load_mappings
from migrator.model import FleetPlan, RepoPlan, Verdict
from migrator.pipeline import fleet as pipeline
from migrator.pipeline import outputs
from migrator.propose import apply as propose
from migrator.report import planstate as shards
from migrator.report.reasons import reason
from migrator.report.spool import Spool
from migrator.track import dashboard as issue_board
from migrator.track import history as campaign
from migrator.track import status as track
from migrator.verify.render import RenderLimits


def _as_flags(params: list[Any]) -> list[Any]:
    """typer shows a flag with a type (`<bool>`), as if it took a value, which invites
    `--fresh true`: a flag is shown as a flag, without one."""
    for param in params:
        if isinstance(param, typer.core.TyperOption) and param.is_flag:
            param.metavar = ""
    return params


class _Command(typer.core.TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _as_flags(super().get_params(ctx))


class _Group(typer.core.TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _as_flags(super().get_params(ctx))


app = typer.Typer(no_args_is_help=True, add_completion=False, cls=_Group,
                  help="Move a fleet of forked Helm charts onto one central chart.")
err = Console(stderr=True)
out = Console()

_STYLE = {Verdict.READY: "green", Verdict.REVIEW: "yellow", Verdict.BLOCKED: "red",
          Verdict.SKIPPED: "dim", Verdict.ERROR: "bold red"}


def _print_version(wanted: bool) -> None:
    if wanted:
        out.print(f"migrator {__version__}", markup=False, highlight=False)
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_print_version,
        help="Print the version and exit.")] = False,
) -> None:
    """Move a fleet of forked Helm charts onto one central chart."""


@contextmanager
def _exclusive(settings: config.PlanSettings) -> Iterator[None]:
    """One run at a time in a work dir and in an --out: a second one waits a little, then
    stops naming the run that holds them."""
    with lock.hold(settings.work.create().root, "work dir"), lock.hold(settings.out, "--out"):
        yield


def _fail_usage(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


@contextmanager
def _reported_errors() -> Iterator[None]:
    """Usage and configuration errors exit 2, other failures 1; one line each, no traceback."""
    try:
        yield
    except ConfigError as exc:
        raise _fail_usage(str(exc)) from None
    except MigratorError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


class _Signals:
    """SIGINT (Ctrl-C) and SIGTERM. While repos are planned, the first one stops the plan: the
    repos that finished are reported and the command exits 128 + the signal's number (130 for
    Ctrl-C). At any other moment, or the second time, the command ends at once, same status."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.received: int | None = None
        self.planning = False

    @contextmanager
    def handled(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # only the main thread may handle signals (a library caller's thread)
            return
        old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.planning and self.received is None:
            self.received = signum
            self.stop.set()
            return
        raise typer.Exit(128 + signum)

    def exit_if_received(self, fleet: FleetPlan, out_dir: Path) -> None:
        """Say on stderr that the plan was stopped, and exit, if it was."""
        if self.received is None:
            return
        name = signal.Signals(self.received).name
        planned = len(fleet.repos)
        total = planned + len(fleet.unplanned)
        err.print(f"[red]interrupted[/red] by {name}: {planned} of {total} repos planned, "
                  f"{len(fleet.unplanned)} not; the reports of those planned are in "
                  f"{escape(str(out_dir))}", highlight=False, soft_wrap=True)
        raise typer.Exit(128 + self.received)


def _interactive() -> bool:
    """A person at a terminal (a progress bar, then a table), or CI and pipes (a line per repo
    as it finishes, then the summary), as Renovate and multi-gitter do."""
    return err.is_terminal


# What one line per repo shows of the reason: a CI log line, not the report.
_LINE_REASON = 160


def _repo_line(plan: RepoPlan, done: int, total: int) -> str:
    first = " ".join(reason(plan).strip().partition("\n")[0].split())
    short = first if len(first) <= _LINE_REASON else first[: _LINE_REASON - 1] + "…"
    return f"[{done}/{total}] {plan.repo.name}: {plan.verdict.value}: {short}"


def run_plan(settings: config.PlanSettings, quiet: bool = False,
             signals: _Signals | None = None, whole: bool = True) -> FleetPlan:
    """discover -> fetch -> plan every repo -> write reports, with a progress bar on a terminal
    and a line per repo elsewhere (neither when quiet). A stop asked through `signals` ends the
    planning early: the repos that finished are reported.

    Without `whole`, the fleet plan returned holds light views of the repos planned (their own
    reports are rendered as they finish, report/spool.py): enough for the summary, not for
    proposing."""

    pipeline.check_settings(settings)
    listing = pipeline.discover_listing(settings)
    repos = list(listing.repos)
    counts: Counter[str] = Counter()
    progress = Progress(
        TextColumn("[bold]plan"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[verdicts]}"), TimeElapsedColumn(), TextColumn("eta"),
        TimeRemainingColumn(), console=err, disable=quiet or not _interactive(),
        transient=True,
    )
    lines = not quiet and not _interactive()
    with progress:
        task = progress.add_task("plan", total=len(repos), verdicts="")

        def done(plan: RepoPlan) -> None:
            counts[plan.verdict.value] += 1
            summary = " ".join(f"{v}={counts[v]}" for v in (x.value for x in Verdict)
                               if counts[v])
            progress.update(task, advance=1, verdicts=summary)
            if lines:
                out.print(_repo_line(plan, counts.total(), len(repos)), markup=False,
                          highlight=False, soft_wrap=True)

        if signals is not None:
            signals.planning = True
        with Spool(settings.work.spool, __version__) as spool:
            try:
                fleet, digest = pipeline.plan_fleet_traced(
                    repos, settings, on_done=done, git_env=pipeline.git_env(settings),
                    stop=signals.stop if signals is not None else None,
                    spool=None if whole else spool, activity=listing.activity)
            finally:
                if signals is not None:
                    signals.planning = False
            outputs.write(fleet, digest, settings.out, settings.work,
                          load_history(settings.work.journal), spool)
    return fleet


def print_summary(fleet: FleetPlan, out_dir: Path, *, quiet: bool = False,
                  table: bool | None = None) -> None:
    """The table of repos (on a terminal, or when `table`), the totals and where the reports
    are; only the totals when quiet."""
    if quiet:
        out.print(_totals(fleet), markup=False, highlight=False, soft_wrap=True)
        return
    if _interactive() if table is None else table:
        rows = Table(title=f"{fleet.central.name} {fleet.central.target_version} · "
                           f"plan {fleet.plan_id}", title_justify="left")
        rows.add_column("repo")
        rows.add_column("verdict")
        rows.add_column("reason", overflow="fold")
        for plan in fleet.repos:
            style = _STYLE[plan.verdict]
            rows.add_row(escape(plan.repo.name), f"[{style}]{plan.verdict.value}[/{style}]",
                         escape(reason(plan)))
        out.print(rows)
    out.print(_totals(fleet), markup=False, highlight=False, soft_wrap=True)
    out.print(f"reports: {out_dir / 'fleet.md'}, {out_dir / 'fleet.html'}, "
              f"{out_dir / 'fleet.json'}", markup=False, highlight=False, soft_wrap=True)


def _totals(fleet: FleetPlan) -> str:
    """The one-line summary: `28 repos: 21 ready, 5 blocked, 1 skipped, 1 error`."""
    totals = ", ".join(f"{fleet.count(v)} {v.value}" for v in Verdict if fleet.count(v))
    return f"{len(fleet.repos)} repos: {totals or 'none planned'}"


def _exit_code(fleet: FleetPlan) -> int:
    return 1 if fleet.count(Verdict.ERROR) else 0


# Options shared by plan, apply and status.
FleetOpt = Annotated[Path | None, typer.Option("--fleet", help="Directory of git repos, or a "
                                               "list file of repo paths/URLs.")]
GitLabUrlOpt = Annotated[str | None, typer.Option("--gitlab-url", help="GitLab to discover "
                                                  "the fleet on (token from $GITLAB_TOKEN).")]
GroupOpt = Annotated[str | None, typer.Option(help="GitLab group, subgroups included.")]
ProjectOpt = Annotated[list[str] | None, typer.Option("--project", help="Explicit project "
                                                      "path (repeatable).")]
TopicOpt = Annotated[list[str] | None, typer.Option("--topic", help="Only projects with this "
                                                    "topic (repeatable).")]
IncludeOpt = Annotated[list[str] | None, typer.Option("--include", help="fnmatch pattern on "
                                                      "the repo path (repeatable).")]
ExcludeOpt = Annotated[list[str] | None, typer.Option("--exclude", help="fnmatch pattern on "
                                                      "the repo path (repeatable).")]
ArchivedOpt = Annotated[bool, typer.Option("--include-archived", help="Archived projects too.")]
ForksOpt = Annotated[bool, typer.Option("--include-forks", help="Forks too.")]
TokenVarOpt = Annotated[str | None, typer.Option(
    "--token-var", help="Environment variable holding the GitLab token.",
    show_default="GITLAB_TOKEN")]
AllowCloneHostOpt = Annotated[list[str] | None, typer.Option(
    "--allow-clone-host", help="HOST or HOST:PORT a project's clone URL may name besides the "
    "GitLab instance (repeatable); cloned without the token.")]
CentralOpt = Annotated[Path | None, typer.Option(
    "--central", help="Central chart: chart repository dir (index.yaml) or git repo "
    "(tags v<version>). Required, here or in migrator.toml.")]
TargetOpt = Annotated[str | None, typer.Option(
    "--target-version", help="Central chart version to move to. Required, here or in "
    "migrator.toml.")]
FamiliesOpt = Annotated[Path | None, typer.Option(
    "--families", help="Chart repository of older template families forks may descend from.")]
OutOpt = Annotated[Path | None, typer.Option(
    "--out", help="Where reports go (a directory, created if missing). Required, here or in "
    "migrator.toml.")]
JobsOpt = Annotated[int | None, typer.Option(
    "--jobs", help="Repos planned in parallel; 0 or -1: one per CPU.",
    show_default=f"{config.DEFAULT_JOBS}, or the CPUs if fewer")]
WorkOpt = Annotated[Path | None, typer.Option(
    "--work", help="Work dir: clone cache, journal.",
    show_default="one per fleet in ~/.cache/migrator")]
ShardOpt = Annotated[str | None, typer.Option("--shard", help="K/N: only shard K of N.")]
ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", help="migrator.toml to read.", show_default="./migrator.toml if there is one")]
StyleOpt = Annotated[str | None, typer.Option(
    "--style", help="Reference style: values-only, dependency, ci-include, argocd.",
    show_default="values-only")]
FreshOpt = Annotated[bool, typer.Option(
    "--fresh", help="Plan every repo again, even those whose inputs did not change.")]
MinLineageOpt = Annotated[float | None, typer.Option(
    "--min-lineage", min=0.0, max=1.0, help="Lineage score (0-1) below which a chart is not "
    "derived from the central chart or a family, and skipped.",
    show_default=str(DEFAULT_MIN_LINEAGE))]
RenderTimeoutOpt = Annotated[float | None, typer.Option(
    "--render-timeout", help="Seconds one Helm render may take; past it the render is stopped "
    "and its chart blocked.", show_default=f"{RenderLimits().seconds:g}")]
RenderMemoryOpt = Annotated[int | None, typer.Option(
    "--render-memory-mib", help="MiB of memory a planning worker may hold while it renders; "
    "past it the render is stopped and its chart blocked.",
    show_default=str(RenderLimits().memory_mib))]
RenderOutputOpt = Annotated[int | None, typer.Option(
    "--render-output-mib", help="MiB of text one Helm render may produce; past it the chart is "
    "blocked.", show_default=str(RenderLimits().output_mib))]
# Options of plan that apply shares: apply plans first, the same way.
CentralNameOpt = Annotated[str | None, typer.Option(
    "--central-name", help="Chart name in --central.",
    show_default="the only chart there")]
CentralPathOpt = Annotated[str | None, typer.Option(
    "--central-path", help="Chart path inside a git --central.", show_default="its root")]
ChartRefOpt = Annotated[str | None, typer.Option(
    "--chart-ref", help="How deploys name the central chart (OCI reference or chart "
    "repository URL); reports quote it.", show_default=config.DEFAULT_CHART_REF)]
InheritedOpt = Annotated[str | None, typer.Option(
    "--inherited", help="Inherited defaults the central chart has since changed: pin (keep "
    "them) or adopt (take the central default).", show_default="pin")]
QuietOpt = Annotated[bool, typer.Option(
    "--quiet", "-q", help="Only the one-line summary (and errors).")]
DashboardIssueOpt = Annotated[str | None, typer.Option(
    "--dashboard-issue", metavar="GROUP/PROJECT",
    help="The campaign's dashboard issue in this GitLab project: status keeps it up to date, "
    "apply acts on the boxes ticked in it.")]


def _fleet_flags(fleet: Path | None, gitlab_url: str | None, group: str | None,
                 project: list[str] | None, topic: list[str] | None,
                 include: list[str] | None, exclude: list[str] | None, include_archived: bool,
                 include_forks: bool, token_var: str | None,
                 allow_clone_host: list[str] | None = None) -> config.FleetFlags:
    return config.FleetFlags(
        fleet=fleet, gitlab_url=gitlab_url, group=group, project=tuple(project or ()),
        topic=tuple(topic or ()), include=tuple(include or ()), exclude=tuple(exclude or ()),
        include_archived=include_archived, include_forks=include_forks, token_var=token_var,
        allow_clone_host=tuple(allow_clone_host or ()))


@app.command(cls=_Command)
def plan(
    fleet: FleetOpt = None,
    gitlab_url: GitLabUrlOpt = None,
    group: GroupOpt = None,
    project: ProjectOpt = None,
    topic: TopicOpt = None,
    include: IncludeOpt = None,
    exclude: ExcludeOpt = None,
    include_archived: ArchivedOpt = False,
    include_forks: ForksOpt = False,
    token_var: TokenVarOpt = None,
    allow_clone_host: AllowCloneHostOpt = None,
    central: CentralOpt = None,
    families: FamiliesOpt = None,
    target_version: TargetOpt = None,
    out_dir: OutOpt = None,
    jobs: JobsOpt = None,
    central_name: CentralNameOpt = None,
    central_path: CentralPathOpt = None,
    chart_ref: ChartRefOpt = None,
    style: StyleOpt = None,
    inherited: InheritedOpt = None,
    work: WorkOpt = None,
    shard: ShardOpt = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Write change sets for blocked repos too.")] = False,
    fresh: FreshOpt = False,
    min_lineage: MinLineageOpt = None,
    render_timeout: RenderTimeoutOpt = None,
    render_memory_mib: RenderMemoryOpt = None,
    render_output_mib: RenderOutputOpt = None,
    config_file: ConfigOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Dry-run: plan the migration of every repo and write reports. Writes nothing remote."""
    flags = config.PlanFlags(
        repos=_fleet_flags(fleet, gitlab_url, group, project, topic, include, exclude,
                           include_archived, include_forks, token_var, allow_clone_host),
        central=central, families=families, target_version=target_version, out=out_dir,
        jobs=jobs, central_name=central_name, central_path=central_path, chart_ref=chart_ref,
        style=style, inherited=inherited, work=work, shard=shard, force=force, fresh=fresh,
        min_lineage=min_lineage, render_timeout=render_timeout,
        render_memory_mib=render_memory_mib, render_output_mib=render_output_mib,
    )
    signals = _Signals()
    with _reported_errors(), signals.handled(), ExitStack() as held:
        settings = config.plan_settings(config.load_file(config_file), flags)
        held.enter_context(_exclusive(settings))
        result = run_plan(settings, quiet, signals, whole=False)
        print_summary(result, settings.out, quiet=quiet)
        signals.exit_if_received(result, settings.out)
    raise typer.Exit(_exit_code(result))


@app.command(cls=_Command)
def apply(
    fleet: FleetOpt = None,
    gitlab_url: GitLabUrlOpt = None,
    group: GroupOpt = None,
    project: ProjectOpt = None,
    topic: TopicOpt = None,
    include: IncludeOpt = None,
    exclude: ExcludeOpt = None,
    include_archived: ArchivedOpt = False,
    include_forks: ForksOpt = False,
    token_var: TokenVarOpt = None,
    allow_clone_host: AllowCloneHostOpt = None,
    central: CentralOpt = None,
    families: FamiliesOpt = None,
    target_version: TargetOpt = None,
    out_dir: OutOpt = None,
    jobs: JobsOpt = None,
    central_name: CentralNameOpt = None,
    central_path: CentralPathOpt = None,
    chart_ref: ChartRefOpt = None,
    style: StyleOpt = None,
    inherited: InheritedOpt = None,
    work: WorkOpt = None,
    shard: ShardOpt = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Propose blocked repos too (as drafts).")] = False,
    limit: Annotated[int | None, typer.Option(help="Open at most N new merge requests.")]
    = None,
    canary: Annotated[int | None, typer.Option(help="Open N merge requests, then stop.")]
    = None,
    label: Annotated[list[str] | None, typer.Option("--label", help="Extra MR label.")] = None,
    report_link: Annotated[str | None, typer.Option(
        help="URL of the full report for cut descriptions ({slug}, {name}).")] = None,
    fresh: FreshOpt = False,
    min_lineage: MinLineageOpt = None,
    render_timeout: RenderTimeoutOpt = None,
    render_memory_mib: RenderMemoryOpt = None,
    render_output_mib: RenderOutputOpt = None,
    config_file: ConfigOpt = None,
    quiet: QuietOpt = False,
    dashboard_issue: DashboardIssueOpt = None,
) -> None:
    """Plan, then push a branch and open (or update) one merge request per eligible repo.

    Without --gitlab-url the merge requests are written as review bundles under the work dir.
    """
    flags = config.ApplyFlags(
        repos=_fleet_flags(fleet, gitlab_url, group, project, topic, include, exclude,
                           include_archived, include_forks, token_var, allow_clone_host),
        central=central, families=families, target_version=target_version, out=out_dir,
        jobs=jobs, central_name=central_name, central_path=central_path, chart_ref=chart_ref,
        style=style, inherited=inherited, work=work, shard=shard, force=force,
        fresh=fresh, limit=limit, canary=canary, label=tuple(label or ()),
        report_link=report_link, dashboard_issue=dashboard_issue,
        min_lineage=min_lineage, render_timeout=render_timeout,
        render_memory_mib=render_memory_mib, render_output_mib=render_output_mib,
    )
    signals = _Signals()
    with _reported_errors(), signals.handled(), ExitStack() as held:
        file_cfg = config.load_file(config_file)
        settings = config.plan_settings(file_cfg, flags.plan_flags())
        held.enter_context(_exclusive(settings))
        fleet_plan = run_plan(settings, quiet=quiet, signals=signals)
        signals.exit_if_received(fleet_plan, settings.out)  # nothing is proposed then
        proposing = config.propose_settings(file_cfg, settings, flags,
                                            plan_id=fleet_plan.plan_id,
                                            tool_version=fleet_plan.tool_version)
        issue = _dashboard_issue(proposing.dashboard_issue, settings.fleet, settings.gitlab)
        asked = issue_board.asks_in(issue, settings.work, [p.repo.name for p in fleet_plan.repos])
        outcomes = propose.run_apply(
            fleet_plan.repos, fleet_plan.central, dataclasses.replace(proposing, asked=asked),
            settings.work,
            {p.repo.slug: settings.work.clone(p.repo.slug) for p in fleet_plan.repos})
        issue_board.acted_in(settings.work, asked, {o.repo: o.action for o in outcomes})
    if not quiet and _interactive():
        table = Table(title=f"apply · plan {fleet_plan.plan_id}", title_justify="left")
        for column in ("repo", "action", "merge request", "cause"):
            table.add_column(column, overflow="fold")
        for o in outcomes:
            table.add_row(escape(o.repo), o.action, escape(o.mr_url or ""), escape(o.cause))
        out.print(table)
    elif not quiet:
        for o in outcomes:
            said = ", ".join(x for x in (o.mr_url or "", " ".join(o.cause.split())) if x)
            out.print(f"{o.repo}: {o.action}{': ' + said if said else ''}", markup=False,
                      highlight=False, soft_wrap=True)
    out.print(", ".join(f"{n} {action}" for action, n in propose.summarize(outcomes).items())
              or "no merge request to open or update", markup=False, highlight=False,
              soft_wrap=True)
    failed = any(o.action == "error" for o in outcomes) or _exit_code(fleet_plan)
    raise typer.Exit(1 if failed else 0)


@app.command(cls=_Command)
def status(
    fleet: FleetOpt = None,
    gitlab_url: GitLabUrlOpt = None,
    group: GroupOpt = None,
    project: ProjectOpt = None,
    topic: TopicOpt = None,
    include: IncludeOpt = None,
    exclude: ExcludeOpt = None,
    include_archived: ArchivedOpt = False,
    include_forks: ForksOpt = False,
    token_var: TokenVarOpt = None,
    allow_clone_host: AllowCloneHostOpt = None,
    work: WorkOpt = None,
    shard: ShardOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")]
    = False,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="The plan's --out: its fleet.html gets the campaign's burn-down "
        "(default: [plan] out).")] = None,
    config_file: ConfigOpt = None,
    dashboard_issue: DashboardIssueOpt = None,
) -> None:
    """Follow the merge requests `apply` opened: state, draft, pipeline, conflicts."""
    from migrator.report.refresh import refresh_dashboard

    flags = config.StatusFlags(
        repos=_fleet_flags(fleet, gitlab_url, group, project, topic, include, exclude,
                           include_archived, include_forks, token_var, allow_clone_host),
        work=work, shard=shard, out=out_dir, dashboard_issue=dashboard_issue,
    )
    with _reported_errors():
        settings = config.status_settings(config.load_file(config_file), flags)
        repos = pipeline.discover_fleet(settings.fleet, settings.gitlab, settings.include,
                                        settings.exclude, settings.shard)
        with Journal.open(settings.work) as journal:
            rows = track.status(repos, settings.track, journal)
            history = campaign.record(journal, rows)
            issue = _dashboard_issue(settings.dashboard_issue, settings.fleet, settings.gitlab,
                                     settings.shard)
            published = issue_board.publish(issue, repos, rows, journal) if issue else None
        board = refresh_dashboard(settings.out, history) if settings.out else None
    summary = track.summarize(rows)
    if as_json:
        out.print_json(json.dumps({"repos": [r.as_dict() for r in rows], "summary": summary}))
    else:
        table = Table(title="merge requests", title_justify="left")
        for column in ("repo", "MR", "state", "draft", "pipeline", "merge status", "attention"):
            table.add_column(column, overflow="fold")
        for r in rows:
            mr = f"!{r.iid} {r.web_url}" if r.iid else ""
            merge = "conflict" if r.has_conflicts else (r.detailed_merge_status or "")
            table.add_row(escape(r.repo), escape(mr), r.state, "yes" if r.draft else "",
                          r.pipeline or "", merge,
                          "needs attention" if r.needs_attention else escape(r.cause))
        out.print(table)
        out.print(", ".join(f"{n} {state}" for state, n in summary.items()))
        if board:
            out.print(f"campaign burn-down: {board}", markup=False, highlight=False)
        if published:
            out.print(f"dashboard issue: {published.url} ({published.action})", markup=False,
                      highlight=False, soft_wrap=True)
    if settings.out and history and not board:
        err.print(f"no plan in {escape(str(settings.out))} (plan-state.json): no campaign "
                  "burn-down written")
    raise typer.Exit(1 if any(r.state == "error" for r in rows) else 0)


def _dashboard_issue(project: str | None, fleet: Path | None,
                     gitlab: config.GitLabOptions | None,
                     shard: tuple[int, int] | None = None) -> issue_board.DashboardSettings | None:
    """The campaign dashboard issue `--dashboard-issue` names, None without the option."""
    if project is None:
        return None
    if shard is not None:
        raise ConfigError("--dashboard-issue shows the whole fleet: run status without --shard")
    return issue_board.settings_for(project, gitlab.client_settings() if gitlab else None,
                                    config.fleet_identity(fleet, gitlab, None))


report_app = typer.Typer(no_args_is_help=True, cls=_Group, help="Work with written reports.")
app.add_typer(report_app, name="report")


@report_app.command("merge", cls=_Command)
def report_merge(
    shard_dirs: Annotated[list[Path], typer.Argument(help="The --out dirs of the shards.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Where the fleet's reports go.")],
) -> None:
    """Join the reports of `plan --shard K/N` jobs into the reports of the whole fleet."""
    from migrator.report.refresh import refresh_dashboard, shard_histories

    with _reported_errors():
        merged = shards.merge(out_dir, shard_dirs)
        refresh_dashboard(out_dir, shard_histories(shard_dirs))
    print_summary(merged, out_dir)
    raise typer.Exit(_exit_code(merged))


mappings_app = typer.Typer(no_args_is_help=True, cls=_Group,
                           help="Work with mappings/ modules.")
app.add_typer(mappings_app, name="mappings")


@mappings_app.command("suggest", cls=_Command)
def mappings_suggest(
    plan_dir: Annotated[Path, typer.Option("--plan", help="The --out dir of a `plan` run.")],
    mappings_dir: Annotated[Path | None, typer.Option(
        "--mappings", help="The mappings directory to edit (default: ./mappings).")] = None,
    central_path: Annotated[str | None, typer.Option(
        help="Chart path inside a git --central, as given to plan.")] = None,
    write: Annotated[bool, typer.Option(
        "--write", help="Edit the mapping modules (libcst); without it, only report.")] = False,
) -> None:
    """Suggest mapping rules for the keys the fleet's plan left unmapped."""
    from migrator import suggest  # libcst: loaded by the command that edits Python only

    directory = mappings_dir or config.default_mappings()
    with _reported_errors():
        fleet = shards.load_state(plan_dir)
        found = suggest.suggest(fleet, suggest.load_central_defaults(fleet, central_path),
                                load_mappings(directory))
        sources = suggest.module_sources(directory, found) if write else {}
    out.print(suggest.render_report(found, str(directory)), markup=False, highlight=False,
              soft_wrap=True)
    for path, text in sources.items():
        path.write_text(text, encoding="utf-8")
        out.print(f"wrote {path}", highlight=False)


central_app = typer.Typer(no_args_is_help=True, cls=_Group,
                          help="Work with the central chart.")
app.add_typer(central_app, name="central")


@central_app.command("suggest", cls=_Command)
def central_suggest(
    plan_dir: Annotated[Path, typer.Option("--plan", help="The --out dir of a `plan` run.")],
    central_git: Annotated[Path, typer.Option(
        "--central-git", help="The central chart's git repository (tags v<version>).")],
    central_path: Annotated[str | None, typer.Option(
        help="Chart path inside the repository (default: its root).")] = None,
    kinds: Annotated[str | None, typer.Option(
        "--kinds", help="Customization kinds to add hatches for, comma-separated "
        "(default: those of the plan's unblock order a hatch carries).")] = None,
    write: Annotated[bool, typer.Option(
        "--write", help="Commit it on branch central-suggest/<version> and write the patch "
        "beside the plan; without it, only report.")] = False,
) -> None:
    """Propose the central-chart change that adds hatches (off by default) for what blocks the
    fleet, proved neutral for current users by rendering."""
    from migrator.central import suggest as central

    wanted = tuple(k.strip() for k in kinds.split(",") if k.strip()) if kinds else None
    with _reported_errors():
        made = central.suggest(central_git, shards.load_state(plan_dir), wanted, central_path)
        for line in central.report(made):
            out.print(line, markup=False, highlight=False, soft_wrap=True)
        if not made.proof.holds:
            err.print("[red]not written:[/red] the change is not neutral for current users "
                      "(see the differences above)", highlight=False)
            raise typer.Exit(1)
        if write:
            sha, patch = central.write(made, plan_dir)
            out.print(f"committed {sha[:12]} on branch {made.branch} of {central_git} (not "
                      f"pushed, not tagged); patch: {patch}", markup=False, highlight=False,
                      soft_wrap=True)


@app.command(cls=_Command)
def demo(
    directory: Annotated[Path, typer.Argument(
        help="Directory of the demo: built again on every run (its work dir is kept).")]
    = Path(".demo"),
    jobs: JobsOpt = None,
) -> None:
    """Build the demo fleet and central chart from fixtures/, plan it, print the summary and
    the unblock order; then add the hatches the fleet needs to the central chart (`central
    suggest`, released as the next version) and plan the fleet on that version. Run it again
    at will: the same fixtures give the same result."""
    from dataclasses import replace

    from migrator import demo as demo_fixtures
    from migrator.central import gaps
    from migrator.central import suggest as central
    from migrator.report.gaps import cumulative_sentence

    with _reported_errors():
        directory = demo_fixtures.prepare(directory.resolve())
        sources = demo_fixtures.build_central(directory / "central")
        fleet_dir = directory / "fleet"
        demo_fixtures.build_fleet(fleet_dir)
        flags = config.PlanFlags(
            repos=config.FleetFlags(fleet=fleet_dir), central=sources.repo_dir,
            families=sources.families_dir, target_version=demo_fixtures.TARGET_VERSION,
            out=directory / "out", work=directory / "work", jobs=jobs,
        )
        settings = config.plan_settings({}, flags)
        # A demo is read: its table, always (a bar at a terminal, no line per repo besides).
        result = run_plan(settings, quiet=not _interactive())
    print_summary(result, settings.out, table=True)
    order = gaps.gaps(result).order
    out.print(f"\nunblock order ({settings.out / 'central-gaps.md'}):", highlight=False)
    for i in range(len(order)):
        out.print(f"  {i + 1}. {cumulative_sentence(order[:i + 1])}", highlight=False)
    with _reported_errors():
        made = demo_fixtures.release_suggestion(sources, result, settings.out)
    out.print(f"\n$ migrator central suggest --plan {settings.out} --central-git "
              f"{sources.git_dir} --write", markup=False, highlight=False, soft_wrap=True)
    for line in central.report(made):
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    out.print(f"released: branch {made.branch} tagged v{made.new_version} "
              f"(patch: {settings.out / made.patch_name})\n", markup=False, highlight=False,
              soft_wrap=True)
    with _reported_errors():
        settings = config.plan_settings({}, replace(
            flags, central=sources.git_dir, target_version=made.new_version,
            out=directory / f"out-{made.new_version}"))
        again = run_plan(settings, quiet=not _interactive())
    print_summary(again, settings.out, table=True)
    before = {p.repo.name: p.verdict for p in result.repos}
    for plan in again.repos:
        was = before.get(plan.repo.name)
        if was is not None and was is not plan.verdict:
            out.print(f"  {escape(plan.repo.name)}: {was.value} -> "
                      f"[{_STYLE[plan.verdict]}]{plan.verdict.value}[/{_STYLE[plan.verdict]}]")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
