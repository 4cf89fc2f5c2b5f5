"""Write a run's reports, unless the last run into the same folder wrote exactly these.

The reports are a function of the plans (as the journal holds them), the repos, the central
chart, the settings, the tool's code and the campaign history: `plan_fleet_traced` digests all
but the history. An unchanged re-plan of a large fleet would otherwise spend most of its time
rendering thousands of report files into the bytes they already hold. The work dir remembers,
per reports folder, the key of the last run that wrote it and each file's digest; a run with
the same key whose files are all still those bytes writes nothing. Anything else (a file edited
or deleted, another key, a plan not from the journal) writes everything, as before.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from migrator.fsio import write_atomic
from migrator.history import Observation
from migrator.model import FleetPlan
from migrator.report.planstate import save_state
from migrator.report.write import Rendered, write_reports
from migrator.workdir import WorkDir


def write(fleet: FleetPlan, digest: str | None, out: Path, work: WorkDir,
          history: Sequence[Observation] = (), rendered: Rendered | None = None) -> bool:
    """Every report of `fleet` in `out` (and plan-state.json); False when they were all
    there already, byte for byte, and nothing was written. `rendered`: the repo files
    rendered as the repos were planned (`write_reports`)."""
    key = _key(digest, out, history) if digest is not None else None
    memo = work.outputs(out)
    if key is not None and _holds(out, _recalled(memo, key)):
        return False
    write_reports(fleet, out, history, rendered)
    save_state(fleet, out, rendered)
    if key is None:
        memo.unlink(missing_ok=True)
    else:
        write_atomic(memo, json.dumps({"key": key, "files": _digests(out)}, sort_keys=True))
    return True


def _key(digest: str, out: Path, history: Sequence[Observation]) -> str:
    return hashlib.sha256(f"{digest}\0{out.resolve()}\0{tuple(history)!r}".encode()).hexdigest()


def _recalled(memo: Path, key: str) -> dict[str, str] | None:
    try:
        recalled = json.loads(memo.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(recalled, dict) or recalled.get("key") != key:
        return None
    files = recalled.get("files")
    return files if isinstance(files, dict) and files else None


def _holds(out: Path, files: dict[str, str] | None) -> bool:
    if files is None:
        return False
    for rel, digest in files.items():
        path = out / rel
        if path.is_symlink() or not path.is_file():
            return False
        try:
            if _sha256(path) != digest:
                return False
        except OSError:
            return False
    return True


def _digests(out: Path) -> dict[str, str]:
    """Each published file under `out` (dot files, such as the lock, left out)."""
    found: dict[str, str] = {}
    for folder, dirs, names in os.walk(out):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                found[path.relative_to(out).as_posix()] = _sha256(path)
    return found


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
