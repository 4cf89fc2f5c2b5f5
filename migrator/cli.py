"""typer commands: parse options, call the pipeline, print. No logic lives here."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
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

from migrator import config, pipeline
from migrator.errors import ConfigError, MigratorError
from migrator.model import FleetPlan, RepoPlan, Verdict

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Move a fleet of forked Helm charts onto one central chart.")
err = Console(stderr=True)
out = Console()

_STYLE = {Verdict.READY: "green", Verdict.REVIEW: "yellow", Verdict.BLOCKED: "red",
          Verdict.SKIPPED: "dim", Verdict.ERROR: "bold red"}


@app.callback()
def _root() -> None:
    """Move a fleet of forked Helm charts onto one central chart."""


def _fail_usage(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def run_plan(settings: config.PlanSettings, quiet: bool = False) -> FleetPlan:
    """discover -> fetch -> plan every repo -> write reports, with a progress bar."""
    from migrator.report.write import write_reports

    pipeline.check_settings(settings)
    repos = pipeline.discover(settings)
    counts: Counter[str] = Counter()
    progress = Progress(
        TextColumn("[bold]plan"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[verdicts]}"), TimeElapsedColumn(), TextColumn("eta"),
        TimeRemainingColumn(), console=err, disable=quiet or not err.is_terminal,
        transient=True,
    )
    with progress:
        task = progress.add_task("plan", total=len(repos), verdicts="")

        def done(plan: RepoPlan) -> None:
            counts[plan.verdict.value] += 1
            summary = " ".join(f"{v}={counts[v]}" for v in (x.value for x in Verdict)
                               if counts[v])
            progress.update(task, advance=1, verdicts=summary)

        fleet = pipeline.plan_fleet(repos, settings, on_done=done)
    write_reports(fleet, settings.out)
    return fleet


def print_summary(fleet: FleetPlan, out_dir: Path) -> None:
    table = Table(title=f"{fleet.central.name} {fleet.central.target_version} · "
                        f"plan {fleet.plan_id}", title_justify="left")
    table.add_column("repo")
    table.add_column("verdict")
    table.add_column("reason", overflow="fold")
    for plan in fleet.repos:
        style = _STYLE[plan.verdict]
        table.add_row(escape(plan.repo.name), f"[{style}]{plan.verdict.value}[/{style}]",
                      escape(plan.reason))
    out.print(table)
    totals = ", ".join(f"{fleet.count(v)} {v.value}" for v in Verdict if fleet.count(v))
    out.print(f"{len(fleet.repos)} repos: {totals}")
    out.print(f"reports: {out_dir / 'fleet.md'}, {out_dir / 'fleet.html'}, "
              f"{out_dir / 'fleet.json'}")


def _exit_code(fleet: FleetPlan) -> int:
    return 1 if fleet.count(Verdict.ERROR) else 0


@app.command()
def plan(
    fleet: Annotated[Path | None, typer.Option(help="Directory of git repos, or a list file.")]
    = None,
    central: Annotated[Path | None, typer.Option(
        help="Central chart: chart repository dir (index.yaml) or git repo (tags v<version>).")]
    = None,
    target_version: Annotated[str | None, typer.Option(help="Central chart version to move to.")]
    = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Where reports go.")] = None,
    jobs: Annotated[int | None, typer.Option(help="Repos planned in parallel.")] = None,
    central_name: Annotated[str | None, typer.Option(help="Chart name in --central.")] = None,
    central_path: Annotated[str | None, typer.Option(help="Chart path inside a git --central.")]
    = None,
    chart_ref: Annotated[str | None, typer.Option(help="How deploys name the central chart.")]
    = None,
    inherited: Annotated[str | None, typer.Option(help="pin (default) or adopt.")] = None,
    work: Annotated[Path | None, typer.Option(help="Work dir (clone cache).")] = None,
    shard: Annotated[str | None, typer.Option(help="K/N: plan only shard K of N.")] = None,
    force: Annotated[bool, typer.Option(help="Write change sets for blocked repos too.")]
    = False,
    config_file: Annotated[Path | None, typer.Option("--config", help="migrator.toml")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Dry-run: plan the migration of every repo and write reports. Writes nothing remote."""
    try:
        settings = config.plan_settings(config.load_file(config_file), {
            "fleet": fleet, "central": central, "target_version": target_version,
            "out": out_dir, "jobs": jobs, "central_name": central_name,
            "central_path": central_path, "chart_ref": chart_ref, "inherited": inherited,
            "work": work, "shard": shard, "force": force,
        })
        result = run_plan(settings, quiet)
    except ConfigError as exc:
        raise _fail_usage(str(exc)) from None
    except MigratorError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    if not quiet:
        print_summary(result, settings.out)
    raise typer.Exit(_exit_code(result))


@app.command()
def demo(
    directory: Annotated[Path, typer.Argument(help="Work directory for the demo.")]
    = Path(".demo"),
    jobs: Annotated[int | None, typer.Option(help="Repos planned in parallel.")] = None,
) -> None:
    """Build the demo fleet and central chart from fixtures/, plan it, print the summary."""
    from migrator import demo as demo_fixtures

    directory = directory.resolve()
    sources = demo_fixtures.build_central(directory / "central")
    fleet_dir = directory / "fleet"
    demo_fixtures.build_fleet(fleet_dir)
    flags: dict[str, Any] = {
        "fleet": fleet_dir, "central": sources.repo_dir, "target_version": "2.0.0",
        "out": directory / "out", "work": directory / "work", "jobs": jobs,
    }
    try:
        settings = config.plan_settings({}, flags)
        result = run_plan(settings)
    except MigratorError as exc:
        raise _fail_usage(str(exc)) from None
    print_summary(result, settings.out)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
