"""Write every report of a plan to a directory: the fleet files and one folder per repo.

Nothing written here reveals a secret value: reports redact what they show, and each
`changes.patch` is redacted (a patch that carries secrets is kept whole in the work dir only).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from migrator.central.gaps import gaps
from migrator.errors import MigratorError, RepoError
from migrator.fsio import write_atomic
from migrator.history import Observation, compact, to_json
from migrator.model import CentralInfo, FleetPlan, RepoPlan
from migrator.redact import redact_patch
from migrator.report.csv import fleet_csv
from migrator.report.gaps import GAPS_JSON, GAPS_MD, gaps_json, gaps_markdown
from migrator.report.html import dashboard
from migrator.report.json import PATCH_FILE, fleet_json, repo_json
from migrator.report.junit import fleet_junit
from migrator.report.markdown import fleet_markdown, repo_markdown


class ReportsNotWritten(MigratorError):
    """The disk refused a report (full, read-only, gone): one line, and what is left."""

    def __init__(self, out: Path, exc: OSError) -> None:
        where = f" ({exc.filename})" if exc.filename else ""
        super().__init__(f"cannot write the reports in {out}: {exc.strerror or exc}{where}; "
                         "its fleet files are still those of the last run that wrote them all")


HISTORY_JSON = "history.json"  # the campaign's history (`status` runs), for `report merge`


def write_reports(fleet: FleetPlan, out: Path, history: Sequence[Observation] = (),
                  rendered: Rendered | None = None) -> None:
    """Every report of `fleet` in `out`, with the campaign's `history` in the dashboard (and in
    history.json) when there is one. Each file is replaced whole (written aside, then
    renamed), the repos' first and the fleet's last, fleet.json the very last: a run stopped on
    the way (a full disk, a kill) leaves no half file, and fleet files all of one run.

    A repo whose files are `rendered` already gets those: its plan in `fleet` may then be the
    light view the run held (report/spool.py), enough for the fleet files."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        for plan in fleet.repos:
            _write_repo(fleet, plan, out / "repos" / _safe_slug(plan), rendered)
        found = gaps(fleet)
        fleet_files = {  # all rendered before the first is written
            "fleet.md": fleet_markdown(fleet),
            GAPS_MD: gaps_markdown(found, fleet.plan_id),
            GAPS_JSON: _dump(gaps_json(found)),
            "fleet.html": dashboard(fleet, history),
            "fleet.csv": fleet_csv(fleet),
            "junit.xml": fleet_junit(fleet),
            "fleet.json": _dump(fleet_json(fleet)),
        }
        if history:
            fleet_files = {HISTORY_JSON: _dump(to_json(compact(history))), **fleet_files}
        else:
            # One left by an earlier run would be joined by `report merge` as this run's.
            (out / HISTORY_JSON).unlink(missing_ok=True)
        for name, text in fleet_files.items():
            write_atomic(out / name, text)
    except OSError as exc:
        raise ReportsNotWritten(out, exc) from exc


@dataclass(frozen=True)
class RepoFiles:
    """A repo's own report files, as text: report.json, report.md and the redacted patch (None:
    nothing is proposed)."""

    report_json: str
    report_md: str
    patch: str | None


def repo_files(plan: RepoPlan, central: CentralInfo, plan_id: str,
               tool_version: str) -> RepoFiles:
    # Secret values never reach --out: they are replaced here, and the full patch is in the
    # work dir (`WorkDir.patch`), which report.md names.
    return RepoFiles(
        _dump(repo_json(plan, central)),
        repo_markdown(plan, central, plan_id=plan_id, tool_version=tool_version),
        redact_patch(plan.patch) if plan.patch is not None else None)


class Rendered(Protocol):
    """Report files rendered before the run wrote its reports (report/spool.py): a repo's own
    files, its report.md naming the plan as `PLAN_ID_PLACEHOLDER` (the fleet's plan id is known
    only once every repo is planned), and its entry of plan-state.json."""

    def files(self, slug: str) -> RepoFiles | None: ...

    def state_item(self, slug: str) -> str | None: ...


# As long as a plan id (`pipeline.fleet._plan_id`), so that a report.md fits its size budget
# the same way with either; no report holds a NUL otherwise.
PLAN_ID_PLACEHOLDER = "\0" * 7


def _write_repo(fleet: FleetPlan, plan: RepoPlan, folder: Path,
                rendered: Rendered | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    files = rendered.files(plan.repo.slug) if rendered is not None else None
    if files is None:
        files = repo_files(plan, fleet.central, fleet.plan_id, fleet.tool_version)
    else:
        files = replace(files, report_md=files.report_md.replace(PLAN_ID_PLACEHOLDER,
                                                                 fleet.plan_id))
    write_atomic(folder / "report.json", files.report_json)
    write_atomic(folder / "report.md", files.report_md)
    patch = folder / PATCH_FILE
    if files.patch is not None:
        write_atomic(patch, files.patch)
    else:
        # A patch left by an earlier plan would be applied by mistake.
        patch.unlink(missing_ok=True)


def _safe_slug(plan: RepoPlan) -> str:
    slug = plan.repo.slug
    if not slug or slug in (".", "..") or "/" in slug or "\\" in slug or "\0" in slug:
        raise RepoError(f"{plan.repo.name}: slug {slug!r} cannot name a report folder")
    return slug


def _dump(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

