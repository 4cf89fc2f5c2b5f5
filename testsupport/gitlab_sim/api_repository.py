"""Branches and commits, read from and written to the project's bare repository."""

from __future__ import annotations

import re
from typing import Any

from testsupport.gitlab_sim import views
from testsupport.gitlab_sim.core import Core
from testsupport.gitlab_sim.gitops import CommitInfo
from testsupport.gitlab_sim.routing import (
    ROUTER,
    ApiError,
    Request,
    Response,
    bad_request,
    not_found,
    paginate,
)
from testsupport.gitlab_sim.state import Project


def _commit_infos(core: Core, project: Project, shas: list[str]) -> dict[str, CommitInfo]:
    if not shas:
        return {}
    infos = core.repo(project).commits(sorted(set(shas)), extra=["--no-walk=unsorted"])
    return {info.id: info for info in infos}


def _merged(core: Core, project: Project) -> set[str]:
    refs = core.refs(project)
    default_sha = refs.get(project.default_branch or "")
    if default_sha is None:
        return set()
    # GitLab never reports the default branch as merged into itself.
    return core.repo(project).merged_into(default_sha) - {project.default_branch or ""}


def _branch_json(core: Core, project: Project, name: str) -> Any:
    sha = core.refs(project)[name]
    info = _commit_infos(core, project, [sha])[sha]
    return views.branch(core, project, name, info, name in _merged(core, project))


@ROUTER.get("/projects/:id/repository/branches")
def list_branches(core: Core, req: Request) -> Response:
    project = core.project_for(req, req.path_params["id"])
    refs = core.refs(project)
    names = list(refs)
    search = req.text("search")
    if search:
        names = [n for n in names if _search_matches(search, n)]
    pattern = req.text("regex")
    if pattern:
        try:
            compiled = re.compile(pattern)
        except re.error:
            raise bad_request("Regex is invalid") from None
        names = [n for n in names if compiled.search(n)]
    infos = _commit_infos(core, project, [refs[n] for n in names])
    merged = _merged(core, project)
    return paginate(
        req,
        names,
        lambda n: views.branch(core, project, n, infos[refs[n]], n in merged),
    )


def _search_matches(search: str, name: str) -> bool:
    """GitLab's branch search: `^prefix`, `suffix$`, otherwise a substring; case-insensitive."""
    term, name = search.lower(), name.lower()
    if term.startswith("^") and term.endswith("$") and len(term) > 1:
        return name == term[1:-1]
    if term.startswith("^"):
        return name.startswith(term[1:])
    if term.endswith("$"):
        return name.endswith(term[:-1])
    return term in name


@ROUTER.get("/projects/:id/repository/branches/:branch")
def get_branch(core: Core, req: Request) -> Any:
    project = core.project_for(req, req.path_params["id"])
    name = req.path_params["branch"]
    if name not in core.refs(project):
        raise not_found("Branch")
    return _branch_json(core, project, name)


@ROUTER.post("/projects/:id/repository/branches")
def create_branch(core: Core, req: Request) -> Response:
    project = core.writable_project(req, req.path_params["id"])
    req.required("branch", "ref")
    name = req.text("branch") or ""
    ref = req.text("ref") or ""
    repo = core.repo(project)
    if not repo.valid_branch_name(name):
        raise bad_request("Branch name is invalid")
    if name in core.refs(project):
        raise bad_request("Branch already exists")
    sha = repo.resolve(ref)
    if sha is None or not repo.update_ref(name, sha):
        raise bad_request(f"Invalid reference name: {ref}")
    core.forget_refs(project)
    core.touch(project)
    return Response(201, _branch_json(core, project, name))


@ROUTER.delete("/projects/:id/repository/branches/:branch")
def delete_branch(core: Core, req: Request) -> Response:
    project = core.writable_project(req, req.path_params["id"])
    name = req.path_params["branch"]
    if name not in core.refs(project):
        raise not_found("Branch")
    if name == project.default_branch:
        raise ApiError(405, {"message": "Cannot remove HEAD branch"})
    core.repo(project).delete_branch(name)
    core.forget_refs(project)
    core.touch(project)
    return Response(204, None)


@ROUTER.get("/projects/:id/repository/commits")
def list_commits(core: Core, req: Request) -> Response:
    project = core.project_for(req, req.path_params["id"])
    repo = core.repo(project)
    extra: list[str] = []
    if req.flag("first_parent", False):
        extra.append("--first-parent")
    if req.choice("order", ("default", "topo"), "default") == "topo":
        extra.append("--topo-order")
    since, until = req.text("since"), req.text("until")
    if since:
        extra.append(f"--since={since}")
    if until:
        extra.append(f"--until={until}")
    if req.flag("all", False):
        revs = ["--all"]
    else:
        ref = req.text("ref_name") or project.default_branch or ""
        sha = repo.resolve(ref) if ref else None
        if sha is None:
            return paginate(req, [], lambda c: c)
        revs = [sha]
    path = req.text("path")
    commits = repo.commits(revs, paths=[path] if path else [], extra=extra)
    with_stats = req.flag("with_stats", False)

    def render(info: CommitInfo) -> Any:
        body = views.commit(core, project, info)
        if with_stats:
            body["stats"] = _stats(core, project, info)
        return body

    return paginate(req, commits, render)


def _stats(core: Core, project: Project, info: CommitInfo) -> dict[str, int]:
    parent = info.parent_ids[0] if info.parent_ids else None
    additions, deletions = core.repo(project).stats(info.id, parent)
    return {"additions": additions, "deletions": deletions, "total": additions + deletions}


@ROUTER.get("/projects/:id/repository/commits/:sha")
def get_commit(core: Core, req: Request) -> Any:
    project = core.project_for(req, req.path_params["id"])
    repo = core.repo(project)
    sha = repo.resolve(req.path_params["sha"])
    if sha is None:
        raise not_found("Commit")
    info = repo.commit(sha)
    body = views.commit(core, project, info)
    pipelines = [p for p in core.store.pipelines.values() if p.project_id == project.id]
    last = max((p for p in pipelines if p.sha == sha), key=lambda p: p.id, default=None)
    body["last_pipeline"] = views.pipeline_basic(core, project, last) if last else None
    body["status"] = last.status if last else None
    body["project_id"] = project.id
    if req.flag("stats", True):
        body["stats"] = _stats(core, project, info)
    return body
