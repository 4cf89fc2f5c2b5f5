from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import helm_python
import pytest
from ruamel.yaml import YAML

from migrator.model import (
    ChartPlan,
    EnvResult,
    FleetPlan,
    RepoPlan,
    RepoRef,
    ResourceId,
    Verdict,
    WorkloadKpi,
)
from migrator.verify.kpi import KPI_NAMES, evaluate, fleet_kpis
from tests.report.sample import CENTRAL
from testsupport.outcomes import outcome_for

PROBE = {"httpGet": {"path": "/healthz", "port": "http"}}
READY = {"httpGet": {"path": "/ready", "port": "http"}}


def container(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "app",
        "image": "registry.example.com/orders:5.2.1",
        "livenessProbe": PROBE,
        "readinessProbe": READY,
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                      "limits": {"memory": "256Mi"}},
        "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True},
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def workload(kind: str = "Deployment", name: str = "orders", replicas: int | None = 3,
             containers: list[dict[str, Any]] | None = None,
             pod: dict[str, Any] | None = None) -> dict[str, Any]:
    pod_spec: dict[str, Any] = {"containers": containers or [container()], **(pod or {})}
    template = {"metadata": {"labels": {"app": name, "tier": "web"}}, "spec": pod_spec}
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": name}}, "template": template}
    if replicas is not None:
        spec["replicas"] = replicas
    if kind == "CronJob":
        spec = {"schedule": "@daily", "jobTemplate": {"spec": {"template": template}}}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def pdb(selector: dict[str, Any] | None, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "orders"}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta,
            "spec": {"minAvailable": 1, "selector": selector}}


def hpa(target: str, minimum: int | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                               "name": target}, "maxReplicas": 10}
    if minimum is not None:
        spec["minReplicas"] = minimum
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": target}, "spec": spec}


def only(objects: list[dict[str, Any]]) -> WorkloadKpi:
    (result,) = evaluate(objects)
    return result


def test_a_well_configured_deployment_passes_every_check() -> None:
    result = only([workload(), pdb({"matchLabels": {"app": "orders"}})])
    assert result.checks == {name: True for name in KPI_NAMES}
    assert result.notes == {}
    assert result.resource == ResourceId("apps/v1", "Deployment", "", "orders")


def test_only_workloads_are_evaluated_in_their_given_order() -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "orders"}}
    objects = [workload(name="b"), service, workload("StatefulSet", name="a"), {}, None]
    results = evaluate(objects)  # type: ignore[arg-type]
    assert [(r.resource.kind, r.resource.name) for r in results] == [
        ("Deployment", "b"), ("StatefulSet", "a")]


def test_a_single_replica_fails_and_says_so() -> None:
    result = only([workload(replicas=1)])
    assert result.checks["replicas"] is False
    assert result.notes["replicas"] == "1 replica"


def test_missing_replicas_means_the_kubernetes_default_of_one() -> None:
    assert only([workload(replicas=None)]).checks["replicas"] is False


def test_an_hpa_with_two_minimum_replicas_counts_as_replicated() -> None:
    result = only([workload(replicas=None), hpa("orders", 2),
                   pdb({"matchLabels": {"app": "orders"}})])
    assert result.checks["replicas"] is True
    assert result.checks["pdb"] is True


def test_an_hpa_overrides_the_replica_count_it_manages() -> None:
    result = only([workload(replicas=3), hpa("orders", None)])
    assert result.checks["replicas"] is False
    assert result.notes["replicas"] == "HPA minReplicas 1"


def test_an_hpa_for_another_workload_does_not_count() -> None:
    assert only([workload(replicas=1), hpa("payments", 3)]).checks["replicas"] is False


def test_missing_readiness_probe_fails_probes() -> None:
    result = only([workload(containers=[container(readinessProbe=None)])])
    assert result.checks["probes"] is False
    assert result.notes["probes"] == "no readiness probe"


def test_identical_liveness_and_readiness_probes_fail() -> None:
    result = only([workload(containers=[container(readinessProbe=copy.deepcopy(PROBE))])])
    assert result.checks["probes"] is False
    assert "identical" in result.notes["probes"]


def test_missing_cpu_request_is_named_in_the_note() -> None:
    resources = {"requests": {"memory": "128Mi"}, "limits": {"memory": "256Mi"}}
    result = only([workload(containers=[container(resources=resources)])])
    assert result.checks["resources"] is False
    assert result.notes["resources"] == "no CPU request"


def test_every_container_needs_resources_and_notes_name_the_culprit() -> None:
    sidecar = container(name="proxy", resources={"requests": {"cpu": "10m"}})
    result = only([workload(containers=[container(), sidecar])])
    assert result.checks["resources"] is False
    assert result.notes["resources"] == "proxy: no memory request, no memory limit"


@pytest.mark.parametrize(("image", "pinned"), [
    ("nginx:1.27.1", True),
    ("registry.example.com:5000/team/app:2.0", True),
    ("nginx@sha256:" + "a" * 64, True),
    ("nginx", False),
    ("nginx:latest", False),
    ("registry.example.com:5000/team/app", False),
    ("nginx:", False),
])
def test_image_is_pinned_only_by_a_real_tag_or_a_digest(image: str, pinned: bool) -> None:
    assert only([workload(containers=[container(image=image)])]).checks["image_pinned"] is pinned


def test_an_unpinned_init_container_image_fails_pinning() -> None:
    result = only([workload(pod={"initContainers": [container(name="migrate",
                                                              image="flyway:latest")]})])
    assert result.checks["image_pinned"] is False
    assert "flyway:latest" in result.notes["image_pinned"]


