"""Hatches go into a workload template where a person would put them, found by reading it: after
the items a list already has, into the condition guarding a field, or as a new guarded field.
Each edit is proved with real Helm: unchanged output with the hatches empty, each hatch's content
where it belongs when set, nothing else moved."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.central import proof
from migrator.central.hatches import BY_KEY, HATCHES
from migrator.central.suggest_templates import (
    EXTRA_OBJECTS_TEXT,
    TemplateEditError,
    add_hatches,
)
from migrator.verify import render

# `helm create` as it is in the wild: pod annotations under `with`, labels unconditional, no
# volumes at all, no env.
HELM_CREATE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      app: {{ .Release.Name }}
  template:
    metadata:
      {{- with .Values.annotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      labels:
        app: {{ .Release.Name }}
    spec:
      containers:
        - name: app
          image: "nginx:1.27"
          ports:
            - name: http
              containerPort: 80
          {{- with .Values.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
"""
HELM_CREATE_VALUES = "replicaCount: 1\nannotations: {}\nresources: {}\nnodeSelector: {}\n"
# Lists written without indentation under their key, and a volumes field always present.
INDENTLESS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.27
        env:
        - name: MODE
          value: {{ .Values.mode | quote }}
        volumeMounts:
        - name: cache
          mountPath: /cache
      volumes:
      - name: cache
        emptyDir: {}
