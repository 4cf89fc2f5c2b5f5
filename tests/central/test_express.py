"""express: what each value of each published central version adds, found by rendering."""

from __future__ import annotations

from pathlib import Path

from migrator.central.express import Effect, hatches, version_effects
from migrator.central.paths import kind_of, wildcard
from migrator.model import CentralValue
from tests.central.charts import CENTRAL, VALUES, catalog, load

EXTRA_OBJECTS = """\
{{- range .Values.extraObjects }}
---
{{ tpl (toYaml .) $ }}
{{- end }}
"""
INGRESS = """\
{{- if .Values.ingress.enabled }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ .Release.Name }}
  {{- with .Values.ingress.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  rules:
    - host: shop.example
{{- end }}
"""
SERVICE_ACCOUNT = """\
{{- if .Values.serviceAccount.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Release.Name }}
{{- end }}
"""
BROKEN = """\
{{- with .Values.strict }}
{{- fail "strict takes no items" }}
{{- end }}
"""


def test_a_false_toggle_is_the_exact_fields_and_objects_it_adds(tmp_path: Path) -> None:
    effects = version_effects(load(tmp_path, "central", CENTRAL))
    istio = [e for e in effects if e.key == "istio.enabled"]
    assert istio == [Effect("istio.enabled", "1.0.0", "Deployment",
                            'spec.template.metadata.annotations["sidecar.istio.io/inject"]',
                            "true", setting="true")]
    assert [e for e in effects if e.key == "pdb.enabled"] == [
        Effect("pdb.enabled", "1.0.0", "PodDisruptionBudget", "", setting="true")]


def test_a_true_switch_is_the_objects_turning_it_off_leaves_out(tmp_path: Path) -> None:
    chart = load(tmp_path, "central", {**CENTRAL, "templates/sa.yaml": SERVICE_ACCOUNT},
                 VALUES + "serviceAccount:\n  create: true\n")
    central = hatches(catalog(chart))
    assert central.removing("ServiceAccount") == (
        CentralValue("serviceAccount.create", ("1.0.0",), "false"),)
    assert central.removing("Deployment") == ()
    # leaving an object out never expresses an object the fork adds
    assert central.expressing("ServiceAccount") == ()


def test_an_empty_list_is_a_hatch_where_its_items_land(tmp_path: Path) -> None:
    effects = version_effects(load(tmp_path, "central", CENTRAL))
    assert {(e.key, e.resource_kind, e.path, e.hatch) for e in effects
            if e.key.startswith("volume")} == {
        ("volumes", "Deployment", "spec.template.spec.volumes", True),
        ("volumeMounts", "Deployment", "spec.template.spec.containers[*].volumeMounts", True)}


def test_a_list_of_manifests_carries_objects_of_every_kind(tmp_path: Path) -> None:
    chart = load(tmp_path, "central", {**CENTRAL, "templates/extra.yaml": EXTRA_OBJECTS},
                 VALUES + "extraObjects: []\n")
    central = hatches(catalog(chart))
    for kind in ("CronJob", "Secret", "NetworkPolicy"):
        assert central.expressing(kind) == (CentralValue("extraObjects", ("1.0.0",)),)


def test_a_value_under_a_disabled_feature_is_probed_with_the_feature_on(tmp_path: Path) -> None:
    chart = load(tmp_path, "central", {**CENTRAL, "templates/ingress.yaml": INGRESS},
                 VALUES + "ingress:\n  enabled: false\n  annotations: {}\n")
    effects = version_effects(chart)
    assert Effect("ingress.annotations", "1.0.0", "Ingress", "metadata.annotations",
                  hatch=True) in effects
    # the switch itself adds the whole object, not the annotations
    assert [e for e in effects if e.key == "ingress.enabled"] == [
        Effect("ingress.enabled", "1.0.0", "Ingress", "", setting="true")]


def test_a_value_that_does_not_render_alone_says_nothing(tmp_path: Path) -> None:
    chart = load(tmp_path, "central", {**CENTRAL, "templates/strict.yaml": BROKEN},
                 VALUES + "strict: []\n")
    assert [e for e in version_effects(chart) if e.key == "strict"] == []


def test_every_published_version_counts_and_keys_keep_their_versions(tmp_path: Path) -> None:
    v1 = load(tmp_path / "a", "central", CENTRAL, version="1.0.0")
    v2 = load(tmp_path / "b", "central", CENTRAL, version="1.1.0")
    found = hatches(catalog(v1, v2)).expressing(
        "Deployment", [("spec.template.spec.containers[shop].volumeMounts[cache]", None)])
    assert found == (CentralValue("volumeMounts", ("1.0.0", "1.1.0")),)


def test_leaves_must_all_be_expressed_for_a_value_to_count(tmp_path: Path) -> None:
    central = hatches(catalog(load(tmp_path, "central", CENTRAL)))
    assert central.expressing("Deployment", [("spec.template.spec.volumes", None),
                                             ("spec.template.spec.hostNetwork", "true")]) == ()


def test_paths_name_the_kind_wherever_the_pod_lives() -> None:
    assert kind_of("CronJob", "spec.jobTemplate.spec.template.spec.containers[x].envFrom") \
        == "env"
    assert kind_of("StatefulSet", "spec.template.metadata.annotations[\"a/b\"]") \
        == "labels-annotations"
    assert kind_of("Deployment", "spec.template.spec.containers[sidecar]",
                   fork_only=True) == "extra-container"
    # a container only the migration has is no sidecar of the fork's
    assert kind_of("Deployment", "spec.template.spec.containers[app]") == "other"
    assert kind_of("Deployment", "spec.strategy.type") == "other"
    assert wildcard("spec.template.spec.initContainers[a].env[B]") == \
        "spec.template.spec.initContainers[*].env[B]"
