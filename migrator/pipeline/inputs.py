"""A run's inputs: what every repo shares (the central chart, the mappings), loaded from the
settings, and each repo's clone, brought up to date. The run loads them once in its own process
and once in each planning worker."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from migrator import credentials, git
from migrator.config import PlanSettings
from migrator.errors import GitError
from migrator.journal import FetchRecord
from migrator.lineage.catalog import load_catalog
from migrator.lineage.match import DEFAULT_MIN_LINEAGE
from migrator.mapping import load_mappings
from migrator.model import CentralInfo, RepoRef
from migrator.pipeline.activity import unmoved_commit
from migrator.pipeline.context import Context
from migrator.workdir import WorkDir


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
        options=reproducing_options(settings),
    )
    return ctx, info


def reproducing_options(settings: PlanSettings) -> tuple[str, ...]:
    """The flags a reviewer must pass to `migrator plan` to see this plan again: those that
    change a plan, where they are not at their defaults."""
    options: list[str] = []
    if settings.style != "values-only":
        options += ["--style", settings.style]
    if settings.inherited != "pin":
        options += ["--inherited", settings.inherited]
    if settings.min_lineage != DEFAULT_MIN_LINEAGE:
        options += ["--min-lineage", f"{settings.min_lineage:g}"]
    if settings.force:
        options.append("--force")
    return tuple(options)


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
          scope: credentials.CloneScope | None = None) -> str:
    """The repo's clone in the work dir's cache (`work.clone(repo.slug)`), created or brought
    up to date; its HEAD. Refused, before git runs, for a repo discovery could not hand on or a
    clone URL outside `scope`."""
    refusal = repo.unavailable or (scope.refusal(repo.url) if scope is not None else None)
    if refusal is not None:
        raise GitError(refusal)
    return git.clone_or_update(repo.url, work.clone(repo.slug), repo.default_branch, env=env)


def known_commit(repo: RepoRef, work: WorkDir) -> str | None:
    """The commit a fetch of the local repo `repo` would bring, when its clone in `work`
    already holds it: both HEADs and the clone's origin read from their files, no git process.
    None when anything is in doubt (a URL, a layout the readers do not know, a clone behind
    or elsewhere): the repo is then fetched as usual."""
    url = repo.url
    if repo.unavailable or "://" in url or not Path(url).is_absolute() or git.unsafe_url(url):
        return None
    source = git.read_head(Path(url))
    if source is None or source.commit is None or source.branch != repo.default_branch \
            or not git.fetched_by_name(Path(url), source):
        return None
    clone = work.clone(repo.slug)
    held = git.read_head(clone)
    if held is None or held.commit != source.commit:
        return None
    if not git.is_origin(git.read_origin_url(clone), url):
        return None
    return source.commit


def known_listed_commit(repo: RepoRef, work: WorkDir, listed: str | None,
                        record: FetchRecord | None, now: datetime) -> str | None:
    """The commit a fetch of the GitLab project `repo` would bring, when its listing's
    `last_activity_at` (`listed`) proves it has not moved since the fetch `record` names and
    its clone in `work` still holds that fetch (HEAD and origin read from its files, no git
    process): see pipeline/activity.py. None when anything is in doubt: fetch it."""
    if listed is None or record is None:
        return None
    clone = work.clone(repo.slug)
    return unmoved_commit(repo, listed, record, git.read_head(clone), git.read_origin_url(clone),
                          now)
