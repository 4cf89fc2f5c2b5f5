"""Benchmark `migrator plan` on a generated fleet.

    python benchmarks/plan_fleet.py --repos 1000 --jobs 2

Builds the central chart sources and an N-repo fleet (see migrator.demo.generate_fleet) in a
temporary directory, runs `migrator plan` on it as a subprocess, and prints wall time, time per
repo and peak memory: of the plan process, of its largest process, and of all its processes
together (the run and its planning workers, sampled every 0.1 s).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from migrator import demo


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark `migrator plan` on a generated fleet.")
    parser.add_argument("--repos", type=int, default=100, help="fleet size (default 100)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="passed to `migrator plan --jobs` (default: the tool's own default)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="build here and keep the result (default: a temporary directory)")
    args = parser.parse_args(argv)
    if args.repos < 1:
        parser.error("--repos must be at least 1")
    if args.workdir is not None and args.workdir.exists() and any(args.workdir.iterdir()):
        parser.error(f"--workdir {args.workdir} is not empty")
    return args


def plan_command(fleet: Path, central: demo.CentralSources, out: Path,
                 jobs: int | None) -> list[str]:
    command = [sys.executable, "-m", "migrator", "plan", "--fleet", str(fleet),
               "--central", str(central.repo_dir), "--families", str(central.families_dir),
               "--target-version", demo.TARGET_VERSION, "--out", str(out)]
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    return command


def peak_children_mib() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def tree_rss_mib(root_pid: int) -> float:
    """Resident memory of `root_pid` and every process below it (Linux /proc), each memory
    counted once: a child that has not yet called exec (subprocess forks, or vforks, and then
    execs git) runs in its parent's pages, which its RSS repeats. See `tree_rss`."""
    return tree_rss(root_pid)[0]


def tree_rss(root_pid: int) -> tuple[float, float]:
    """(`tree_rss_mib`, the plain sum of every process's RSS, such copies counted again)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    command: dict[int, bytes] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(proc.name)] = int(fields[1])
            rss[int(proc.name)] = int(fields[21])
            command[int(proc.name)] = (proc / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
    once = total = 0
    todo = [root_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        parent = parents.get(pid)
        if pid == root_pid or parent is None or command.get(pid) != command.get(parent):
            once += rss.get(pid, 0)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    page = os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)
    return once * page, total * page


def sample_tree_peak(pid: int, done: threading.Event, peak: list[float]) -> None:
    while not done.wait(0.1):
        peak[0] = max(peak[0], tree_rss_mib(pid))


def bench(root: Path, repos: int, jobs: int | None) -> int:
    started = time.perf_counter()
    central = demo.build_central(root / "central")
    demo.generate_fleet(root / "fleet", repos)
    built = time.perf_counter() - started
    # The git processes that built the fleet are children too; their peak is the baseline.
    baseline = peak_children_mib()
    print(f"fleet: {repos} repos built in {built:.1f} s under {root}")

    command = plan_command(root / "fleet", central, root / "out", jobs)
    print("running:", " ".join(command[1:]), flush=True)
    log = root / "plan.log"
    started = time.perf_counter()
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        done, tree_peak = threading.Event(), [0.0]
        sampler = threading.Thread(target=sample_tree_peak, args=(process.pid, done, tree_peak))
        sampler.start()
        # wait4 reports the plan process (and the children it reaped) alone, whereas
        # getrusage(RUSAGE_CHILDREN) also counts the git processes that built the fleet.
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
    wall = time.perf_counter() - started

    print(f"exit status: {process.returncode}")
    print(f"wall time: {wall:.2f} s")
    print(f"per repo: {wall / repos * 1000:.1f} ms")
    # Less sensitive than wall time to what else the machine runs.
    print(f"cpu time: {usage.ru_utime + usage.ru_stime:.1f} s (migrator plan and every process "
          "it waited for)")
    print(f"peak memory: {usage.ru_maxrss / 1024:.1f} MiB (largest process of migrator plan); "
          f"all children: {peak_children_mib():.1f} MiB, fleet-building git alone: "
          f"{baseline:.1f} MiB")
    print(f"peak memory of all migrator plan processes together: {tree_peak[0]:.1f} MiB "
          f"(sampled every 0.1 s)")
    if process.returncode != 0:
        tail = log.read_text().strip().splitlines()[-15:]
        print("migrator plan failed:", *tail, sep="\n  ", file=sys.stderr)
    return process.returncode


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        return bench(args.workdir, args.repos, args.jobs)
    with tempfile.TemporaryDirectory(prefix="migrator-bench-") as tmp:
        return bench(Path(tmp), args.repos, args.jobs)


if __name__ == "__main__":
    sys.exit(main())
