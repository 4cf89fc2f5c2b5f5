"""The dependency style's wrapper chart, rendered by real Helm."""

from __future__ import annotations

import shutil
from pathlib import Path

import helm_python
from ruamel.yaml import YAML

from migrator.rewrite import RewriteTarget, nest_values, wrapper_chart_yaml
from tests.rewrite.helpers import CENTRAL

CENTRAL_CHART = Path(__file__).parents[2] / "fixtures" / "central" / "app-template" / "2.0.0"


def test_values_nest_under_the_alias_and_globals_stay_shared() -> None:
    assert nest_values({"replicaCount": 3, "global": {"env": "prod"}}, "orders") == {
        "global": {"env": "prod"},
        "orders": {"replicaCount": 3},
    }
    assert nest_values({}, "orders") == {}


def test_the_wrapper_renders_the_central_chart_under_the_app_name(tmp_path: Path) -> None:
    target = RewriteTarget("dependency", "chart", CENTRAL, "app-template", "2.0.0", {}, {},
                           app_name="orders")  # fmt: skip
    wrapper = tmp_path / "deploy" / "chart"
    wrapper.mkdir(parents=True)
    (wrapper / "Chart.yaml").write_text(wrapper_chart_yaml(target))
    # what `helm dependency build` would fetch from the registry
    shutil.copytree(CENTRAL_CHART, wrapper / "charts" / "app-template")
    chart = helm_python.Chart.load(wrapper)
    try:
        rendered = chart.render(
            nest_values({"replicas": 2}, "orders"), name="orders", namespace="shop"
        )
    finally:
        chart.close()
    deployments = [
        doc
        for text in rendered.values()
        for doc in YAML(typ="safe").load_all(text)
        if doc and doc.get("kind") == "Deployment"
    ]
    assert [(d["metadata"]["name"], d["spec"]["replicas"]) for d in deployments] == [("orders", 2)]
    labels = deployments[0]["spec"]["selector"]["matchLabels"]
    assert labels["app.kubernetes.io/name"] == "orders"


def test_the_wrapper_names_the_oci_repository_without_the_chart() -> None:
    target = RewriteTarget("dependency", "chart", CENTRAL, "app-template", "2.3.0", {}, {},
                           app_name="orders")  # fmt: skip
    chart = YAML(typ="safe").load(wrapper_chart_yaml(target))
    assert chart["dependencies"] == [
        {
            "name": "app-template",
            "version": "2.3.0",
            "repository": "oci://registry.example.com/charts",
            "alias": "orders",
        }
    ]
