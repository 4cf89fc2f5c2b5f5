"""What a merge request tells its reviewer: the "Reproduce locally" commands name the central
chart as the team does and work as printed in a clone of the repo; a ready change that restarts
pods says so in its first line; the count of ignored differences is one number everywhere."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from migrator import demo
from migrator.model import FieldChange
from migrator.report.markdown import repo_markdown
from migrator.verify import render
from tests.report.sample import CENTRAL, ready_repo

MIGRATOR = [sys.executable, "-m", "migrator"]


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MIGRATOR, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300, check=False)


def _reproduce_block(report_md: str) -> list[str]:
    """The shell lines of the "Reproduce locally" block."""
    block = report_md.split("<summary>Reproduce locally</summary>", 1)[1]
    body = block.split("```sh\n", 1)[1].split("\n```", 1)[0]
    return body.splitlines()


def _one(lines: list[str], prefix: str) -> str:
    found = [line for line in lines if line.startswith(prefix)]
    assert len(found) == 1, lines
    return found[0]


def test_reproduce_names_the_central_chart_by_the_teams_chart_repository_url(
        central_sources: demo.CentralSources, fleet_dir: Path, tmp_path: Path) -> None:
    url = "https://charts.example.com/platform"
    (tmp_path / "migrator.toml").write_text(
        f'[central]\nsource = "{central_sources.repo_dir}"\ntarget_version = "2.0.0"\n'
        f'ref = "{url}"\n[plan]\nfleet = "{fleet_dir}"\nout = "out"\nwork = "work"\n'
        'include = ["orders"]\n')
    proc = _run("plan", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = _reproduce_block((tmp_path / "out" / "repos" / "orders" / "report.md").read_text())
    text = "\n".join(lines)
    assert str(central_sources.repo_dir) not in text and str(tmp_path) not in text
    assert f"--chart-ref {url} " in _one(lines, "migrator plan ")
    assert _one(lines, "helm pull ").startswith(
        f"helm pull app-template --repo {url} --version 2.0.0 --destination ")
    assert all(f"app-template --repo {url} --version 2.0.0" in line
               for line in lines if line.startswith("helm template "))


@pytest.mark.parametrize("options", [(), ("--style", "dependency", "--inherited", "adopt")],
                         ids=["defaults", "style-and-inherited"])
def test_reproduce_works_as_printed_in_a_clone_and_names_the_repo_by_its_directory(
        central_sources: demo.CentralSources, fleet_dir: Path, tmp_path: Path,
        options: tuple[str, ...]) -> None:
    ref = "oci://registry.example.com/platform/app-template"
    planned = tmp_path / "planned"
    proc = _run("plan", "--fleet", fleet_dir, "--central", central_sources.repo_dir,
                "--target-version", "2.0.0", "--chart-ref", ref, "--include", "orders",
                "--out", planned, "--work", tmp_path / "work", "-q", *options)
    assert proc.returncode in (0, 1), proc.stderr
    lines = _reproduce_block((planned / "repos" / "orders" / "report.md").read_text())
    assert str(central_sources.repo_dir) not in "\n".join(lines)
    # The options that change a plan are passed on; the defaults are not spelled out.
    assert " ".join(options) in _one(lines, "migrator plan --fleet . ")
    assert ("--style" in _one(lines, "migrator plan --fleet . ")) == bool(options)

    clone = tmp_path / "clones" / "orders"
    subprocess.run(["git", "clone", "--quiet", str(fleet_dir / "orders"), str(clone)],
                   check=True, capture_output=True)
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    # What `helm pull` and `helm repo index` make (there is no helm binary here): the printed
    # versions of the central chart, packaged into a chart repository at the printed place.
    pulls = [shlex.split(line) for line in lines if line.startswith("helm pull ")]
    assert pulls and all(p[2] == ref for p in pulls)
    versions = [p[p.index("--version") + 1] for p in pulls]
    destination = subprocess.run(
        ["bash", "-c", f"echo {_one(lines, 'helm repo index ').removeprefix('helm repo index ')}"],
        env=env, capture_output=True, text=True, check=True).stdout.strip()
    render.write_chart_repository(Path(destination), [
        demo.chart_source_dir(demo.CENTRAL_NAME, v) for v in versions])

    command = _one(lines, "migrator plan --fleet . ")
    again = subprocess.run(["bash", "-c", command], cwd=clone, env=env, capture_output=True,
                           text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr + again.stdout

    def repos(out: Path) -> list[tuple[str, str, str]]:
        data = json.loads((out / "fleet.json").read_text())
        return [(r["name"], r["verdict"], r["reason"]) for r in data["repos"]]

    reproduced = scratch / "plan"
    assert repos(reproduced) == repos(planned)  # one repo, named "orders", not ".git"
    assert (reproduced / "repos" / "orders" / "changes.patch").read_text() == \
        (planned / "repos" / "orders" / "changes.patch").read_text()


def test_a_ready_change_that_restarts_pods_says_so_in_its_first_line() -> None:
    plan = ready_repo()
    chart = plan.charts[0]
    envs = tuple(dataclasses.replace(env, differences=tuple(
        dataclasses.replace(d, fields=(*d.fields, FieldChange(
            'spec.template.metadata.labels["helm.sh/chart"]', "orders-0.1.0",
            "app-template-2.3.0")))
        for d in env.differences)) for env in chart.environments)
    restarting = dataclasses.replace(plan, charts=(dataclasses.replace(
        chart, environments=envs),))
    first = repo_markdown(restarting, CENTRAL, plan_id="p", tool_version="t").splitlines()[0]
    assert first.startswith(
        "> ✅ **Ready: no functional change; pods restart once on deploy.**"), first
    assert "pod template of `Deployment/orders`" in first
    unchanged = repo_markdown(plan, CENTRAL, plan_id="p", tool_version="t").splitlines()[0]
    assert "the cluster sees no change" in unchanged and "restart" not in unchanged


def test_the_ignored_differences_are_counted_alike_in_the_mr_fleet_md_cli_and_commit(
        central_sources: demo.CentralSources, fleet_dir: Path, tmp_path: Path) -> None:
    out, work = tmp_path / "out", tmp_path / "work"
    proc = _run("apply", "--fleet", fleet_dir, "--central", central_sources.repo_dir,
                "--families", central_sources.families_dir, "--target-version", "2.0.0",
                "--include", "payments", "--out", out, "--work", work)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "repos" / "payments" / "report.json").read_text())
    n = report["differences"]["cosmetic"]
    assert report["verdict"] == "ready" and n > 1
    said = f"ignoring {n} descriptive differences"

    body = next(work.rglob("description.md")).read_text()  # the merge request's description
    assert "no functional change; pods restart once on deploy" in body.splitlines()[0]
    assert said in body.splitlines()[0]
    assert f"<summary>Differences ignored as descriptive ({n})</summary>" in body
    row = _one((out / "fleet.md").read_text().splitlines(), "| [`payments`]")
    assert said in row and row.endswith(f"| 0 | 0 | {n} |")
    cli_line = _one(proc.stdout.splitlines(), "[1/1] payments: ready: ")
    assert said in cli_line
    commit = next(work.rglob("changes.patch")).read_text()  # format-patch of the bot's commit
    message = commit.split("\n---\n", 1)[0]
    assert said in " ".join(message.split())
    counts = {int(c) for c in re.findall(r"ignoring (\d+) descriptive", body + row + cli_line
                                         + message)}
    assert counts == {n}


def test_a_repo_of_several_identical_charts_counts_them_all_as_its_banner_does() -> None:
    from migrator.report.reasons import reason

    plan = ready_repo()
    chart = plan.charts[0]
    other = dataclasses.replace(chart, path="charts/worker")
    both = dataclasses.replace(plan, charts=(chart, other),
                               outcome=dataclasses.replace(plan.outcome, chart=chart.path))
    one = int(re.findall(r"ignoring (\d+) descriptive", reason(chart))[0])
    said = reason(both)
    assert not said.startswith(chart.path)  # said of the repo, not of the chart
    assert f"ignoring {2 * one} descriptive difference" in said
    banner = repo_markdown(both, CENTRAL, plan_id="p", tool_version="t").splitlines()[0]
    assert f"ignoring {2 * one} descriptive difference" in banner
