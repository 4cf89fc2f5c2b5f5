"""The `dependency` style: a small wrapper chart that depends on the central chart.

The dependency is declared under an alias equal to the app name. Two reasons: the values the app
keeps sit under one key named after the app (`orders: {replicaCount: 3}`), and Helm renames an
aliased subchart, so its templates see `.Chart.Name` = the alias. A fork whose chart was named
after the app therefore keeps the names and selector labels derived from `.Chart.Name` without
any override (the `helm.sh/chart` label reads `orders-<central version>`). The engine renders the
wrapper itself to verify this; it does not assume it.
"""

from __future__ import annotations

from typing import Any

from migrator.rewrite.target import RewriteTarget


def nest_values(values: dict[str, Any], alias: str) -> dict[str, Any]:
    """A values tree for the wrapper chart: everything under the dependency's alias, except
    `global`, which Helm shares between parent and subcharts and must stay at the top."""
    nested = {k: v for k, v in values.items() if k != "global"}
    out: dict[str, Any] = {}
    if "global" in values:
        out["global"] = values["global"]
    if nested:
        out[alias] = nested
    return out


def wrapper_chart_yaml(target: RewriteTarget) -> str:
    """`Chart.yaml` of the wrapper. An OCI reference is a repository without the chart name."""
    if target.is_oci:
        repository = target.chart_ref.rsplit("/", 1)[0]
        name = target.chart_ref.rsplit("/", 1)[1]
    else:
        repository, name = target.chart_ref, target.chart_name
    return (
        "apiVersion: v2\n"
        f"name: {target.app}\n"
        f"description: Deploys {target.app} with the central chart {name}\n"
        "type: application\n"
        "version: 0.1.0\n"
        "dependencies:\n"
        f"  - name: {name}\n"
        f'    version: "{target.version}"\n'
        f"    repository: {repository}\n"
        f"    alias: {target.app}\n"
    )
