"""JSON representations, shaped like GitLab's API entities (the fields a client can rely on)."""

from __future__ import annotations

from typing import Any

from testsupport.gitlab_sim.core import Core, is_draft
from testsupport.gitlab_sim.gitops import CommitInfo
from testsupport.gitlab_sim.state import MergeRequest, Namespace, Note, Pipeline, Project, User

Json = dict[str, Any]


def iso_git_date(value: str) -> str:
    """git's strict ISO date (`...+02:00`) in GitLab's shape (`....000+02:00`)."""
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    return value[:19] + ".000" + value[19:]


def user_basic(core: Core, user: User | None) -> Json | None:
    if user is None:
        return None
    return {
        "id": user.id,
        "username": user.username,
        "name": user.name,
        "state": "active",
        "locked": False,
        "avatar_url": None,
        "web_url": f"{core.base_url}/{user.username}",
    }


def user_full(core: Core, user: User) -> Json:
    return {
        **(user_basic(core, user) or {}),
        "created_at": user.created_at,
        "bio": "",
        "location": "",
        "public_email": None,
        "skype": "",
        "linkedin": "",
        "twitter": "",
        "website_url": "",
        "organization": "",
        "job_title": "",
        "bot": False,
        "last_sign_in_at": user.created_at,
        "confirmed_at": user.created_at,
        "last_activity_on": user.created_at[:10],
        "email": user.email,
        "projects_limit": 100000,
        "current_sign_in_at": user.created_at,
        "identities": [],
        "can_create_group": True,
        "can_create_project": True,
        "two_factor_enabled": False,
        "external": False,
        "private_profile": False,
        "commit_email": user.email,
        "namespace_id": user.namespace_id,
    }


def namespace(core: Core, ns: Namespace) -> Json:
    web = (
        f"{core.base_url}/groups/{ns.full_path}"
        if ns.kind == "group"
        else f"{core.base_url}/{ns.full_path}"
    )
    return {
        "id": ns.id,
        "name": ns.name,
        "path": ns.path,
        "kind": ns.kind,
        "full_path": ns.full_path,
        "parent_id": ns.parent_id,
        "avatar_url": None,
        "web_url": web,
    }


def full_name(core: Core, ns: Namespace) -> str:
    names = [ns.name]
    parent = ns.parent_id
    while parent is not None:
        above = core.store.namespaces[parent]
        names.append(above.name)
        parent = above.parent_id
    return " / ".join(reversed(names))


def group(core: Core, ns: Namespace) -> Json:
    return {
        "id": ns.id,
        "web_url": f"{core.base_url}/groups/{ns.full_path}",
        "name": ns.name,
        "path": ns.path,
        "description": ns.description,
        "visibility": ns.visibility,
        "share_with_group_lock": False,
        "require_two_factor_authentication": False,
        "two_factor_grace_period": 48,
        "project_creation_level": "developer",
        "auto_devops_enabled": None,
        "subgroup_creation_level": "maintainer",
        "emails_disabled": False,
        "emails_enabled": True,
        "mentions_disabled": None,
        "lfs_enabled": True,
        "default_branch": None,
        "default_branch_protection": 2,
        "avatar_url": None,
        "request_access_enabled": True,
        "full_name": full_name(core, ns),
        "full_path": ns.full_path,
        "created_at": ns.created_at,
        "parent_id": ns.parent_id,
        "organization_id": 1,
        "shared_runners_setting": "enabled",
        "ldap_cn": None,
        "ldap_access": None,
        "marked_for_deletion_on": None,
    }


def project_simple(core: Core, project: Project) -> Json:
    ns = core.store.namespaces[project.namespace_id]
    web = f"{core.base_url}/{project.full_path}"
    return {
        "id": project.id,
        "description": project.description or None,
        "name": project.name,
        "name_with_namespace": f"{full_name(core, ns)} / {project.name}",
        "path": project.path,
        "path_with_namespace": project.full_path,
        "created_at": project.created_at,
        "default_branch": project.default_branch,
        "tag_list": list(project.topics),
        "topics": list(project.topics),
        "ssh_url_to_repo": f"git@{_host(core)}:{project.full_path}.git",
        "http_url_to_repo": project.http_url_to_repo or f"{web}.git",
        "web_url": web,
        "readme_url": None,
        "forks_count": _forks_count(core, project),
        "avatar_url": None,
        "star_count": 0,
        "last_activity_at": project.last_activity_at,
        "namespace": namespace(core, ns),
    }


