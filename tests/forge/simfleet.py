"""A fleet on the GitLab simulator, ready to apply: the shared setup of the GitLab tests."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from migrator import git
from migrator.discover.gitlab import GitLabFleetSettings, list_repos
from migrator.gitlab_api import GitLabSettings, RetryPolicy
from migrator.model import RepoPlan, RepoRef, Verdict
from migrator.propose.apply import ProposeOutcome, run_apply
from migrator.propose.settings import ProposeSettings
from migrator.workdir import WorkDir
from tests.forge.fleetkit import CENTRAL, SIM_FLEET, describe, seed_sim_fleet, sim_plans
from testsupport.gitlab_sim import GitLabSim, MergeRequest

TOKEN = "glpat-migratorE2Etoken0001"
BRANCH = "migrator/app-template-2.3.0"
WRITES = ("POST", "PUT", "DELETE", "PATCH")


@dataclass
class Fleet:
    sim: GitLabSim
    work: WorkDir
    repos: list[RepoRef]
    clones: dict[str, Path]
    verdicts: dict[str, Verdict] = field(default_factory=lambda: dict(SIM_FLEET))
    slept: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        # The test's clock: record what the client was asked to wait, wait only briefly.
        self.slept.append(seconds)
        time.sleep(min(seconds, 0.02))

    def settings(self, **kw: object) -> ProposeSettings:
        gl = GitLabSettings(self.sim.url, retry=RetryPolicy(sleep=self.sleep, backoff=0.01))
        return ProposeSettings(forge=gl, **kw)  # type: ignore[arg-type]

    def plans(self, **kw: str) -> list[RepoPlan]:
        return sim_plans(self.repos, self.clones, self.verdicts, **kw)

    @property
    def eligible(self) -> list[str]:
        return [r.name for r in self.repos
                if self.verdicts[r.name] in (Verdict.READY, Verdict.REVIEW)]

    def apply(self, plans: list[RepoPlan] | None = None, **kw: object) -> list[ProposeOutcome]:
        return run_apply(plans if plans is not None else self.plans(), CENTRAL,
                         self.settings(**kw), self.work, self.clones, describe=describe)

    def mrs(self, path: str) -> list[MergeRequest]:
        return [m for m in self.sim.merge_requests(path) if m.source_branch == BRANCH]

    def open_mrs(self, path: str) -> list[MergeRequest]:
        return [m for m in self.mrs(path) if m.state == "opened"]

    def api_writes(self) -> int:
        return sum(1 for r in self.sim.requests
                   if r.method in WRITES and r.path.startswith("/api/"))

    def pushes(self, path: str | None = None) -> int:
        return sum(1 for r in self.sim.requests if r.method == "POST"
                   and r.path.endswith("/git-receive-pack")
                   and (path is None or r.path == f"/{path}.git/git-receive-pack"))


SMALL = {"platform/apps/orders": Verdict.READY, "platform/apps/checkout": Verdict.REVIEW,
         "platform/apps/legacy/mailer": Verdict.BLOCKED,
         "platform/data/static-site": Verdict.SKIPPED}


def fast_clones(sim: GitLabSim, repos: list[RepoRef], cache: Path) -> dict[str, Path]:
    """Clones made straight from the simulator's bare repos, then pointed at its HTTP URL.

    The same shallow, blobless clones the fetch stage makes, minus the HTTP round trips (the
    fetch over HTTP with the token is proven in test_the_token_never_leaves_the_environment).
    """
    clones = {}
    for repo in repos:
        dest = cache / repo.slug
        git.clone_or_update(str(sim.repo_path(repo.name)), dest, repo.default_branch)
        git.run(["remote", "set-url", "origin", repo.url], cwd=dest)
        clones[repo.slug] = dest
    return clones


def start_fleet(tmp_path: Path, sim: GitLabSim, paths: dict[str, Verdict]) -> Fleet:
    sim.add_token(TOKEN, scopes=("api",), user="migrator-bot")
    seed_sim_fleet(sim, tmp_path, paths)
    work = WorkDir(tmp_path / "work")
    repos = list_repos(GitLabFleetSettings(GitLabSettings(sim.url), group="platform"))
    clones = fast_clones(sim, repos, work.cache)
    sim.reset_log()
    return Fleet(sim, work, repos, clones, dict(paths))
