"""Run the stages over the fleet: shard, fetch, plan each repo on a bounded pool, collect.

The central chart's versions and the mappings are loaded once per run and shared by every
worker (loaded Helm charts are immutable and thread-safe; Helm calls release the GIL).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from migrator import __version__, codec, credentials, git
from migrator.config import GitLabOptions, PlanSettings
from migrator.discover import gitlab as gitlab_fleet
from migrator.discover import local
from migrator.errors import ConfigError, GitError, MigratorError
from migrator.journal import Journal
from migrator.lineage.catalog import load_catalog
from migrator.mapping import load_mappings
from migrator.model import CentralInfo, FleetPlan, Kind, Outcome, RepoPlan, RepoRef, Verdict
from migrator.pipeline import crash, plancache
from migrator.pipeline.context import Context
from migrator.pipeline.repo import plan_repo
from migrator.workdir import WorkDir

OnDone = Callable[[RepoPlan], None]


def in_shard(repo: RepoRef, shard: tuple[int, int] | None) -> bool:
    """Stable across runs and machines: the same repo always lands in the same shard."""
    if shard is None:
        return True
    k, n = shard
    digest = hashlib.sha256(repo.name.encode()).digest()
    return int.from_bytes(digest[:8], "big") % n == k - 1


def make_context(settings: PlanSettings) -> tuple[Context, CentralInfo]:
    catalog = load_catalog(str(settings.central), settings.central_name, settings.central_path,
                           str(settings.families) if settings.families else None)
    catalog.get(settings.target_version)  # fails early, naming the versions there are
    ctx = Context(
        catalog=catalog,
        target_version=settings.target_version,
        mappings=load_mappings(settings.mappings),
        policy=settings.inherited,
        cosmetic_keys=settings.cosmetic_keys,
        values_dir=settings.values_dir,
        force=settings.force,
        style=settings.style,
        chart_ref=settings.chart_ref,
        ci_include=settings.ci_include,
        argocd=settings.argocd,
        work=settings.work,
        min_lineage=settings.min_lineage,
    )
    info = CentralInfo(
        name=catalog.central,
        source=str(settings.central),
        target_version=settings.target_version,
        versions=tuple(catalog.versions()),
        ref=settings.chart_ref,
        families=str(settings.families) if settings.families else None,
    )
    return ctx, info


def discover(settings: PlanSettings) -> list[RepoRef]:
    return discover_fleet(settings.fleet, settings.gitlab, settings.include, settings.exclude,
                          settings.shard)


def discover_fleet(fleet: Path | None, gitlab: GitLabOptions | None,
                   include: Sequence[str] = (), exclude: Sequence[str] = (),
                   shard: tuple[int, int] | None = None) -> list[RepoRef]:
    """The fleet (a GitLab group, or local repos), filtered, this shard's part only."""
    if gitlab is not None:
        repos = gitlab_fleet.list_repos(gitlab_fleet.GitLabFleetSettings(
            gitlab.client_settings(), group=gitlab.group,
            projects=gitlab.projects, include_archived=gitlab.include_archived,
            include_forks=gitlab.include_forks, topics=gitlab.topics, include=tuple(include),
            exclude=tuple(exclude)))
    elif fleet is not None:
        repos = local.list_repos(local.LocalFleetSettings(fleet, tuple(include), tuple(exclude)))
    else:
        raise ConfigError("no fleet: give --fleet or --gitlab-url")
    return [r for r in repos if in_shard(r, shard)]


def git_env(settings: PlanSettings) -> dict[str, str] | None:
    """How git authenticates to GitLab: a credential helper reading the token variable, which
    answers for the GitLab origin only."""
    if settings.gitlab is None:
        return None
    return credentials.git_env(settings.gitlab.token_var, origin=settings.gitlab.url)


def clone_scope(settings: PlanSettings) -> credentials.CloneScope | None:
    """Which clone URLs a GitLab fleet may be fetched from; None for a local fleet."""
    if settings.gitlab is None:
        return None
    return credentials.CloneScope.of(settings.gitlab.url, settings.gitlab.allowed_clone_hosts)


def fetch(repo: RepoRef, work: WorkDir, env: Mapping[str, str] | None = None,
          scope: credentials.CloneScope | None = None) -> Path:
    """The repo's clone in the work dir's cache, created or brought up to date. Refused, before
    git runs, for a repo discovery could not hand on or a clone URL outside `scope`."""
    refusal = repo.unavailable or (scope.refusal(repo.url) if scope is not None else None)
    if refusal is not None:
        raise GitError(refusal)
    dest = work.clone(repo.slug)
    git.clone_or_update(repo.url, dest, repo.default_branch, env=env)
    return dest


def plan_fleet(
    repos: Sequence[RepoRef],
    settings: PlanSettings,
    on_done: OnDone | None = None,
    git_env: Mapping[str, str] | None = None,
) -> FleetPlan:
    """Plan every repo on a bounded pool. A repo whose inputs (its HEAD, the central chart,
    the mappings, the settings, the tool's own code) are unchanged since an earlier run in the
    same work dir gets that run's plan back from the journal instead of being planned again."""
    ctx, info = make_context(settings)
    context_key = _context_key(settings)
    scope = clone_scope(settings)

    def one(repo: RepoRef, journal: Journal) -> RepoPlan:
        try:
            workdir = fetch(repo, settings.work, git_env, scope)
        except MigratorError as exc:
            failed = RepoPlan(repo, None, Outcome(Kind.FETCH_FAILED, detail=str(exc)))
            return plancache.shown(failed, settings.work)
        commit = git.head(workdir)
        key = hashlib.sha256(f"{commit}\0{context_key}".encode()).hexdigest()
        if not settings.fresh:
            cached = plancache.load(journal, settings.work, repo, key)
            if cached is not None:
                return cached
        # From here on the run holds the plan as reports show it, secrets redacted, and only
        # the patch (what apply commits) whole.
        plan = plancache.shown(plan_repo(repo, workdir, ctx, commit), settings.work)
        if plan.verdict is not Verdict.ERROR:  # an error may be passing: plan it again
            plancache.store(journal, settings.work, key, plan)
        return plan

    results: dict[str, RepoPlan] = {}
    with Journal.open(settings.work) as journal, \
            ThreadPoolExecutor(max_workers=max(1, settings.jobs)) as pool:
        futures = {pool.submit(one, repo, journal): repo for repo in repos}
        for future in as_completed(futures):
            repo = futures[future]
            try:
                plan = future.result()
            except Exception as exc:  # noqa: BLE001 - one repo's bug must not stop the fleet
                plan = RepoPlan(repo, None, crash.record(settings.work, repo.slug, repo.name, exc))
            results[repo.slug] = plan
            if on_done:
                on_done(plan)
    ordered = tuple(results[r.slug] for r in repos)
    return FleetPlan(central=info, repos=ordered, tool_version=__version__,
                     plan_id=_plan_id(ordered, info))


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
