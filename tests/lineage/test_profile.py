from __future__ import annotations

from pathlib import Path

import pytest

from migrator.lineage.profile import helper_names, profile, template_key, value_paths
from tests.lineage import charts


@pytest.mark.parametrize(("defined", "undone"), [
    # a scaffold fork: the chart's own name
    (["orders.name", "orders.fullname"], ["HELPER.name", "HELPER.fullname"]),
    # a copy of a copy: the prefix of the chart it was copied from, not its own name
    (["template-service.fullname", "template-service.selectorLabels"],
     ["HELPER.fullname", "HELPER.selectorLabels"]),
    # a chart named after its folder
    ([".helm.fullname", ".helm.chart"], ["HELPER.fullname", "HELPER.chart"]),
    # Helm 2 era: no prefix at all
    (["fullname", "name"], ["HELPER.fullname", "HELPER.name"]),
    # several prefixes: the fullname helper's one is the chart's, the others are undone too
    (["app.fullname", "app.clusterRole.scheduler", "workload.labels"],
     ["HELPER.fullname", "HELPER.clusterRole.scheduler", "HELPER.labels"]),
])
def test_helper_prefix_is_what_the_chart_defines_not_its_name(
        defined: list[str], undone: list[str]) -> None:
    text = "".join(f'{{{{- define "{name}" -}}}}x{{{{- end }}}}\n' for name in defined)
    names = helper_names({"templates/_helpers.tpl": text})
    assert [names[name] for name in defined] == undone


def test_a_fork_read_with_another_prefix_reads_the_same_as_with_its_own(tmp_path: Path) -> None:
    own = profile(charts.load(tmp_path / "own", charts.fork("app-template", "1.1.0")))
    other = profile(charts.load(tmp_path / "other", {
        **charts.fork("app-template", "1.1.0", helpers="template-service"),
        "Chart.yaml": charts.chart_yaml("ticket-service")}))
    bare = profile(charts.load(tmp_path / "bare",
                               charts.fork("app-template", "1.1.0", helpers="")))
    assert other.files == own.files
    assert bare.files == own.files
    assert own.helpers == other.helpers == bare.helpers
    assert "HELPER.selectorLabels" in own.helpers


def test_helpers_a_chart_does_not_define_are_left_as_written(tmp_path: Path) -> None:
    loaded = charts.load(tmp_path, charts.LIBRARY_USER)
    lines = profile(loaded).files["deployment.yaml"]
    assert lines == ('{{include "common.deployment" (list . "HELPER.deployment")}}',)


@pytest.mark.parametrize(("path", "key"), [
    ("templates/deployment.yaml", "deployment.yaml"),
    ("templates/Deployment.yml", "deployment.yaml"),
    ("templates/service.yaml.gotmpl", "service.yaml"),
    ("templates/app/ingress.yaml", "app/ingress.yaml"),
    ("templates/_helpers.tpl", "_helpers.tpl"),
])
def test_template_keys_read_a_renamed_extension_as_the_same_template(path: str, key: str) -> None:
    assert template_key(path) == key


def test_notes_and_test_hooks_are_not_compared(tmp_path: Path) -> None:
    found = profile(charts.load(tmp_path, charts.fork("app-template", "1.0.0")))
    assert "notes.txt" not in found.files
    assert not any(key.startswith("tests/") for key in found.files)
    assert {"deployment.yaml", "_helpers.tpl"} <= set(found.files)


@pytest.mark.parametrize("values", [None, [], "text", 3])
def test_values_that_are_not_a_map_have_no_keys(values: object) -> None:
    assert value_paths(values) == set()


def test_values_keys_are_dotted_paths_of_every_map() -> None:
    assert value_paths({"image": {"repository": "r", "tag": ""}, "env": [{"name": "A"}]}) == {
        "image", "image.repository", "image.tag", "env"}


def test_only_templates_behind_a_values_switch_can_be_shown_deleted(tmp_path: Path) -> None:
    found = profile(charts.load(tmp_path, charts.fork("app-template", "1.2.0")))
    assert found.optional["servicemonitor.yaml"] == {
        "serviceMonitor.enabled", "serviceMonitor.path", "serviceMonitor.interval"}
    assert "hpa.yaml" in found.optional
    # always rendered, or the helpers: a fork without them did not switch a feature off
    assert "deployment.yaml" not in found.optional
    assert "service.yaml" not in found.optional
    assert "_helpers.tpl" not in found.optional
    # autoscaling.enabled is read by the deployment too: only what hpa.yaml alone reads counts
    assert "autoscaling.enabled" not in found.optional["hpa.yaml"]
    assert "autoscaling.minReplicas" in found.optional["hpa.yaml"]
