"""Environments whose values files are not named values-*: what a deploy passes, or well-known
environment names beside the chart."""

from __future__ import annotations

from pathlib import Path

from migrator.locate.charts import locate
from migrator.locate.refs import find_references
from tests.rewrite.helpers import make_repo, rewrite


def _envs(root: Path) -> list[tuple[str, tuple[str, ...]]]:
    (chart,) = locate(root, find_references(root), "app-template").charts
    return [(e.name, e.values_files) for e in chart.environments]


def test_a_deploys_own_values_file_names_its_environment_whatever_its_name(
        tmp_path: Path) -> None:
    make_repo(tmp_path, {
        "chart/stage.yaml": "replicaCount: 1\n", "chart/prod-k8s.yaml": "replicaCount: 3\n",
        "Makefile": "stage:\n\thelm upgrade --install app ./chart -f chart/stage.yaml\n"
                    "prod:\n\thelm upgrade --install app ./chart -f chart/prod-k8s.yaml\n",
    })
    assert _envs(tmp_path) == [("stage", ("chart/stage.yaml",)),
                               ("prod-k8s", ("chart/prod-k8s.yaml",))]


def test_env_files_a_variable_chooses_are_found_beside_the_chart_and_the_variable_stays(
        tmp_path: Path) -> None:
    make_repo(tmp_path, {
        "chart/stage.yaml": "replicaCount: 1\n", "chart/prod.yaml": "replicaCount: 3\n",
        "chart/templates.yaml": "x: 1\n",  # not an environment's name
        "Makefile": "deploy:\n\thelm upgrade --install app ./chart -f chart/$(ENV).yaml\n",
    })
    assert _envs(tmp_path) == [("prod", ("chart/prod.yaml",)), ("stage", ("chart/stage.yaml",))]
    result = rewrite(tmp_path, envs=("prod", "stage"))
    assert result.writes["Makefile"].decode().endswith(
        "-f deploy/values.yaml -f deploy/values-$(ENV).yaml\n")


def test_values_dot_env_and_values_folders_keep_working(tmp_path: Path) -> None:
    make_repo(tmp_path, {"chart/values.qa.yaml": "a: 1\n", "chart/values/live.yaml": "a: 2\n"})
    assert _envs(tmp_path) == [("live", ("chart/values/live.yaml",)),
                               ("qa", ("chart/values.qa.yaml",))]


def test_well_known_names_at_the_repository_root_are_not_taken_for_environments(
        tmp_path: Path) -> None:
    make_repo(tmp_path, {"dev.yaml": "services: {}\n", "deploy/chart/Chart.yaml":
                         "apiVersion: v2\nname: a\nversion: 0.1.0\n", "deploy/uat.yml": "a: 1\n"})
    (root_chart, deploy_chart) = locate(tmp_path, (), "app-template").charts
    assert [e.name for e in root_chart.environments] == ["default"]
    assert [(e.name, e.values_files) for e in deploy_chart.environments] == [
        ("uat", ("deploy/uat.yml",))]
