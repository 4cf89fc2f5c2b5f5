"""`migrator plan` beside a peer that only clones: asottile's all-repos (issue 11).

    .venv/bin/python benchmarks/vs_allrepos.py 1000 --jobs 2 --runs 3

Builds N local bare repos from the fixture fleet (the builder of plan_fleet.py: the migratable
cases, renamed per repo), installs `all-repos` in a throw-away venv (kept under /tmp, so a re-run
does not install it again), then, in each run and one after the other:

1. `all-repos-clone -j JOBS` of the N repos (its `all_repos.source.json_file` source lists them),
   into a fresh output dir;
2. `migrator plan --jobs JOBS` of the same N repos, fresh work and out dirs;
3. the same command again, same work dir: the unchanged re-plan;
4. `migrator plan --jobs JOBS` of the first N/10 repos, fresh work and out dirs.

Each command's wall time and peak memory are measured: the peak of the resident memory of its
whole process tree summed (every worker and git process included, read from /proc every 0.05 s),
and the largest single process (`wait4`'s ru_maxrss). A child caught between its fork (or vfork)
and its exec runs in its parent's pages and shows the parent's RSS: summed as it is, it counts a
planning worker's memory twice whenever a sample falls in that window: rarely (1 sample in 232
of a 200-repo plan), but that one sample is the run's peak, so the peak depended on luck. The
tree peak counts such a copy once (a child whose command line is still its parent's); the plain
sum is printed beside it. Each command's CPU time (user and system, its whole tree) is printed
too.

Before each command but the re-plan the kernel's page cache is dropped
(`/proc/sys/vm/drop_caches`, when this runs as root; `--keep-caches` not to): on this VM a
command's system time grew with the page cache the commands before it left (all-repos' 200-repo
clone: 7.7 to 8.2 s of system time right after a drop, 12.9 to 15.6 s without; the plan's
likewise), so without the drop a figure depended on what ran before it. Then each tool's own
code is read once, untimed (`all-repos-clone --help`, an import of migrator's modules), so that
each command starts with its tool in the cache and the fleet, the clones and the work dir not.
The re-plan runs right after the plan, as a person runs the same command again, with the cache
the plan left: dropped before it, the re-plan of 1,000 repos reads their refs, the journal and
3,000 report files from disk, 3.0 to 3.5 s instead of about 2.2 s (a ratio of 0.060 to 0.069).

It prints the raw figures and the four ratios of the issue; with `--runs 3`, each ratio's
median over the runs as well.

The code measured is a copy of this tree's `migrator/` and `mappings/` taken at the start: the
plan cache's key holds the tool's code, so an edit made in the tree during the run (in a shared
work tree) would otherwise turn the re-plan into a first plan.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import venv
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from plan_fleet import plan_command, tree_rss  # noqa: E402

from migrator import demo  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ALL_REPOS_VENV = Path(tempfile.gettempdir()) / "migrator-bench-all-repos-venv"
SAMPLE_SECONDS = 0.05
GOALS = {  # the goals: each ratio must be at most this
    "plan / clone wall": 1.0,
    "re-plan / first plan wall": 0.05,
    "peak RSS N / N/10": 1.2,
    "time per repo N / N/10": 1.1,
}


@dataclass(frozen=True)
class Measure:
    wall: float  # seconds
    tree_mib: float  # peak of the whole process tree's summed RSS, fork copies counted once
    tree_raw_mib: float  # the same, every process's RSS summed as it is
    largest_mib: float  # the largest single process (the run or one worker or one git)
    status: int
    user: float  # CPU seconds of the whole tree
    system: float


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repos", type=int, help="fleet size N (N/10 is planned too)")
    parser.add_argument("--jobs", type=int, default=2, help="for both tools (default 2)")
    parser.add_argument("--runs", type=int, default=1, help="runs; medians when more than one")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="build and run here and keep it (default: a temporary directory)")
    parser.add_argument("--keep-caches", action="store_true",
                        help="do not drop the page cache before each command")
    parser.add_argument("--venv", type=Path, default=ALL_REPOS_VENV,
                        help=f"where all-repos is installed (default {ALL_REPOS_VENV})")
    args = parser.parse_args(argv)
    if args.repos < 10:
        parser.error("N must be at least 10 (N/10 repos are planned too)")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def all_repos_clone(where: Path) -> Path:
    """`all-repos-clone` from a venv of its own, installed once from the package index."""
    program = where / "bin" / "all-repos-clone"
    if not program.exists():
        print(f"installing all-repos into {where}", flush=True)
        venv.create(where, with_pip=True, clear=True)
        subprocess.run([str(where / "bin" / "pip"), "install", "-q", "all-repos"], check=True)
    return program


def build_bare_fleet(root: Path, n: int) -> list[Path]:
    """N bare repos under `root/fleet` (the fixture fleet, see demo.generate_fleet), and the
    first N/10 of them as a fleet of their own (`root/fleet-tenth`, symlinks)."""
    built = demo.generate_fleet(root / "build", n)
    fleet = root / "fleet"
    fleet.mkdir()
    bare: list[Path] = []
    for repo in built:
        dest = fleet / repo.name
        (repo / ".git").rename(dest)
        subprocess.run(["git", "--git-dir", str(dest), "config", "core.bare", "true"],
                       check=True)
        bare.append(dest)
    shutil.rmtree(root / "build")
    tenth = root / "fleet-tenth"
    tenth.mkdir()
    for repo in sorted(bare)[: n // 10]:
        (tenth / repo.name).symlink_to(repo)
    return sorted(bare)


def snapshot_code(dest: Path) -> dict[str, str]:
    """A copy of the code to measure, and the environment that runs it."""
    for part in ("migrator", "mappings"):
        shutil.copytree(ROOT / part, dest / part,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return {**os.environ, "PYTHONPATH": str(dest)}


def measure(command: list[str], log: Path, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> Measure:
    started = time.perf_counter()
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=cwd,
                                   env=env)
        done, peak = threading.Event(), [0.0, 0.0]

        def sample() -> None:
            while not done.wait(SAMPLE_SECONDS):
                once, raw = tree_rss(process.pid)
                peak[0], peak[1] = max(peak[0], once), max(peak[1], raw)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    return Measure(wall, peak[0], peak[1], usage.ru_maxrss / 1024, process.returncode,
                   usage.ru_utime, usage.ru_stime)


DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def drop_page_cache() -> bool:
    """Write dirty pages out and drop the clean page cache; False when not allowed."""
    os.sync()
    try:
        DROP_CACHES.write_text("1\n")
    except OSError:
        return False
    return True


def clone_config(root: Path, repos: list[Path], output: Path) -> Path:
    listing = root / "repos-list.json"
    listing.write_text(json.dumps({repo.name: str(repo) for repo in repos}))
    config = root / "all-repos.json"
    config.write_text(json.dumps({
        "output_dir": str(output),
        "source": "all_repos.source.json_file",
        "source_settings": {"filename": str(listing)},
        "push": "all_repos.push.readonly",
        "push_settings": {},
    }))
    config.chmod(0o600)  # all-repos refuses a config others can read
    return config


def one_run(root: Path, run: int, repos: list[Path], central: demo.CentralSources, jobs: int,
            clone: Path, env: dict[str, str], drop: bool) -> dict[str, Measure]:
    here = root / f"run-{run}"
    here.mkdir()
    config = clone_config(here, repos, here / "all-repos-out")
    results: dict[str, Measure] = {}

    def step(name: str, command: list[str]) -> None:
        print(f"  {name}...", end="", flush=True)
        cold = drop and name != "replan"
        if cold and not drop_page_cache():
            print(" (page cache not dropped: not allowed)", end="", flush=True)
        if cold:
            warm = [str(clone), "--help"] if name == "clone" else [
                sys.executable, "-c", "import migrator.cli, migrator.pipeline.worker"]
            subprocess.run(warm, cwd=here, env=None if name == "clone" else env,
                           stdout=subprocess.DEVNULL, check=True)
        result = measure(command, here / f"{name}.log", cwd=here,
                         env=None if name == "clone" else env)
        results[name] = result
        print(f" {result.wall:.1f} s (cpu {result.user:.1f} user + {result.system:.1f} "
              f"system), tree peak {result.tree_mib:.0f} MiB (fork copies counted "
              f"again: {result.tree_raw_mib:.0f} MiB), largest process "
              f"{result.largest_mib:.0f} MiB, exit {result.status}", flush=True)
        if result.status not in (0, 1):  # 1: some repo is an error; the run still counts
            tail = (here / f"{name}.log").read_text().strip().splitlines()[-15:]
            raise SystemExit(f"{name} failed:\n  " + "\n  ".join(tail))

    def plan(fleet: Path, name: str) -> list[str]:
        return [*plan_command(fleet, central, here / name / "out", jobs),
                "--work", str(here / name / "work"), "--quiet"]

    step("clone", [str(clone), "-j", str(jobs), "-C", str(config)])
    step("plan", plan(root / "fleet", "full"))
    step("replan", plan(root / "fleet", "full"))
    step("plan-tenth", plan(root / "fleet-tenth", "tenth"))
    return results


def ratios(m: dict[str, Measure], n: int) -> dict[str, float]:
    tenth = n // 10
    return {
        "plan / clone wall": m["plan"].wall / m["clone"].wall,
        "re-plan / first plan wall": m["replan"].wall / m["plan"].wall,
        "peak RSS N / N/10": m["plan"].tree_mib / m["plan-tenth"].tree_mib,
        "peak RSS N / N/10, fork copies counted again": (m["plan"].tree_raw_mib
                                                         / m["plan-tenth"].tree_raw_mib),
        "time per repo N / N/10": (m["plan"].wall / n) / (m["plan-tenth"].wall / tenth),
    }


def bench(root: Path, args: argparse.Namespace) -> int:
    clone = all_repos_clone(args.venv)
    env = snapshot_code(root / "code")
    started = time.perf_counter()
    central = demo.build_central(root / "central")
    repos = build_bare_fleet(root, args.repos)
    print(f"fleet: {len(repos)} bare repos (and {args.repos // 10} of them) built in "
          f"{time.perf_counter() - started:.1f} s under {root}", flush=True)
    every: list[dict[str, float]] = []
    for run in range(1, args.runs + 1):
        print(f"run {run}/{args.runs}:", flush=True)
        measured = one_run(root, run, repos, central, args.jobs, clone, env,
                           drop=not args.keep_caches)
        got = ratios(measured, args.repos)
        every.append(got)
        for name, value in got.items():
            print(f"    {name}: {value:.3f}")
    print(f"N={args.repos}, --jobs {args.jobs}, {args.runs} run(s), page cache "
          f"{'kept' if args.keep_caches else 'dropped before each command but the re-plan'}: "
          f"{'median' if args.runs > 1 else 'ratio'} (goal)")
    for name, goal in GOALS.items():
        value = statistics.median(r[name] for r in every)
        mark = "ok" if value <= goal else "MISSED"
        print(f"  {name}: {value:.3f} (<= {goal}) {mark}   runs: "
              + ", ".join(f"{r[name]:.3f}" for r in every))
    raw = "peak RSS N / N/10, fork copies counted again"
    print(f"  ({raw}: {statistics.median(r[raw] for r in every):.3f}   runs: "
          + ", ".join(f"{r[raw]:.3f}" for r in every) + ")")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.workdir is not None:
        if args.workdir.exists() and any(args.workdir.iterdir()):
            raise SystemExit(f"--workdir {args.workdir} is not empty")
        args.workdir.mkdir(parents=True, exist_ok=True)
        return bench(args.workdir, args)
    with tempfile.TemporaryDirectory(prefix="migrator-vs-allrepos-") as tmp:
        return bench(Path(tmp), args)


if __name__ == "__main__":
    sys.exit(main())
