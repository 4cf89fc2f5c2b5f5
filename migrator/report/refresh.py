"""The dashboard of a written plan, again, with the campaign's history: what `status` does after
each run, and `report merge` with the histories its shards left (`history.json`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from migrator import lock
from migrator.errors import ConfigError
from migrator.fsio import write_atomic
from migrator.history import Observation, compact, from_json, joined, to_json
from migrator.report.html import dashboard
from migrator.report.planstate import STATE_FILE, load_state
from migrator.report.write import HISTORY_JSON, ReportsNotWritten

DASHBOARD = "fleet.html"


def refresh_dashboard(out: Path, history: Sequence[Observation]) -> Path | None:
    """Rewrite `out`'s fleet.html (and history.json) with `history`; the path written, or None
    when there is no history or `out` holds no plan (`plan-state.json`) to draw it with."""
    if not history or not (out / STATE_FILE).is_file():
        return None
    fleet = load_state(out)
    try:
        with lock.hold(out, "--out"):
            write_atomic(out / HISTORY_JSON,
                         json.dumps(to_json(compact(history)), indent=2,
                                    ensure_ascii=False) + "\n")
            write_atomic(out / DASHBOARD, dashboard(fleet, history))
    except OSError as exc:
        raise ReportsNotWritten(out, exc) from exc
    return out / DASHBOARD


def shard_histories(shards: Sequence[Path]) -> tuple[Observation, ...]:
    """The histories the shards' `status` runs left, as one."""
    found = []
    for directory in shards:
        path = directory / HISTORY_JSON
        if not path.is_file():
            continue
        try:
            found.append(from_json(json.loads(path.read_text(encoding="utf-8")), str(path)))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc})") from exc
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
    return joined(*found)

