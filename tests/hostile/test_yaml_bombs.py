"""YAML that costs far more to read than its size says is refused quickly, with its reason on the
file or the chart, and the rest of the fleet is planned.

One small repo per vector, all planned in one run of the real CLI: an alias bomb (9 levels of 9,
387 million nodes) and 5,000 nested brackets in each kind of file the tool reads (the CI file,
a helmfile, Chart.yaml, values.yaml, an environment's values file), an alias inside the node it
names, `extends:` and `!reference` fanning out nine ways ten levels deep, and a 10,000-job CI
file. Before, the first hung the run (no report for any repo) and the brackets ended in
RecursionError tracebacks.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from migrator import demo
from tests.hostile.smallfleet import fleet_json, fork_repo, fork_values, migrator, plan_args


def alias_bomb(levels: int = 9, key: str = "bomb") -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + f"\n{key}: *l{levels - 1}\n"


def nested(depth: int = 5000) -> str:
    return "deep: " + "[" * depth + "{a: 1}" + "]" * depth + "\n"


def extends_fanout() -> str:
    jobs = [".t0:\n  script:\n    - helm upgrade --install fanout ./chart --namespace shop"]
    jobs += [f".t{i}:\n  extends: [{', '.join([f'.t{i - 1}'] * 9)}]" for i in range(1, 11)]
    return "\n".join([*jobs, "deploy:\n  extends: .t10\n"])


def reference_fanout() -> str:
    jobs = [".r0:\n  script: [echo one, echo two]"]
    jobs += [f".r{i}:\n  script:\n" + f"    - !reference [.r{i - 1}, script]\n" * 9
             for i in range(1, 11)]
    return "\n".join([*jobs, "deploy:\n  script:\n    - !reference [.r10, script]\n"])


def big_ci(jobs: int = 10_000) -> str:
    lines = [f'test-{i:05d}: {{stage: test, script: ["echo job {i:05d} runs the unit tests"]}}'
             for i in range(jobs)]
    lines.append("deploy:\n  stage: deploy\n  script:\n"
                 "    - helm upgrade --install bigci ./chart --namespace shop\n")
    return "\n".join(lines)


_ENV_DEPLOY = "deploy:\n\thelm upgrade --install {name} ./chart -f chart/values-prod.yaml " \
              "--namespace shop\n"


@dataclass(frozen=True)
class Vector:
    files: dict[str, str]
    verdict: str
    reason: str = ""  # in the repo's reason (a chart's), or
    notice: tuple[str, str] = ("", "")  # (file, words) of a notice on the reference file


VECTORS: dict[str, Vector] = {
    "plain": Vector({}, "ready"),
    "ci-alias-bomb": Vector({".gitlab-ci.yml": alias_bomb(key="deploy")}, "ready",
                            notice=(".gitlab-ci.yml", "alias bomb")),
    "ci-nested": Vector({".gitlab-ci.yml": nested()}, "ready",
                        notice=(".gitlab-ci.yml", "nested deeper than 100 levels")),
    "ci-self-alias": Vector({".gitlab-ci.yml": "deploy: &d\n  script: [*d]\n"}, "ready",
                            notice=(".gitlab-ci.yml", "the alias *d is inside the node it names")),
    "ci-reference-fanout": Vector({".gitlab-ci.yml": reference_fanout()}, "ready",
                                  notice=(".gitlab-ci.yml", "expands past 1,000,000 nodes")),
    "helmfile-alias-bomb": Vector({"helmfile.yaml": alias_bomb(key="releases")}, "ready",
                                  notice=("helmfile.yaml", "alias bomb")),
    "chart-yaml-alias-bomb": Vector({}, "blocked", reason="chart/Chart.yaml:"),
    "values-alias-bomb": Vector({}, "blocked", reason="chart/values.yaml:"),
    "values-nested": Vector({}, "blocked",
                            reason="chart/values.yaml:"),
    "env-values-alias-bomb": Vector({"chart/values-prod.yaml": alias_bomb()}, "error",
                                    reason="chart/values-prod.yaml:7: refused: its aliases "
                                           "expand it past 1,000,000 nodes (an alias bomb)"),
    "env-values-nested": Vector({"chart/values-prod.yaml": nested()}, "error",
                                reason="chart/values-prod.yaml:1: refused: nested deeper than "
                                       "100 levels"),
}


def _files(name: str, vector: Vector) -> dict[str, str]:
    files = dict(vector.files)
    values = fork_values(name)
    if name == "chart-yaml-alias-bomb":
        files["chart/Chart.yaml"] = (f"apiVersion: v2\nname: {name}\nversion: 1.0.0\n"
                                     + alias_bomb(key="annotations"))
    elif name == "values-alias-bomb":
        files["chart/values.yaml"] = values + alias_bomb()
    elif name == "values-nested":
        files["chart/values.yaml"] = values + nested()
    elif name.startswith("env-values"):
        files["Makefile"] = _ENV_DEPLOY.format(name=name)
    return files


@dataclass(frozen=True)
class Planned:
    out: Path
    seconds: float
    repos: dict[str, dict[str, Any]]  # fleet.json's entry of each repo


@pytest.fixture(scope="module")
def planned(central_sources: demo.CentralSources,
            tmp_path_factory: pytest.TempPathFactory) -> Planned:
    root = tmp_path_factory.mktemp("bombs")
    fleet = root / "fleet"
    for name, vector in VECTORS.items():
        fork_repo(fleet / name, name, _files(name, vector))
    fork_repo(fleet / "extends-fanout", "fanout", {".gitlab-ci.yml": extends_fanout(),
                                                   "Makefile": ""})
    fork_repo(fleet / "big-ci", "bigci", {".gitlab-ci.yml": big_ci(), "Makefile": ""})
    started = time.monotonic()
    run = migrator(*plan_args(fleet, central_sources, root / "out"), "--work", root / "work",
                   timeout=600)
    seconds = time.monotonic() - started
    assert run.returncode in (0, 1), run.stderr
    assert "Traceback" not in run.stderr
    repos = {r["name"]: r for r in fleet_json(root / "out")["repos"]}
    return Planned(root / "out", seconds, repos)


def _report(out: Path, repo: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "repos" / repo / "report.json").read_text())
    return data


def _notices(out: Path, repo: str) -> list[dict[str, Any]]:
    return list(_report(out, repo)["notices"])


def _references(out: Path, repo: str) -> list[dict[str, Any]]:
    return list(_report(out, repo)["references"])


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_each_vector_ends_in_its_own_reason_and_the_repo_is_planned(
        planned: Planned, name: str) -> None:
    vector = VECTORS[name]
    repo = planned.repos[name]
    assert repo["verdict"] == vector.verdict, repo["reason"]
    assert "internal error" not in repo["reason"]
    if vector.reason:
        assert vector.reason in repo["reason"]
        assert "refused: " in repo["reason"]
    if vector.notice[0]:
        file, words = vector.notice
        found = [n for n in _notices(planned.out, name)
                 if n["kind"] == "unreadable-file" and n["file"] == file]
        assert len(found) == 1 and words in found[0]["detail"], found
        assert found[0]["detail"].startswith("refused: ")


def test_a_chart_past_a_limit_says_which_limit(planned: Planned) -> None:
    assert "alias bomb" in planned.repos["chart-yaml-alias-bomb"]["reason"]
    assert "alias bomb" in planned.repos["values-alias-bomb"]["reason"]
    assert "nested deeper than 100 levels" in planned.repos["values-nested"]["reason"]


def test_extends_fanning_out_is_resolved_once_per_job_and_its_deploy_found(
        planned: Planned) -> None:
    repo = planned.repos["extends-fanout"]
    assert repo["verdict"] == "ready", repo["reason"]
    (ref,) = _references(planned.out, "extends-fanout")
    assert (ref["file"], ref["line"], ref["context"]) == (".gitlab-ci.yml", 3, "deploy")


def test_a_ci_file_of_ten_thousand_jobs_is_read_and_its_deploy_found(planned: Planned) -> None:
    repo = planned.repos["big-ci"]
    assert repo["verdict"] == "ready", repo["reason"]
    (ref,) = _references(planned.out, "big-ci")
    assert (ref["file"], ref["line"], ref["context"]) == (".gitlab-ci.yml", 10004, "deploy")


def test_the_whole_hostile_fleet_is_planned_in_reasonable_time(planned: Planned) -> None:
    assert set(planned.repos) == {*VECTORS, "extends-fanout", "big-ci"}
    # before: the first alias bomb hung the run; each vector is now refused within seconds
    assert planned.seconds < 240, planned.seconds
