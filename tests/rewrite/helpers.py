"""Small repos on disk and targets for rewrite tests."""

from __future__ import annotations

from pathlib import Path

from migrator.locate.refs import find_references
from migrator.rewrite import ArgoTarget, CiInclude, RewriteResult, RewriteTarget, Style
from migrator.rewrite.engine import rewrite_references as _rewrite

CENTRAL = "oci://registry.example.com/charts/app-template"


def make_repo(root: Path, files: dict[str, str], chart: str = "chart") -> Path:
    for rel, text in {f"{chart}/Chart.yaml": "apiVersion: v2\nname: orders\nversion: 0.1.0\n",
                      **files}.items():  # fmt: skip
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def rewrite(
    root: Path,
    style: Style = "values-only",
    envs: tuple[str, ...] = ("staging", "production"),
    chart: str = "chart",
    env_of: dict[tuple[str, int], str] | None = None,
    chart_ref: str = CENTRAL,
) -> RewriteResult:
    refs = find_references(root)
    target = RewriteTarget(
        style=style,
        chart_path=chart,
        chart_ref=chart_ref,
        chart_name="app-template",
        version="2.3.0",
        env_values={e: ("deploy/values.yaml", f"deploy/values-{e}.yaml") for e in envs},
        env_of=env_of or {},
        ci_include=CiInclude("platform/helm-templates", "v2", "/templates/deploy.yml"),
        argocd=ArgoTarget("https://gitlab.example.com/shop/orders.git"),
        app_name="orders",
    )
    return _rewrite(root, refs, target)
