"""classify: each remaining difference of a real render becomes a kind, with its template line."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.central import kinds
from migrator.central.classify import classify, finding
from migrator.model import (
    CentralValue,
    Customization,
    DiffClass,
    Kind,
    Outcome,
    ValueDecision,
    Verdict,
)
from migrator.redact import scrub_text
from tests.central.charts import (
    CENTRAL,
    DEPLOYMENT,
    PDB,
    SERVICE,
    VALUES,
    central_hatches,
    line_of,
    load,
    planned,
)

SIDECAR = """\
        - name: log-shipper
          image: fluent/fluent-bit:2.2.2
"""


def container_edit(extra: str) -> dict[str, str]:
    """The fork's deployment with `extra` lines at the end of the app container."""
    anchor = "          {{- with .Values.volumeMounts }}\n"
    return {"templates/deployment.yaml": DEPLOYMENT.replace(anchor, extra + anchor)}


def pod_edit(extra: str) -> dict[str, str]:
    anchor = "      containers:\n"
    return {"templates/deployment.yaml": DEPLOYMENT.replace(anchor, extra + anchor)}


def only(found: tuple[Customization, ...], kind: str) -> Customization:
    matching = [c for c in found if c.kind == kind]
    assert len(matching) == 1, found
    return matching[0]


def kinds_of(found: tuple[Customization, ...]) -> set[str]:
    return {c.kind for c in found}


def test_a_sidecar_is_an_extra_container_with_the_line_that_adds_it(tmp_path: Path) -> None:
    edits = container_edit("") | {"templates/deployment.yaml": DEPLOYMENT.replace(
        "      {{- with .Values.volumes }}\n", SIDECAR + "      {{- with .Values.volumes }}\n")}
    p = planned(tmp_path, edits)
    found = p.classified().customizations
    assert p.plan.verdict is Verdict.BLOCKED
    item = only(found, kinds.EXTRA_CONTAINER)
    assert item.resource == "Deployment/shop"
    assert item.paths == ("spec.template.spec.containers[log-shipper]",)
    assert item.blocks and item.environments == ("prod",)
    text = edits["templates/deployment.yaml"]
    assert (item.file, item.line) == ("chart/templates/deployment.yaml",
                                      line_of(text, "- name: log-shipper"))


def test_init_containers_are_an_init_container(tmp_path: Path) -> None:
    p = planned(tmp_path, pod_edit("      initContainers:\n        - name: migrate\n"
                                   "          image: shop:1.0\n"))
    item = only(p.classified().customizations, kinds.INIT_CONTAINER)
    assert item.paths == ("spec.template.spec.initContainers",)
    assert item.line == line_of(p.fork.templates["templates/deployment.yaml"], "initContainers")


def test_volumes_and_their_mounts_are_volumes(tmp_path: Path) -> None:
    edits = {"templates/deployment.yaml": DEPLOYMENT.replace(
        "          {{- with .Values.volumeMounts }}\n",
        "          volumeMounts:\n            - name: cache\n              mountPath: /cache\n"
        "          {{- with .Values.volumeMounts }}\n").replace(
        "      {{- with .Values.volumes }}\n",
        "      volumes:\n        - name: cache\n          emptyDir: {}\n"
        "      {{- with .Values.volumes }}\n")}
    found = planned(tmp_path, edits).classified().customizations
    assert kinds_of(found) == {kinds.VOLUMES}
    assert set(only(found, kinds.VOLUMES).paths) == {
        "spec.template.spec.volumes", "spec.template.spec.containers[app].volumeMounts"}


def test_env_from_a_secret_and_env_from_a_config_map_are_env(tmp_path: Path) -> None:
    p = planned(tmp_path, container_edit(
        "          env:\n            - name: DB_PASSWORD\n              valueFrom:\n"
        "                secretKeyRef: {name: db, key: password}\n"
        "          envFrom:\n            - configMapRef: {name: shop-config}\n"))
    found = p.classified().customizations
    assert kinds_of(found) == {kinds.ENV}
    assert set(only(found, kinds.ENV).paths) == {
        "spec.template.spec.containers[app].env", "spec.template.spec.containers[app].envFrom"}


