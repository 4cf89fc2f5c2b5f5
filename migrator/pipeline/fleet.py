"""Run the stages over the fleet: shard, fetch, plan each repo in a worker process, collect.

Every repo is fetched and planned in a pool of worker processes (pool.py, worker.py), each
loading the central chart's versions and the mappings once. Processes, not threads, because a
Helm render cannot be interrupted in-process: a render that runs over its time or memory limit
is stopped by killing its worker, the chart it was rendering gets that as its outcome, and the
rest of its repo is planned again in a fresh worker; the fleet goes on. This process keeps the
journal (the plan cache) and hands each finished repo to `on_done` as it finishes.

A `stop` event ends the run within a fraction of a second, whatever the workers are doing:
queued repos are not planned, workers are killed, and the plan holds the repos that finished
(`FleetPlan.unplanned` names the others).
"""

from __future__ import annotations

import functools
import hashlib
import json
import pickle
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from migrator import __version__, codec
from migrator.config import GitLabOptions, PlanSettings
from migrator.discover import gitlab as gitlab_fleet
from migrator.discover import local
from migrator.errors import ConfigError, MigratorError
from migrator.journal import Journal
from migrator.lineage.catalog import load_catalog
from migrator.model import CentralInfo, FleetPlan, Kind, Outcome, RepoPlan, RepoRef
from migrator.pipeline import plancache
from migrator.pipeline.activity import fetch_record, utc_now
from migrator.pipeline.inputs import (
    clone_scope,
    fetch,
    git_env,
    known_commit,
    known_listed_commit,
    make_context,
)
from migrator.pipeline.pool import Finished, Pool, Stopped
from migrator.pipeline.tasks import Fetched, FetchTask, Planned, PlanTask, Setup
from migrator.report.spool import Spool
from migrator.workdir import WorkDir

OnDone = Callable[[RepoPlan], None]
# How often the run looks at its stop event and its workers' limits when nothing else happens.
TICK_SECONDS = 0.1

__all__ = ["OnDone", "check_settings", "clone_scope", "code_files", "discover",
           "discover_fleet", "fetch", "git_env", "in_shard", "make_context", "plan_fleet"]


def in_shard(repo: RepoRef, shard: tuple[int, int] | None) -> bool:
    """Stable across runs and machines: the same repo always lands in the same shard."""
    if shard is None:
        return True
    k, n = shard
    digest = hashlib.sha256(repo.name.encode()).digest()
    return int.from_bytes(digest[:8], "big") % n == k - 1


def discover(settings: PlanSettings) -> list[RepoRef]:
    return discover_fleet(settings.fleet, settings.gitlab, settings.include, settings.exclude,
                          settings.shard)


def discover_listing(settings: PlanSettings) -> gitlab_fleet.Listing:
    """`discover`, with each GitLab project's last activity as the listing gave it (none for a
    local fleet): what `plan_fleet` takes to leave unmoved projects unfetched."""
    return _listing(settings.fleet, settings.gitlab, settings.include, settings.exclude,
                    settings.shard)


def discover_fleet(fleet: Path | None, gitlab: GitLabOptions | None,
                   include: Sequence[str] = (), exclude: Sequence[str] = (),
                   shard: tuple[int, int] | None = None) -> list[RepoRef]:
    """The fleet (a GitLab group, or local repos), filtered, this shard's part only."""
    return list(_listing(fleet, gitlab, include, exclude, shard).repos)


def _listing(fleet: Path | None, gitlab: GitLabOptions | None, include: Sequence[str],
             exclude: Sequence[str], shard: tuple[int, int] | None) -> gitlab_fleet.Listing:
    if gitlab is not None:
        listing = gitlab_fleet.list_fleet(gitlab_fleet.GitLabFleetSettings(
            gitlab.client_settings(), group=gitlab.group,
            projects=gitlab.projects, include_archived=gitlab.include_archived,
            include_forks=gitlab.include_forks, topics=gitlab.topics, include=tuple(include),
            exclude=tuple(exclude)))
    elif fleet is not None:
        listing = gitlab_fleet.Listing(tuple(local.list_repos(
            local.LocalFleetSettings(fleet, tuple(include), tuple(exclude)))))
    else:
        raise ConfigError("no fleet: give --fleet or --gitlab-url")
    repos = tuple(r for r in listing.repos if in_shard(r, shard))
    return gitlab_fleet.Listing(repos, {r.slug: listing.activity[r.slug] for r in repos
                                        if r.slug in listing.activity})