def test_pdb_must_select_the_pod_labels() -> None:
    assert only([workload(), pdb({"matchLabels": {"app": "other"}})]).checks["pdb"] is False
    assert only([workload(), pdb({"matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["web", "api"]}]})]).checks["pdb"] is True
    assert only([workload(), pdb({"matchExpressions": [
        {"key": "tier", "operator": "NotIn", "values": ["web"]}]})]).checks["pdb"] is False


def test_pdb_with_an_empty_selector_selects_every_pod_and_a_null_one_none() -> None:
    assert only([workload(), pdb({})]).checks["pdb"] is True
    assert only([workload(), pdb(None)]).checks["pdb"] is False


def test_pdb_in_another_namespace_does_not_count() -> None:
    deploy = workload()
    deploy["metadata"]["namespace"] = "prod"
    result = only([deploy, pdb({"matchLabels": {"app": "orders"}}, namespace="staging")])
    assert result.checks["pdb"] is False


def test_pdb_check_does_not_apply_below_two_replicas() -> None:
    result = only([workload(replicas=1)])
    assert "pdb" not in result.checks


def test_non_root_at_pod_level_covers_every_container() -> None:
    plain = container(securityContext={"readOnlyRootFilesystem": True})
    result = only([workload(containers=[plain], pod={"securityContext": {"runAsNonRoot": True}})])
    assert result.checks["non_root"] is True


def test_a_container_can_undo_the_pods_non_root_setting() -> None:
    root = container(securityContext={"runAsNonRoot": False, "readOnlyRootFilesystem": True})
    result = only([workload(containers=[root], pod={"securityContext": {"runAsNonRoot": True}})])
    assert result.checks["non_root"] is False


def test_running_as_user_zero_fails_non_root() -> None:
    ctx = {"runAsNonRoot": True, "runAsUser": 0, "readOnlyRootFilesystem": True}
    result = only([workload(containers=[container(securityContext=ctx)])])
    assert result.checks["non_root"] is False
    assert result.notes["non_root"] == "runs as user 0"


def test_read_only_root_filesystem_is_needed_on_every_container() -> None:
    writable = container(name="proxy", securityContext={"runAsNonRoot": True})
    result = only([workload(containers=[container(), writable])])
    assert result.checks["read_only_fs"] is False
    assert result.notes["read_only_fs"] == "proxy: writable root filesystem"


def test_cronjob_pods_are_checked_without_serving_checks() -> None:
    result = only([workload("CronJob", containers=[container(livenessProbe=None,
                                                             readinessProbe=None)])])
    assert set(result.checks) == {"resources", "image_pinned", "non_root", "read_only_fs"}
    assert all(result.checks.values())


def test_daemonset_gets_probes_but_no_replica_or_pdb_check() -> None:
    result = only([workload("DaemonSet", replicas=None)])
    assert "replicas" not in result.checks and "pdb" not in result.checks
    assert result.checks["probes"] is True


def _render(chart_dir: Path, values: dict[str, Any]) -> list[dict[str, Any]]:
    chart = helm_python.Chart.load(chart_dir)
    rendered = chart.render(values, name="orders", namespace="prod")
    yaml = YAML(typ="safe")
    return [doc for text in rendered.values() for doc in yaml.load_all(text)
            if isinstance(doc, dict)]


def test_helm_scaffold_fails_most_checks_and_fixing_values_makes_it_pass(tmp_path: Path) -> None:
    helm_python.Chart.create("orders", tmp_path)
    chart_dir = tmp_path / "orders"

    (before,) = evaluate(_render(chart_dir, {}))
    assert before.resource.kind == "Deployment" and before.resource.name == "orders"
    # The scaffold: one replica, the same probe twice, no resources, no security context.
    assert before.checks == {"replicas": False, "probes": False, "resources": False,
                             "image_pinned": True, "non_root": False, "read_only_fs": False}

    fixed = {
        "autoscaling": {"enabled": True, "minReplicas": 2},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
        "podSecurityContext": {"runAsNonRoot": True},
        "securityContext": {"readOnlyRootFilesystem": True},
    }
    (after,) = evaluate(_render(chart_dir, fixed))
    assert after.checks["replicas"] is True  # through the scaffold's HPA
    assert after.checks["pdb"] is False  # the scaffold has no PodDisruptionBudget
    assert {k: v for k, v in after.checks.items() if k != "pdb"} == {
        "replicas": True, "probes": True, "resources": True, "image_pinned": True,
        "non_root": True, "read_only_fs": True}


def _plan(name: str, before: list[WorkloadKpi], after: list[WorkloadKpi]) -> RepoPlan:
    env = EnvResult("prod", name, "prod", (), {}, (), tuple(before), tuple(after))
    chart = ChartPlan("chart", name, outcome_for(Verdict.READY), environments=(env,))
    return RepoPlan(RepoRef(name, name, name), None, outcome_for(Verdict.READY), charts=(chart,))


def _kpi(**checks: bool) -> WorkloadKpi:
    return WorkloadKpi(ResourceId("apps/v1", "Deployment", "", "x"), checks)


def test_fleet_kpis_share_counts_only_workloads_the_check_applies_to() -> None:
    fleet = FleetPlan(CENTRAL, (
        _plan("a", [_kpi(replicas=False, pdb=False)], [_kpi(replicas=True, pdb=True)]),
        _plan("b", [_kpi(replicas=True)], [_kpi(replicas=True, pdb=False)]),
    ), "0.1.0", "p")
    shares = fleet_kpis(fleet)
    assert set(shares) == set(KPI_NAMES)
    assert shares["replicas"] == (0.5, 1.0)
    assert shares["pdb"] == (0.0, 0.5)
    assert shares["probes"] == (0.0, 0.0)  # no workload measured it
