"""What a sharded run leaves for `migrator report merge`, and the merge itself.

Each `plan --shard K/N` job writes `plan-state.json` next to its reports: the fleet plan as data,
redacted as the reports are (values, texts and the patches, as in `repos/<slug>/changes.patch`;
the full patch of a repo with secrets stays in that shard's work dir). The merge reads the
shards' states, checks they planned the same thing, and writes the reports of the whole fleet.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from migrator import codec, lock
from migrator.errors import ConfigError
from migrator.fsio import replacing
from migrator.model import FleetPlan, RepoPlan
from migrator.report.common import redact_plan
from migrator.report.write import Rendered, ReportsNotWritten, write_reports

STATE_FILE = "plan-state.json"
STATE_SCHEMA = 2  # 2: outcomes are data (kind and fields), not a verdict and a reason


def save_state(fleet: FleetPlan, out: Path, rendered: Rendered | None = None) -> Path:
    """`plan-state.json` in `out`, written one repo at a time: the bytes of
    `json.dumps(state, indent=1, sort_keys=True)`, never the whole text in memory. A repo whose
    entry is `rendered` already gets that (its plan in `fleet` may be a light view)."""
    path = out / STATE_FILE
    try:
        with replacing(path) as handle:
            for chunk in _state_chunks(fleet, rendered):
                handle.write(chunk.encode("utf-8"))
    except OSError as exc:
        raise ReportsNotWritten(out, exc) from exc
    return path


# Stands for the list of repos in the state's skeleton; its line is replaced by the repos.
_REPOS = "\0migrator-plan-state-repos\0"
# A repo of the list sits three levels deep (state, fleet, repos): three spaces at indent=1.
_DEPTH = "   "


def state_item(plan: RepoPlan) -> str:
    """A repo's entry of plan-state.json, as the list holds it (before its indentation)."""
    return json.dumps(codec.dump(redact_plan(plan)), indent=1, sort_keys=True)


def _state_chunks(fleet: FleetPlan, rendered: Rendered | None) -> Iterator[str]:
    skeleton = codec.dump(replace(fleet, repos=()))
    if fleet.repos:
        skeleton["repos"] = [_REPOS]
    text = json.dumps({"schema": STATE_SCHEMA, "fleet": skeleton}, indent=1,
                      sort_keys=True) + "\n"
    if not fleet.repos:
        yield text
        return
    marker = f"{_DEPTH}{json.dumps(_REPOS)}"
    before, after = text.split(marker)
    yield before
    for i, plan in enumerate(fleet.repos):
        item = rendered.state_item(plan.repo.slug) if rendered is not None else None
        if item is None:
            item = state_item(plan)
        yield ("" if i == 0 else ",\n") + _DEPTH + item.replace("\n", "\n" + _DEPTH)
    yield after


def load_state(directory: Path) -> FleetPlan:
    path = directory / STATE_FILE
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: missing (was this directory written by `plan`?)") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from exc
    if data.get("schema") != STATE_SCHEMA:
        raise ConfigError(f"{path}: state schema {data.get('schema')}, expected {STATE_SCHEMA}")
    return codec.load(FleetPlan, data["fleet"])


def merge(out: Path, shards: Sequence[Path]) -> FleetPlan:
    """One fleet's reports from the reports of its shards, written while no other run
    writes `out`."""
    if not shards:
        raise ConfigError("report merge: name at least one shard directory")
    fleets = [load_state(directory) for directory in shards]
    central = fleets[0].central
    for directory, fleet in zip(shards, fleets, strict=True):
        if fleet.central != central:
            raise ConfigError(f"{directory}: planned {fleet.central.name} "
                              f"{fleet.central.target_version}, the first shard "
                              f"{central.name} {central.target_version}")
    by_slug: dict[str, tuple[RepoPlan, Path]] = {}
    for directory, fleet in zip(shards, fleets, strict=True):
        for plan in fleet.repos:
            if plan.repo.slug in by_slug:
                first = by_slug[plan.repo.slug][1]
                raise ConfigError(f"{plan.repo.name} is in two shards ({first} and {directory}):"
                                  " were they planned with the same --shard N?")
            by_slug[plan.repo.slug] = (plan, directory)
    repos = tuple(plan for plan, _ in sorted(by_slug.values(), key=lambda p: p[0].repo.name))
    merged = FleetPlan(central=central, repos=repos, tool_version=fleets[0].tool_version,
                       plan_id="+".join(f.plan_id for f in fleets),
                       unplanned=tuple(name for f in fleets for name in f.unplanned))
    with lock.hold(out, "--out"):
        write_reports(merged, out)
        save_state(merged, out)
    return merged
