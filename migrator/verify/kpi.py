"""Deployment-quality checks on rendered manifests, so a report can show before and after.

A check that does not apply to a workload is left out of its `checks` (a CronJob has no replica
count; a PodDisruptionBudget only makes sense with two replicas or more), so fleet shares count
only workloads where the question makes sense.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from migrator.model import FleetPlan, ResourceId, WorkloadKpi

KPI_NAMES: tuple[str, ...] = (
    "replicas",
    "probes",
    "resources",
    "image_pinned",
    "pdb",
    "non_root",
    "read_only_fs",
)

# Long-running workloads: they serve traffic, so availability checks apply.
_SERVING = ("Deployment", "StatefulSet", "DaemonSet")
# Run-to-completion workloads: probes, replicas and disruption budgets do not apply.
_BATCH = ("Job", "CronJob")
_SCALABLE = ("Deployment", "StatefulSet")


@dataclass(frozen=True)
class KpiTally:
    """How many workloads pass a check, out of those it applies to."""

    passed: int = 0
    total: int = 0

    @property
    def share(self) -> float:
        return self.passed / self.total if self.total else 0.0

    def add(self, passed: bool) -> KpiTally:
        return KpiTally(self.passed + int(passed), self.total + 1)


def evaluate(objects: Sequence[Mapping[str, Any]]) -> tuple[WorkloadKpi, ...]:
    """Check every workload among the rendered objects of one release, in their given order."""
    docs = [o for o in objects if isinstance(o, Mapping)]
    hpas = [o for o in docs if o.get("kind") == "HorizontalPodAutoscaler"]
    pdbs = [o for o in docs if o.get("kind") == "PodDisruptionBudget"]
    results: list[WorkloadKpi] = []
    for obj in docs:
        kind = obj.get("kind")
        if kind not in _SERVING and kind not in _BATCH:
            continue
        results.append(_evaluate_workload(obj, hpas, pdbs))
    return tuple(results)


def fleet_kpis(fleet: FleetPlan) -> dict[str, tuple[float, float]]:
    """Share of workloads passing each check, before and after, over every environment."""
    tallies = fleet_tallies(fleet)
    return {name: (before.share, after.share) for name, (before, after) in tallies.items()}


def fleet_tallies(fleet: FleetPlan) -> dict[str, tuple[KpiTally, KpiTally]]:
    """Counts behind `fleet_kpis`, for reports that show how many workloads a share covers."""
    before = tally(k for r in fleet.repos for c in r.charts for e in c.environments
                   for k in e.kpis_before)
    after = tally(k for r in fleet.repos for c in r.charts for e in c.environments
                  for k in e.kpis_after)
    return {name: (before[name], after[name]) for name in KPI_NAMES}


def tally(kpis: Iterable[WorkloadKpi]) -> dict[str, KpiTally]:
    out = {name: KpiTally() for name in KPI_NAMES}
    for kpi in kpis:
        for name, passed in kpi.checks.items():
            if name in out:
                out[name] = out[name].add(passed)
    return out


def _evaluate_workload(
    obj: Mapping[str, Any], hpas: Sequence[Mapping[str, Any]], pdbs: Sequence[Mapping[str, Any]]
) -> WorkloadKpi:
    kind = str(obj.get("kind"))
    meta = _map(obj.get("metadata"))
    resource = ResourceId(
        api_version=str(obj.get("apiVersion", "")),
        kind=kind,
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name", "")),
    )
    template = _pod_template(obj)
    pod = _map(template.get("spec"))
    pod_labels = _map(_map(template.get("metadata")).get("labels"))
    containers = _containers(pod, "containers")
    every_container = _containers(pod, "initContainers") + containers

    checks: dict[str, bool] = {}
    notes: dict[str, str] = {}

    def record(name: str, problems: list[str]) -> None:
        checks[name] = not problems
        if problems:
            notes[name] = "; ".join(problems)

    replicas: int | None = None
    if kind in _SCALABLE:
        replicas, replica_problem = _replicas(obj, resource, hpas)
        record("replicas", [replica_problem] if replica_problem else [])
    if kind in _SERVING:
        record("probes", _per_container(containers, _probe_problems))
    # Requests are what the scheduler reserves; init containers are left out because most
    # charts never size them and the pod's effective request is dominated by the main ones.
    record("resources", _per_container(containers, _resource_problems))
    # Security and pinning hold for every image that runs, init containers included.
    record("image_pinned", _per_container(every_container, _image_problems))
    if replicas is not None and replicas >= 2:
        record("pdb", [] if _has_pdb(resource, pod_labels, pdbs) else
               ["no PodDisruptionBudget selects its pods"])
    record("non_root", _non_root_problems(pod, every_container))
    record("read_only_fs", _per_container(every_container, _read_only_problems))
    return WorkloadKpi(resource=resource, checks=checks, notes=notes)


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _pod_template(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = _map(obj.get("spec"))
    if obj.get("kind") == "CronJob":
        spec = _map(_map(spec.get("jobTemplate")).get("spec"))
    return _map(spec.get("template"))


def _containers(pod: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = pod.get(key)
    return [c for c in items if isinstance(c, Mapping)] if isinstance(items, list) else []


def _per_container(
    containers: Sequence[Mapping[str, Any]], problems_of: Callable[[Mapping[str, Any]], list[str]]
) -> list[str]:
    """Problems of each container; prefixed with its name when the pod has several."""
    if not containers:
        return ["no containers"]
    out: list[str] = []
    for container in containers:
        found = problems_of(container)
        if found and len(containers) > 1:
            out.append(f"{container.get('name', '?')}: {', '.join(found)}")
        elif found:
            out.append(", ".join(found))
    return out


def _same_namespace(a: str, b: str) -> bool:
    # `helm template` output often omits metadata.namespace: both then live in the release's.
    return not a or not b or a == b


def _replicas(
    obj: Mapping[str, Any], resource: ResourceId, hpas: Sequence[Mapping[str, Any]]
) -> tuple[int, str]:
    """Effective minimum replica count, and the problem when it is below two."""
    for hpa in hpas:
        target = _map(_map(hpa.get("spec")).get("scaleTargetRef"))
        hpa_ns = str(_map(hpa.get("metadata")).get("namespace") or "")
        if (target.get("kind") == resource.kind and target.get("name") == resource.name
                and _same_namespace(hpa_ns, resource.namespace)):
            minimum = _int(_map(hpa.get("spec")).get("minReplicas"), default=1)
            return minimum, "" if minimum >= 2 else f"HPA minReplicas {minimum}"
    count = _int(_map(obj.get("spec")).get("replicas"), default=1)
    return count, "" if count >= 2 else f"{count} replica" + ("" if count == 1 else "s")


def _int(value: Any, *, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _probe_problems(container: Mapping[str, Any]) -> list[str]:
    liveness, readiness = container.get("livenessProbe"), container.get("readinessProbe")
    problems = []
    if not liveness:
        problems.append("no liveness probe")
    if not readiness:
        problems.append("no readiness probe")
    if liveness and readiness and liveness == readiness:
        # The same probe for both means an overloaded pod is restarted instead of just taken
        # out of the load balancer.
        problems.append("liveness and readiness probes are identical")
    return problems


def _resource_problems(container: Mapping[str, Any]) -> list[str]:
    resources = _map(container.get("resources"))
    requests, limits = _map(resources.get("requests")), _map(resources.get("limits"))
    problems = []
    if _unset(requests.get("cpu")):
        problems.append("no CPU request")
    if _unset(requests.get("memory")):
        problems.append("no memory request")
    if _unset(limits.get("memory")):
        problems.append("no memory limit")
    return problems


def _unset(value: Any) -> bool:
    return value is None or value == ""


def _image_problems(container: Mapping[str, Any]) -> list[str]:
    image = str(container.get("image") or "")
    if not image:
        return ["no image"]
    if "@sha256:" in image or "@sha512:" in image:
        return []
    name = image.rsplit("/", 1)[-1]  # a registry port ("host:5000/app") is not a tag
    tag = name.partition(":")[2] if ":" in name else ""
    if not tag:
        return [f"image {image} has no tag"]
    if tag == "latest":
        return [f"image {image} uses latest"]
    return []


def _has_pdb(
    resource: ResourceId, pod_labels: Mapping[str, Any], pdbs: Sequence[Mapping[str, Any]]
) -> bool:
    for pdb in pdbs:
        pdb_ns = str(_map(pdb.get("metadata")).get("namespace") or "")
        if not _same_namespace(pdb_ns, resource.namespace):
            continue
        selector = _map(pdb.get("spec")).get("selector")
        if selector is not None and _selects(_map(selector), pod_labels):
            return True
    return False


def _selects(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """Kubernetes label selector semantics; an empty selector selects every pod (policy/v1)."""
    for key, value in _map(selector.get("matchLabels")).items():
        if key not in labels or str(labels[key]) != str(value):
            return False
    expressions = selector.get("matchExpressions")
    for raw in expressions if isinstance(expressions, list) else []:
        expr = _map(raw)
        label, operator = str(expr.get("key")), expr.get("operator")
        values = {str(v) for v in expr.get("values") or []}
        present = label in labels
        if operator == "In" and not (present and str(labels[label]) in values):
            return False
        if operator == "NotIn" and present and str(labels[label]) in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False  # the API server rejects such a selector: it selects nothing
    return True


def _non_root_problems(
    pod: Mapping[str, Any], containers: Sequence[Mapping[str, Any]]
) -> list[str]:
    pod_context = _map(pod.get("securityContext"))

    def problems(container: Mapping[str, Any]) -> list[str]:
        context = _map(container.get("securityContext"))
        # A container's own setting wins over the pod's, as in the kubelet.
        non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
        user = context.get("runAsUser", pod_context.get("runAsUser"))
        if user is not None and _int(user, default=-1) == 0:
            return ["runs as user 0"]
        return [] if non_root is True else ["runAsNonRoot not set"]

    return _per_container(containers, problems)


def _read_only_problems(container: Mapping[str, Any]) -> list[str]:
    context = _map(container.get("securityContext"))
    return [] if context.get("readOnlyRootFilesystem") is True else ["writable root filesystem"]