def test_command_and_args_are_command_args(tmp_path: Path) -> None:
    found = planned(tmp_path, container_edit(
        '          command: ["/bin/shop"]\n          args: ["--port", "80"]\n'
    )).classified().customizations
    assert kinds_of(found) == {kinds.COMMAND_ARGS}


def test_pod_and_container_security_contexts_are_security_context(tmp_path: Path) -> None:
    edits = pod_edit("      securityContext:\n        fsGroup: 2000\n")
    edits = {"templates/deployment.yaml": edits["templates/deployment.yaml"].replace(
        "          image: nginx:1.27\n",
        "          image: nginx:1.27\n          securityContext:\n"
        "            readOnlyRootFilesystem: true\n")}
    found = planned(tmp_path, edits).classified().customizations
    assert kinds_of(found) == {kinds.SECURITY_CONTEXT}
    assert set(only(found, kinds.SECURITY_CONTEXT).paths) == {
        "spec.template.spec.securityContext",
        "spec.template.spec.containers[app].securityContext"}


def test_a_pre_stop_hook_is_lifecycle(tmp_path: Path) -> None:
    found = planned(tmp_path, container_edit(
        '          lifecycle:\n            preStop:\n              exec:\n'
        '                command: ["sleep", "5"]\n')).classified().customizations
    assert kinds_of(found) == {kinds.LIFECYCLE}


def test_labels_the_central_chart_cannot_set_are_labels_annotations(tmp_path: Path) -> None:
    text = DEPLOYMENT.replace("    app: {{ .Release.Name }}\nspec:",
                              "    app: {{ .Release.Name }}\n    team: payments\nspec:")
    found = planned(tmp_path, {"templates/deployment.yaml": text}).classified().customizations
    item = only(found, kinds.LABELS_ANNOTATIONS)
    assert item.paths == ("metadata.labels.team",)
    assert item.line == line_of(text, "team: payments")


def test_a_probe_of_another_shape_is_probes(tmp_path: Path) -> None:
    found = planned(tmp_path, {"templates/deployment.yaml": DEPLOYMENT.replace(
        "            httpGet:\n              path: /\n              port: 80\n",
        "            exec:\n              command: [/bin/health]\n")}).classified().customizations
    assert kinds_of(found) == {kinds.PROBES}


def test_service_ports_and_container_ports_are_service_shape(tmp_path: Path) -> None:
    edits = {"templates/service.yaml": SERVICE + "    - name: metrics\n      port: 9090\n",
             **container_edit("          ports:\n            - name: metrics\n"
                              "              containerPort: 9090\n")}
    found = planned(tmp_path, edits).classified().customizations
    assert kinds_of(found) == {kinds.SERVICE_SHAPE}
    assert {c.resource for c in found} == {"Service/shop", "Deployment/shop"}


def test_ingress_rules_of_another_shape_are_ingress_shape(tmp_path: Path) -> None:
    ingress = ("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n"
               "  name: {{ .Release.Name }}\nspec:\n  rules:\n    - host: {{ .Values.host }}\n")
    central = load(tmp_path / "central", "central", {**CENTRAL, "templates/ingress.yaml":
                                                     ingress}, VALUES + "host: a.example\n")
    found = planned(tmp_path, {"templates/ingress.yaml": ingress.replace(
        "{{ .Values.host }}", "shop.example")}, central=central,
        fork_values=VALUES + "host: a.example\n").classified().customizations
    assert kinds_of(found) == {kinds.INGRESS_SHAPE}


OBJECTS = {
    "CronJob": "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: nightly\nspec:\n"
               "  schedule: '0 3 * * *'\n  jobTemplate:\n    spec:\n      template:\n"
               "        spec:\n          restartPolicy: OnFailure\n          containers:\n"
               "            - name: export\n              image: shop:1.0\n",
    "ConfigMap": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop-config\n"
                 "data:\n  mode: fast\n",
    "Secret": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: shop-db\n"
              "stringData:\n  password: hunter2-Sup3rSecret\n",
    "ExternalSecret": "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\n"
                      "metadata:\n  name: shop-db\nspec:\n  refreshInterval: 1h\n",
    "PodDisruptionBudget": PDB.replace("{{- if .Values.pdb.enabled }}\n", "").replace(
        "{{- end }}\n", ""),
    "NetworkPolicy": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
                     "  name: shop\nspec:\n  podSelector: {}\n",
    "ServiceMonitor": "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\n"
                      "metadata:\n  name: shop\nspec:\n  endpoints:\n    - port: http\n",
}