def project_full(core: Core, project: Project) -> Json:
    api = f"{core.base_url}/api/v4/projects/{project.id}"
    body: Json = {
        **project_simple(core, project),
        "container_registry_image_prefix": f"registry.example.com/{project.full_path}",
        "_links": {
            "self": api,
            "issues": f"{api}/issues",
            "merge_requests": f"{api}/merge_requests",
            "repo_branches": f"{api}/repository/branches",
            "labels": f"{api}/labels",
            "events": f"{api}/events",
            "members": f"{api}/members",
            "cluster_agents": f"{api}/cluster_agents",
        },
        "packages_enabled": True,
        "empty_repo": core.repo(project).is_empty(),
        "archived": project.archived,
        "visibility": project.visibility,
        "resolve_outdated_diff_discussions": False,
        "container_registry_enabled": True,
        "issues_enabled": True,
        "merge_requests_enabled": True,
        "wiki_enabled": True,
        "jobs_enabled": True,
        "snippets_enabled": True,
        "can_create_merge_request_in": True,
        "issues_access_level": "enabled",
        "repository_access_level": "enabled",
        "merge_requests_access_level": "enabled",
        "builds_access_level": "enabled",
        "shared_runners_enabled": True,
        "creator_id": project.creator_id,
        "import_status": "none",
        "open_issues_count": 0,
        "ci_config_path": None,
        "public_jobs": True,
        "shared_with_groups": [
            {
                "group_id": gid,
                "group_name": core.store.namespaces[gid].name,
                "group_full_path": core.store.namespaces[gid].full_path,
                "group_access_level": 30,
                "expires_at": None,
            }
            for gid in project.shared_with_group_ids
        ],
        "only_allow_merge_if_pipeline_succeeds": project.only_allow_merge_if_pipeline_succeeds,
        "allow_merge_on_skipped_pipeline": project.allow_merge_on_skipped_pipeline,
        "only_allow_merge_if_all_discussions_are_resolved": False,
        "remove_source_branch_after_merge": project.remove_source_branch_after_merge,
        "request_access_enabled": True,
        "merge_method": "merge",
        "squash_option": "default_off",
        "merge_commit_template": None,
        "squash_commit_template": None,
        "permissions": {
            "project_access": {"access_level": 40, "notification_level": 3},
            "group_access": None,
        },
    }
    if project.forked_from_id is not None:
        upstream = core.store.projects[project.forked_from_id]
        body["forked_from_project"] = project_simple(core, upstream)
    return body


def _forks_count(core: Core, project: Project) -> int:
    return sum(1 for p in core.store.projects.values() if p.forked_from_id == project.id)


def _host(core: Core) -> str:
    return core.base_url.split("://", 1)[-1].split(":", 1)[0]


def commit(core: Core, project: Project, info: CommitInfo) -> Json:
    return {
        "id": info.id,
        "short_id": info.id[:8],
        "created_at": iso_git_date(info.committed_date),
        "parent_ids": list(info.parent_ids),
        "title": info.title,
        "message": info.message,
        "author_name": info.author_name,
        "author_email": info.author_email,
        "authored_date": iso_git_date(info.authored_date),
        "committer_name": info.committer_name,
        "committer_email": info.committer_email,
        "committed_date": iso_git_date(info.committed_date),
        "trailers": {k: v for k, v in info.trailers},
        "extended_trailers": _extended(info.trailers),
        "web_url": f"{core.base_url}/{project.full_path}/-/commit/{info.id}",
    }


