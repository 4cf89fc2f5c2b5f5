"""Plan one repository: find its charts and deploys, plan each chart, join their change sets.

Takes a checked-out repository (the clone cache) and the run's shared context; returns a RepoPlan.
Nothing here writes outside a temporary directory, and nothing from the repository is executed:
charts are rendered by Helm's template engine, deploy files are parsed.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from migrator import __version__, git
from migrator.errors import MigratorError
from migrator.locate.charts import Located, locate
from migrator.locate.refs import chart_dir, names_archive, scan_references, with_missing_values
from migrator.locate.submodules import submodule_paths
from migrator.model import (
    ChartPlan,
    EmbeddedChart,
    HelmInvocation,
    Kind,
    Notice,
    NoticeKind,
    Outcome,
    RepoPlan,
    RepoRef,
)
from migrator.pipeline import crash, limits
from migrator.pipeline.chart import ChartResult, RepoView, bad_input, plan_chart
from migrator.pipeline.context import Context
from migrator.pipeline.upgrade import outdated, plan_upgrade
from migrator.redact import redact_patch
from migrator.rewrite.changeset import values_dir_for
from migrator.rewrite.target import RewriteResult


def plan_repo(repo: RepoRef, workdir: Path, ctx: Context, commit: str | None = None,
              stopped: Mapping[str, Outcome] | None = None) -> RepoPlan:
    """`commit` is the checkout's HEAD when the caller already read it. `stopped`: charts (by
    path) not to plan, with their outcome: a render of theirs was stopped by a limit before."""
    started = time.monotonic()
    if commit is None:
        try:
            commit = git.head(workdir) if git.is_repo(workdir) else None
        except MigratorError:
            commit = None
    try:
        plan = _plan(repo, workdir, commit, ctx, stopped or {})
    except MigratorError as exc:
        plan = RepoPlan(repo, commit, bad_input(exc))
    return replace(plan, seconds=round(time.monotonic() - started, 3))


def _plan(repo: RepoRef, workdir: Path, commit: str | None, ctx: Context,
          stopped: Mapping[str, Outcome]) -> RepoPlan:
    scan = with_missing_values(workdir, scan_references(workdir))
    refs = scan.found
    located = locate(workdir, refs, ctx.catalog.central)
    seen = (*scan.notices, *located.notices)
    if not located.charts:
        deploys = outdated(located, ctx)
        if deploys:
            upgraded = plan_upgrade(repo, workdir, commit, deploys, ctx)
            upgraded = replace(upgraded, notices=upgraded.notices + _notices(seen, upgraded))
            return replace(upgraded, plan_hash=_plan_hash(upgraded, ctx))
        skipped = RepoPlan(repo, commit, _skipped(located, ctx, workdir),
                           references=located.central_references)
        return replace(skipped, notices=_notices(seen, skipped))

    many = len(located.charts) > 1
    results: list[ChartResult] = []
    with _rewrite_views(workdir, refs) as views:
        for chart in located.charts:
            if chart.path in stopped:
                results.append(_stopped(chart, stopped[chart.path]))
                continue
            with limits.planning(chart.path):  # a render that runs over is this chart's
                result = _plan_one(views.current(), repo, chart, ctx,
                                   values_dir_for(ctx.values_dir, chart.name, many))
            if ctx.proposes(result.plan.verdict):
                # a later chart's rewrite starts from this one's, so only what is proposed
                views.carry(result.rewrite.writes)
            results.append(result)

    charts = tuple(r.plan for r in results)
    worst = max(charts, key=lambda c: c.verdict.rank)
    outcome = replace(worst.outcome, chart=worst.path) if many else worst.outcome
    untouched = {(r.file, r.line): why for res in results for r, why in res.rewrite.untouched}
    references = tuple(
        replace(r, rewritable=False, why=r.why or untouched[(r.file, r.line)])
        if (r.file, r.line) in untouched else r
        for r in refs if r in located.references or (r.file, r.line) in untouched
        or _may_deploy_any(r))
    # Each chart whose own verdict allows it is in the change set: one chart that cannot move
    # does not hold back the others (the repo's verdict still says the worst).
    proposed = [r for r in results if ctx.proposes(r.plan.verdict)]
    patch = None
    if proposed:
        writes: dict[str, bytes | None] = {}
        for r in proposed:
            writes.update(r.values_writes)
        for r in proposed:  # a later chart's edit of a file includes the earlier ones
            writes.update(r.rewrite.writes)
        patch = git.patch_for(workdir, writes) or None
    notes = tuple(n for r in results for n in r.rewrite.notes)
    plan = RepoPlan(repo, commit, outcome, charts, references, patch, notes=notes)
    plan = replace(plan, notices=_notices(seen, plan))
    return replace(plan, plan_hash=_plan_hash(plan, ctx))


def _may_deploy_any(ref: HelmInvocation) -> bool:
    """A deploy whose chart is known only at run time (`$CHART`, an Application a chart
    generates) may deploy any embedded chart: it is reported even when no rewrite reached it."""
    return (not ref.rewritable and bool(ref.chart) and chart_dir(ref) is None
            and "://" not in (ref.chart or "") and not names_archive(ref))


_ABOUT_A_REFERENCE = (NoticeKind.UNRESOLVED, NoticeKind.MISSING_FILE)


def _notices(seen: tuple[Notice, ...], plan: RepoPlan) -> tuple[Notice, ...]:
    """What was noticed in the repository's files: every file read leniently or not at all,
    and what is odd about a reference the plan reports (not about a deploy of another chart)."""
    reported = {(r.file, r.line) for r in plan.references}
    return tuple(dict.fromkeys(
        n for n in seen if n.kind not in _ABOUT_A_REFERENCE or (n.file, n.line) in reported))


def _plan_one(view: RepoView, repo: RepoRef, chart: EmbeddedChart, ctx: Context,
              values_dir: str) -> ChartResult:
    """One chart; a bug met on it is that chart's internal error, not the repo's."""
    try:
        return plan_chart(view, repo, chart, ctx, values_dir)
    except MigratorError:
        raise
    except Exception as exc:
        if ctx.work is None:
            raise
        outcome = crash.record(ctx.work, repo.slug, f"{repo.name}: {chart.path}", exc)
        return ChartResult(ChartPlan(chart.path, chart.name, outcome,
                                     file_count=chart.file_count,
                                     line_count=chart.line_count), {}, RewriteResult({}, (), ()))


def _stopped(chart: EmbeddedChart, outcome: Outcome) -> ChartResult:
    return ChartResult(ChartPlan(chart.path, chart.name, outcome, file_count=chart.file_count,
                                 line_count=chart.line_count), {}, RewriteResult({}, (), ()))


class _Views:
    """Rewrite views for a repo's charts in turn: the second and later charts are rewritten in
    a scratch copy holding the earlier charts' edits, so that two charts deployed from one file
    end up in one consistent file."""

    def __init__(self, workdir: Path, refs: tuple[HelmInvocation, ...], scratch: Path) -> None:
        self._view = RepoView(workdir, workdir, refs)
        self._scratch = scratch
        self._pending: dict[str, bytes | None] = {}
        self._copied = False

    def current(self) -> RepoView:
        if self._pending:
            if not self._copied:
                shutil.copytree(self._view.source, self._scratch, symlinks=True,
                                ignore=shutil.ignore_patterns(".git"))
                self._copied = True
            _apply(self._scratch, self._pending)
            self._pending = {}
            self._view = replace(self._view, root=self._scratch,
                                 refs=_deploys_in(self._scratch))
        return self._view

    def carry(self, writes: Mapping[str, bytes | None]) -> None:
        self._pending.update(writes)


def _deploys_in(root: Path) -> tuple[HelmInvocation, ...]:
    return with_missing_values(root, scan_references(root)).found


@contextmanager
def _rewrite_views(workdir: Path, refs: tuple[HelmInvocation, ...]) -> Iterator[_Views]:
    with tempfile.TemporaryDirectory(prefix="migrator-rewrite-") as tmp:
        yield _Views(workdir, refs, Path(tmp) / "repo")


def _apply(root: Path, writes: Mapping[str, bytes | None]) -> None:
    for rel, content in writes.items():
        target = root / rel
        if content is None:
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)


def _skipped(located: Located, ctx: Context, workdir: Path) -> Outcome:
    central = ctx.catalog.central
    if located.wrappers:
        return Outcome(Kind.CENTRAL_WRAPPER, detail=central, file=located.wrappers[0])
    if located.central_references:
        ref = located.central_references[0]
        version = f" {ref.version}" if ref.version else ""
        return Outcome(Kind.ALREADY_CENTRAL, detail=f"{central}{version}", file=ref.file,
                       line=ref.line)
    return Outcome(Kind.NO_CHART, paths=submodule_paths(workdir))


def _plan_hash(plan: RepoPlan, ctx: Context) -> str:
    """Changes when the inputs or what would be proposed change: drives idempotent apply.

    It hashes the patch as published, secrets redacted: the hash is published too (MR marker,
    commit trailer), and beside the redacted patch a hash of the real one would let anyone try
    guesses at a weak password offline. Nothing is lost: the secret values come from the repo
    at `commit`, which is hashed."""
    digest = hashlib.sha256()
    for part in (plan.commit or "", redact_patch(plan.patch or ""), plan.verdict.value,
                 ctx.catalog.central, ctx.target_version, __version__):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]
