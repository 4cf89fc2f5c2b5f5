"""Domain behaviour shared by the REST endpoints and the test-facing `GitLabSim` methods:
visibility, merge request mergeability, merging, system notes, auto-merge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from testsupport.gitlab_sim.gitops import Git, Identity, Repo
from testsupport.gitlab_sim.routing import FORBIDDEN, ApiError, Request, not_found
from testsupport.gitlab_sim.state import (
    ACTIVE_PIPELINE_STATUSES,
    ROLE_LEVELS,
    MergeRequest,
    Namespace,
    Note,
    Pipeline,
    Project,
    Store,
    User,
    iso,
    now_iso,
)

# GitLab's Event::RESET_PROJECT_ACTIVITY_INTERVAL (app/models/event.rb): an event moves its
# project's last_activity_at only when the stamp is at least this old.
ACTIVITY_INTERVAL = timedelta(hours=1)

# GitLab's MergeRequest::DRAFT_REGEX (the `WIP:` prefixes were retired in GitLab 16).
_DRAFT = re.compile(r"^\s*(\[draft\]|\(draft\)|draft:)\s*", re.IGNORECASE)


def is_draft(title: str) -> bool:
    return bool(_DRAFT.match(title))


def strip_draft(title: str) -> str:
    return _DRAFT.sub("", title, count=1)


@dataclass(frozen=True)
class MrStatus:
    sha: str | None
    base_sha: str | None
    target_sha: str | None
    has_conflicts: bool
    detailed: str
    merge_status: str
    changes_count: int | None
    pipeline: Pipeline | None


@dataclass
class Core:
    store: Store
    git: Git
    repos_root: Path
    base_url: str = ""
    _refs: dict[int, dict[str, str]] = field(default_factory=dict)
    _merge_trees: dict[tuple[int, str, str], str | None] = field(default_factory=dict)
    _bases: dict[tuple[int, str, str], str | None] = field(default_factory=dict)
    _changes: dict[tuple[int, str, str], int] = field(default_factory=dict)

    # -- repositories ----------------------------------------------------------------------------

    def repo(self, project: Project) -> Repo:
        return Repo(self.git, project.repo_dir)

    def begin_request(self) -> None:
        """Forget branch heads read earlier: a push may have moved them since."""
        self._refs.clear()

    def refs(self, project: Project) -> dict[str, str]:
        if project.id not in self._refs:
            self._refs[project.id] = self.repo(project).branches()
        return self._refs[project.id]

    def forget_refs(self, project: Project) -> None:
        self._refs.pop(project.id, None)

    # -- visibility ------------------------------------------------------------------------------

    @staticmethod
    def can_read(user: User | None, visibility: str) -> bool:
        # Every signed-in user of the simulator is a member of everything.
        return user is not None or visibility == "public"

    def project_for(self, req: Request, ident: str) -> Project:
        project = (
            self.store.projects.get(int(ident))
            if ident.isdigit()
            else self.store.project_by_path(ident)
        )
        if project is None or not self.can_read(req.user, project.visibility):
            raise not_found("Project")
        return project

    def writable_project(self, req: Request, ident: str, role: str = "developer") -> Project:
        """The project, if the user's role (and the project not being archived) allows writes."""
        project = self.project_for(req, ident)
        user = req.require_user()
        if project.archived or user.access_level < ROLE_LEVELS[role]:
            raise ApiError(403, FORBIDDEN)
        return project

    def group_for(self, req: Request, ident: str) -> Namespace:
        group = (
            self.store.namespaces.get(int(ident))
            if ident.isdigit()
            else self.store.namespace_by_path(ident)
        )
        if group is None or group.kind != "group" or not self.can_read(req.user, group.visibility):
            raise not_found("Group")
        return group

    def mr_for(self, project: Project, iid: str) -> MergeRequest:
        mr = self.store.mr_by_iid(project.id, int(iid)) if iid.isdigit() else None
        if mr is None:
            raise not_found("Merge Request")
        return mr

    def touch(self, project: Project) -> None:
        """An event of `project` (a push, an MR, a note...): its last_activity_at becomes now,
        unless it is less than an hour old. GitLab throttles that write
        (`Event#reset_project_activity`: `WHERE last_activity_at <= 1.hour.ago`), so a push
        within the hour after the last recorded activity leaves the stamp where it was."""
        now = datetime.now(UTC)
        if datetime.fromisoformat(project.last_activity_at) <= now - ACTIVITY_INTERVAL:
            project.last_activity_at = iso(now)

    # -- merge requests --------------------------------------------------------------------------

    def mr_sha(self, project: Project, mr: MergeRequest) -> str | None:
        sha = self.refs(project).get(mr.source_branch)
        if sha is not None and mr.state in ("opened", "locked"):
            mr.last_sha = sha
        return mr.last_sha if mr.state in ("merged", "closed") or sha is None else sha

    def head_pipeline(self, project: Project, mr: MergeRequest, sha: str | None) -> Pipeline | None:
        if sha is None:
            return None
        refs = {mr.source_branch, f"refs/merge-requests/{mr.iid}/head"}
        found = [
            p
            for p in self.store.pipelines.values()
            if p.project_id == project.id and p.sha == sha and p.ref in refs
        ]
        return max(found, key=lambda p: p.id, default=None)

    def status(self, project: Project, mr: MergeRequest, detail: bool = False) -> MrStatus:
        """Mergeability as GitLab reports it; `detail` adds the changed-files count."""
        refs = self.refs(project)
        sha = self.mr_sha(project, mr)
        target = refs.get(mr.target_branch)
        pipeline = self.head_pipeline(project, mr, sha)
        base = conflicts = changes = None
        if sha is not None and target is not None:
            base = self._merge_base(project, target, sha)
            conflicts = self._merge_tree(project, target, sha) is None
            if detail:
                changes = self._changes_count(project, base or target, sha)
        detailed = self._detailed(project, mr, refs, sha, base, bool(conflicts), pipeline)
        if detailed == "conflict" or mr.state in ("opened", "locked") and sha is None:
            merge_status = "cannot_be_merged"
        else:
            merge_status = "can_be_merged"
        return MrStatus(
            sha=sha,
            base_sha=base,
            target_sha=target,
            has_conflicts=bool(conflicts),
            detailed=detailed,
            merge_status=merge_status,
            changes_count=changes,
            pipeline=pipeline,
        )

    def _detailed(
        self,
        project: Project,
        mr: MergeRequest,
        refs: dict[str, str],
        sha: str | None,
        base: str | None,
        conflicts: bool,
        pipeline: Pipeline | None,
    ) -> str:
        if mr.state not in ("opened", "locked"):
            return "not_open"
        if is_draft(mr.title):
            return "draft_status"
        if mr.source_branch not in refs or mr.target_branch not in refs:
            return "broken_status"
        if base == sha:
            return "commits_status"
        if conflicts:
            return "conflict"
        if project.only_allow_merge_if_pipeline_succeeds:
            status = pipeline.status if pipeline else None
            if status in ACTIVE_PIPELINE_STATUSES:
                return "ci_still_running"
            allowed = {"success"} | (
                {"skipped"} if project.allow_merge_on_skipped_pipeline else set()
            )
            if status not in allowed:
                return "ci_must_pass"
        return "mergeable"

    def _merge_base(self, project: Project, target: str, source: str) -> str | None:
        key = (project.id, target, source)
        if key not in self._bases:
            self._bases[key] = self.repo(project).merge_base(target, source)
        return self._bases[key]

    def _merge_tree(self, project: Project, target: str, source: str) -> str | None:
        key = (project.id, target, source)
        if key not in self._merge_trees:
            self._merge_trees[key] = self.repo(project).merge_tree(target, source)
        return self._merge_trees[key]

    def _changes_count(self, project: Project, base: str, head: str) -> int:
        key = (project.id, base, head)
        if key not in self._changes:
            self._changes[key] = self.repo(project).changed_files(base, head)
        return self._changes[key]

    def open_conflict(self, project: Project, mr: MergeRequest) -> MergeRequest | None:
        """The open MR that makes `mr` invalid (GitLab's `validate_branches`)."""
        return next(
            (
                other
                for other in sorted(self.store.project_mrs(project.id), key=lambda m: m.iid)
                if other.id != mr.id
                and other.state == "opened"
                and other.source_branch == mr.source_branch
                and other.target_branch == mr.target_branch
            ),
            None,
        )

    def merge(
        self,
        project: Project,
        mr: MergeRequest,
        user: User,
        *,
        squash: bool,
        merge_message: str | None,
        squash_message: str | None,
        remove_source: bool,
    ) -> None:
        repo = self.repo(project)
        refs = self.refs(project)
        target, source = refs[mr.target_branch], refs[mr.source_branch]
        who = Identity(user.name, user.email)
        head = source
        if squash:
            base = repo.merge_base(target, source)
            parents = [base] if base else []
            head = repo.commit_tree(repo.tree_of(source), parents, squash_message or mr.title, who)
            mr.squash_commit_sha = head
        tree = repo.merge_tree(target, head)
        if tree is None:
            raise ApiError(422, {"message": "Branch cannot be merged"})
        reference = f"{project.full_path}!{mr.iid}"
        message = merge_message or (
            f"Merge branch '{mr.source_branch}' into '{mr.target_branch}'\n\n"
            f"{mr.title}\n\nSee merge request {reference}"
        )
        merged = repo.commit_tree(tree, [target, head], message, who)
        if not repo.update_ref(mr.target_branch, merged, target):
            raise ApiError(422, {"message": "Branch cannot be merged"})
        stamp = now_iso()
        mr.state = "merged"
        mr.merged_at = stamp
        mr.updated_at = stamp
        mr.merged_by_id = user.id
        mr.merge_commit_sha = merged
        mr.last_sha = source
        mr.auto_merge = False
        if remove_source:
            repo.delete_branch(mr.source_branch)
        self.forget_refs(project)
        self.system_note(project, mr, user.id, "merged")
        self.touch(project)

    def run_auto_merges(self, project: Project) -> None:
        """Merge the MRs set to merge when their pipeline succeeds, once it has."""
        for mr in sorted(self.store.project_mrs(project.id), key=lambda m: m.iid):
            if not (mr.auto_merge and mr.state == "opened"):
                continue
            status = self.status(project, mr)
            user = self.store.users.get(mr.auto_merge_by_id or mr.author_id)
            ready = status.detailed == "mergeable" and status.pipeline is not None
            if ready and status.pipeline and status.pipeline.status == "success" and user:
                self.merge(
                    project,
                    mr,
                    user,
                    squash=mr.squash,
                    merge_message=None,
                    squash_message=None,
                    remove_source=bool(
                        mr.should_remove_source_branch or mr.force_remove_source_branch
                    ),
                )

    def system_note(self, project: Project, mr: MergeRequest, author_id: int, body: str) -> Note:
        stamp = now_iso()
        note = Note(
            id=self.store.next_note_id(),
            project_id=project.id,
            noteable_id=mr.id,
            noteable_iid=mr.iid,
            body=body,
            author_id=author_id,
            created_at=stamp,
            updated_at=stamp,
            system=True,
        )
        self.store.notes[note.id] = note
        return note
