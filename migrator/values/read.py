"""Read what a fork deploys today: its chart's defaults and each environment's values files and
static `--set` flags, as Helm would read them. Files are data: checked, never followed out of the
repository."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator import tree
from migrator.errors import RepoError
from migrator.model import EmbeddedChart
from migrator.values.flags import flag_values, static
from migrator.verify import render


@dataclass(frozen=True)
class ForkValues:
    defaults: dict[str, Any]  # the chart's own values.yaml ({} when it has none)
    by_env: dict[str, dict[str, Any]]  # env -> its values files merged, static --set applied


def read_fork_values(workdir: Path, chart: EmbeddedChart) -> ForkValues:
    defaults: dict[str, Any] = {}
    if chart.values_file:
        text = read_text(workdir, chart.values_file)
        defaults = render.parse_values(text, chart.values_file) if text else {}
    by_env: dict[str, dict[str, Any]] = {}
    for env in chart.environments:
        merged: dict[str, Any] = {}
        for rel in env.values_files:
            text = read_text(workdir, rel, env.release_source)
            merged = tree.merge(merged, render.parse_values(text, rel))
        # Static --set values move into the values files; dynamic ones stay flags.
        by_env[env.name] = tree.merge(merged, flag_values(static(env.set_flags), ()))
    return ForkValues(defaults, by_env)


def read_text(workdir: Path, rel: str, cited_by: str = "") -> str:
    path = workdir / rel
    if path.is_symlink() and not path.resolve().is_relative_to(workdir.resolve()):
        raise RepoError("symlink points outside the repository", file=rel)
    if not path.is_file():
        suffix = f" (passed by {cited_by})" if cited_by else ""
        raise RepoError(f"values file does not exist{suffix}", file=rel)
    if path.stat().st_size > render.MAX_FILE_BYTES:
        raise RepoError(f"values file is over {render.MAX_FILE_BYTES} bytes", file=rel)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RepoError("not a UTF-8 text file", file=rel) from exc
