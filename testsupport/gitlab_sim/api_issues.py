"""Project issues: list (state, labels, search), create, read one, edit.

As GitLab does, a description is checked against `Issuable::DESCRIPTION_LENGTH_MAX` (1 MiB, in
bytes) and the quick actions written at the start of one of its lines are carried out and taken
out of the stored text (`/close`, `/reopen`, `/label ~a ~b`, `/unlabel ~a`; any other
`/command` line is removed and only logged in `Issue.quick_actions`), which is what makes text
copied from a repository into an issue dangerous. Writes go through the same request log as
everything else: `sim.request_counts[("PUT", "/projects/:id/issues/:issue_iid")]` counts edits.
"""

from __future__ import annotations

import re
from typing import Any

from testsupport.gitlab_sim import views
from testsupport.gitlab_sim.api_merge_requests import _labels
from testsupport.gitlab_sim.core import Core
from testsupport.gitlab_sim.routing import ROUTER, ApiError, Request, Response, not_found, paginate
from testsupport.gitlab_sim.state import Issue, Project, now_iso

ISSUE_STATES = ("opened", "closed", "all")
ISSUE_ORDERS = ("created_at", "updated_at", "title")
EDITABLE = ("title", "description", "labels", "add_labels", "remove_labels", "state_event")
DESCRIPTION_LIMIT = 1_048_576
_QUICK_ACTION = re.compile(r"^/([a-z_]+)\b(.*)$")
_LABEL = re.compile(r'~"([^"]+)"|~(\S+)')


def _view(core: Core, project: Project, issue: Issue) -> Any:
    return {
        "id": issue.id,
        "iid": issue.iid,
        "project_id": project.id,
        "title": issue.title,
        "description": issue.description,
        "state": issue.state,
        "created_at": issue.created_at,
        "updated_at": issue.updated_at,
        "closed_at": issue.closed_at,
        "labels": sorted(issue.labels, key=str.lower),
        "author": views.user_basic(core, core.store.users.get(issue.author_id)),
        "assignees": [],
        "type": "ISSUE",
        "issue_type": "issue",
        "confidential": False,
        "user_notes_count": 0,
        "web_url": f"{core.base_url}/{project.full_path}/-/issues/{issue.iid}",
        "references": {"short": f"#{issue.iid}", "full": f"{project.full_path}#{issue.iid}"},
    }


def _issue_for(core: Core, project: Project, iid: str) -> Issue:
    found = next((i for i in core.store.issues.values()
                  if i.project_id == project.id and str(i.iid) == iid), None)
    if found is None:
        raise not_found("Issue")
    return found


def _description(issue: Issue, text: str | None) -> str | None:
    """The text GitLab stores: quick-action lines carried out and removed, size checked."""
    if text is None:
        return None
    if len(text.encode("utf-8")) > DESCRIPTION_LIMIT:
        raise ApiError(400, {"message": {"description": [
            f"is too long (maximum is {DESCRIPTION_LIMIT} characters)"]}})
    kept: list[str] = []
    for line in text.split("\n"):
        action = _QUICK_ACTION.match(line.rstrip("\r"))
        if action is None:
            kept.append(line)
            continue
        command, rest = action.group(1), action.group(2)
        issue.quick_actions.append(line.rstrip("\r"))
        names = [a or b for a, b in _LABEL.findall(rest)]
        if command == "close":
            issue.state, issue.closed_at = "closed", now_iso()
        elif command == "reopen":
            issue.state, issue.closed_at = "opened", None
        elif command == "label":
            issue.labels = _labels([*issue.labels, *names])
        elif command == "unlabel":
            issue.labels = [x for x in issue.labels if x not in names]
    return "\n".join(kept)


@ROUTER.get("/projects/:id/issues")
def list_issues(core: Core, req: Request) -> Response:
    project = core.project_for(req, req.path_params["id"])
    found = [i for i in core.store.issues.values() if i.project_id == project.id]
    state = req.choice("state", ISSUE_STATES, "all")
    if state != "all":
        found = [i for i in found if i.state == state]
    labels = req.items("labels")
    if labels:
        found = [i for i in found if all(w in i.labels for w in labels)]
    iids = req.integers("iids")
    if iids:
        found = [i for i in found if i.iid in iids]
    search = (req.text("search") or "").lower()
    if search:
        where = req.items("in") or ["title", "description"]
        found = [i for i in found
                 if ("title" in where and search in i.title.lower())
                 or ("description" in where and search in (i.description or "").lower())]
    order = req.choice("order_by", ISSUE_ORDERS, "created_at") or "created_at"
    descending = req.choice("sort", ("asc", "desc"), "desc") == "desc"
    if order == "title":
        found.sort(key=lambda i: (i.title.lower(), i.id), reverse=descending)
    else:
        found.sort(key=lambda i: (getattr(i, order), i.id), reverse=descending)
    return paginate(req, found, lambda i: _view(core, project, i))


@ROUTER.post("/projects/:id/issues")
def create_issue(core: Core, req: Request) -> Response:
    project = core.writable_project(req, req.path_params["id"], role="guest")
    user = req.require_user()
    req.required("title")
    stamp = now_iso()
    issue = Issue(id=0, iid=project.next_issue_iid, project_id=project.id,
                  title=req.text("title") or "", description=None, author_id=user.id,
                  created_at=stamp, updated_at=stamp, labels=_labels(req.items("labels")))
    issue.description = _description(issue, req.text("description"))
    issue.id = core.store.next_issue_id()
    project.next_issue_iid += 1
    core.store.issues[issue.id] = issue
    core.touch(project)
    return Response(201, _view(core, project, issue))


@ROUTER.get("/projects/:id/issues/:issue_iid")
def get_issue(core: Core, req: Request) -> Any:
    project = core.project_for(req, req.path_params["id"])
    return _view(core, project, _issue_for(core, project, req.path_params["issue_iid"]))


@ROUTER.put("/projects/:id/issues/:issue_iid")
def update_issue(core: Core, req: Request) -> Any:
    project = core.writable_project(req, req.path_params["id"], role="reporter")
    issue = _issue_for(core, project, req.path_params["issue_iid"])
    req.at_least_one(EDITABLE)
    state_event = req.choice("state_event", ("close", "reopen"), None)
    if req.has("title"):
        req.required("title")
        issue.title = req.text("title") or ""
    if req.has("description"):
        issue.description = _description(issue, req.text("description"))
    if req.has("labels"):
        issue.labels = _labels(req.items("labels"))
    issue.labels = _labels([*issue.labels, *(req.items("add_labels") or [])])
    removed = set(req.items("remove_labels") or [])
    issue.labels = [x for x in issue.labels if x not in removed]
    if state_event == "close" and issue.state == "opened":
        issue.state, issue.closed_at = "closed", now_iso()
    elif state_event == "reopen" and issue.state == "closed":
        issue.state, issue.closed_at = "opened", None
    issue.updated_at = now_iso()
    core.touch(project)
    return _view(core, project, issue)
