"""Where a plan's CPU goes, beside all-repos' clone of the same repos (issue 11).

    .venv/bin/python benchmarks/plan_cpu_split.py 200

Builds N local bare repos as `vs_allrepos.py` does, drops the page cache before each measured
step as it does, clones them with `all-repos-clone -j 1`
(its CPU: git and all-repos' Python, the whole process tree), then plans them in this process,
one repo after the other, as a planning worker does (fetch, plan, the repo's report files and
plan-cache records; the run's own filing and fleet reports are not in it). Each call into a
library the plan is built on is timed (process CPU, so Go's own threads count for Helm):

- git: every git process (clone, patch staging), the CPU of this process's children;
- Helm: every call into helm-python-sdk's native library (load, render, its YAML reader);
- ruamel.yaml: every load, dump and compose (values files read and written round trip, deploy
  files read and rewritten);
- libyaml: each event PyYAML's C parser hands over (limits, deploy files read fast).

What is left is the tool's own Python (and the standard library it calls). The last lines
compare the libraries' share alone with all-repos' whole clone: the plan's goal of 1.0 (plan
wall / clone wall) asks the plan, libraries and all, to cost no more than that clone.
"""

from __future__ import annotations

import argparse
import functools
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import helm_python._native as helm_native  # noqa: E402
import ruamel.yaml.main  # noqa: E402
import yaml as pyyaml  # noqa: E402
from vs_allrepos import (  # noqa: E402
    ALL_REPOS_VENV,
    all_repos_clone,
    build_bare_fleet,
    clone_config,
    drop_page_cache,
)

from migrator import config, demo  # noqa: E402
from migrator.discover import local  # noqa: E402
from migrator.pipeline.tasks import FetchTask, PlanTask, Setup  # noqa: E402
from migrator.pipeline.worker import Worker  # noqa: E402

SPENT: dict[str, float] = {"Helm": 0.0, "ruamel.yaml": 0.0, "libyaml": 0.0}
_INSIDE: list[str] = []  # the library being timed: a library calling back into ours counts once


def _timed(name: str, call: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(call)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _INSIDE:
            return call(*args, **kwargs)
        _INSIDE.append(name)
        start = time.process_time()
        try:
            return call(*args, **kwargs)
        finally:
            SPENT[name] += time.process_time() - start
            _INSIDE.pop()
    return wrapper


def _timed_events(parse: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """PyYAML's parse is a generator: libyaml works as each event is taken."""
    @functools.wraps(parse)
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        events = parse(*args, **kwargs)
        while True:
            start = time.process_time()
            try:
                event = next(events)
            except StopIteration:
                return
            finally:
                SPENT["libyaml"] += time.process_time() - start
            yield event
    return wrapper


def instrument() -> None:
    for name in ("call_string", "call_handle", "call_status", "call_status_no_error_out"):
        setattr(helm_native, name, _timed("Helm", getattr(helm_native, name)))
    for name in ("load", "load_all", "dump", "dump_all", "compose", "compose_all"):
        setattr(ruamel.yaml.main.YAML, name,
                _timed("ruamel.yaml", getattr(ruamel.yaml.main.YAML, name)))
    pyyaml.parse = _timed_events(pyyaml.parse)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cold() -> None:
    """Drop the page cache (as root): on this VM a command's system time grows with the page
    cache the commands before it left (see vs_allrepos.py)."""
    if not drop_page_cache():
        print("(page cache not dropped: not allowed)", file=sys.stderr)


def clone_cpu(root: Path, repos: list[Path], venv: Path) -> tuple[float, float]:
    """all-repos-clone -j 1 of `repos`: (CPU seconds of its whole tree, wall seconds)."""
    clone = all_repos_clone(venv)
    config_file = clone_config(root, repos, root / "all-repos-out")
    cold()
    before, start = children_cpu(), time.perf_counter()
    subprocess.run([str(clone), "-j", "1", "-C", str(config_file)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return children_cpu() - before, time.perf_counter() - start


def plan_cpu(root: Path, central: demo.CentralSources, n: int) -> tuple[float, float, float]:
    """The fleet planned in this process: (own CPU, git CPU, wall) in seconds."""
    work = root / "plan"
    flags = config.PlanFlags(repos=config.FleetFlags(fleet=root / "fleet"),
                             central=central.repo_dir, families=central.families_dir,
                             target_version=demo.TARGET_VERSION, out=work / "out",
                             work=work / "work")
    settings = config.plan_settings({}, flags)
    repos = local.list_repos(local.LocalFleetSettings(root / "fleet", (), ()))[:n]
    (work / "tmp").mkdir(parents=True)
    worker = Worker(Setup(settings, settings.render_limits, None, str(work / "tmp"),
                          spooled=True))
    instrument()
    cold()
    own, git, start = time.process_time(), children_cpu(), time.perf_counter()
    for repo in repos:
        fetched = worker.run(FetchTask(repo))
        worker.run(PlanTask(repo, fetched.commit))
    return time.process_time() - own, children_cpu() - git, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repos", type=int, nargs="?", default=200, help="fleet size N")
    parser.add_argument("--venv", type=Path, default=ALL_REPOS_VENV,
                        help=f"where all-repos is installed (default {ALL_REPOS_VENV})")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="migrator-cpu-split-") as tmp:
        root = Path(tmp)
        central = demo.build_central(root / "central")
        repos = build_bare_fleet(root, args.repos)
        clone, clone_wall = clone_cpu(root, repos, args.venv)
        own, git, wall = plan_cpu(root, central, args.repos)
    n = args.repos
    libraries = git + sum(SPENT.values())
    rows = [("git (clone, patch staging)", git), *SPENT.items(),
            ("the tool's own Python", own - sum(SPENT.values())), ("plan, in all", own + git)]
    print(f"{n} repos, one process, page cache dropped before each: CPU per repo")
    for name, seconds in rows:
        print(f"  {name:<28} {1000 * seconds / n:6.1f} ms  {100 * seconds / (own + git):5.1f} %")
    print(f"  (plan wall {1000 * wall / n:.1f} ms per repo)")
    print(f"all-repos-clone -j 1, same repos: {1000 * clone / n:.1f} ms CPU per repo "
          f"(wall {1000 * clone_wall / n:.1f} ms)")
    print(f"libraries alone / all-repos' clone: {libraries / clone:.2f}")
    print(f"plan / all-repos' clone: {(own + git) / clone:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
