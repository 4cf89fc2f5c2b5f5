"""Discover a fleet on GitLab: a group and all its subgroups, and/or an explicit project list.

Filters, applied alike to group members and listed projects:

- archived projects are left out unless `include_archived` (they are read-only: no push, no MR);
- forks are left out unless `include_forks`: a fork is usually someone's personal copy of an
  app repo whose upstream is in the fleet already, and migrating both would open two MRs for
  one application;
- `topics`: a project must carry every one of them;
- `include`/`exclude`: fnmatch patterns on `path_with_namespace` (`platform/*`, `*-legacy`).

Only projects that live under the group are listed (projects merely shared with it are not).
The order is `path_with_namespace`, so runs and shards see the fleet the same way.

With the fleet, `list_fleet` keeps what the listing said of each project's `last_activity_at`:
a re-plan uses it to leave unfetched a project that cannot have moved (pipeline/activity.py).
It is kept beside the RepoRefs, not in them, since a RepoRef is printed into the reports and
the fleet digest, which must not change with a stamp.

What a bad GitLab answer costs (too large, not JSON, an HTML page, entries that are not
projects): the group listing is the fleet, so a listing that fails stops discovery with the
group, the page and the cause (planning the pages that did arrive would publish a fleet report
that silently misses repos). An explicitly listed project costs only itself: it stays in the
fleet, unavailable, with the cause as its reason, and the others are planned. A 401 stops
everything, as the token is refused for every call alike. A project whose clone URL is outside
the GitLab instance (and not an allowed clone host) is kept but unavailable, so nothing fetches it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gitlab
import requests
from gitlab.exceptions import GitlabError

from migrator.credentials import CloneScope
from migrator.discover.local import matches, unique_slugs
from migrator.errors import ConfigError
from migrator.forge import ForgeError
from migrator.gitlab_api import ONCE, GitLabSettings, connect, describe_http_error
from migrator.model import RepoRef


@dataclass(frozen=True)
class GitLabFleetSettings:
    gitlab: GitLabSettings
    group: str | None = None  # full path ("platform/apps") or numeric id
    projects: tuple[str, ...] = ()  # explicit path_with_namespace (or ids), added to the group's
    include_archived: bool = False
    include_forks: bool = False
    topics: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Listing:
    """The fleet's projects, and each one's `last_activity_at` as the listing gave it (by slug;
    a project whose answer held no such string is not in `activity`)."""

    repos: tuple[RepoRef, ...]
    activity: Mapping[str, str] = field(default_factory=dict)


def list_repos(settings: GitLabFleetSettings, client: gitlab.Gitlab | None = None) -> list[RepoRef]:
    """The fleet's projects as RepoRefs, filtered and sorted by path_with_namespace."""
    return list(list_fleet(settings, client).repos)


def list_fleet(settings: GitLabFleetSettings, client: gitlab.Gitlab | None = None) -> Listing:
    """`list_repos`, with what the same answers said of each project's last activity."""
    if settings.group is None and not settings.projects:
        raise ConfigError("GitLab fleet: give a group or a list of projects")
    scope = CloneScope.of(settings.gitlab.url, settings.gitlab.allowed_clone_hosts)
    gl = client if client is not None else connect(settings.gitlab)
    found: dict[str, Mapping[str, Any]] = {}
    if settings.group is not None:
        for project in _group_projects(gl, settings.group, settings.include_archived):
            found[str(project["path_with_namespace"])] = project
    for key in settings.projects:
        project = _project(gl, key)
        found[str(project["path_with_namespace"])] = project
    kept = sorted((p for p in found.values() if _wanted(p, settings)),
                  key=lambda p: str(p["path_with_namespace"]))
    slugs = unique_slugs(str(p["path_with_namespace"]) for p in kept)
    repos = tuple(_repo_ref(p, slug, scope) for p, slug in zip(kept, slugs, strict=True))
    activity = {slug: p["last_activity_at"] for p, slug in zip(kept, slugs, strict=True)
                if isinstance(p.get("last_activity_at"), str) and not p.get("_unavailable")}
    return Listing(repos, activity)