@pytest.mark.parametrize("kind", sorted(OBJECTS))
def test_an_object_only_the_fork_renders_is_an_extra_object_of_its_kind(
        tmp_path: Path, kind: str) -> None:
    extra = {"templates/extra.yaml": "# the team's own object\n" + OBJECTS[kind]}
    p = planned(tmp_path, extra)
    item = only(p.classified().customizations, kinds.extra_object(kind))
    assert p.plan.verdict is Verdict.BLOCKED  # the migration would delete it
    assert item.blocks and item.diff_class is DiffClass.DESTRUCTIVE
    assert (item.file, item.line) == ("chart/templates/extra.yaml", 3)  # its `kind:` line


def test_a_changed_selector_is_other_and_blocks_whatever_the_central_chart_has(
        tmp_path: Path) -> None:
    edits = {"templates/deployment.yaml": DEPLOYMENT.replace(
        "    matchLabels:\n      app: {{ .Release.Name }}\n",
        "    matchLabels:\n      app: {{ .Release.Name }}\n      tier: backend\n")}
    central = load(tmp_path / "central", "central", CENTRAL)
    found = planned(tmp_path, edits, central=central).classified(
        central_hatches(central)).customizations
    item = only(found, kinds.OTHER)
    assert item.paths == ("spec.selector.matchLabels.tier",)
    assert item.blocks and item.diff_class is DiffClass.DESTRUCTIVE
    assert "immutable field spec.selector" in item.why
    assert item.expressed_by == ()
    assert not kinds.coverable(item.kind)


def test_a_renamed_object_is_other_not_an_extra_object(tmp_path: Path) -> None:
    found = planned(tmp_path, {"templates/service.yaml": SERVICE.replace(
        "name: {{ .Release.Name }}\nspec", "name: {{ .Release.Name }}-svc\nspec")}
    ).classified().customizations
    assert kinds_of(found) == {kinds.OTHER}
    assert {c.resource for c in found} == {"Service/shop-svc", "Service/shop"}


def test_unmapped_values_are_values_without_equivalent_and_never_block(tmp_path: Path) -> None:
    decisions = (ValueDecision("nightly.schedule", "unmapped", "0 3 * * *",
                               note="the central chart has no such key"),
                 ValueDecision("replicas", "deliberate", 3))
    p = planned(tmp_path, {"templates/extra.yaml": OBJECTS["ConfigMap"]}, decisions=decisions,
                value_lines={"chart/values.yaml": {"nightly.schedule": 12},
                             "chart/values-prod.yaml": {"other": 1}})
    item = only(p.classified().customizations, kinds.VALUES_WITHOUT_EQUIVALENT)
    assert item.paths == ("nightly.schedule",)
    assert (item.where, item.blocks) == ("chart/values.yaml:12", False)


def test_functional_differences_of_an_unedited_fork_do_not_block(tmp_path: Path) -> None:
    p = planned(tmp_path, container_edit('          args: ["--fast"]\n'), edited=False)
    assert p.plan.verdict is Verdict.REVIEW
    (item,) = p.classified().customizations
    assert (item.kind, item.blocks) == (kinds.COMMAND_ARGS, False)


def test_ready_charts_are_not_classified(tmp_path: Path) -> None:
    p = planned(tmp_path, {})
    assert p.plan.verdict is Verdict.READY
    assert p.classified().customizations == ()


def test_a_hard_coded_annotation_is_expressed_by_the_central_toggle_of_some_version(
        tmp_path: Path) -> None:
    """The fork hard-codes what central 1.0.0's `istio.enabled` writes; the target (2.0.0) has
    no such value: a mapping onto 1.0.0, says the report, not a missing feature."""
    old = load(tmp_path / "c1", "central", CENTRAL)
    target = load(tmp_path / "c2", "central", {
        "templates/deployment.yaml": DEPLOYMENT.replace(".Values.istio.enabled", "false"),
        "templates/service.yaml": SERVICE}, "volumes: []\nvolumeMounts: []\n", "2.0.0")
    edits = {"templates/deployment.yaml": DEPLOYMENT.replace(
        "{{- if .Values.istio.enabled }}", "{{- if true }}")}
    item = only(planned(tmp_path, edits, central=target).classified(
        central_hatches(old, target)).customizations, kinds.LABELS_ANNOTATIONS)
    assert item.paths == ("spec.template.metadata.annotations",)
    assert item.expressed_by == (CentralValue("istio.enabled", ("1.0.0",), "true"),)
    assert "central already has `istio.enabled=true` (1.0.0): a mapping to write" in \
        finding(item, "central")


