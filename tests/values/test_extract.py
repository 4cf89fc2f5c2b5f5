"""The three-way values extraction, on plain data, and its defining property."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator import tree
from migrator.mapping import rename
from migrator.values.extract import ValuesInputs, plan_values, read_by_name, three_way

CENTRAL = {
    "replicas": 1,
    "image": {"repository": "nginx", "tag": "", "pullPolicy": "IfNotPresent"},
    "nameOverride": "",
    "resources": {},
    "probes": {"liveness": {"initialDelaySeconds": 10, "path": "/"}},
    "pod": {"annotations": {}},
}


def test_a_value_equal_to_the_central_default_is_dropped() -> None:
    out, decisions = three_way({"replicas": 1, "image": {"tag": ""}}, None, CENTRAL)
    assert out == {}
    assert {d.path for d in decisions if d.reason == "equal-default"} == {"replicas", "image.tag"}


def test_a_type_change_is_a_difference() -> None:
    out, _ = three_way({"replicas": "1"}, None, CENTRAL)
    assert out == {"replicas": "1"}


def test_a_deliberate_change_is_kept_and_an_inherited_one_is_pinned() -> None:
    origin = {**CENTRAL, "probes": {"liveness": {"initialDelaySeconds": 30, "path": "/"}}}
    fork = {**origin, "replicas": 3}
    out, decisions = three_way(fork, origin, CENTRAL, "pin")
    assert out == {"replicas": 3, "probes": {"liveness": {"initialDelaySeconds": 30}}}
    reasons = {d.path: d.reason for d in decisions if d.reason != "equal-default"}
    assert reasons == {"replicas": "deliberate",
                       "probes.liveness.initialDelaySeconds": "inherited-pinned"}


def test_adopt_takes_the_central_default_for_inherited_values() -> None:
    origin = {**CENTRAL, "probes": {"liveness": {"initialDelaySeconds": 30, "path": "/"}}}
    out, decisions = three_way(origin, origin, CENTRAL, "adopt")
    assert out == {}
    assert any(d.reason == "inherited-adopted" for d in decisions)


def test_an_explicit_null_that_deletes_a_default_is_kept() -> None:
    origin = dict(CENTRAL)
    fork = {**CENTRAL, "probes": None}  # the team deleted the probes
    out, decisions = three_way(fork, origin, CENTRAL)
    assert out == {"probes": None}
    assert [d.reason for d in decisions if d.path == "probes"] == ["deliberate"]


def test_a_key_absent_from_the_fork_takes_the_central_default_not_null() -> None:
    origin = dict(CENTRAL)
    fork = {k: v for k, v in CENTRAL.items() if k not in ("probes", "pod")}  # a trimmed file
    out, decisions = three_way(fork, origin, CENTRAL)
    assert out == {}
    assert not [d for d in decisions if d.path.startswith(("probes", "pod"))]


def test_a_fork_of_an_older_scaffold_migrates_with_the_central_defaults_of_newer_keys() -> None:
    # The origin had podAnnotations/serviceAccount; the fork's file is trimmed to a few keys;
    # httpRoute exists only in the central chart.
    central = {**CENTRAL, "httpRoute": {"enabled": False, "annotations": {}},
               "serviceAccount": {"create": True, "annotations": {}, "name": ""},
               "podAnnotations": {}}
    origin = {k: v for k, v in central.items() if k != "httpRoute"}
    plan = plan_values(ValuesInputs(
        fork_defaults={"replicas": 3, "image": {"repository": "nginx", "tag": "",
                                                "pullPolicy": "IfNotPresent"}},
        env_user={"default": {}}, origin_defaults=origin, central_defaults=central))
    assert plan.base == {"replicas": 3}
    assert plan.envs == {}


TEMPLATES = {"templates/deployment.yaml": (
    "livenessProbe:\n  {{- toYaml .Values.probes.liveness | nindent 2 }}\n"
    "{{- with .Values.service }}\ntype: {{ .type | quote }}\n{{- end }}\n")}


def test_the_keys_templates_read_by_name() -> None:
    assert read_by_name(TEMPLATES) == {"Values", "probes", "liveness", "service", "type"}
    assert read_by_name({}) is None


def test_a_value_missing_from_a_map_the_fork_sets_is_deleted_where_the_default_adds_one(
) -> None:
    # `probes.liveness` is the fork's whole definition, which the central template passes along
    # whole: Helm would merge the central map into it. Its origin had initialDelaySeconds and
    # path; the fork's map has neither. A map, a default that adds nothing (""), and a key a
    # template reads by name (`service.type`) are never nulled.
    central = {**CENTRAL, "probes": {"liveness": {
        "httpGet": {"port": "http"}, "initialDelaySeconds": 10, "path": "/",
        "exec": {"command": ["true"]}, "scheme": ""}}}
    origin = {**central, "probes": {"liveness": {
        "httpGet": {"port": "http"}, "initialDelaySeconds": 30, "path": "/",
        "exec": {"command": ["true"]}, "scheme": ""}}}
    central["service"] = {"type": "ClusterIP", "port": 80}
    origin["service"] = {"type": "ClusterIP", "port": 80}
    fork = {"probes": {"liveness": {"httpGet": {"port": 8080}}}, "service": {"port": 80}}
    reads = read_by_name(TEMPLATES)
    out, decisions = three_way(fork, origin, central, central_reads=reads)
    assert out == {"probes": {"liveness": {"httpGet": {"port": 8080},
                                           "initialDelaySeconds": None, "path": None}}}
    [why] = {d.note for d in decisions if d.path == "probes.liveness.path"}
    assert why.startswith("not in the fork's `probes.liveness` (its origin had it)")
    # without an origin, at the top level, or not knowing the templates: nothing is deleted
    plain = {"probes": {"liveness": {"httpGet": {"port": 8080}}}}
    assert three_way(fork, None, central, central_reads=reads)[0] == plain
    assert three_way({}, origin, central, central_reads=reads)[0] == {}
    assert three_way(fork, origin, central)[0] == plain


def test_an_environment_file_null_deletes_the_default_in_that_environment_only() -> None:
    plan = plan_values(ValuesInputs(
        fork_defaults={"probes": {"liveness": {"initialDelaySeconds": 10, "path": "/"}}},
        env_user={"dev": {"probes": None}, "prod": {}},
        origin_defaults=dict(CENTRAL), central_defaults=CENTRAL))
    assert plan.base == {}
    assert plan.envs == {"dev": {"probes": None}}


def test_a_null_for_a_key_the_central_chart_lacks_is_neither_written_nor_reported() -> None:
    out, decisions = three_way({"legacy": None}, None, CENTRAL)
    assert out == {} and decisions == []


def test_keys_the_central_chart_does_not_know_are_unmapped_not_written() -> None:
    out, decisions = three_way({"database": {"password": "x"}}, None, CENTRAL)
    assert out == {}
    assert [(d.path, d.reason) for d in decisions] == [("database.password", "unmapped")]


def test_keys_under_a_free_form_central_map_are_kept() -> None:
    out, _ = three_way({"resources": {"limits": {"memory": "1Gi"}}}, None, CENTRAL)
    assert out == {"resources": {"limits": {"memory": "1Gi"}}}


def test_renamed_keys_are_compared_under_their_new_name() -> None:
    plan = plan_values(ValuesInputs(
        fork_defaults={"replicaCount": 1, "podAnnotations": {"a": "b"}},
        env_user={"default": {}}, origin_defaults=None, central_defaults=CENTRAL,
        rules=(rename("replicaCount", "replicas"), rename("podAnnotations", "pod.annotations")),
    ))
    assert plan.base == {"pod": {"annotations": {"a": "b"}}}
    kept = [d for d in plan.decisions if d.path == "pod.annotations.a"]
    assert kept[0].source == "podAnnotations.a"


def test_identity_and_app_version_are_pinned_from_the_fork_metadata() -> None:
    plan = plan_values(ValuesInputs(
        fork_defaults={"image": {"tag": ""}}, env_user={"default": {}}, origin_defaults=None,
        central_defaults=CENTRAL, fork_name="orders", central_name="app-template",
        fork_app_version="5.2.1",
    ))
    assert plan.base == {"nameOverride": "orders", "image": {"tag": "5.2.1"}}
    assert {d.reason for d in plan.decisions if d.path in ("nameOverride", "image.tag")} == {
        "identity", "metadata"}


def test_an_app_version_set_by_a_flag_in_every_env_is_not_pinned() -> None:
    plan = plan_values(ValuesInputs(
        fork_defaults={}, env_user={"prod": {}}, origin_defaults=None,
        central_defaults=CENTRAL, fork_app_version="5.2.1",
        flag_paths=frozenset({"image.tag"}),
    ))
    assert "image" not in plan.base


def test_prod_setting_a_value_back_to_the_default_moves_the_base_value_to_the_others() -> None:
    plan = plan_values(ValuesInputs(
        fork_defaults={"replicas": 3},
        env_user={"dev": {}, "prod": {"replicas": 1}},
        origin_defaults=None, central_defaults=CENTRAL,
    ))
    assert plan.base == {}
    assert plan.envs == {"dev": {"replicas": 3}}


def test_env_files_keep_only_what_differs_from_the_merged_base() -> None:
    plan = plan_values(ValuesInputs(
        fork_defaults={"replicas": 2, "image": {"repository": "r"}},
        env_user={"dev": {"replicas": 2}, "prod": {"replicas": 5}},
        origin_defaults=None, central_defaults=CENTRAL,
    ))
    assert plan.base == {"replicas": 2, "image": {"repository": "r"}}
    assert plan.envs == {"prod": {"replicas": 5}}


# --- the defining property ---------------------------------------------------------------

_scalars = st.one_of(st.integers(-3, 3), st.sampled_from(["", "a", "b", "1"]), st.booleans(),
                     st.none())
_keys = st.sampled_from(["a", "b", "c", "d"])
_trees: st.SearchStrategy[dict[str, Any]] = st.recursive(
    st.dictionaries(_keys, _scalars, max_size=3),
    lambda children: st.dictionaries(_keys, st.one_of(_scalars, children,
                                                      st.lists(_scalars, max_size=2)),
                                     max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(central=_trees, fork=_trees, envs=st.dictionaries(st.sampled_from(["dev", "prod"]),
                                                          _trees, max_size=2))
def test_extracted_values_merged_onto_the_central_defaults_give_the_fork_values(
        central: dict[str, Any], fork: dict[str, Any], envs: dict[str, dict[str, Any]]) -> None:
    # Every key is known to the central chart (unmapped keys are reported, not written):
    # make the central defaults cover the fork's shape.
    shape = _shape(fork)
    for user in envs.values():
        shape = _union(shape, _shape(user))
    central = tree.coalesce(central, shape)
    plan = plan_values(ValuesInputs(fork_defaults=fork, env_user=envs or {"default": {}},
                                    origin_defaults=None, central_defaults=central))
    for env, user in (envs or {"default": {}}).items():
        # What the fork's templates read: its files over its chart's defaults, an explicit
        # null read as nil (Helm keeps it, or deletes the default it overrides).
        effective = tree.merge(fork, user)
        written = tree.merge(plan.base, plan.envs.get(env, {}))
        got = tree.coalesce(central, written)  # what the central chart renders with
        for key, value in tree.leaves(effective):
            if value is None:
                assert tree.get(got, key, None) is None, key
            elif value == {}:
                assert not tree.get(got, key, None), key
            else:
                assert tree.same(tree.get(got, key), value), key
        for key, value in tree.leaves(written):
            assert value is None or not tree.same(value, tree.get(central, key)), key


def _union(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Both shapes at once: where one has a map and the other a leaf, the map (its keys)."""
    out = dict(a)
    for key, value in b.items():
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = _union(out[key], value)
        elif not isinstance(out.get(key), dict):
            out[key] = value
    return out


def _shape(values: dict[str, Any]) -> dict[str, Any]:
    """A central default for every key: a value no fork strategy produces ("default")."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        out[key] = _shape(value) if isinstance(value, dict) and value else "default"
    return out


def test_coalesce_matches_what_helm_does(tmp_path: Path) -> None:
    with_defaults = helm.Chart.create("probe", tmp_path)
    user = {"image": {"tag": None, "repository": "r"}, "replicaCount": 3, "service": None}
    ours = tree.coalesce(with_defaults.values, user)
    assert ours == with_defaults.merge_values(user)


def test_a_map_where_the_central_default_is_a_scalar_is_kept_with_its_decision() -> None:
    plan = plan_values(ValuesInputs(
        fork_defaults={"replicas": {"api": 2}}, env_user={"default": {}},
        origin_defaults=None, central_defaults=CENTRAL))
    assert plan.base == {"replicas": {"api": 2}}
    assert [(d.path, d.reason) for d in plan.decisions if d.path.startswith("replicas")] == [
        ("replicas", "deliberate")]
