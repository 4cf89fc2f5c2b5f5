"""Merge requests and their notes.

Errors follow GitLab's `handle_merge_request_errors!`: an open MR with the same source and target
branch is `409` with `{"message": ["Another open merge request already exists for this source
branch: !N"]}`, same source and target branch is `422` with a message list, a merge that is
not allowed is `405 {"message": "405 Method Not Allowed"}`, a conflict is `422 {"message":
"Branch cannot be merged"}`, a stale `sha` is `409`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from testsupport.gitlab_sim import views
from testsupport.gitlab_sim.core import Core, is_draft
from testsupport.gitlab_sim.routing import (
    FORBIDDEN,
    ROUTER,
    ApiError,
    Request,
    Response,
    paginate,
)
from testsupport.gitlab_sim.state import (
    ACTIVE_PIPELINE_STATUSES,
    MergeRequest,
    Note,
    Project,
    User,
    now_iso,
)

MR_STATES = ("opened", "closed", "locked", "merged", "all")
MR_ORDERS = (
    "created_at",
    "updated_at",
    "title",
    "merged_at",
    "label_priority",
    "milestone_due",
    "popularity",
    "priority",
)
EDITABLE = (
    "assignee_id",
    "assignee_ids",
    "reviewer_ids",
    "description",
    "state_event",
    "target_branch",
    "title",
    "labels",
    "add_labels",
    "remove_labels",
    "milestone_id",
    "remove_source_branch",
    "squash",
    "discussion_locked",
    "allow_collaboration",
    "allow_maintainer_to_push",
    "merge_after",
)
NOT_ALLOWED = {"message": "405 Method Not Allowed"}


def _already_exists(other: MergeRequest) -> ApiError:
    return ApiError(
        409,
        {
            "message": [
                f"Another open merge request already exists for this source branch: !{other.iid}"
            ]
        },
    )


def _same_branch() -> ApiError:
    return ApiError(422, {"message": ["You can't use same project/branch for source and target"]})


def _known_users(core: Core, ids: Iterable[int]) -> list[int]:
    # GitLab silently drops ids of users who cannot be assigned.
    seen: list[int] = []
    for i in ids:
        if i in core.store.users and i not in seen:
            seen.append(i)
    return seen


def _labels(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for label in values or []:
        if label and label.lower() not in {x.lower() for x in out}:
            out.append(label)
    return out


# -- listing ---------------------------------------------------------------------------------------


def _listing(core: Core, req: Request, mrs: Iterable[MergeRequest]) -> Response:
    found = list(mrs)
    state = req.choice("state", MR_STATES, "all")
    if state != "all":
        found = [m for m in found if m.state == state]
    for field in ("source_branch", "target_branch"):
        wanted = req.text(field)
        if wanted is not None:
            found = [m for m in found if getattr(m, field) == wanted]
    labels = req.items("labels")
    if labels:
        found = [m for m in found if _labels_match(labels, m.labels)]
    author_id = req.integer("author_id")
    if author_id is not None:
        found = [m for m in found if m.author_id == author_id]
    author_name = req.text("author_username")
    if author_name is not None:
        author = core.store.user_by_name(author_name)
        found = [m for m in found if author is not None and m.author_id == author.id]
    found = _filter_people(req, "assignee_id", found, lambda m: m.assignee_ids)
    found = _filter_people(req, "reviewer_id", found, lambda m: m.reviewer_ids)
    iids = req.integers("iids")
    if iids:
        found = [m for m in found if m.iid in iids]
    wip = req.choice("wip", ("yes", "no"), None)
    if wip:
        found = [m for m in found if is_draft(m.title) == (wip == "yes")]
    search = (req.text("search") or "").lower()
    if search:
        found = [
            m for m in found if search in m.title.lower() or search in (m.description or "").lower()
        ]
    for name, attr, after in (
        ("created_after", "created_at", True),
        ("created_before", "created_at", False),
        ("updated_after", "updated_at", True),
        ("updated_before", "updated_at", False),
    ):
        bound = req.text(name)
        if bound:
            found = [m for m in found if (getattr(m, attr) >= bound) == after]
    order = req.choice("order_by", MR_ORDERS, "created_at")
    descending = req.choice("sort", ("asc", "desc"), "desc") == "desc"
    if order == "title":
        found.sort(key=lambda m: (m.title.lower(), m.id), reverse=descending)
    elif order in ("updated_at", "merged_at"):
        found.sort(key=lambda m: (getattr(m, order) or "", m.id), reverse=descending)
    else:
        found.sort(key=lambda m: (m.created_at, m.id), reverse=descending)
    simple = req.choice("view", ("simple",), None) == "simple"

    def render(mr: MergeRequest) -> Any:
        project = core.store.projects[mr.project_id]
        if simple:
            full = views.merge_request(core, project, mr, detail=False)
            keys = (
                "id",
                "iid",
                "project_id",
                "title",
                "description",
                "state",
                "created_at",
                "updated_at",
                "web_url",
            )
            return {k: full[k] for k in keys}
        return views.merge_request(core, project, mr, detail=False)

    return paginate(req, found, render)


def _labels_match(wanted: list[str], have: list[str]) -> bool:
    if [w.lower() for w in wanted] == ["none"]:
        return not have
    if [w.lower() for w in wanted] == ["any"]:
        return bool(have)
    return all(w in have for w in wanted)


def _filter_people(
    req: Request, name: str, found: list[MergeRequest], ids: Callable[[MergeRequest], list[int]]
) -> list[MergeRequest]:
    value = req.text(name)
    if value is None:
        return found
    if value.lower() == "none":
        return [m for m in found if not ids(m)]
    if value.lower() == "any":
        return [m for m in found if ids(m)]
    wanted = req.integer(name)
    return [m for m in found if wanted in ids(m)]


@ROUTER.get("/projects/:id/merge_requests")
def list_project_mrs(core: Core, req: Request) -> Response:
    project = core.project_for(req, req.path_params["id"])
    return _listing(core, req, core.store.project_mrs(project.id))


@ROUTER.get("/groups/:id/merge_requests")
def list_group_mrs(core: Core, req: Request) -> Response:
    group = core.group_for(req, req.path_params["id"])
    ids = {group.id} | {g.id for g in core.store.descendants(group.id)}
    archived_too = not req.flag("non_archived", True)
    projects = {
        p.id
        for p in core.store.projects.values()
        if p.namespace_id in ids and (archived_too or not p.archived)
    }
    return _listing(
        core, req, [m for m in core.store.merge_requests.values() if m.project_id in projects]
    )


@ROUTER.get("/merge_requests")
def list_my_mrs(core: Core, req: Request) -> Response:
    user = req.require_user()
    scope = req.choice(
        "scope",
        (
            "created_by_me",
            "assigned_to_me",
            "created-by-me",
            "assigned-to-me",
            "reviews_for_me",
            "all",
        ),
        "created_by_me",
    )
    mrs = list(core.store.merge_requests.values())
    if scope in ("created_by_me", "created-by-me"):
        mrs = [m for m in mrs if m.author_id == user.id]
    elif scope in ("assigned_to_me", "assigned-to-me"):
        mrs = [m for m in mrs if user.id in m.assignee_ids]
    elif scope == "reviews_for_me":
        mrs = [m for m in mrs if user.id in m.reviewer_ids]
    return _listing(core, req, mrs)


# -- one merge request -----------------------------------------------------------------------------


@ROUTER.post("/projects/:id/merge_requests")
def create_mr(core: Core, req: Request) -> Response:
    project = core.writable_project(req, req.path_params["id"])
    user = req.require_user()
    req.required("source_branch", "target_branch", "title")
    source = req.text("source_branch") or ""
    target = req.text("target_branch") or ""
    if source == target:
        raise _same_branch()
    refs = core.refs(project)
    missing = [
        f'{kind} branch "{name}" does not exist'
        for kind, name in (("Source", source), ("Target", target))
        if name not in refs
    ]
    if missing:
        raise ApiError(422, {"message": missing})
    stamp = now_iso()
    assignees = req.integers("assignee_ids")
    if assignees is None and req.integer("assignee_id") is not None:
        assignees = [req.integer("assignee_id") or 0]
    mr = MergeRequest(
        id=0,
        iid=project.next_mr_iid,
        project_id=project.id,
        title=req.text("title") or "",
        description=req.text("description"),
        source_branch=source,
        target_branch=target,
        author_id=user.id,
        created_at=stamp,
        updated_at=stamp,
        assignee_ids=_known_users(core, assignees or []),
        reviewer_ids=_known_users(core, req.integers("reviewer_ids") or []),
        labels=_labels(req.items("labels")),
        force_remove_source_branch=bool(req.flag("remove_source_branch", False)),
        squash=bool(req.flag("squash", False)),
        last_sha=refs[source],
    )
    other = core.open_conflict(project, mr)
    if other is not None:
        raise _already_exists(other)
    mr.id = core.store.next_mr_id()
    project.next_mr_iid += 1
    core.store.merge_requests[mr.id] = mr
    core.touch(project)
    return Response(201, views.merge_request(core, project, mr, detail=True))


@ROUTER.get("/projects/:id/merge_requests/:merge_request_iid")
def get_mr(core: Core, req: Request) -> Any:
    project = core.project_for(req, req.path_params["id"])
    mr = core.mr_for(project, req.path_params["merge_request_iid"])
    return views.merge_request(core, project, mr, detail=True)


@ROUTER.put("/projects/:id/merge_requests/:merge_request_iid")
def update_mr(core: Core, req: Request) -> Any:
    project = core.writable_project(req, req.path_params["id"])
    user = req.require_user()
    mr = core.mr_for(project, req.path_params["merge_request_iid"])
    req.at_least_one(EDITABLE)
    state_event = req.choice("state_event", ("close", "reopen"), None)
    notes: list[str] = []
    changed = _planned_changes(core, req, project, mr)
    # Validate against the would-be state before touching anything (a refused update is a no-op).
    candidate = MergeRequest(**{**mr.__dict__, **changed})
    if state_event == "reopen" and mr.state == "closed":
        candidate.state = "opened"
    if "target_branch" in changed and candidate.target_branch == candidate.source_branch:
        raise _same_branch()
    if candidate.state == "opened":
        other = core.open_conflict(project, candidate)
        if other is not None:
            raise _already_exists(other)

    if "title" in changed and changed["title"] != mr.title:
        was, now = is_draft(mr.title), is_draft(changed["title"])
        if was != now:
            notes.append(f"marked this merge request as **{'draft' if now else 'ready'}**")
        notes.append(f"changed title from **{mr.title}** to **{changed['title']}**")
    if "description" in changed and changed["description"] != mr.description:
        notes.append("changed the description")
    if "target_branch" in changed and changed["target_branch"] != mr.target_branch:
        notes.append(
            f"changed target branch from `{mr.target_branch}` to `{changed['target_branch']}`"
        )
    if "labels" in changed:
        added = [x for x in changed["labels"] if x not in mr.labels]
        removed = [x for x in mr.labels if x not in changed["labels"]]
        parts = []
        if added:
            parts.append("added " + " ".join(f'~"{x}"' for x in added))
        if removed:
            parts.append("removed " + " ".join(f'~"{x}"' for x in removed))
        if parts:
            noun = "labels" if len(added) + len(removed) > 1 else "label"
            notes.append(" and ".join(parts) + f" {noun}")
    for key, value in changed.items():
        setattr(mr, key, value)

    stamp = now_iso()
    if state_event == "close" and mr.state == "opened":
        mr.state, mr.closed_at, mr.closed_by_id, mr.auto_merge = "closed", stamp, user.id, False
        notes.append("closed")
    elif (
        state_event == "reopen" and mr.state == "closed" and mr.source_branch in core.refs(project)
    ):
        mr.state, mr.closed_at, mr.closed_by_id = "opened", None, None
        notes.append("reopened")
    for body in notes:
        core.system_note(project, mr, user.id, body)
    mr.updated_at = stamp
    core.touch(project)
    return views.merge_request(core, project, mr, detail=True)


def _planned_changes(
    core: Core, req: Request, project: Project, mr: MergeRequest
) -> dict[str, Any]:
    changed: dict[str, Any] = {}
    if req.has("title"):
        title = (req.text("title") or "").strip()
        if not title:
            raise ApiError(400, {"message": {"title": ["can't be blank"]}})
        changed["title"] = title
    if req.has("description"):
        changed["description"] = req.text("description")
    if req.has("target_branch") and mr.state == "opened":
        target = req.text("target_branch") or ""
        if target not in core.refs(project):
            raise ApiError(422, {"message": [f'Target branch "{target}" does not exist']})
        changed["target_branch"] = target
    labels = list(mr.labels)
    if req.has("labels"):
        labels = _labels(req.items("labels"))
    labels = _labels(labels + (req.items("add_labels") or []))
    removed = {x.lower() for x in req.items("remove_labels") or []}
    labels = [x for x in labels if x.lower() not in removed]
    if labels != mr.labels:
        changed["labels"] = labels
    if req.has("assignee_ids") or req.has("assignee_id"):
        ids = req.integers("assignee_ids")
        if ids is None:
            single = req.integer("assignee_id")
            ids = [single] if single else []
        changed["assignee_ids"] = _known_users(core, ids)
    if req.has("reviewer_ids"):
        changed["reviewer_ids"] = _known_users(core, req.integers("reviewer_ids") or [])
    if req.has("remove_source_branch"):
        changed["force_remove_source_branch"] = bool(req.flag("remove_source_branch"))
    if req.has("squash"):
        changed["squash"] = bool(req.flag("squash"))
    if req.has("discussion_locked"):
        changed["discussion_locked"] = req.flag("discussion_locked")
    return changed


@ROUTER.put("/projects/:id/merge_requests/:merge_request_iid/merge")
def merge_mr(core: Core, req: Request) -> Any:
    project = core.writable_project(req, req.path_params["id"])
    user = req.require_user()
    mr = core.mr_for(project, req.path_params["merge_request_iid"])
    status = core.status(project, mr)
    auto = bool(req.flag("merge_when_pipeline_succeeds", False) or req.flag("auto_merge", False))
    sha = req.text("sha")
    pipeline_running = status.pipeline is not None and status.pipeline.status in (
        ACTIVE_PIPELINE_STATUSES
    )
    if auto and pipeline_running and status.detailed in ("mergeable", "ci_still_running"):
        if sha and sha != status.sha:
            raise _sha_mismatch(status.sha)
        mr.auto_merge, mr.auto_merge_by_id = True, user.id
        if req.has("should_remove_source_branch"):
            mr.should_remove_source_branch = req.flag("should_remove_source_branch")
        if req.has("squash"):
            mr.squash = bool(req.flag("squash"))
        mr.updated_at = now_iso()
        return views.merge_request(core, project, mr, detail=True)
    if status.detailed == "conflict":
        raise ApiError(422, {"message": "Branch cannot be merged"})
    if status.detailed != "mergeable":
        raise ApiError(405, NOT_ALLOWED)
    if sha and sha != status.sha:
        raise _sha_mismatch(status.sha)
    remove = req.flag("should_remove_source_branch")
    if remove is not None:
        mr.should_remove_source_branch = remove
    core.merge(
        project,
        mr,
        user,
        squash=bool(req.flag("squash", mr.squash)),
        merge_message=req.text("merge_commit_message"),
        squash_message=req.text("squash_commit_message"),
        remove_source=bool(remove if remove is not None else mr.force_remove_source_branch),
    )
    return views.merge_request(core, project, mr, detail=True)


def _sha_mismatch(actual: str | None) -> ApiError:
    return ApiError(409, {"message": f"SHA does not match HEAD of source branch: {actual}"})


@ROUTER.get("/projects/:id/merge_requests/:merge_request_iid/commits")
def mr_commits(core: Core, req: Request) -> Response:
    project = core.project_for(req, req.path_params["id"])
    mr = core.mr_for(project, req.path_params["merge_request_iid"])
    status = core.status(project, mr)
    if status.sha is None:
        return paginate(req, [], lambda c: c)
    if mr.state == "merged" and mr.merge_commit_sha:
        exclude = f"{mr.merge_commit_sha}^1"
    else:
        exclude = status.target_sha or status.sha
    commits = core.repo(project).commits([status.sha, f"^{exclude}"])
    return paginate(req, commits, lambda c: views.commit(core, project, c))


@ROUTER.get("/projects/:id/merge_requests/:merge_request_iid/pipelines")
def mr_pipelines(core: Core, req: Request) -> Response:
    project = core.project_for(req, req.path_params["id"])
    mr = core.mr_for(project, req.path_params["merge_request_iid"])
    refs = {mr.source_branch, f"refs/merge-requests/{mr.iid}/head"}
    found = sorted(
        (p for p in core.store.pipelines.values() if p.project_id == project.id and p.ref in refs),
        key=lambda p: p.id,
        reverse=True,
    )
    return paginate(req, found, lambda p: views.pipeline_basic(core, project, p))


# -- notes -----------------------------------------------------------------------------------------


def _note_for(core: Core, mr: MergeRequest, ident: str) -> Note:
    note = core.store.notes.get(int(ident)) if ident.isdigit() else None
    if note is None or note.noteable_id != mr.id:
        raise ApiError(404, {"message": "404 Not found"})
    return note


@ROUTER.get("/projects/:id/merge_requests/:merge_request_iid/notes")
def list_notes(core: Core, req: Request) -> Response:
    project = core.project_for(req, req.path_params["id"])
    mr = core.mr_for(project, req.path_params["merge_request_iid"])
    order = req.choice("order_by", ("created_at", "updated_at"), "created_at") or "created_at"
    descending = req.choice("sort", ("asc", "desc"), "desc") == "desc"
    notes = sorted(
        (n for n in core.store.notes.values() if n.noteable_id == mr.id),
        key=lambda n: (getattr(n, order), n.id),
        reverse=descending,
    )
    return paginate(req, notes, lambda n: views.note(core, n))


@ROUTER.get("/projects/:id/merge_requests/:merge_request_iid/notes/:note_id")
def get_note(core: Core, req: Request) -> Any:
    project = core.project_for(req, req.path_params["id"])
    mr = core.mr_for(project, req.path_params["merge_request_iid"])
    return views.note(core, _note_for(core, mr, req.path_params["note_id"]))


@ROUTER.post("/projects/:id/merge_requests/:merge_request_iid/notes")
def create_note(core: Core, req: Request) -> Response:
    project = core.writable_project(req, req.path_params["id"], role="reporter")
    user = req.require_user()
    mr = core.mr_for(project, req.path_params["merge_request_iid"])
    req.required("body")
    if mr.discussion_locked:
        raise ApiError(403, FORBIDDEN)
    stamp = now_iso()
    note = Note(
        id=core.store.next_note_id(),
        project_id=project.id,
        noteable_id=mr.id,
        noteable_iid=mr.iid,
        body=req.text("body") or "",
        author_id=user.id,
        created_at=stamp,
        updated_at=stamp,
    )
    core.store.notes[note.id] = note
    mr.updated_at = stamp
    core.touch(project)
    return Response(201, views.note(core, note))


@ROUTER.put("/projects/:id/merge_requests/:merge_request_iid/notes/:note_id")
def update_note(core: Core, req: Request) -> Any:
    project = core.writable_project(req, req.path_params["id"], role="reporter")
    user = req.require_user()
    mr = core.mr_for(project, req.path_params["merge_request_iid"])
    note = _note_for(core, mr, req.path_params["note_id"])
    req.required("body")
    _own(note, user)
    note.body = req.text("body") or ""
    note.updated_at = now_iso()
    return views.note(core, note)


@ROUTER.delete("/projects/:id/merge_requests/:merge_request_iid/notes/:note_id")
def delete_note(core: Core, req: Request) -> Response:
    project = core.writable_project(req, req.path_params["id"], role="reporter")
    user = req.require_user()
    mr = core.mr_for(project, req.path_params["merge_request_iid"])
    note = _note_for(core, mr, req.path_params["note_id"])
    _own(note, user)
    del core.store.notes[note.id]
    return Response(204, None)


def _own(note: Note, user: User) -> None:
    if note.system or note.author_id != user.id:
        raise ApiError(403, FORBIDDEN)