def _group_projects(gl: gitlab.Gitlab, group: str,
                    include_archived: bool) -> list[Mapping[str, Any]]:
    query: dict[str, Any] = {"include_subgroups": True, "with_shared": False,
                             "order_by": "path", "sort": "asc"}
    if not include_archived:
        query["archived"] = False  # server-side when supported; filtered again below
    try:
        projects = gl.groups.get(group, lazy=True).projects.list(get_all=True, **query, **ONCE)
    except (GitlabError, requests.RequestException) as exc:
        raise ForgeError(describe_http_error(f"group {group}", "listing projects", exc)) from None
    listed = [p.attributes for p in projects]
    bad = next((_not_a_project(p) for p in listed if _not_a_project(p)), None)
    if bad is not None:
        raise ForgeError(f"group {group}: listing projects failed: {bad}")
    # A group given by path: keep only projects under it, whatever the server adds.
    prefix = None if group.isdigit() else group.strip("/") + "/"
    return [p for p in listed
            if prefix is None or str(p["path_with_namespace"]).startswith(prefix)]


def _project(gl: gitlab.Gitlab, key: str) -> Mapping[str, Any]:
    """The project's attributes; when they cannot be had (but for a refused token), a stand-in
    that carries the cause, so this project alone is unavailable."""
    ident: int | str = int(key) if key.isdigit() else key
    try:
        attrs: Mapping[str, Any] = gl.projects.get(ident, **ONCE).attributes
    except (GitlabError, requests.RequestException) as exc:
        message = describe_http_error(key, "reading the project", exc)
        if isinstance(exc, GitlabError) and exc.response_code == 401:
            raise ForgeError(message) from None
        return _unavailable(key, message)
    bad = _not_a_project(attrs)
    if bad is not None:
        return _unavailable(key, f"{key}: reading the project failed: {bad}")
    return attrs


def _unavailable(key: str, cause: str) -> Mapping[str, Any]:
    return {"path_with_namespace": key, "id": int(key) if key.isdigit() else None,
            "_unavailable": cause}


def _not_a_project(attrs: Mapping[str, Any]) -> str | None:
    """What makes a GitLab answer unusable as a project (the fields discovery relies on)."""
    path, ident = attrs.get("path_with_namespace"), attrs.get("id")
    if not isinstance(path, str) or not path or not isinstance(ident, int):
        return "GitLab's answer holds an entry that is not a project (no path_with_namespace/id)"
    url = attrs.get("http_url_to_repo")
    if url is not None and not isinstance(url, str):
        return f"project {path}: http_url_to_repo is not a string"
    return None


def _wanted(project: Mapping[str, Any], settings: GitLabFleetSettings) -> bool:
    path = str(project["path_with_namespace"])
    if project.get("_unavailable"):
        return matches(path, settings.include, settings.exclude)
    if project.get("archived") and not settings.include_archived:
        return False
    if project.get("forked_from_project") and not settings.include_forks:
        return False
    topics = set(project.get("topics") or project.get("tag_list") or ())
    if not set(settings.topics) <= topics:
        return False
    return matches(path, settings.include, settings.exclude)


def _repo_ref(project: Mapping[str, Any], slug: str, scope: CloneScope) -> RepoRef:
    url = str(project.get("http_url_to_repo") or "")
    name = str(project["path_with_namespace"])
    why = project.get("_unavailable")
    if why is None:
        refusal = scope.refusal(url)
        why = f"{name}: {refusal}" if refusal else None
    branch = project.get("default_branch")
    return RepoRef(
        name=name,
        slug=slug,
        url=url,
        default_branch=str(branch) if isinstance(branch, str) and branch else None,
        project_id=int(project["id"]) if project.get("id") is not None else None,
        web_url=str(project["web_url"]) if isinstance(project.get("web_url"), str) else None,
        archived=bool(project.get("archived", False)),
        unavailable=why,
    )
