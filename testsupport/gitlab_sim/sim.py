"""`GitLabSim`: start the simulator, seed it, inspect what clients did.

with GitLabSim(tmp_path) as sim:
    sim.add_token("s3cret", scopes=("api",), user="migrator-bot")
    sim.add_project("platform/apps/orders", source_repo=repo_dir)
    gl = gitlab.Gitlab(sim.url, private_token="s3cret")
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType

from testsupport.gitlab_sim.core import Core
from testsupport.gitlab_sim.faults import Faults
from testsupport.gitlab_sim.githttp import hooks_dir, install_hooks
from testsupport.gitlab_sim.gitops import Git, Repo
from testsupport.gitlab_sim.server import App, Exchange, LoggedRequest, SimServer
from testsupport.gitlab_sim.state import (
    PIPELINE_STATUSES,
    ROLE_LEVELS,
    Issue,
    MergeRequest,
    Namespace,
    Note,
    NotFound,
    Pipeline,
    Project,
    Store,
    Token,
    User,
    iso,
    now_iso,
)

_FINISHED = frozenset({"success", "failed", "canceled", "skipped"})


class GitLabSim:
    """A GitLab REST v4 + git-over-HTTP simulator on 127.0.0.1, run in a background thread."""

    def __init__(self, root: Path | str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.root = Path(root)
        self._address = (host, port)
        self.git = Git()
        self.store = Store()
        self.core = Core(self.store, self.git, self.root / "gitlab-sim" / "repositories")
        self.app = App(self.core)
        self._server: SimServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> GitLabSim:
        if self._server is not None:
            return self
        install_hooks(hooks_dir(self.core))
        self._server = SimServer(self._address, self.app)
        host, port = self._server.server_address[:2]
        self.core.base_url = f"http://{host!s}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="gitlab-sim",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> GitLabSim:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if not self.core.base_url:
            raise RuntimeError("GitLabSim is not started")
        return self.core.base_url

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v4"

    # -- what clients did ------------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        return self.app.faults

    @property
    def requests(self) -> list[LoggedRequest]:
        """Every request received, faulted ones included: (method, path, query)."""
        return self.app.requests

    @property
    def request_counts(self) -> Counter[tuple[str, str]]:
        """Requests by (method, route template), e.g. ("POST", "/projects/:id/merge_requests")."""
        return self.app.request_counts

    @property
    def exchanges(self) -> list[Exchange]:
        """Every request with the status it got (None when the connection was dropped)."""
        return self.app.exchanges

    @property
    def errors(self) -> list[str]:
        """Tracebacks of requests the simulator itself failed on (answered 500); should be empty."""
        return self.app.errors

    @property
    def git_argv_log(self) -> list[list[str]]:
        return self.git.argv_log

    def reset_log(self) -> None:
        """Forget the requests seen so far (after seeding through the API, for example)."""
        self.app.reset_log()

    # -- seeding ---------------------------------------------------------------------------------

    def add_user(
        self,
        username: str,
        name: str | None = None,
        email: str | None = None,
        role: str | None = None,
    ) -> User:
        """A user (created once); `role` ("reporter", "developer", "maintainer" ...) applies to
        every project: a reporter reads but gets `403 {"message": "403 Forbidden"}` on writes."""
        if role is not None and role not in ROLE_LEVELS:
            raise ValueError(f"unknown role {role!r}")
        with self.store.lock:
            existing = self.store.user_by_name(username)
            if existing is not None:
                if role is not None:
                    existing.role = role
                return existing
            stamp = now_iso()
            namespace = Namespace(
                id=self.store.next_namespace_id(),
                name=name or username,
                path=username,
                full_path=username,
                kind="user",
                parent_id=None,
                visibility="private",
                description="",
                created_at=stamp,
            )
            user = User(
                id=self.store.next_user_id(),
                username=username,
                name=name or username.replace("-", " ").title(),
                email=email or f"{username}@example.com",
                namespace_id=namespace.id,
                created_at=stamp,
                role=role or "maintainer",
            )
            namespace.owner_id = user.id
            self.store.namespaces[namespace.id] = namespace
            self.store.users[user.id] = user
            return user

    def add_token(
        self,
        value: str,
        scopes: Iterable[str] = ("api",),
        user: str = "root",
        revoked: bool = False,
        expired: bool = False,
        role: str | None = None,
    ) -> Token:
        """A personal access token; `("read_api",)` is read-only, `("api",)` may write.

        A `read_api` token gets GitLab's `403 {"error": "insufficient_scope", ...}` on writes; a
        user whose `role` is below developer gets `403 {"message": "403 Forbidden"}`.
        """
        with self.store.lock:
            owner = self.add_user(user, role=role)
            token = Token(value, owner.id, frozenset(scopes), revoked=revoked, expired=expired)
            self.store.tokens[value] = token
            return token

    def add_group(
        self,
        path: str,
        parent: str | None = None,
        name: str | None = None,
        visibility: str = "private",
        description: str = "",
    ) -> Namespace:
        """A group; `parent` (or a slash in `path`) makes it a subgroup."""
        if parent is None and "/" in path:
            parent, path = path.rsplit("/", 1)
        with self.store.lock:
            parent_ns = None
            if parent is not None:
                parent_ns = self.store.namespace_by_path(parent)
                if parent_ns is None or parent_ns.kind != "group":
                    raise NotFound(f"parent group {parent!r} does not exist")
            full_path = f"{parent_ns.full_path}/{path}" if parent_ns else path
            if self.store.namespace_by_path(full_path) is not None:
                raise ValueError(f"namespace {full_path!r} already exists")
            group = Namespace(
                id=self.store.next_namespace_id(),
                name=name or path,
                path=path,
                full_path=full_path,
                kind="group",
                parent_id=parent_ns.id if parent_ns else None,
                visibility=visibility,
                description=description,
                created_at=now_iso(),
            )
            self.store.namespaces[group.id] = group
            return group

    def _namespace_for(self, full_path: str) -> Namespace:
        found = self.store.namespace_by_path(full_path)
        if found is not None:
            return found
        parent, _, _ = full_path.rpartition("/")
        if parent:
            self._namespace_for(parent)
        return self.add_group(full_path)

    def add_project(
        self,
        full_path: str,
        source_repo: Path | str | None = None,
        archived: bool = False,
        forked_from: Project | int | str | None = None,
        topics: Iterable[str] = (),
        default_branch: str | None = None,
        visibility: str = "private",
        description: str = "",
        name: str | None = None,
        only_allow_merge_if_pipeline_succeeds: bool = False,
        creator: str | None = None,
        http_url_to_repo: str | None = None,
    ) -> Project:
        """A project backed by a bare repository cloned (all branches) from `source_repo`.

        Missing parent groups are created. Without `source_repo` the repository is empty until
        something is pushed to it. `http_url_to_repo` makes the API announce another clone URL
        (a hostile or misconfigured instance pointing clients at another host).
        """
        namespace_path, _, path = full_path.rpartition("/")
        if not namespace_path:
            raise ValueError(f"project path {full_path!r} needs a namespace")
        with self.store.lock:
            if self.store.project_by_path(full_path) is not None:
                raise ValueError(f"project {full_path!r} already exists")
            namespace = self._namespace_for(namespace_path)
            upstream = self.store.project_by_ref(forked_from) if forked_from is not None else None
            repo_dir = self.core.repos_root / f"{namespace.full_path}/{path}.git"
            repo = Repo(self.git, repo_dir)
            branch = default_branch
            if source_repo is not None:
                repo.clone_from(Path(source_repo))
                if default_branch is not None:
                    if default_branch not in repo.branches():
                        raise ValueError(f"{source_repo} has no branch {default_branch!r}")
                    repo.set_head(default_branch)
                branch = repo.head_branch() if default_branch is None else default_branch
            stamp = now_iso()
            owner = self.store.user_by_name(creator) if creator else None
            project = Project(
                id=self.store.next_project_id(),
                name=name or path,
                path=path,
                namespace_id=namespace.id,
                full_path=f"{namespace.full_path}/{path}",
                repo_dir=repo_dir,
                archived=archived,
                visibility=visibility,
                topics=list(topics),
                default_branch=branch or "main",
                forked_from_id=upstream.id if upstream else None,
                description=description,
                created_at=stamp,
                last_activity_at=stamp,
                creator_id=owner.id if owner else None,
                only_allow_merge_if_pipeline_succeeds=only_allow_merge_if_pipeline_succeeds,
                http_url_to_repo=http_url_to_repo,
            )
            self.store.projects[project.id] = project
            return project

    def share_project(self, project: Project | int | str, group: str) -> None:
        with self.store.lock:
            target = self.store.project_by_ref(project)
            ns = self.store.namespace_by_path(group)
            if ns is None or ns.kind != "group":
                raise NotFound(f"no group {group!r}")
            if ns.id not in target.shared_with_group_ids:
                target.shared_with_group_ids.append(ns.id)

    def set_last_activity(self, project: Project | int | str, when: datetime) -> str:
        """Set the project's `last_activity_at` to `when` (aware); returns it as the API shows
        it. GitLab moves the stamp on an event only when it is an hour old or more, so a test
        that wants a push to show in the listing ages the project first."""
        with self.store.lock:
            target = self.store.project_by_ref(project)
            target.last_activity_at = iso(when)
            return target.last_activity_at

    def age_project(self, project: Project | int | str,
                    by: timedelta = timedelta(hours=2)) -> str:
        """Move the project's `last_activity_at` back by `by` (see `set_last_activity`)."""
        stamp = datetime.fromisoformat(self.project(project).last_activity_at)
        return self.set_last_activity(project, stamp - by)

    def set_pipeline(
        self,
        project: Project | int | str,
        sha_or_mr_iid: str | int,
        status: str = "success",
        ref: str | None = None,
        source: str | None = None,
        user: str | None = None,
    ) -> Pipeline:
        """Create the pipeline for a commit (sha or branch) or an MR's head, or set its status.

        An int is a merge request iid: the pipeline runs for the MR's current head on
        `refs/merge-requests/<iid>/head`, as a merge request pipeline does. Setting "success"
        lets MRs that were set to auto-merge go through.
        """
        if status not in PIPELINE_STATUSES:
            raise ValueError(f"unknown pipeline status {status!r}")
        with self.store.lock:
            self.core.begin_request()
            target = self.store.project_by_ref(project)
            repo = self.core.repo(target)
            if isinstance(sha_or_mr_iid, int):
                mr = self.store.mr_by_iid(target.id, sha_or_mr_iid)
                if mr is None:
                    raise NotFound(f"no merge request !{sha_or_mr_iid} in {target.full_path}")
                sha = self.core.mr_sha(target, mr)
                ref = ref or f"refs/merge-requests/{mr.iid}/head"
                source = source or "merge_request_event"
            else:
                sha = repo.resolve(sha_or_mr_iid)
                refs = self.core.refs(target)
                if ref is None:
                    if sha_or_mr_iid in refs:
                        ref = sha_or_mr_iid
                    else:
                        at_head = [b for b, head in refs.items() if head == sha]
                        ref = at_head[0] if at_head else (target.default_branch or "main")
                source = source or "push"
            if sha is None:
                raise NotFound(f"{sha_or_mr_iid!r} names no commit in {target.full_path}")
            pipeline = self._upsert_pipeline(target, sha, ref, status, source, user)
            self.core.run_auto_merges(target)
            return pipeline

    def _upsert_pipeline(
        self, project: Project, sha: str, ref: str, status: str, source: str, user: str | None
    ) -> Pipeline:
        stamp = now_iso()
        existing = [
            p
            for p in self.store.pipelines.values()
            if p.project_id == project.id and p.sha == sha and p.ref == ref
        ]
        pipeline = max(existing, key=lambda p: p.id, default=None)
        if pipeline is None:
            owner = self.store.user_by_name(user) if user else None
            pipeline = Pipeline(
                id=self.store.next_pipeline_id(),
                iid=project.next_pipeline_iid,
                project_id=project.id,
                sha=sha,
                ref=ref,
                status=status,
                source=source,
                created_at=stamp,
                updated_at=stamp,
                user_id=owner.id if owner else None,
            )
            project.next_pipeline_iid += 1
            self.store.pipelines[pipeline.id] = pipeline
        pipeline.status = status
        pipeline.updated_at = stamp
        if status not in ("created", "pending", "waiting_for_resource", "preparing"):
            pipeline.started_at = pipeline.started_at or stamp
        pipeline.finished_at = stamp if status in _FINISHED else None
        return pipeline

    # -- inspecting state ------------------------------------------------------------------------

    def project(self, ref: Project | int | str) -> Project:
        with self.store.lock:
            return self.store.project_by_ref(ref)

    def branches(self, project: Project | int | str) -> dict[str, str]:
        """Branch -> sha, read from the bare repository now."""
        with self.store.lock:
            return self.core.repo(self.store.project_by_ref(project)).branches()

    def repo_path(self, project: Project | int | str) -> Path:
        return self.project(project).repo_dir

    def merge_requests(self, project: Project | int | str) -> list[MergeRequest]:
        with self.store.lock:
            target = self.store.project_by_ref(project)
            return sorted(self.store.project_mrs(target.id), key=lambda m: m.iid)

    def issues(self, project: Project | int | str) -> list[Issue]:
        with self.store.lock:
            target = self.store.project_by_ref(project)
            return sorted((i for i in self.store.issues.values() if i.project_id == target.id),
                          key=lambda i: i.iid)

    def notes(self, project: Project | int | str, iid: int) -> list[Note]:
        with self.store.lock:
            target = self.store.project_by_ref(project)
            mr = self.store.mr_by_iid(target.id, iid)
            if mr is None:
                raise NotFound(f"no merge request !{iid} in {target.full_path}")
            return sorted(
                (n for n in self.store.notes.values() if n.noteable_id == mr.id),
                key=lambda n: n.id,
            )
