from __future__ import annotations

import csv
import dataclasses
import io

from migrator.model import Kind, Outcome
from migrator.report.csv import COLUMNS, fleet_csv
from tests.report.sample import PASSWORD, fleet


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_one_row_per_repo_with_counts() -> None:
    parsed = rows(fleet_csv(fleet()))
    assert list(parsed[0]) == list(COLUMNS)
    assert [r["repo"] for r in parsed] == [p.repo.name for p in fleet().repos]
    orders = parsed[0]
    assert (orders["verdict"], orders["cosmetic"], orders["kept"], orders["pinned"],
            orders["dropped"], orders["environments"]) == ("ready", "1", "6", "1", "41", "2")
    assert orders["lineage"] == "app-template 1.4.0" and orders["lineage_score"] == "0.96"
    legacy = next(r for r in parsed if r["repo"] == "ops/legacy")
    assert (legacy["destructive"], legacy["findings"]) == ("2", "1")


def test_cells_that_a_spreadsheet_would_run_as_formulas_are_defused() -> None:
    plan = fleet()
    evil = dataclasses.replace(plan.repos[3], outcome=Outcome(Kind.BAD_INPUT,
                                                               detail='=HYPERLINK("x","y")'))
    text = fleet_csv(dataclasses.replace(plan, repos=(evil,)))
    assert rows(text)[0]["reason"] == '\'=HYPERLINK("x","y")'


def test_no_password_in_the_csv() -> None:
    assert PASSWORD not in fleet_csv(fleet())
