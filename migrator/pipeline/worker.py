"""A planning worker: a process that loads the run's context once, then fetches and plans one
repo per task, and tells the run which Helm call it is in.

Helm renders run here, not in the run's own process, because a render cannot be interrupted:
the run kills a worker whose render runs over a limit (pool.py) and plans the rest of that repo
in a fresh one. So a worker keeps nothing that a kill could leave half-done: it writes files
that stand alone (a patch with secrets, a crash log), its temporary files live in a directory
the run removes, and the journal is written by the run alone.

The messages a worker sends: `("ready",)` once it loaded the context (or `("failed", why)`);
then for each task any number of `("call", HelmCall, chart)` / `("called",)` pairs, and
`("done", result)`: a `Fetched` or a `Planned`.
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

from migrator import __version__
from migrator.errors import MigratorError
from migrator.locate import shellwords
from migrator.model import RepoPlan, Verdict
from migrator.pipeline import crash, inputs, limits, plancache
from migrator.pipeline.repo import plan_repo
from migrator.pipeline.tasks import Fetched, FetchTask, Planned, PlanTask, Setup, Task
from migrator.redact import forget_patches
from migrator.report import spool
from migrator.verify import render
from migrator.verify.render import HelmCall


class Worker:
    """One worker's state: the run's context, loaded once."""

    def __init__(self, setup: Setup) -> None:
        self.settings = setup.settings
        self.git_env = setup.git_env
        self.scope = inputs.clone_scope(setup.settings)
        self.ctx, self.central = inputs.make_context(setup.settings)
        self.spooled = setup.spooled

    def fetch(self, task: FetchTask) -> Fetched:
        try:
            return Fetched(inputs.fetch(task.repo, self.settings.work, self.git_env, self.scope))
        except MigratorError as exc:
            return Fetched(None, str(exc))

    def plan(self, task: PlanTask) -> RepoPlan:
        """The plan as the run goes on with it (`plancache.shown`); a bug is the repo's internal
        error, its traceback in the work dir."""
        repo, work = task.repo, self.settings.work
        try:
            plan = plan_repo(repo, work.clone(repo.slug), self.ctx, task.commit,
                             stopped=dict(task.stopped))
            # From here on the run holds the plan as reports show it, secrets redacted, and only
            # the patch (what apply commits) whole.
            return plancache.shown(plan, work)
        except Exception as exc:  # noqa: BLE001 - one repo's bug must not stop the fleet
            return RepoPlan(repo, None, crash.record(work, repo.slug, repo.name, exc))

    def run(self, task: Task) -> Fetched | Planned:
        if isinstance(task, FetchTask):
            return self.fetch(task)
        try:
            plan = self.plan(task)
            try:
                return self._planned(plan)
            except Exception as exc:  # noqa: BLE001 - a bug after planning is the repo's too
                work, repo = self.settings.work, task.repo
                return Planned(RepoPlan(repo, None, crash.record(work, repo.slug, repo.name,
                                                                 exc)), None)
        finally:
            # What this repo's planning kept for itself: else a worker's memory grows with
            # every repo it planned.
            forget_patches()
            shellwords.forget()

    def _planned(self, plan: RepoPlan) -> Planned:
        """What the run gets of `plan`: what the journal keeps of it, and with a spool, its
        light view and its own report files instead of the whole plan."""
        # An error may be passing: it is planned again next time, so it is not kept.
        work = self.settings.work
        kept = plancache.record(plan, work) if plan.verdict is not Verdict.ERROR else None
        # Rendered here, the run's own process never holds (nor builds) the whole plan.
        spooled = spool.render(plan, self.central, __version__) if self.spooled else None
        view = None
        if kept is not None:
            light = spooled.view if spooled is not None else spool.light(plan)
            view = plancache.view_record(plan, light, work)
        if spooled is None:
            return Planned(plan, kept, view=view)
        return Planned(spooled.view, kept, spooled.texts, view)


def serve(conn: Connection, setup: Setup) -> None:
    """The worker process's main: tasks in, results out, until the run closes the pipe."""
    _detach()
    try:
        _private_tmp(setup.tmp)
        worker = Worker(setup)
    except BaseException as exc:  # noqa: BLE001 - said to the run, which stops
        conn.send(("failed", f"migrator {__version__}: a planning worker could not start: "
                             f"{''.join(traceback.format_exception_only(exc)).strip()}"))
        return
    render.guard(_Announcer(conn), setup.limits)
    conn.send(("ready",))
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        conn.send(("done", worker.run(task)))


class _Announcer:
    """Tells the run each Helm call on a chart as it starts and ends."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @contextmanager
    def __call__(self, call: HelmCall) -> Iterator[None]:
        self._conn.send(("call", call, limits.current_chart()))
        try:
            yield
        finally:
            self._conn.send(("called",))


def _detach() -> None:
    """The run stops its workers, not the terminal: Ctrl-C is for the run, which kills them
    (with any git they started: each worker leads its own process group). A worker whose run
    is gone ends too."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked while it started
    os.setpgid(0, 0)
    parent = os.getppid()

    def orphaned() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=orphaned, name="migrator-orphan-watch", daemon=True).start()


def _private_tmp(root: str) -> None:
    """Temporary files in the run's own directory: what a killed worker leaves there goes with
    the run."""
    own = Path(root) / f"worker-{os.getpid()}"
    own.mkdir(mode=0o700, exist_ok=True)
    tempfile.tempdir = str(own)