"""
INDENTLESS_VALUES = "mode: fast\n"
SAMPLE_VALUES = {"replicaCount": 2, "annotations": {"team": "shop"},
                 "resources": {"limits": {"memory": "1Gi"}}, "nodeSelector": {"pool": "web"},
                 "mode": "slow"}


def load(root: Path, templates: dict[str, str], values: str, version: str = "1.0.0"
         ) -> render.LoadedChart:
    root.mkdir(parents=True)
    (root / "Chart.yaml").write_text(f"apiVersion: v2\nname: shop\nversion: {version}\n")
    (root / "values.yaml").write_text(values)
    for rel, text in templates.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return render.load(root)


def proved(tmp_path: Path, template: str, values: str, keys: list[str]) -> proof.Proof:
    """The template before and after `keys` are added, rendered empty, with team values, and
    with every added hatch set."""
    before = {"templates/deployment.yaml": template}
    after = {**before, **add_hatches(before, [BY_KEY[k] for k in keys])}
    defaults = values + "".join(f"{k}: {'{}' if BY_KEY[k].shape == 'map' else '[]'}\n"
                                for k in keys)
    old = load(tmp_path / "before", before, values)
    new = load(tmp_path / "after", after, defaults, "1.1.0")
    return proof.prove(old, new, [proof.ValueSet(proof.DEFAULTS, {}),
                                  proof.ValueSet("team", SAMPLE_VALUES)], keys)


def test_every_hatch_fits_a_helm_create_template(tmp_path: Path) -> None:
    keys = [h.key for h in HATCHES if h.place != "file"]
    result = proved(tmp_path, HELM_CREATE, HELM_CREATE_VALUES, keys)
    assert result.holds, proof.summary(result, "1.0.0", "1.1.0")
    assert result.rendered == 2 and len(result.carries) == 2


def test_every_hatch_fits_a_template_with_indentless_lists(tmp_path: Path) -> None:
    keys = [h.key for h in HATCHES if h.place != "file"]
    result = proved(tmp_path, INDENTLESS, INDENTLESS_VALUES, keys)
    assert result.holds, proof.summary(result, "1.0.0", "1.1.0")


def test_a_field_guarded_by_with_is_widened_and_keeps_its_own_content() -> None:
    text = add_hatches({"templates/deployment.yaml": HELM_CREATE},
                       [BY_KEY["podAnnotations"]])["templates/deployment.yaml"]
    assert "      {{- if or .Values.annotations .Values.podAnnotations }}\n" \
           "      annotations:\n      {{- with .Values.annotations }}\n" in text
    # every line of the template is still there, in its order
    kept = iter(text.splitlines())
    assert all(any(line == k for k in kept) for line in HELM_CREATE.splitlines()
               if "with .Values.annotations" not in line)


def test_a_field_the_template_lacks_is_added_at_the_end_of_its_parent() -> None:
    text = add_hatches({"templates/deployment.yaml": HELM_CREATE},
                       [BY_KEY["extraVolumes"]])["templates/deployment.yaml"]
    assert text.endswith("      {{- end }}\n      {{- with .Values.extraVolumes }}\n"
                         "      volumes:\n        {{- toYaml . | nindent 8 }}\n"
                         "      {{- end }}\n")


def test_items_follow_the_items_a_list_already_has() -> None:
    text = add_hatches({"templates/deployment.yaml": INDENTLESS},
                       [BY_KEY["extraEnv"]])["templates/deployment.yaml"]
    assert "          value: {{ .Values.mode | quote }}\n" \
           "        {{- with .Values.extraEnv }}\n" \
           "        {{- toYaml . | nindent 8 }}\n" in text


def test_a_field_under_nested_conditions_is_refused_with_its_line() -> None:
    nested = HELM_CREATE.replace(
        "      {{- with .Values.nodeSelector }}\n",
        "      {{- if .Values.scheduling }}\n      {{- with .Values.nodeSelector }}\n"
    ).replace("        {{- toYaml . | nindent 8 }}\n      {{- end }}\n",
              "        {{- toYaml . | nindent 8 }}\n      {{- end }}\n      {{- end }}\n")
    nested = nested.replace("      containers:\n", "      {{- if .Values.on }}\n      volumes:\n"
                            "        - name: x\n          emptyDir: {}\n      {{- end }}\n"
                            "      containers:\n", 1)
    nested = nested.replace("      {{- if .Values.on }}\n",
                            "      {{- if .Values.on }}\n      {{- if .Values.really }}\n"
                            ).replace("          emptyDir: {}\n      {{- end }}\n",
                                      "          emptyDir: {}\n      {{- end }}\n"
                                      "      {{- end }}\n")
    with pytest.raises(TemplateEditError, match=r"templates/deployment.yaml:\d+: volumes: "
                                                r"is written under conditions"):
        add_hatches({"templates/deployment.yaml": nested}, [BY_KEY["extraVolumes"]])


def test_actions_at_column_0_are_not_guessed_at() -> None:
    flat = HELM_CREATE.replace("      {{- with .Values.nodeSelector }}",
                               "{{- with .Values.nodeSelector }}")
    with pytest.raises(TemplateEditError, match="indented less than the keys"):
        add_hatches({"templates/deployment.yaml": flat}, [BY_KEY["extraContainers"]])


def test_a_pod_spec_built_elsewhere_is_refused() -> None:
    templates = {"templates/deployment.yaml": HELM_CREATE,
                 "templates/worker.yaml": HELM_CREATE.replace("kind: Deployment",
                                                              "kind: StatefulSet")}
    with pytest.raises(TemplateEditError, match="found templates/deployment.yaml, "
                                                "templates/worker.yaml"):
        add_hatches(templates, [BY_KEY["extraContainers"]])
    helper = {"templates/deployment.yaml": "kind: Deployment\nspec:\n  template:\n"
                                           '    {{- include "pod" . | nindent 4 }}\n'}
    with pytest.raises(TemplateEditError, match="no spec.template.spec"):
        add_hatches(helper, [BY_KEY["extraContainers"]])


def test_extra_objects_get_a_template_of_their_own(tmp_path: Path) -> None:
    changed = add_hatches({"templates/deployment.yaml": HELM_CREATE}, [BY_KEY["extraObjects"]])
    assert changed == {"templates/extra-objects.yaml": EXTRA_OBJECTS_TEXT}
    result = proved(tmp_path, HELM_CREATE, HELM_CREATE_VALUES, ["extraObjects"])
    assert result.holds, proof.summary(result, "1.0.0", "1.1.0")
    with pytest.raises(TemplateEditError, match="extra-objects.yaml: already exists"):
        add_hatches({"templates/deployment.yaml": HELM_CREATE,
                     "templates/extra-objects.yaml": "{}"}, [BY_KEY["extraObjects"]])


def test_a_hatch_wired_to_the_wrong_place_fails_the_proof(tmp_path: Path) -> None:
    # envFrom written under the sidecars: empty, nothing changes; set, it lands in a sidecar
    good = add_hatches({"templates/deployment.yaml": HELM_CREATE},
                       [BY_KEY["extraContainers"]])["templates/deployment.yaml"]
    wrong = good.replace("        {{- with .Values.extraContainers }}\n"
                         "        {{- toYaml . | nindent 8 }}\n        {{- end }}\n",
                         "        {{- with .Values.extraContainers }}\n"
                         "        {{- toYaml . | nindent 8 }}\n        {{- end }}\n"
                         "          {{- with .Values.envFrom }}\n          envFrom:\n"
                         "            {{- toYaml . | nindent 12 }}\n          {{- end }}\n")
    assert wrong != good
    old = load(tmp_path / "before", {"templates/deployment.yaml": HELM_CREATE},
               HELM_CREATE_VALUES)
    new = load(tmp_path / "after", {"templates/deployment.yaml": wrong},
               HELM_CREATE_VALUES + "extraContainers: []\nenvFrom: []\n", "1.1.0")
    result = proof.prove(old, new, [proof.ValueSet(proof.DEFAULTS, {})],
                         ["extraContainers", "envFrom"])
    assert not result.failed  # neutral with the hatches empty...
    (bad,) = result.not_carried  # ...but envFrom does not reach the app container
    assert bad.failure == "renders nothing for envFrom"
    assert not result.holds