def plan_fleet(
    repos: Sequence[RepoRef],
    settings: PlanSettings,
    on_done: OnDone | None = None,
    git_env: Mapping[str, str] | None = None,
    stop: threading.Event | None = None,
    activity: Mapping[str, str] | None = None,
) -> FleetPlan:
    """`plan_fleet_traced` without the digest."""
    return plan_fleet_traced(repos, settings, on_done, git_env, stop, activity=activity)[0]


def plan_fleet_traced(
    repos: Sequence[RepoRef],
    settings: PlanSettings,
    on_done: OnDone | None = None,
    git_env: Mapping[str, str] | None = None,
    stop: threading.Event | None = None,
    spool: Spool | None = None,
    activity: Mapping[str, str] | None = None,
) -> tuple[FleetPlan, str | None]:
    """Plan every repo in `settings.jobs` worker processes. A repo whose inputs (its HEAD, the
    central chart, the mappings, the settings, the tool's own code) are unchanged since an
    earlier run in the same work dir gets that run's plan back from the journal instead of
    being planned again.

    With the plan, a digest of everything the reports are made of (each plan as the journal
    holds it, the repos, the central chart, the settings, the tool's code): equal digests mean
    equal reports. None when some plan is not in the journal (an error, a stopped run).

    With a `spool`, each repo planned has its own report files rendered by the worker that
    planned it, into the spool, and the fleet plan (and `on_done`) gets the light view of its
    plan (report/spool.py): the run's memory does not grow with whole plans. A plan taken from
    the journal is held as its view too, when the journal keeps one: its whole plan is read
    again only if its reports must be written.

    `activity` is each GitLab project's `last_activity_at` as discovery listed it
    (`discover_listing`): a project whose stamp proves it has not moved since its last fetch
    is not fetched again (pipeline/activity.py)."""
    _, info = make_context(settings)  # fails early, here, on a central chart that will not do
    context_key = _context_key(settings)
    # The workers' temporary files: what a killed one leaves goes with the run.
    with tempfile.TemporaryDirectory(prefix="migrator-plan-", ignore_cleanup_errors=True) as tmp, \
            Journal.open(settings.work) as journal, \
            Pool(min(max(1, settings.jobs), max(1, len(repos))),
                 Setup(settings, settings.render_limits, dict(git_env) if git_env else None,
                       tmp, spooled=spool is not None)) as pool:
        run = _Run(settings, context_key, journal, on_done, spool, info, activity or {})
        fetches = deque(FetchTask(r) for r in repos)
        while run.plans or fetches or pool.busy():
            if stop is not None and stop.is_set():
                pool.close(kill=True)
                break
            run.feed(pool, fetches, stop)
            planned: list[Finished] = []
            for event in pool.events(TICK_SECONDS):
                if isinstance(event, Finished) and isinstance(event.task, PlanTask):
                    planned.append(event)
                else:
                    run.handle(event)
            # The workers that finished get their next task before this process stores
            # what they planned: they need not wait for the journal.
            run.feed(pool, fetches, stop)
            for event in planned:
                run.handle(event)
    ordered = tuple(_unheld(run.results[r.slug]) for r in repos if r.slug in run.results)
    fleet = FleetPlan(central=info, repos=ordered, tool_version=__version__,
                      plan_id=_plan_id(ordered, info),
                      unplanned=tuple(r.name for r in repos if r.slug not in run.results))
    return fleet, _fleet_digest(fleet, context_key, run.tokens)


def _unheld(held: bytes | RepoPlan) -> RepoPlan:
    plan = pickle.loads(held) if isinstance(held, bytes) else held
    assert isinstance(plan, RepoPlan)
    return plan


def _fleet_digest(fleet: FleetPlan, context_key: str,
                  tokens: Mapping[str, str | None]) -> str | None:
    if fleet.unplanned:
        return None
    digest = hashlib.sha256(f"{context_key}\0{fleet.central!r}\0{fleet.tool_version}".encode())
    for plan in fleet.repos:
        token = tokens.get(plan.repo.slug)
        if token is None:
            return None
        digest.update(f"\0{plan.repo!r}\0{token}".encode())
    return digest.hexdigest()


