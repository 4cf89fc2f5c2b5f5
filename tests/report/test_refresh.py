"""The campaign history in the written reports: plan writes it, status refreshes the dashboard,
report merge joins the shards' histories."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from typer.testing import CliRunner

from migrator import cli
from migrator.history import Observation, from_json
from migrator.report.planstate import save_state
from migrator.report.refresh import refresh_dashboard, shard_histories
from migrator.report.write import HISTORY_JSON, write_reports
from tests.report.sample import fleet

DAY = 86400.0


def seen(taken: float, repo: str, state: str) -> Observation:
    return Observation(taken=taken, repo=repo, state=state)  # type: ignore[arg-type]


def days_drawn(html: str) -> int:
    return html.count('<g class="day"')


def test_a_plan_with_history_draws_it_and_keeps_it_for_report_merge(tmp_path: Path) -> None:
    history = (seen(0.0, "shop/orders", "open"), seen(2 * DAY, "shop/orders", "merged"))
    write_reports(fleet(), tmp_path, history)
    assert days_drawn((tmp_path / "fleet.html").read_text()) == 3
    kept = json.loads((tmp_path / HISTORY_JSON).read_text())
    assert from_json(kept, "history.json") == history

    write_reports(fleet(), tmp_path)  # a plan whose work dir has no history
    assert 'id="campaign"' not in (tmp_path / "fleet.html").read_text()
    assert not (tmp_path / HISTORY_JSON).exists()  # not joined again by report merge


def test_status_refreshes_the_dashboard_of_the_plan_written_there(tmp_path: Path) -> None:
    write_reports(fleet(), tmp_path)
    before = (tmp_path / "fleet.md").read_text()
    history = (seen(0.0, "shop/orders", "draft"),)
    assert refresh_dashboard(tmp_path, history) is None  # no plan-state.json: no plan to draw
    save_state(fleet(), tmp_path)
    assert refresh_dashboard(tmp_path, ()) is None
    assert refresh_dashboard(tmp_path, history) == tmp_path / "fleet.html"
    html = (tmp_path / "fleet.html").read_text()
    assert days_drawn(html) == 1 and 'data-slug="shop-orders"' in html  # the plan, still
    assert (tmp_path / "fleet.md").read_text() == before  # only the dashboard is redrawn
    assert not (tmp_path / ".migrator.lock").exists()


def test_report_merge_joins_the_histories_of_its_shards(tmp_path: Path) -> None:
    plan = fleet()
    shards = [tmp_path / "shard-1", tmp_path / "shard-2"]
    halves = [plan.repos[:2], plan.repos[2:]]
    histories = [
        (seen(0.0, plan.repos[0].repo.name, "open"), seen(3 * DAY, plan.repos[0].repo.name,
                                                          "merged")),
        (seen(DAY, plan.repos[2].repo.name, "draft"),),
    ]
    for directory, repos, history in zip(shards, halves, histories, strict=True):
        shard = dataclasses.replace(plan, repos=repos)
        write_reports(shard, directory, history)
        save_state(shard, directory)
    (tmp_path / "shard-3").mkdir()
    save_state(dataclasses.replace(plan, repos=()), tmp_path / "shard-3")  # no status ran
    shards.append(tmp_path / "shard-3")

    assert shard_histories(shards) == (*histories[0][:1], *histories[1], histories[0][1])
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.app, ["report", "merge", *map(str, shards),
                                          "--out", str(out)])
    assert result.exit_code == 1, result.output  # the sample fleet has an error repo
    html = (out / "fleet.html").read_text()
    assert days_drawn(html) == 4 and html.count('data-slug="') == len(plan.repos)
    assert len(json.loads((out / HISTORY_JSON).read_text())["observations"]) == 3


def test_a_damaged_shard_history_is_named(tmp_path: Path) -> None:
    write_reports(fleet(), tmp_path / "s1")
    save_state(fleet(), tmp_path / "s1")
    (tmp_path / "s1" / HISTORY_JSON).write_text('{"schema": 1, "observations": [{}]}')
    result = CliRunner().invoke(cli.app, ["report", "merge", str(tmp_path / "s1"),
                                          "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "history.json: not a campaign history" in result.output
