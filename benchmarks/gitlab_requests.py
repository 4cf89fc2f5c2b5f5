"""GitLab requests per repo for `apply`: a first run, then a no-op re-run.

    python benchmarks/gitlab_requests.py --projects 100

Starts the GitLab simulator (testsupport/gitlab_sim) on 127.0.0.1 with N projects in nested
subgroups, discovers them, clones them over HTTP with the token helper, builds a small real
change set per repo, and runs `apply` twice. It prints GitLab API requests per repo (the budget
that rate limits count) and, apart, git-over-HTTP requests. Targets: at most 3 API requests per
repo on the first run, at most 1 on the re-run, and no write at all on the re-run. Exits 1 when
a target is missed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from migrator.credentials import git_env  # noqa: E402
from migrator.discover.gitlab import GitLabFleetSettings, list_repos  # noqa: E402
from migrator.gitlab_api import GitLabSettings  # noqa: E402
from migrator.model import Verdict  # noqa: E402
from migrator.propose.apply import run_apply, summarize  # noqa: E402
from migrator.propose.settings import ProposeSettings  # noqa: E402
from migrator.workdir import WorkDir  # noqa: E402
from tests.forge.fleetkit import CENTRAL, clone_all, describe, seed_sim_fleet, sim_plans  # noqa: E402
from testsupport.gitlab_sim import GitLabSim  # noqa: E402

TOKEN = "glpat-benchmarkToken000001"
T = TypeVar("T")


@dataclass(frozen=True)
class Tally:
    api: int
    api_writes: int
    git: int
    seconds: float


def measure(sim: GitLabSim, fn: Callable[[], T]) -> tuple[T, Tally]:
    sim.reset_log()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    api = [r for r in sim.requests if r.path.startswith("/api/")]
    writes = sum(1 for r in api if r.method in ("POST", "PUT", "PATCH", "DELETE"))
    return result, Tally(len(api), writes, len(sim.requests) - len(api), seconds)


def fleet_layout(n: int) -> dict[str, Verdict]:
    """N projects over nested subgroups; every tenth needs review, every 25th is blocked."""
    layout = {}
    for i in range(n):
        verdict = Verdict.BLOCKED if i % 25 == 24 else Verdict.REVIEW if i % 10 == 9 \
            else Verdict.READY
        layout[f"bench/team-{i % 5}/sub-{i % 3}/app-{i:03d}"] = verdict
    return layout


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=100)
    args = parser.parse_args(argv)
    os.environ["GITLAB_TOKEN"] = TOKEN
    with tempfile.TemporaryDirectory(prefix="migrator-bench-") as tmp, \
            GitLabSim(Path(tmp) / "sim") as sim:
        root = Path(tmp)
        layout = fleet_layout(args.projects)
        sim.add_token(TOKEN, scopes=("api",), user="migrator-bot")
        seed_sim_fleet(sim, root, layout)
        gitlab = GitLabSettings(sim.url)
        repos, discovery = measure(sim, lambda: list_repos(
            GitLabFleetSettings(gitlab, group="bench")))
        work = WorkDir(root / "work")
        clones, fetch = measure(sim, lambda: clone_all(repos, work.cache,
                                                       env=git_env("GITLAB_TOKEN", origin=sim.url)))
        plans = sim_plans(repos, clones, layout)
        settings = ProposeSettings(forge=gitlab)

        def apply() -> dict[str, int]:
            return summarize(run_apply(plans, CENTRAL, settings, work, clones,
                                       describe=describe))

        first_summary, first = measure(sim, apply)
        again_summary, again = measure(sim, apply)

    n = len(repos)
    print(f"fleet: {n} projects, outcomes first run {first_summary}, re-run {again_summary}")
    print(f"{'step':<16}{'API requests':>14}{'per repo':>10}{'API writes':>12}"
          f"{'git HTTP':>10}{'seconds':>9}")
    for name, tally in (("discovery", discovery), ("fetch (clone)", fetch),
                        ("first apply", first), ("no-op re-run", again)):
        print(f"{name:<16}{tally.api:>14}{tally.api / n:>10.2f}{tally.api_writes:>12}"
              f"{tally.git:>10}{tally.seconds:>9.1f}")
    first_per_repo = (discovery.api + first.api) / n
    rerun_per_repo = (discovery.api + again.api) / n
    print(f"first apply incl. discovery: {first_per_repo:.2f} API requests per repo (target <= 3)")
    print(f"no-op re-run incl. discovery: {rerun_per_repo:.2f} API requests per repo "
          f"(target <= 1), {again.api_writes} writes (target 0)")
    ok = first_per_repo <= 3 and rerun_per_repo <= 1 and again.api_writes == 0
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
