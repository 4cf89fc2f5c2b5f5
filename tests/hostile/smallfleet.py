"""A few real app repos, each a fork of the central chart deployed by a Makefile, and the CLI run
as a real process: what the hostile tests (and the work dir's) plan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from migrator import demo


def fork_repo(path: Path, name: str, files: Mapping[str, str] | None = None) -> Path:
    """A git repo at `path`: app-template 2.0.0 forked as chart/ (named `name`), deployed by a
    Makefile, then a second commit that writes `files` over it."""
    central = demo.chart_source_dir(demo.CENTRAL_NAME, "2.0.0")
    pristine = {f"chart/{rel}": text
                for rel, text in demo.fork_chart(central, name, "1.0.0").items()}
    ours = {**pristine, "Makefile": f"deploy:\n\thelm upgrade --install {name} ./chart "
                                    "--namespace shop\n", **(files or {})}
    demo.write_repo(path, [demo.Commit("Fork app-template 2.0.0", pristine),
                           demo.Commit("Our settings", ours)])
    return path


def fork_values(name: str) -> str:
    """The values.yaml of a fork named `name`, as `fork_repo` writes it."""
    central = demo.chart_source_dir(demo.CENTRAL_NAME, "2.0.0")
    return demo.fork_chart(central, name, "1.0.0")["values.yaml"]


def migrator(*args: str | Path, env: Mapping[str, str] | None = None, timeout: float = 300,
             cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`migrator ...` in a process of its own."""
    return subprocess.run([sys.executable, "-m", "migrator", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, check=False,
                          env={**os.environ, **(env or {})}, cwd=cwd)


def plan_args(fleet: Path, central: demo.CentralSources, out: Path) -> list[str | Path]:
    return ["plan", "--fleet", fleet, "--central", central.repo_dir, "--target-version", "2.0.0",
            "--out", out, "--jobs", "2", "--quiet"]


def fleet_json(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "fleet.json").read_text(encoding="utf-8"))
    return data


def verdicts(out: Path) -> dict[str, str]:
    return {r["name"]: r["verdict"] for r in fleet_json(out)["repos"]}
