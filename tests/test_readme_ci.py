"""The README's scheduled pipeline, read as GitLab reads it: Pages gets the reports, the work
dir stays in `cache:`, the JUnit widget stays; and its Pages script, run on real reports."""

from __future__ import annotations

import dataclasses
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from migrator.report.planstate import save_state
from migrator.report.write import write_reports
from tests.central.test_gaps import small_fleet
from tests.report.sample import fleet

README = Path(__file__).resolve().parents[1] / "README.md"


def pipeline() -> dict[str, Any]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Running against a real GitLab"):]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block, "the CI section has no yaml block"
    jobs: dict[str, Any] = YAML(typ="safe").load(block.group(1))
    return jobs


def scripts(job: dict[str, Any]) -> str:
    return "\n".join(job.get("script", []))


def work_dirs(jobs: dict[str, Any]) -> set[str]:
    return {m.rstrip("/") for job in jobs.values()
            for m in re.findall(r"--work\s+(\S+)", scripts(job))}


def test_the_pages_job_publishes_public_after_the_merged_reports() -> None:
    jobs = pipeline()
    pages = jobs["pages"]
    assert pages["artifacts"]["paths"] == ["public/"]
    assert pages["needs"] == ["migration-report"]
    assert pages["rules"] == jobs["migration-report"]["rules"]  # on the same schedule
    assert "plan-out/" in jobs["migration-report"]["artifacts"]["paths"]


def test_the_work_dir_is_cached_and_never_an_artifact() -> None:
    jobs = pipeline()
    work = work_dirs(jobs)
    assert work == {".migrator-work"}
    for name, job in jobs.items():
        for path in job.get("artifacts", {}).get("paths", []):
            assert not any(path.rstrip("/").startswith(w) or path in ("./", ".", "*")
                           for w in work), (name, path)
        if "--work" in scripts(job):
            assert [p.rstrip("/") for p in job["cache"]["paths"]] == sorted(work), name
    assert not any(w in scripts(jobs["pages"]) for w in work)


def test_the_junit_widget_stays() -> None:
    report = pipeline()["migration-report"]
    assert report["artifacts"]["reports"]["junit"] == "plan-out/junit.xml"
    assert report["artifacts"]["when"] == "always"  # a repo in error still shows


def test_the_status_step_feeds_each_shards_dashboard() -> None:
    plan = pipeline()["migration-plan"]
    status = next(line for line in plan["script"] if line.startswith("migrator status"))
    args = shlex.split(status.split("||")[0])
    assert args[args.index("--work") + 1] == ".migrator-work"
    assert args[args.index("--out") + 1] == "shard-${CI_NODE_INDEX}"


def test_the_pages_script_puts_every_linked_report_in_public(tmp_path: Path) -> None:
    plan = dataclasses.replace(fleet(), repos=(*fleet().repos, *small_fleet().repos))
    out = tmp_path / "plan-out"
    write_reports(plan, out)
    save_state(plan, out)
    subprocess.run(["sh", "-euc", scripts(pipeline()["pages"])], cwd=tmp_path, check=True,
                   timeout=60)
    public = tmp_path / "public"
    html = (public / "index.html").read_text(encoding="utf-8")
    assert html == (public / "fleet.html").read_text(encoding="utf-8")
    links = set(re.findall(r'href="([^"#:]+)"', html))
    assert "central-gaps.md" in links and len(links) == len(plan.repos) + 1
    assert all((public / link).is_file() for link in links), links
    assert not (public / "plan-state.json").exists()  # a hand-over between runs, not a report
