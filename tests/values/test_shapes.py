"""Values of another shape, found against the central defaults before any render."""

from __future__ import annotations

from typing import Any

from migrator.model import Kind, ValuesPlan
from migrator.values.shapes import describe, mismatches, outcome, values_shape_mismatches

CENTRAL: dict[str, Any] = {
    "ingress": {
        "enabled": False,
        "hosts": [{"host": "chart-example.local",
                   "paths": [{"path": "/", "pathType": "ImplementationSpecific"}]}],
        "tls": [],
        "annotations": {},
    },
    "env": [{"name": "LOG_LEVEL", "value": "info"}],
    "extraArgs": ["--verbose"],
    "podAnnotations": {},
    "nodeSelector": None,
    "image": {"repository": "nginx", "tag": ""},
}


def found(values: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {m.dotted: (m.fork, m.central) for m in mismatches(values, CENTRAL)}


def test_a_list_of_host_strings_where_the_central_chart_expects_maps_is_named() -> None:
    [m] = mismatches({"ingress": {"hosts": ["a.example.com", "b.example.com"]}}, CENTRAL)
    assert m.dotted == "ingress.hosts"
    assert m.detail == ("a list of strings; the central chart expects a list of maps "
                        "(host, paths)")
    assert m.conversion is not None and m.conversion.kind == "strings-to-maps"
    assert m.conversion.key == "host"
    assert m.conversion.template == {"paths": [{"path": "/", "pathType": "ImplementationSpecific"}]}


def test_a_bool_where_the_central_chart_expects_a_list_has_no_rule() -> None:
    [m] = mismatches({"ingress": {"tls": True}}, CENTRAL)
    assert (m.dotted, m.fork, m.central) == ("ingress.tls", "a bool", "a list")
    assert m.conversion is None


def test_a_map_where_the_central_chart_expects_a_list_of_name_value_items() -> None:
    [m] = mismatches({"env": {"A": "b", "C": "d"}}, CENTRAL)
    assert (m.fork, m.central) == ("a map", "a list of maps (name, value)")
    assert m.conversion is not None and m.conversion.kind == "map-to-pairs"


def test_the_reverse_shapes_are_named_too() -> None:
    assert found({"extraArgs": [{"arg": "--verbose"}], "podAnnotations": ["a=b"],
                  "image": "nginx:1.25"}) == {
        "extraArgs": ("a list of maps", "a list of strings"),
        "podAnnotations": ("a list of strings", "a map"),
        "image": ("a string", "a map (repository, tag)"),
    }


def test_items_are_compared_with_the_first_item_of_the_central_default() -> None:
    values = {"ingress": {"hosts": [{"host": "a.example.com", "paths": ["/api", "/web"]}]}}
    [m] = mismatches(values, CENTRAL)
    assert m.dotted == "ingress.hosts[].paths"
    assert (m.fork, m.central) == ("a list of strings", "a list of maps (path, pathType)")
    assert m.conversion is not None and m.conversion.key == "path"


def test_what_the_central_defaults_do_not_say_is_never_a_mismatch() -> None:
    # a null default, a key the central chart lacks, items of an empty default list, keys
    # under an empty default map, scalars of another type, empty fork values
    assert found({"nodeSelector": ["a"], "unknown": [1], "ingress": {
        "tls": [{"secretName": "x"}], "annotations": {"a": ["b"]}, "enabled": "true",
        "hosts": []}, "env": {}}) == {}


def test_values_in_the_central_shape_are_fine() -> None:
    assert found({"ingress": {"hosts": [{"host": "a", "paths": [{"path": "/x"}]}],
                              "tls": [{"secretName": "s", "hosts": ["a"]}]},
                  "env": [{"name": "A", "value": "b"}], "extraArgs": ["--quiet"]}) == {}


def test_the_base_file_and_each_environment_are_checked_and_each_path_named_once() -> None:
    plan = ValuesPlan(base={"ingress": {"hosts": ["a.example.com"]}},
                      envs={"dev": {"ingress": {"tls": True}}, "prod": {"ingress": {"tls": True}}},
                      decisions=())
    assert [m.dotted for m in values_shape_mismatches(plan, CENTRAL)] == [
        "ingress.hosts", "ingress.tls"]


def test_the_outcome_blocks_with_the_first_mismatch_in_words_and_counts_them_all() -> None:
    plan = ValuesPlan(base={"ingress": {"hosts": ["a"], "tls": True}}, envs={}, decisions=())
    result = outcome(values_shape_mismatches(plan, CENTRAL))
    assert result.kind is Kind.VALUES_SHAPE
    assert result.paths == ("ingress.hosts", "ingress.tls") and result.count == 2
    assert result.detail.startswith("a list of strings; the central chart expects")


def test_shapes_in_words() -> None:
    assert [describe(v) for v in (["a", 1], [[1]], 3, 1.5, "x", False, {})] == [
        "a list of mixed items", "a list of lists", "a number", "a number", "a string",
        "a bool", "a map"]


def test_an_env_map_where_the_central_default_is_an_empty_list_becomes_name_value_items(
) -> None:
    # Kubernetes gives a container env's item shape where the empty default does not
    [m] = mismatches({"env": {"A": "b"}}, {"env": []})
    assert (m.dotted, m.fork, m.central) == ("env", "a map", "a list")
    assert m.conversion is not None and m.conversion.pair == ("name", "value")
    nested = mismatches({"extraEnv": {"C": {"nested": 1}}, "other": {"a": "b"}},
                        {"extraEnv": [], "other": []})
    assert [(m.dotted, m.conversion) for m in nested] == [("extraEnv", None), ("other", None)]
