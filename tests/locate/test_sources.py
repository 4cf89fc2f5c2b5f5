"""Deploy references outside CI: skaffold, shell scripts, and where values files live."""

from __future__ import annotations

from pathlib import Path

from migrator.locate.refs import find_references, values_paths
from migrator.model import SetFlag
from tests.rewrite.helpers import make_repo, rewrite

SKAFFOLD = """\
apiVersion: skaffold/v4beta6
kind: Config
deploy:
  helm:
    releases:
      - name: orders
        chartPath: ../chart
        namespace: shop
        valuesFiles:
          - ../chart/values-dev.yaml
        setValues:
          replicaCount: 1
        setValueTemplates:
          image.tag: "{{.IMAGE_TAG}}"
"""


def test_skaffold_releases_are_found_with_paths_from_their_directory(tmp_path: Path) -> None:
    make_repo(tmp_path, {"dev/skaffold.yaml": SKAFFOLD})
    (ref,) = find_references(tmp_path)
    assert (ref.file, ref.line, ref.source, ref.release, ref.chart) == (
        "dev/skaffold.yaml",
        6,
        "skaffold",
        "orders",
        "../chart",
    )
    assert values_paths(ref) == ("chart/values-dev.yaml",)
    assert ref.set_flags == (
        SetFlag("set", "replicaCount", "1", False),
        SetFlag("set", "image.tag", "{{.IMAGE_TAG}}", True),
    )


def test_a_skaffold_release_moves_to_the_remote_central_chart(tmp_path: Path) -> None:
    make_repo(tmp_path, {"dev/skaffold.yaml": SKAFFOLD})
    result = rewrite(tmp_path, envs=("dev",))
    assert result.writes["dev/skaffold.yaml"].decode() == SKAFFOLD.replace(
        "        chartPath: ../chart\n",
        "        remoteChart: oci://registry.example.com/charts/app-template\n"
        '        version: "2.3.0"\n',
    ).replace(
        "          - ../chart/values-dev.yaml\n        setValues:\n          replicaCount: 1\n",
        "          - ../deploy/values.yaml\n          - ../deploy/values-dev.yaml\n",
    )


def test_shell_functions_name_the_context_and_defaults_resolve_the_chart(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {
            "bin/deploy": (
                "#!/usr/bin/env bash\n"
                'CHART="${CHART:-./chart}"\n'
                "rollout() {\n"
                '  helm upgrade --install orders "$CHART" -f "$CHART/values-$1.yaml"\n'
                "}\n"
                "rollout prod\n"
            )
        },
    )
    (ref,) = find_references(tmp_path)
    assert (ref.file, ref.line, ref.context, ref.chart, ref.rewritable) == (
        "bin/deploy",
        4,
        "rollout",
        "./chart",
        True,
    )
    assert ref.values_files == ("./chart/values-$1.yaml",)


def test_argo_cd_values_files_are_read_from_the_chart_path(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {
            "argocd/app.yaml": (
                "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: o\n"
                "spec:\n  source:\n    repoURL: https://x\n    path: chart\n"
                "    helm:\n      valueFiles: [values-prod.yaml]\n"
            )
        },
    )
    (ref,) = find_references(tmp_path)
    assert values_paths(ref) == ("chart/values-prod.yaml",)
