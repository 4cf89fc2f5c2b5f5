"""Users, groups and projects: `/user`, `/users`, `/groups...`, `/projects`, `/projects/:id`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from testsupport.gitlab_sim import views
from testsupport.gitlab_sim.core import Core
from testsupport.gitlab_sim.routing import (
    FORBIDDEN,
    ROUTER,
    ApiError,
    Request,
    Response,
    bad_request,
    not_found,
    paginate,
)
from testsupport.gitlab_sim.state import ROLE_LEVELS, Namespace, Project

PROJECT_ORDERS = (
    "id",
    "name",
    "path",
    "created_at",
    "updated_at",
    "last_activity_at",
    "similarity",
    "star_count",
)
GROUP_ORDERS = ("name", "path", "id", "similarity")
SORTS = ("asc", "desc")


@ROUTER.get("/version")
def version(core: Core, req: Request) -> Any:
    req.require_user()
    return {"version": "17.6.0-sim", "revision": "0000000", "kas": {"enabled": False}}


@ROUTER.get("/user")
def current_user(core: Core, req: Request) -> Any:
    return views.user_full(core, req.require_user())


@ROUTER.get("/users")
def list_users(core: Core, req: Request) -> Response:
    users = sorted(core.store.users.values(), key=lambda u: u.id, reverse=True)
    username = req.text("username")
    if username is not None:
        users = [u for u in users if u.username.lower() == username.lower()]
    search = (req.text("search") or "").lower()
    if search:
        users = [u for u in users if search in f"{u.username} {u.name} {u.email}".lower()]
    return paginate(req, users, lambda u: views.user_basic(core, u))


@ROUTER.get("/users/:user_id")
def get_user(core: Core, req: Request) -> Any:
    ident = req.path_params["user_id"]
    user = core.store.users.get(int(ident)) if ident.isdigit() else None
    if user is None:
        raise not_found("User")
    return views.user_basic(core, user)


# -- groups ----------------------------------------------------------------------------------------


def _group_listing(core: Core, req: Request, groups: Iterable[Namespace]) -> Response:
    readable = [g for g in groups if core.can_read(req.user, g.visibility)]
    search = (req.text("search") or "").lower()
    if search:
        readable = [g for g in readable if search in g.name.lower() or search in g.path.lower()]
    skip = set(req.integers("skip_groups") or [])
    readable = [g for g in readable if g.id not in skip]
    order = req.choice("order_by", GROUP_ORDERS, "name")
    descending = req.choice("sort", SORTS, "asc") == "desc"
    key: Callable[[Namespace], Any] = {
        "name": lambda g: (g.name.lower(), g.id),
        "path": lambda g: (g.path.lower(), g.id),
    }.get(order or "", lambda g: g.id)
    readable.sort(key=key, reverse=descending)
    return paginate(req, readable, lambda g: views.group(core, g))


@ROUTER.get("/groups")
def list_groups(core: Core, req: Request) -> Response:
    groups = core.store.groups()
    if req.flag("top_level_only", False):
        groups = [g for g in groups if g.parent_id is None]
    return _group_listing(core, req, groups)


@ROUTER.get("/groups/:id")
def get_group(core: Core, req: Request) -> Any:
    group = core.group_for(req, req.path_params["id"])
    body = views.group(core, group)
    if req.flag("with_projects", True):
        own = [p for p in core.store.projects.values() if p.namespace_id == group.id]
        shared = [p for p in core.store.projects.values() if group.id in p.shared_with_group_ids]
        body["projects"] = [views.project_full(core, p) for p in own[:100]]
        body["shared_projects"] = [views.project_full(core, p) for p in shared[:100]]
    return body


@ROUTER.get("/groups/:id/subgroups")
def list_subgroups(core: Core, req: Request) -> Response:
    group = core.group_for(req, req.path_params["id"])
    return _group_listing(core, req, [g for g in core.store.groups() if g.parent_id == group.id])


@ROUTER.get("/groups/:id/descendant_groups")
def list_descendants(core: Core, req: Request) -> Response:
    group = core.group_for(req, req.path_params["id"])
    return _group_listing(core, req, core.store.descendants(group.id))


@ROUTER.get("/groups/:id/projects")
def list_group_projects(core: Core, req: Request) -> Response:
    group = core.group_for(req, req.path_params["id"])
    group_ids = {group.id}
    if req.flag("include_subgroups", False):
        group_ids |= {g.id for g in core.store.descendants(group.id)}
    projects = {p.id: p for p in core.store.projects.values() if p.namespace_id in group_ids}
    if req.flag("with_shared", True):
        for p in core.store.projects.values():
            if group_ids & set(p.shared_with_group_ids):
                projects.setdefault(p.id, p)
    return _project_listing(core, req, projects.values())


# -- projects --------------------------------------------------------------------------------------


@ROUTER.get("/projects")
def list_projects(core: Core, req: Request) -> Response:
    return _project_listing(core, req, core.store.projects.values())


def _project_listing(core: Core, req: Request, projects: Iterable[Project]) -> Response:
    found = [p for p in projects if core.can_read(req.user, p.visibility)]
    archived = req.flag("archived")
    if archived is not None:
        found = [p for p in found if p.archived == archived]
    topics = [t.lower() for t in req.items("topic") or []]
    if topics:
        found = [p for p in found if set(topics) <= {t.lower() for t in p.topics}]
    visibility = req.choice("visibility", ("public", "internal", "private"), None)
    if visibility:
        found = [p for p in found if p.visibility == visibility]
    search = (req.text("search") or "").lower()
    if search:
        found = [p for p in found if search in p.name.lower() or search in p.path.lower()]
    id_after, id_before = req.integer("id_after"), req.integer("id_before")
    if id_after is not None:
        found = [p for p in found if p.id > id_after]
    if id_before is not None:
        found = [p for p in found if p.id < id_before]
    order = req.choice("order_by", PROJECT_ORDERS, "created_at")
    descending = req.choice("sort", SORTS, "desc") == "desc"
    key: Callable[[Project], Any] = {
        "name": lambda p: (p.name.lower(), p.id),
        "path": lambda p: (p.path.lower(), p.id),
        "created_at": lambda p: (p.created_at, p.id),
        "updated_at": lambda p: (p.last_activity_at, p.id),
        "last_activity_at": lambda p: (p.last_activity_at, p.id),
    }.get(order or "", lambda p: p.id)
    found.sort(key=key, reverse=descending)
    if req.flag("simple", False):
        return paginate(req, found, lambda p: views.project_simple(core, p))
    return paginate(req, found, lambda p: views.project_full(core, p))


@ROUTER.get("/projects/:id")
def get_project(core: Core, req: Request) -> Any:
    return views.project_full(core, core.project_for(req, req.path_params["id"]))


@ROUTER.put("/projects/:id")
def edit_project(core: Core, req: Request) -> Any:
    project = core.writable_project(req, req.path_params["id"], role="maintainer")
    editable = (
        "description",
        "default_branch",
        "topics",
        "only_allow_merge_if_pipeline_succeeds",
        "allow_merge_on_skipped_pipeline",
        "remove_source_branch_after_merge",
        "visibility",
    )
    req.at_least_one(editable)
    if req.has("description"):
        project.description = req.text("description") or ""
    if req.has("topics"):
        project.topics = req.items("topics") or []
    if req.has("default_branch"):
        wanted = req.text("default_branch") or ""
        if wanted not in core.refs(project):
            raise bad_request({"default_branch": ["does not exist"]})
        project.default_branch = wanted
        core.repo(project).set_head(wanted)
    for flag in (
        "only_allow_merge_if_pipeline_succeeds",
        "allow_merge_on_skipped_pipeline",
        "remove_source_branch_after_merge",
    ):
        value = req.flag(flag)
        if value is not None:
            setattr(project, flag, value)
    visibility = req.choice("visibility", ("public", "internal", "private"), None)
    if visibility:
        project.visibility = visibility
    return views.project_full(core, project)


@ROUTER.post("/projects/:id/archive")
def archive_project(core: Core, req: Request) -> Response:
    project = core.project_for(req, req.path_params["id"])
    if req.require_user().access_level < ROLE_LEVELS["owner"]:
        raise ApiError(403, FORBIDDEN)
    project.archived = True
    return Response(201, views.project_full(core, project))


@ROUTER.post("/projects/:id/unarchive")
def unarchive_project(core: Core, req: Request) -> Response:
    project = core.project_for(req, req.path_params["id"])
    if req.require_user().access_level < ROLE_LEVELS["owner"]:
        raise ApiError(403, FORBIDDEN)
    project.archived = False
    return Response(201, views.project_full(core, project))
