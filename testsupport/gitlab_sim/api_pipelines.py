"""Pipelines (read-only over REST: tests set their status through `GitLabSim.set_pipeline`)."""

from __future__ import annotations

from typing import Any

from testsupport.gitlab_sim import views
from testsupport.gitlab_sim.core import Core
from testsupport.gitlab_sim.routing import ROUTER, ApiError, Request, Response, paginate
from testsupport.gitlab_sim.state import PIPELINE_STATUSES

_FINISHED = frozenset({"success", "failed", "canceled", "skipped"})


@ROUTER.get("/projects/:id/pipelines")
def list_pipelines(core: Core, req: Request) -> Response:
    project = core.project_for(req, req.path_params["id"])
    found = [p for p in core.store.pipelines.values() if p.project_id == project.id]
    scope = req.choice("scope", ("running", "pending", "finished", "branches", "tags"), None)
    if scope in ("running", "pending"):
        found = [p for p in found if p.status == scope]
    elif scope == "finished":
        found = [p for p in found if p.status in _FINISHED]
    elif scope == "tags":
        found = []
    elif scope == "branches":
        latest: dict[str, Any] = {}
        for p in sorted(found, key=lambda p: p.id):
            if not p.ref.startswith("refs/"):
                latest[p.ref] = p
        found = list(latest.values())
    status = req.choice("status", sorted(PIPELINE_STATUSES), None)
    if status:
        found = [p for p in found if p.status == status]
    for name in ("ref", "sha", "source"):
        wanted = req.text(name)
        if wanted is not None:
            found = [p for p in found if getattr(p, name) == wanted]
    username = req.text("username")
    if username is not None:
        user = core.store.user_by_name(username)
        found = [p for p in found if user is not None and p.user_id == user.id]
    order = req.choice("order_by", ("id", "status", "ref", "updated_at", "user_id"), "id") or "id"
    descending = req.choice("sort", ("asc", "desc"), "desc") == "desc"
    found.sort(key=lambda p: (getattr(p, order) or 0, p.id), reverse=descending)
    return paginate(req, found, lambda p: views.pipeline_basic(core, project, p))


@ROUTER.get("/projects/:id/pipelines/latest")
def latest_pipeline(core: Core, req: Request) -> Any:
    project = core.project_for(req, req.path_params["id"])
    ref = req.text("ref") or project.default_branch
    found = [
        p for p in core.store.pipelines.values() if p.project_id == project.id and p.ref == ref
    ]
    if not found:
        raise ApiError(404, {"message": "404 Not found"})
    return views.pipeline_full(core, project, max(found, key=lambda p: p.id))


@ROUTER.get("/projects/:id/pipelines/:pipeline_id")
def get_pipeline(core: Core, req: Request) -> Any:
    project = core.project_for(req, req.path_params["id"])
    ident = req.path_params["pipeline_id"]
    pipeline = core.store.pipelines.get(int(ident)) if ident.isdigit() else None
    if pipeline is None or pipeline.project_id != project.id:
        raise ApiError(404, {"message": "404 Not found"})
    return views.pipeline_full(core, project, pipeline)
