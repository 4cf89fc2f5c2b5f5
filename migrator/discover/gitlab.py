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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gitlab
import requests
from gitlab.exceptions import GitlabError

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


def list_repos(settings: GitLabFleetSettings, client: gitlab.Gitlab | None = None) -> list[RepoRef]:
    """The fleet's projects as RepoRefs, filtered and sorted by path_with_namespace."""
    if settings.group is None and not settings.projects:
        raise ConfigError("GitLab fleet: give a group or a list of projects")
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
    return [_repo_ref(p, slug) for p, slug in zip(kept, slugs, strict=True)]


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
    # A group given by path: keep only projects under it, whatever the server adds.
    prefix = None if group.isdigit() else group.strip("/") + "/"
    return [p.attributes for p in projects
            if prefix is None or str(p.attributes["path_with_namespace"]).startswith(prefix)]


def _project(gl: gitlab.Gitlab, key: str) -> Mapping[str, Any]:
    try:
        ident: int | str = int(key) if key.isdigit() else key
        attrs: Mapping[str, Any] = gl.projects.get(ident, **ONCE).attributes
        return attrs
    except (GitlabError, requests.RequestException) as exc:
        raise ForgeError(describe_http_error(key, "reading the project", exc)) from None


def _wanted(project: Mapping[str, Any], settings: GitLabFleetSettings) -> bool:
    path = str(project["path_with_namespace"])
    if project.get("archived") and not settings.include_archived:
        return False
    if project.get("forked_from_project") and not settings.include_forks:
        return False
    topics = set(project.get("topics") or project.get("tag_list") or ())
    if not set(settings.topics) <= topics:
        return False
    return matches(path, settings.include, settings.exclude)


def _repo_ref(project: Mapping[str, Any], slug: str) -> RepoRef:
    return RepoRef(
        name=str(project["path_with_namespace"]),
        slug=slug,
        url=str(project.get("http_url_to_repo") or ""),
        default_branch=project.get("default_branch"),
        project_id=int(project["id"]),
        web_url=project.get("web_url"),
        archived=bool(project.get("archived", False)),
    )