class _Run:
    """What the run does with each event of its pool: the journal is read and written here."""

    def __init__(self, settings: PlanSettings, context_key: str, journal: Journal,
                 on_done: OnDone | None, spool: Spool | None, central: CentralInfo,
                 activity: Mapping[str, str],
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.central = central
        self.context_key = context_key
        self.journal = journal
        self.on_done = on_done
        self.spool = spool
        self.reloader: _Reloader | None = None
        self.plans: deque[PlanTask] = deque()
        # Each finished plan, pickled: a view held as objects takes about four times its
        # pickle (19 KB against 5 KB), and the run holds one per repo while the workers,
        # whose memory adds to its own, still run. Unpickled once they are done. A plan read
        # from the journal is held as it was read: an unchanged re-plan, all of whose plans
        # are read, starts no worker, and pickling each only to unpickle it at the end took a
        # sixth of its time.
        self.results: dict[str, bytes | RepoPlan] = {}
        self.keys: dict[str, str] = {}
        self.tokens: dict[str, str | None] = {}  # digest of each plan as the journal holds it
        self.activity = activity  # slug -> the GitLab listing's last_activity_at
        self.clock = clock
        self.fetching: dict[str, datetime] = {}  # slug -> when its fetch was handed out

    def feed(self, pool: Pool, fetches: deque[FetchTask], stop: threading.Event | None) -> None:
        """Give every idle worker a task: a fetched repo is planned before the next is fetched
        (few clones wait). A repo whose clone already holds the commit its source's HEAD
        names, as read from both repos' files, is not fetched, nor a GitLab project whose
        listing proves it unmoved since its clone was fetched: its plan is the journal's when
        its inputs are unchanged."""
        while pool.idle() and (self.plans or fetches):
            if stop is not None and stop.is_set():
                return
            if self.plans:
                pool.give(self.plans.popleft())
                continue
            task = fetches.popleft()
            if not self._unchanged(task.repo):
                self._fetching(task.repo)
                pool.give(task)

    def _unchanged(self, repo: RepoRef) -> bool:
        if self.settings.fresh:
            return False
        if self.settings.gitlab is None:
            commit = known_commit(repo, self.settings.work)
        else:
            commit = known_listed_commit(repo, self.settings.work, self.activity.get(repo.slug),
                                         self.journal.fetch_record(repo.slug), self.clock())
        if commit is None:
            return False
        cached = self._cached(repo, _plan_key(commit, self.context_key))
        if cached is None:
            return False
        self._done(*cached, held=True)
        return True

    def _cached(self, repo: RepoRef, key: str) -> tuple[RepoPlan, str] | None:
        """The journal's plan of `repo` for these inputs, and its digest. With a spool, its
        light view: the whole plan is read again only if its reports must be written."""
        work = self.settings.work
        if self.spool is not None:
            viewed = plancache.load_view_traced(self.journal, work, repo, key)
            if viewed is not None:
                if self.reloader is None:
                    self.reloader = _Reloader(work)
                    self.spool.close_with(self.reloader.close)
                self.spool.defer(repo.slug, functools.partial(self.reloader.plan, repo, key),
                                 self.central)
                return viewed
        return plancache.load_traced(self.journal, work, repo, key)

    def handle(self, event: Finished | Stopped) -> None:
        task = event.task
        if isinstance(event, Finished) and isinstance(task, FetchTask):
            self._fetched(task.repo, event.result)
        elif isinstance(event, Finished):
            self._planned(event.result)
        elif isinstance(task, FetchTask):
            self._done(RepoPlan(task.repo, None, Outcome(Kind.INTERNAL, detail=event.why)))
        else:
            self._stopped(task, event)

    def _fetched(self, repo: RepoRef, fetched: Fetched) -> None:
        work = self.settings.work
        self._remember_fetch(repo, fetched.commit)
        if fetched.commit is None:
            failed = RepoPlan(repo, None, Outcome(Kind.FETCH_FAILED, detail=fetched.error))
            self._done(plancache.shown(failed, work))
            return
        key = _plan_key(fetched.commit, self.context_key)
        self.keys[repo.slug] = key
        if not self.settings.fresh:
            cached = self._cached(repo, key)
            if cached is not None:
                self._done(*cached, held=True)
                return
        self.plans.append(PlanTask(repo, fetched.commit))

    def _fetching(self, repo: RepoRef) -> None:
        """A GitLab project's fetch starts now. Its last record goes first: a fetch that never
        ends (a stop, a kill) leaves the project to be fetched again."""
        if self.settings.gitlab is not None:  # only GitLab listings carry an activity stamp
            self.journal.forget_fetch(repo.slug)
            self.fetching[repo.slug] = self.clock()

    def _remember_fetch(self, repo: RepoRef, commit: str | None) -> None:
        """What the next run needs to leave a GitLab project unfetched if it does not move."""
        started = self.fetching.pop(repo.slug, None)
        record = None if commit is None or started is None else fetch_record(
            repo, commit, self.activity.get(repo.slug), started)
        if record is not None:
            self.journal.record_fetch(record)

    def _planned(self, planned: Planned) -> None:
        plan, key = planned.plan, self.keys.get(planned.plan.repo.slug)
        token = None
        if planned.record is not None and key is not None:
            token = plancache.file(self.journal, key, plan.repo.slug, planned.record,
                                   planned.view)
        if planned.files is not None and self.spool is not None:
            self.spool.add(plan.repo.slug, planned.files)
        self._done(plan, token)

    def _stopped(self, task: PlanTask, event: Stopped) -> None:
        """A Helm call of this repo was stopped: the chart it was for gets that outcome, and the
        repo is planned again, first in line, without rendering that chart."""
        chart = event.rendering.chart if event.rendering is not None else None
        seen = dict(task.stopped)
        if event.outcome is not None and chart is not None and chart not in seen:
            self.plans.appendleft(replace(task, stopped=(*task.stopped, (chart, event.outcome))))
            return
        # Not in a chart's render (an upgrade's, or no render at all): the repo's own outcome.
        outcome = event.outcome or Outcome(Kind.INTERNAL, detail=event.why)
        self._done(RepoPlan(task.repo, task.commit, outcome))

    def _done(self, plan: RepoPlan, token: str | None = None, held: bool = False) -> None:
        """`held`: a plan read from the journal, kept as it is (see `results`)."""
        self.results[plan.repo.slug] = plan if held else pickle.dumps(
            plan, protocol=pickle.HIGHEST_PROTOCOL)
        self.tokens[plan.repo.slug] = token
        if self.on_done:
            self.on_done(plan)


class _Reloader:
    """Whole cached plans, for the repos whose views the run held when it must write their
    reports after all: one journal for them all, opened on the first (the run's own is closed
    by then)."""

    def __init__(self, work: WorkDir) -> None:
        self._work = work
        self._journal: Journal | None = None

    def plan(self, repo: RepoRef, key: str) -> RepoPlan:
        if self._journal is None:
            self._journal = Journal.open(self._work)
        plan = plancache.load(self._journal, self._work, repo, key)
        if plan is None:
            raise MigratorError(f"{repo.name}: its cached plan left the journal during the run")
        return plan

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None


def _plan_key(commit: str, context_key: str) -> str:
    """The plan cache's key: the repo's commit and everything else that decides its plan."""
    return hashlib.sha256(f"{commit}\0{context_key}".encode()).hexdigest()


def _context_key(settings: PlanSettings) -> str:
    """Everything but the repo that decides a plan."""
    digest = hashlib.sha256(_code_digest().encode())
    catalog = load_catalog(str(settings.central), settings.central_name, settings.central_path,
                           str(settings.families) if settings.families else None)
    for (name, version), chart in sorted(catalog.charts.items()):
        digest.update(f"{name}\0{version}\0{chart.app_version}\0".encode())
        digest.update(json.dumps(chart.values, sort_keys=True).encode())
        digest.update(json.dumps(chart.templates, sort_keys=True).encode())
    if settings.mappings.is_dir():
        for path in sorted(settings.mappings.glob("*.py")):
            digest.update(path.read_bytes())
    relevant = {k: v for k, v in codec.dump(settings).items()
                if k not in ("fleet", "out", "work", "jobs", "shard", "include", "exclude",
                             "gitlab", "fresh", "central", "mappings")}
    digest.update(json.dumps(relevant, sort_keys=True, default=str).encode())
    return digest.hexdigest()


@functools.cache
def _code_digest() -> str:
    """The tool's own code: a plan made by other code is not reused."""
    digest = hashlib.sha256(__version__.encode())
    for path in code_files():
        digest.update(path.read_bytes())
    return digest.hexdigest()


def code_files() -> list[Path]:
    """Every module of the package, whichever stage it belongs to."""
    package = Path(__file__).resolve().parents[1]
    return sorted(package.rglob("*.py"))


def _plan_id(repos: Sequence[RepoPlan], info: CentralInfo) -> str:
    digest = hashlib.sha256(f"{info.name}\0{info.target_version}".encode())
    for r in repos:
        digest.update(f"{r.repo.slug}\0{r.plan_hash or r.verdict.value}\0".encode())
    return digest.hexdigest()[:7]


def check_settings(settings: PlanSettings) -> None:
    if settings.fleet is not None and settings.gitlab is None and not settings.fleet.exists():
        raise ConfigError(f"--fleet {settings.fleet}: no such directory or file")