def _extended(trailers: tuple[tuple[str, str], ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in trailers:
        out.setdefault(key, []).append(value)
    return out


def branch(
    core: Core,
    project: Project,
    name: str,
    info: CommitInfo,
    merged: bool,
) -> Json:
    default = name == project.default_branch
    return {
        "name": name,
        "commit": commit(core, project, info),
        "merged": merged,
        "protected": default,
        "developers_can_push": False,
        "developers_can_merge": False,
        "can_push": True,
        "default": default,
        "web_url": f"{core.base_url}/{project.full_path}/-/tree/{name}",
    }


def pipeline_basic(core: Core, project: Project, p: Pipeline) -> Json:
    return {
        "id": p.id,
        "iid": p.iid,
        "project_id": p.project_id,
        "sha": p.sha,
        "ref": p.ref,
        "status": p.status,
        "source": p.source,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
        "web_url": f"{core.base_url}/{project.full_path}/-/pipelines/{p.id}",
    }


def pipeline_full(core: Core, project: Project, p: Pipeline) -> Json:
    return {
        **pipeline_basic(core, project, p),
        "before_sha": "0" * 40,
        "tag": False,
        "yaml_errors": None,
        "user": user_basic(core, core.store.users.get(p.user_id or -1)),
        "started_at": p.started_at,
        "finished_at": p.finished_at,
        "committed_at": None,
        "duration": None,
        "queued_duration": None,
        "coverage": None,
        "detailed_status": {
            "icon": f"status_{p.status}",
            "text": p.status,
            "label": p.status,
            "group": p.status,
            "tooltip": p.status,
            "has_details": True,
            "details_path": f"/{project.full_path}/-/pipelines/{p.id}",
            "illustration": None,
            "favicon": f"/assets/ci_favicons/favicon_status_{p.status}.png",
        },
    }


def merge_request(core: Core, project: Project, mr: MergeRequest, detail: bool) -> Json:
    """`detail` adds what GitLab's single-MR endpoint has and its list endpoint leaves out."""
    status = core.status(project, mr, detail)
    users = core.store.users
    assignees = [user_basic(core, users.get(i)) for i in mr.assignee_ids if i in users]
    reviewers = [user_basic(core, users.get(i)) for i in mr.reviewer_ids if i in users]
    merged_by = user_basic(core, users.get(mr.merged_by_id or -1))
    notes = sum(1 for n in core.store.notes.values() if n.noteable_id == mr.id and not n.system)
    draft = is_draft(mr.title)
    body: Json = {
        "id": mr.id,
        "iid": mr.iid,
        "project_id": project.id,
        "title": mr.title,
        "description": mr.description,
        "state": mr.state,
        "created_at": mr.created_at,
        "updated_at": mr.updated_at,
        "merged_by": merged_by,
        "merge_user": merged_by,
        "merged_at": mr.merged_at,
        "closed_by": user_basic(core, users.get(mr.closed_by_id or -1)),
        "closed_at": mr.closed_at,
        "target_branch": mr.target_branch,
        "source_branch": mr.source_branch,
        "user_notes_count": notes,
        "upvotes": 0,
        "downvotes": 0,
        "author": user_basic(core, users.get(mr.author_id)),
        "assignees": assignees,
        "assignee": assignees[0] if assignees else None,
        "reviewers": reviewers,
        "source_project_id": project.id,
        "target_project_id": project.id,
        "labels": sorted(mr.labels, key=str.lower),
        "draft": draft,
        "imported": False,
        "imported_from": "none",
        "work_in_progress": draft,
        "milestone": None,
        "merge_when_pipeline_succeeds": mr.auto_merge,
        "merge_status": status.merge_status,
        "detailed_merge_status": status.detailed,
        "merge_after": None,
        "sha": status.sha,
        "merge_commit_sha": mr.merge_commit_sha,
        "squash_commit_sha": mr.squash_commit_sha,
        "discussion_locked": mr.discussion_locked,
        "should_remove_source_branch": mr.should_remove_source_branch,
        "force_remove_source_branch": mr.force_remove_source_branch,
        "prepared_at": mr.created_at,
        "reference": f"!{mr.iid}",
        "references": {
            "short": f"!{mr.iid}",
            "relative": f"!{mr.iid}",
            "full": f"{project.full_path}!{mr.iid}",
        },
        "web_url": f"{core.base_url}/{project.full_path}/-/merge_requests/{mr.iid}",
        "time_stats": {
            "time_estimate": 0,
            "total_time_spent": 0,
            "human_time_estimate": None,
            "human_total_time_spent": None,
        },
        "squash": mr.squash,
        "squash_on_merge": mr.squash,
        "task_completion_status": {"count": 0, "completed_count": 0},
        "has_conflicts": status.has_conflicts,
        "blocking_discussions_resolved": True,
        "approvals_before_merge": None,
    }
    if detail:
        pipeline = (
            pipeline_full(core, project, status.pipeline) if status.pipeline is not None else None
        )
        body.update(
            {
                "subscribed": True,
                "changes_count": (
                    str(status.changes_count) if status.changes_count is not None else None
                ),
                "latest_build_started_at": None,
                "latest_build_finished_at": None,
                "first_deployed_to_production_at": None,
                "pipeline": (
                    pipeline_basic(core, project, status.pipeline)
                    if status.pipeline is not None
                    else None
                ),
                "head_pipeline": pipeline,
                "diff_refs": {
                    "base_sha": status.base_sha,
                    "head_sha": status.sha,
                    "start_sha": status.target_sha,
                },
                "merge_error": None,
                "first_contribution": False,
                "user": {"can_merge": not project.archived},
            }
        )
    return body


def note(core: Core, n: Note) -> Json:
    return {
        "id": n.id,
        "type": None,
        "body": n.body,
        "attachment": None,
        "author": user_basic(core, core.store.users.get(n.author_id)),
        "created_at": n.created_at,
        "updated_at": n.updated_at,
        "system": n.system,
        "noteable_id": n.noteable_id,
        "noteable_type": "MergeRequest",
        "project_id": n.project_id,
        "resolvable": False,
        "confidential": False,
        "internal": False,
        "imported": False,
        "imported_from": "none",
        "noteable_iid": n.noteable_iid,
        "commands_changes": {},
    }