def test_an_annotation_the_toggle_writes_otherwise_is_not_expressed_by_it(tmp_path: Path) -> None:
    central = load(tmp_path / "central", "central", CENTRAL)
    edits = {"templates/deployment.yaml": DEPLOYMENT.replace(
        "{{- if .Values.istio.enabled }}", "{{- if true }}").replace(
        'sidecar.istio.io/inject: "true"', 'sidecar.istio.io/inject: "false"')}
    item = only(planned(tmp_path, edits, central=central).classified(
        central_hatches(central)).customizations, kinds.LABELS_ANNOTATIONS)
    assert item.expressed_by == ()


def test_a_pdb_template_is_expressed_by_the_central_pdb_switch(tmp_path: Path) -> None:
    central = load(tmp_path / "central", "central", CENTRAL)
    item = only(planned(tmp_path, {"templates/pdb.yaml": OBJECTS["PodDisruptionBudget"]},
                        central=central).classified(central_hatches(central)).customizations,
                kinds.extra_object("PodDisruptionBudget"))
    assert item.expressed_by == (CentralValue("pdb.enabled", ("1.0.0",), "true"),)


def test_an_object_only_the_migration_renders_is_other_unless_a_switch_leaves_it_out(
        tmp_path: Path) -> None:
    """The fork deleted its Service; the central chart renders one unless `service.enabled`
    is false: a mapping, and no template of the fork is behind it."""
    service = "{{- if .Values.service.enabled }}\n" + SERVICE + "{{- end }}\n"
    central = load(tmp_path / "central", "central", {**CENTRAL, "templates/service.yaml":
                                                     service},
                   VALUES + "service:\n  enabled: true\n")
    item = only(planned(tmp_path, {"templates/service.yaml": ""}, central=central).classified(
        central_hatches(central)).customizations, kinds.OTHER)
    assert (item.resource, item.paths, item.file) == ("Service/shop", (), None)
    assert item.expressed_by == (CentralValue("service.enabled", ("1.0.0",), "false"),)


def test_volumes_the_target_has_a_value_for_are_a_mapping_problem(tmp_path: Path) -> None:
    central = load(tmp_path / "central", "central", CENTRAL)
    edits = {"templates/deployment.yaml": DEPLOYMENT.replace(
        "      {{- with .Values.volumes }}\n",
        "      volumes:\n        - name: cache\n          emptyDir: {}\n"
        "      {{- with .Values.volumes }}\n")}
    item = only(planned(tmp_path, edits, central=central).classified(
        central_hatches(central)).customizations, kinds.VOLUMES)
    assert item.expressed_by == (CentralValue("volumes", ("1.0.0",)),)


def test_what_no_central_feature_removes_is_held_beside_the_kinds(tmp_path: Path) -> None:
    still_used = Outcome(Kind.STILL_USED, files=("deploy.sh:3",))
    p = planned(tmp_path, {"templates/extra.yaml": OBJECTS["ConfigMap"]})
    found = p.classified(also=(None, still_used))
    assert found.held_by == (still_used,)
    assert kinds_of(found.customizations) == {kinds.extra_object("ConfigMap")}
    failed = Outcome(Kind.FORK_RENDER_FAILED, detail="nil pointer", environments=("prod",))
    plan = p.plan.__class__(path="chart", name="shop", outcome=failed)
    assert classify(plan, p.evidence).held_by == (failed,)


def test_findings_say_the_kind_and_survive_the_report_scrubber(tmp_path: Path) -> None:
    found = planned(tmp_path, {"templates/extra.yaml": OBJECTS["Secret"]}).classified()
    (text,) = found.findings
    assert text.startswith("extra-object:Secret, Secret/shop-db (chart/templates/extra.yaml:")
    assert "extra objects" in text
    assert scrub_text(text) == text
    assert "hunter2" not in repr(found)
