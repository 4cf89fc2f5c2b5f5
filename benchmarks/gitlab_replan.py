"""An unchanged re-plan of a GitLab fleet: the listing decides, against fetching every project.

    .venv/bin/python benchmarks/gitlab_replan.py --copies 2

Starts the GitLab simulator (testsupport/gitlab_sim) on 127.0.0.1 with the demo fleet's repos as
projects (`--copies` times each), every project's `last_activity_at` aged past GitLab's one-hour
throttle, and plans it with `--jobs 2`: a first plan, then three unchanged re-plans as the tool
makes them (a project whose listing proves it unmoved since its last fetch is not fetched,
pipeline/activity.py), then three with that proof withheld, as before it existed: every project
fetched again. It prints each run's wall time and the git-over-HTTP requests the simulator
served, and the medians. A repo whose plan is an error is not cached, so it is fetched and
planned on every run either way.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from migrator import config, demo  # noqa: E402
from migrator.cli import run_plan  # noqa: E402
from migrator.pipeline import fleet  # noqa: E402
from testsupport.gitlab_sim import GitLabSim  # noqa: E402

TOKEN = "glpat-benchmarkReplan00001"
RUNS = 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=2, help="projects per demo repo")
    args = parser.parse_args(argv)
    os.environ["GITLAB_TOKEN"] = TOKEN
    with tempfile.TemporaryDirectory(prefix="migrator-gitlab-replan-") as tmp:
        root = Path(tmp)
        os.environ["XDG_CACHE_HOME"] = str(root / "xdg")
        central = demo.build_central(root / "central")
        sources = root / "fleet"
        sources.mkdir()
        demo.build_fleet(sources)
        cases = sorted(p.name for p in sources.iterdir() if (p / ".git").exists())
        with GitLabSim(root / "sim") as sim:
            sim.add_token(TOKEN, user="bot")
            for copy in range(args.copies):
                for case in cases:
                    name = f"shop/{case}-{copy}"
                    sim.add_project(name, source_repo=sources / case)
                    sim.age_project(name)

            def timed(label: str, out: str) -> float:
                settings = config.plan_settings({}, config.PlanFlags(
                    repos=config.FleetFlags(gitlab_url=sim.url, group="shop"),
                    central=central.repo_dir, families=central.families_dir,
                    target_version=demo.TARGET_VERSION, out=root / out, work=root / "work",
                    jobs=2))
                sim.reset_log()
                started = time.perf_counter()
                run_plan(settings, quiet=True)
                wall = time.perf_counter() - started
                fetches = sum(1 for r in sim.requests if ".git/" in r.path)
                print(f"  {label:40s} {wall:6.2f} s, {fetches} git requests", flush=True)
                return wall

            print(f"{len(cases) * args.copies} projects, --jobs 2")
            first = timed("first plan", "first")
            listed = [timed("unchanged re-plan (the listing decides)", f"listed-{i}")
                      for i in range(RUNS)]
            proof = fleet.known_listed_commit
            fleet.known_listed_commit = lambda *_, **__: None  # every project fetched again
            try:
                fetched = [timed("unchanged re-plan (every project fetched)", f"fetched-{i}")
                           for i in range(RUNS)]
            finally:
                fleet.known_listed_commit = proof
    print(f"median unchanged re-plan: {statistics.median(listed):.2f} s with the listing, "
          f"{statistics.median(fetched):.2f} s fetching every project; first plan {first:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
