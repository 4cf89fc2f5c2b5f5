"""A forge on disk: the review bundle for runs without GitLab.

Each repo gets `<out_dir>/<slug>/`:

- `changes.patch`: the bot's commit as `git format-patch` output (`git am` applies it);
- `branch.json`: the branch name and the commit it "points" to;
- `mr.json` and `description.md`: the merge request that would be opened;
- `notes.md`: notes left on it.

It speaks the forge interface (`migrator.forge`) like `GitLabForge`, with the same records and
errors, so `propose` runs the same code path, idempotency included, against a directory. Every
file is replaced atomically, so a run killed mid-write never leaves a half-written bundle.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator import git
from migrator.credentials import git_env
from migrator.forge import CommitInfo, ForgeError, MergeRequestExists, MrInfo, MrSpec
from migrator.fsio import write_atomic
from migrator.model import RepoRef
from migrator.mrtext import DRAFT_PREFIX


@dataclass(frozen=True)
class LocalForgeSettings:
    out_dir: Path
    token_var: str | None = None  # when the fleet's clone URLs need the GitLab token...
    gitlab_url: str | None = None  # ...of this GitLab instance, and only there


class LocalForge:
    def __init__(self, settings: LocalForgeSettings) -> None:
        self.settings = settings

    def bundle_dir(self, repo: RepoRef) -> Path:
        return self.settings.out_dir / repo.slug

    # merge requests ------------------------------------------------------------------------

    def find_mr(self, repo: RepoRef, branch: str) -> MrInfo | None:
        data = self._read(repo, "mr.json")
        if data is None or data.get("source_branch") != branch:
            return None
        return self._mr(repo, data)

    def get_mr(self, repo: RepoRef, iid: int) -> MrInfo:
        data = self._read(repo, "mr.json")
        if data is None or data.get("iid") != iid:
            raise ForgeError(f"{repo.name}: no merge request !{iid} in {self.bundle_dir(repo)}")
        return self._mr(repo, data)

    def create_mr(self, repo: RepoRef, spec: MrSpec) -> MrInfo:
        existing = self._read(repo, "mr.json")
        if existing is not None and existing.get("state") == "opened" and \
                existing.get("source_branch") == spec.source_branch:
            raise MergeRequestExists(repo.name, int(existing["iid"]))
        data = {
            "iid": int(existing["iid"]) + 1 if existing else 1,
            "state": "opened",
            "source_branch": spec.source_branch,
            "target_branch": spec.target_branch,
            "title": spec.title,
            "description": spec.description,
            "labels": list(spec.labels),
            "assignee_ids": list(spec.assignee_ids),
            "reviewer_ids": list(spec.reviewer_ids),
            "remove_source_branch": spec.remove_source_branch,
            "squash": spec.squash,
        }
        self._save_mr(repo, data)
        return self._mr(repo, data)

    def update_mr(self, repo: RepoRef, iid: int, changes: Mapping[str, Any]) -> MrInfo:
        data = dict(self._read(repo, "mr.json") or {})
        if data.get("iid") != iid:
            raise ForgeError(f"{repo.name}: no merge request !{iid} in {self.bundle_dir(repo)}")
        data.update({k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()})
        self._save_mr(repo, data)
        return self._mr(repo, data)

    def add_note(self, repo: RepoRef, iid: int, body: str, marker: str) -> None:
        path = self.bundle_dir(repo) / "notes.md"
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        write_atomic(path, old + f"## note on !{iid}\n\n{body}\n\n")

    def has_note(self, repo: RepoRef, iid: int, marker: str) -> bool:
        path = self.bundle_dir(repo) / "notes.md"
        return path.exists() and marker in path.read_text(encoding="utf-8")

    # branches ----------------------------------------------------------------------------

    def branch_head(self, repo: RepoRef, clone: Path, branch: str) -> str | None:
        data = self._read(repo, "branch.json")
        if data is None or data.get("branch") != branch:
            return None
        return str(data["sha"])

    def head_commit(self, repo: RepoRef, clone: Path, branch: str) -> CommitInfo | None:
        sha = self.branch_head(repo, clone, branch)
        if sha is None or not git.has_object(clone, sha):
            return None
        author, committer, message = git.commit_fields(clone, sha)
        return CommitInfo(sha, author, committer, message)

    def push(self, repo: RepoRef, clone: Path, sha: str, branch: str,
             expected: str | None) -> bool:
        if self.branch_head(repo, clone, branch) != expected:
            return False
        patch = git.run(["format-patch", "-1", "--stdout", "--no-color", sha], cwd=clone,
                        env=self.commit_env())
        write_atomic(self.bundle_dir(repo) / "changes.patch", patch)
        write_atomic(self.bundle_dir(repo) / "branch.json",
               json.dumps({"branch": branch, "sha": sha}, indent=2) + "\n")
        return True

    def commit_env(self) -> dict[str, str]:
        if not (self.settings.token_var and self.settings.gitlab_url):
            return {}
        return git_env(self.settings.token_var, origin=self.settings.gitlab_url)

    # internals --------------------------------------------------------------------------

    def _read(self, repo: RepoRef, name: str) -> dict[str, Any] | None:
        path = self.bundle_dir(repo) / name
        if not path.exists():
            return None
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def _save_mr(self, repo: RepoRef, data: Mapping[str, Any]) -> None:
        write_atomic(self.bundle_dir(repo) / "description.md", str(data.get("description", "")))
        write_atomic(self.bundle_dir(repo) / "mr.json", json.dumps(data, indent=2) + "\n")

    def _mr(self, repo: RepoRef, data: Mapping[str, Any]) -> MrInfo:
        title = str(data.get("title", ""))
        return MrInfo(
            iid=int(data["iid"]),
            web_url=(self.bundle_dir(repo) / "mr.json").resolve().as_uri(),
            state=str(data.get("state", "opened")),
            title=title,
            description=str(data.get("description", "")),
            source_branch=str(data.get("source_branch", "")),
            target_branch=str(data.get("target_branch", "")),
            sha=self.branch_head(repo, Path("."), str(data.get("source_branch", ""))),
            draft=title.startswith(DRAFT_PREFIX),
            labels=tuple(str(x) for x in data.get("labels", ())),
        )

