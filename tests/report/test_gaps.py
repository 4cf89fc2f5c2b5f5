"""central-gaps.md and central-gaps.json beside fleet.md, the kinds in each repo's reports, and
the same gap report from the shards of a sharded run."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from migrator.report.gaps import GAPS_JSON, GAPS_MD
from migrator.report.planstate import merge, save_state
from migrator.report.write import write_reports
from tests.central.test_gaps import small_fleet

ORDER = [("extraContainers", ["r1", "r11"], 2), ("extraEnv + envFrom", ["r4", "r5"], 4),
         ("extraObjects", ["r2", "r3"], 6), ("extraVolumes + extraVolumeMounts", ["r10"], 7)]


def test_the_gap_files_are_written_beside_the_fleet_report(tmp_path: Path) -> None:
    write_reports(small_fleet(), tmp_path)
    assert (tmp_path / "fleet.md").is_file()
    data = json.loads((tmp_path / GAPS_JSON).read_text())
    assert data["schema"] == 1 and data["target_version"] == "2.0.0"
    assert [(s["add"], s["moves"], s["cumulative"]) for s in data["unblock_order"]] == ORDER
    assert data["unblock_order"][1]["features"] == ["extraContainers", "extraEnv + envFrom"]
    assert data["unblock_order"][3]["mapping_at_target"] == ["volumes"]
    assert data["repos"] == {"total": 11, "blocked": 10, "review": 1, "movable": 7, "held": 3}
    kinds = {k["kind"]: k for k in data["kinds"]}
    assert kinds["extra-container"]["blocks"]["repos"] == ["r1", "r10", "r11", "r2", "r5",
                                                           "r6", "r7"]
    assert kinds["extra-container"]["feature"] == "extraContainers"
    assert kinds["other"]["coverable"] is False
    assert kinds["volumes"]["expressed_by"] == [
        {"key": "volumes", "setting": None, "versions": ["1.0.0", "2.0.0"], "at_target": True}]
    assert kinds["env"]["examples"][0] == {
        "repo": "r10", "chart": "chart", "resource": "Deployment/app", "paths": ["spec.env"],
        "where": "chart/templates/deployment.yaml:7"}
    assert {h["repo"]: h["why"] for h in data["held"]} == {
        "r6": ["other"], "r7": ["still-used"], "r9": ["fork-does-not-render"]}


def test_the_markdown_reads_as_the_order_then_the_kinds(tmp_path: Path) -> None:
    write_reports(small_fleet(), tmp_path)
    text = (tmp_path / GAPS_MD).read_text()
    assert text.startswith("# What the central chart must learn: app-template 2.0.0")
    assert ("| 2 | `extraEnv + envFrom` | `env` | r4, r5 | 4 |") in text
    assert ("| 4 | `extraVolumes + extraVolumeMounts` (or map onto the target's `volumes`) | "
            "`volumes` | r10 | 7 |") in text
    assert "- add extraContainers + extraEnv + envFrom: 4 repos can move" in text
    assert ("- add extraContainers + extraEnv + envFrom + extraObjects + extraVolumes + "
            "extraVolumeMounts: 7 repos can move") in text
    assert "- r9: `fork-does-not-render`" in text
    assert "| `extra-container` | 7 (7) | 7 | — | `extraContainers` |" in text
    assert text.index("## Unblock order") < text.index("## By kind") < text.index(
        "### `extra-container`")
    fleet_md = (tmp_path / "fleet.md").read_text()
    assert f"[{GAPS_MD}]({GAPS_MD})" in fleet_md
    assert "- add extraContainers: 2 repos can move" in fleet_md


def test_each_repo_report_names_its_kinds(tmp_path: Path) -> None:
    write_reports(small_fleet(), tmp_path)
    data = json.loads((tmp_path / "repos/r2/report.json").read_text())
    assert data["customization_kinds"] == {"blocking": ["extra-container",
                                                        "extra-object:CronJob"],
                                           "all": ["extra-container", "extra-object:CronJob"]}
    (chart,) = data["charts"]
    assert chart["customizations"][0] == {
        "kind": "extra-container", "blocks": True, "resource": "Deployment/app",
        "paths": ["spec.extra-container"], "environments": ["prod"], "class": "functional",
        "file": "chart/templates/deployment.yaml", "line": 7, "why": None, "expressed_by": []}
    held = json.loads((tmp_path / "repos/r7/report.json").read_text())["charts"][0]["held_by"]
    assert held == [{"kind": "still-used", "files": ["ci.yml:4"]}]
    fleet = json.loads((tmp_path / "fleet.json").read_text())
    assert {r["name"]: r["blocking_kinds"] for r in fleet["repos"]}["r6"] == [
        "extra-container", "other"]


def test_sharded_plans_merge_into_the_gap_report_of_the_whole_fleet(tmp_path: Path) -> None:
    whole = small_fleet()
    halves = (whole.repos[::2], whole.repos[1::2])
    for i, repos in enumerate(halves, 1):
        save_state(dataclasses.replace(whole, repos=repos, plan_id=f"p{i}"),
                   tmp_path / f"shard-{i}")
    merge(tmp_path / "merged", [tmp_path / "shard-1", tmp_path / "shard-2"])
    write_reports(whole, tmp_path / "whole")
    merged = json.loads((tmp_path / "merged" / GAPS_JSON).read_text())
    assert merged == json.loads((tmp_path / "whole" / GAPS_JSON).read_text())
    assert [(s["add"], s["moves"], s["cumulative"]) for s in merged["unblock_order"]] == ORDER
    shard = json.loads((tmp_path / "shard-1" / "plan-state.json").read_text())
    assert shard["fleet"]["repos"][0]["charts"][0]["customizations"][0]["kind"] == \
        "extra-container"
