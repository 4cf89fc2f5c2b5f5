from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from migrator.errors import RepoError
from migrator.model import RepoRef
from migrator.report.write import write_reports
from tests.report.sample import PASSWORD, PASSWORD_B64, fleet, skipped_repo


def test_writes_fleet_files_and_a_folder_per_repo(tmp_path: Path) -> None:
    write_reports(fleet(), tmp_path)
    for name in ("fleet.json", "fleet.md", "fleet.html", "fleet.csv", "junit.xml",
                 "central-gaps.md", "central-gaps.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    for plan in fleet().repos:
        folder = tmp_path / "repos" / plan.repo.slug
        assert json.loads((folder / "report.json").read_text())["repo"] == plan.repo.name
        assert (folder / "report.md").read_text().startswith("> ")
        assert (folder / "changes.patch").exists() == (plan.patch is not None)
    assert (tmp_path / "repos/shop-orders/changes.patch").read_text() == fleet().repos[0].patch
    # every report path the fleet index names exists
    index = json.loads((tmp_path / "fleet.json").read_text())
    assert all((tmp_path / r["report"]).is_file() for r in index["repos"])
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_patch_from_an_earlier_plan_is_removed_when_nothing_is_proposed(tmp_path: Path) -> None:
    plan = fleet()
    write_reports(plan, tmp_path)
    patch = tmp_path / "repos/shop-orders/changes.patch"
    assert patch.exists()
    unproposed = dataclasses.replace(plan.repos[0], patch=None)
    write_reports(dataclasses.replace(plan, repos=(unproposed,)), tmp_path)
    assert not patch.exists()


def test_the_password_appears_in_none_of_the_written_files(tmp_path: Path) -> None:
    write_reports(fleet(), tmp_path)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 7 + 2 * 5 + 2  # fleet files with the gap report, repos, patches
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert PASSWORD not in text, path
        assert PASSWORD_B64 not in text, path


def test_a_slug_that_would_escape_the_report_folder_is_refused(tmp_path: Path) -> None:
    bad = dataclasses.replace(skipped_repo(), repo=RepoRef("evil", "../evil", "/x"))
    with pytest.raises(RepoError, match="evil"):
        write_reports(dataclasses.replace(fleet(), repos=(bad,)), tmp_path / "out")
    assert not (tmp_path / "evil").exists()


SECRET_PATCH = f"""diff --git a/deploy/values.yaml b/deploy/values.yaml
new file mode 100644
--- /dev/null
+++ b/deploy/values.yaml
@@ -0,0 +1,3 @@
+database:
+  host: db
+  password: {PASSWORD}
"""


def test_a_patch_that_carries_a_secret_is_published_redacted_and_the_report_says_why(
        tmp_path: Path) -> None:
    plan = dataclasses.replace(fleet(), repos=(
        dataclasses.replace(fleet().repos[0], patch=SECRET_PATCH),))
    write_reports(plan, tmp_path)
    folder = tmp_path / "repos/shop-orders"
    patch = (folder / "changes.patch").read_text()
    assert PASSWORD not in patch and "+  password: <redacted>" in patch
    assert patch.startswith("# migrator: secret values or binary contents on 1 line ")
    report = (folder / "report.md").read_text()
    assert "### Secret values in the change" in report
    assert "`patches/shop-orders.patch` in the work dir" in report
    data = json.loads((folder / "report.json").read_text())
    assert data["patch"] == "changes.patch"
    assert data["patch_secrets"] == {"redacted_lines": 1, "full_patch": "patches/shop-orders.patch",
                                     "where": "work dir"}


def test_a_patch_without_secrets_is_published_as_it_is_and_the_report_says_nothing_more(
        tmp_path: Path) -> None:
    write_reports(fleet(), tmp_path)
    folder = tmp_path / "repos/shop-orders"
    assert (folder / "changes.patch").read_text() == fleet().repos[0].patch
    assert "Secret values in the change" not in (folder / "report.md").read_text()
    assert json.loads((folder / "report.json").read_text())["patch_secrets"] is None
