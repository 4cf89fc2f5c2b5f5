"""What the run and its planning workers send each other (worker.py, pool.py): light records,
so that the run's own process never imports the planning stages."""

from __future__ import annotations

from dataclasses import dataclass

from migrator.config import PlanSettings
from migrator.journal import Encoded
from migrator.model import Outcome, RepoPlan, RepoRef
from migrator.report.spool import Texts
from migrator.verify.render import RenderLimits


@dataclass(frozen=True)
class Setup:
    """What a worker is started with (pickled to it)."""

    settings: PlanSettings
    limits: RenderLimits
    git_env: dict[str, str] | None
    tmp: str  # the run's directory for the workers' temporary files
    # Render each planned repo's own report files here and send the light view of its plan
    # (report/spool.py), not the whole plan.
    spooled: bool = False


@dataclass(frozen=True)
class FetchTask:
    repo: RepoRef


@dataclass(frozen=True)
class Fetched:
    commit: str | None  # the clone's HEAD, None when the fetch failed
    error: str = ""


@dataclass(frozen=True)
class PlanTask:
    repo: RepoRef
    commit: str
    # Charts not to plan again, with their outcome: a Helm call of theirs was stopped by a limit
    # in an earlier attempt (the worker that made it was killed).
    stopped: tuple[tuple[str, Outcome], ...] = ()


Task = FetchTask | PlanTask


@dataclass(frozen=True)
class Planned:
    plan: RepoPlan  # as the run goes on with it (`plancache.shown`), or its light view
    record: Encoded | None  # what the journal keeps of it (`plancache.record`); None: nothing
    files: Texts | None = None  # its own report files, when `plan` is the light view
    view: Encoded | None = None  # what the journal keeps of the light view (with `record`)
