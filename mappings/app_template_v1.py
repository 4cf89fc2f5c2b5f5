"""app-template 1.x -> 2.x: the keys 2.0.0 renamed (see the chart's UPGRADING notes)."""

from migrator.mapping import rename

FAMILY = "app-template"
FROM = ">=1.0.0,<2.0.0"
TO = "2.0.0"

RULES = [
    rename("replicaCount", "replicas"),
    rename("podAnnotations", "pod.annotations"),
    rename("podLabels", "pod.labels"),
    rename("livenessProbe", "probes.liveness"),
    rename("readinessProbe", "probes.readiness"),
    rename("autoscaling", "hpa"),
]
