"""Write every report of a plan to a directory: the fleet files and one folder per repo.

Nothing written here reveals a secret value: reports redact what they show, and each
`changes.patch` is redacted (a patch that carries secrets is kept whole in the work dir only).
"""

from __future__ import annotations

import json
from pathlib import Path

from migrator.errors import RepoError
from migrator.fsio import write_atomic
from migrator.model import FleetPlan, RepoPlan
from migrator.redact import redact_patch
from migrator.report.csv import fleet_csv
from migrator.report.html import dashboard
from migrator.report.json import PATCH_FILE, fleet_json, repo_json
from migrator.report.junit import fleet_junit
from migrator.report.markdown import fleet_markdown, repo_markdown


def write_reports(fleet: FleetPlan, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for plan in fleet.repos:
        _write_repo(fleet, plan, out / "repos" / _safe_slug(plan))
    write_atomic(out / "fleet.json", _dump(fleet_json(fleet)))
    write_atomic(out / "fleet.md", fleet_markdown(fleet))
    write_atomic(out / "fleet.html", dashboard(fleet))
    write_atomic(out / "fleet.csv", fleet_csv(fleet))
    write_atomic(out / "junit.xml", fleet_junit(fleet))


def _write_repo(fleet: FleetPlan, plan: RepoPlan, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "report.json", _dump(repo_json(plan, fleet.central)))
    write_atomic(folder / "report.md", repo_markdown(
        plan, fleet.central, plan_id=fleet.plan_id, tool_version=fleet.tool_version))
    patch = folder / PATCH_FILE
    if plan.patch is not None:
        # Secret values never reach --out: they are replaced here, and the full patch is in
        # the work dir (`WorkDir.patch`), which report.md names.
        write_atomic(patch, redact_patch(plan.patch))
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

