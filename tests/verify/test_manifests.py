"""Semantic comparison of two renders and the class of every difference."""

from __future__ import annotations

import copy
from typing import Any

from migrator.model import DiffClass
from migrator.verify import manifests

DEPLOY: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "orders", "labels": {"helm.sh/chart": "orders-0.1.0", "app": "orders"}},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "orders"}},
        "template": {"metadata": {"labels": {"app": "orders"}}, "spec": {"containers": [
            {"name": "app", "image": "orders:1", "env": [
                {"name": "A", "value": "1"}, {"name": "DB_PASSWORD", "value": "hunter2"}]},
            {"name": "sidecar", "image": "shipper:1"},
        ]}},
    },
}


def _render(*objs: dict[str, Any]) -> manifests.Rendered:
    return manifests.index([("orders/templates/x.yaml", o) for o in objs], "shop")


def _changed(**edits: Any) -> dict[str, Any]:
    obj = copy.deepcopy(DEPLOY)
    for path, value in edits.items():
        node = obj
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return obj


def test_identical_renders_have_no_difference() -> None:
    assert manifests.compare(_render(DEPLOY), _render(copy.deepcopy(DEPLOY))) == []


def test_containers_are_compared_by_name_not_position() -> None:
    swapped = copy.deepcopy(DEPLOY)
    swapped["spec"]["template"]["spec"]["containers"].reverse()
    assert manifests.compare(_render(DEPLOY), _render(swapped)) == []


def test_a_changed_selector_is_destructive() -> None:
    after = _changed(spec__selector={"matchLabels": {"app": "orders", "tier": "web"}})
    diffs = manifests.compare(_render(DEPLOY), _render(after))
    assert diffs[0].diff_class is DiffClass.DESTRUCTIVE
    assert "immutable field spec.selector" in diffs[0].why


def test_a_renamed_object_is_destructive_and_says_its_new_name() -> None:
    after = _changed(metadata={"name": "app-template", "labels": {}})
    diffs = manifests.compare(_render(DEPLOY), _render(after))
    removed = [d for d in diffs if d.change == "removed"]
    assert removed[0].diff_class is DiffClass.DESTRUCTIVE
    assert "app-template" in removed[0].why
    assert any(d.change == "added" and d.diff_class is DiffClass.FUNCTIONAL for d in diffs)


def test_the_chart_label_is_cosmetic_and_replicas_are_functional() -> None:
    labels = {"helm.sh/chart": "t-2", "app": "orders"}
    after = _changed(metadata={"name": "orders", "labels": labels}, spec__replicas=3)
    diffs = manifests.compare(_render(DEPLOY), _render(after))
    by_class = {d.diff_class: d for d in diffs}
    assert by_class[DiffClass.COSMETIC].paths == ('metadata.labels["helm.sh/chart"]',)
    assert by_class[DiffClass.FUNCTIONAL].paths == ("spec.replicas",)


def test_a_removed_sidecar_is_named_in_the_path() -> None:
    after = copy.deepcopy(DEPLOY)
    after["spec"]["template"]["spec"]["containers"].pop()
    diffs = manifests.compare(_render(DEPLOY), _render(after))
    assert diffs[0].paths == ("spec.template.spec.containers[sidecar]",)


def test_credential_env_values_are_never_shown() -> None:
    after = copy.deepcopy(DEPLOY)
    after["spec"]["template"]["spec"]["containers"][0]["env"][1]["value"] = "other"
    diffs = manifests.compare(_render(DEPLOY), _render(after))
    shown = [(f.before, f.after) for d in diffs for f in d.fields]
    assert "hunter2" not in repr(shown) and "other" not in repr(shown)


def test_secret_data_shows_only_sizes() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
              "data": {"password": "aHVudGVyMg=="}}
    after = copy.deepcopy(secret)
    after["data"]["password"] = "b3RoZXI="
    diffs = manifests.compare(_render(secret), _render(after))
    field = diffs[0].fields[0]
    assert "aHVudGVyMg" not in f"{field.before}{field.after}"
    assert field.before == "changed (12 bytes)"


def test_empty_values_equal_absent_fields() -> None:
    after = _changed(spec__template={"metadata": {"labels": {"app": "orders"}, "annotations": {}},
                                     "spec": DEPLOY["spec"]["template"]["spec"]})
    assert manifests.compare(_render(DEPLOY), _render(after)) == []


def test_test_hooks_are_left_out() -> None:
    hook = {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "t", "annotations": {"helm.sh/hook": "test"}}}
    assert manifests.index([("c/templates/tests/t.yaml", hook)], None).objects == {}


def test_a_deployment_moving_from_extensions_to_apps_is_one_api_group_change() -> None:
    old = {"apiVersion": "extensions/v1beta1", "kind": "Deployment",
           "metadata": {"name": "web"}, "spec": {"replicas": 2}}
    new = {**old, "apiVersion": "apps/v1", "spec": {"replicas": 3}}
    before = manifests.index([("chart/templates/d.yaml", old)], "prod")
    after = manifests.index([("central/templates/d.yaml", new)], "prod")
    diffs = manifests.compare(before, after)
    assert [(d.diff_class, d.change, d.paths) for d in diffs] == [
        (DiffClass.DESTRUCTIVE, "changed", ("apiVersion",)),
        (DiffClass.FUNCTIONAL, "changed", ("spec.replicas",))]
    assert "extensions/v1beta1 -> apps/v1" in diffs[0].why and "mapkubeapis" in diffs[0].why
    assert not any(d.change in ("added", "removed") for d in diffs)
