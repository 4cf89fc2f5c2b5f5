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


def _deepdiff_below_three_levels(a: Any, b: Any, prefix: tuple[Any, ...] = ()
                                 ) -> list[tuple[list[Any], Any, Any]]:
    """The comparison as specified: maps taken apart key by key for three levels, DeepDiff on
    every subtree below that differs."""
    from deepdiff import DeepDiff

    def items(x: Any, y: Any, at: tuple[Any, ...]) -> list[tuple[list[Any], Any, Any]]:
        found = DeepDiff(x, y, view="tree", verbose_level=2)
        return [([*at, *i.path(output_format="list")], i.t1, i.t2)
                for _, group in found.items() for i in group]

    if a == b:
        return []
    if isinstance(a, dict) and isinstance(b, dict) and len(prefix) < 3:
        out = []
        for key in sorted(set(a) | set(b), key=str):
            if key in a and key in b:
                out += _deepdiff_below_three_levels(a[key], b[key], (*prefix, key))
            elif a.get(key) != b.get(key):
                out += items({key: a[key]} if key in a else {},
                             {key: b[key]} if key in b else {}, prefix)
        return out
    if prefix:
        return items({prefix[-1]: a}, {prefix[-1]: b}, prefix[:-1])
    return items(a, b, prefix)


def _random_tree(rng: Any, depth: int) -> Any:
    kind = rng.random()
    if depth > 5 or (depth > 1 and kind < 0.4):
        return rng.choice(["a", "b", "", "1", 0, 1, 2, 1.0, 1.5, True, False, None])
    if depth > 2 and kind < 0.45:
        return [_random_tree(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth > 2 and kind < 0.55:
        return [{"name": n, "v": _random_tree(rng, depth + 1)} for n in rng.sample("pqrs", 2)]
    return {k: _random_tree(rng, depth + 1) for k in rng.sample("abcdefg", rng.randint(1, 4))}


def _mutated(rng: Any, tree: Any, depth: int = 0) -> Any:
    if isinstance(tree, dict):
        out = {k: (_mutated(rng, v, depth + 1) if rng.random() < 0.4 else v)
               for k, v in tree.items()}
        if rng.random() < 0.1 and out:
            out.pop(rng.choice(sorted(out)))
        if rng.random() < 0.15:
            out[rng.choice("abcdefgz")] = _random_tree(rng, depth + 1)
        return out
    if isinstance(tree, list):
        out_list = [(_mutated(rng, v, depth + 1) if rng.random() < 0.4 else v) for v in tree]
        if rng.random() < 0.2:
            out_list.append(_random_tree(rng, depth + 1))
        return out_list
    return _random_tree(rng, depth + 3) if rng.random() < 0.7 else tree


def test_the_comparison_finds_what_deepdiff_finds_below_three_levels_in_its_order() -> None:
    import random

    rng = random.Random(11)
    scalars = 0
    for _ in range(600):
        a = manifests.normalize(_random_tree(rng, 0))
        b = manifests.normalize(_mutated(rng, a))
        found = [([*prefix, *item.path(output_format="list")], item.t1, item.t2)
                 for prefix, item in manifests._tree_diff(a, b)]
        assert found == _deepdiff_below_three_levels(a, b), (a, b)
        scalars += sum(isinstance(x, str | int | float) and isinstance(y, str | int | float)
                       for _, x, y in found)
    assert scalars > 100  # the usual difference: a value, or its type, changed
