"""Deploy orders to one environment: python scripts/deploy.py staging <tag>."""

import subprocess
import sys

CHART = "deploy/helm/orders"
RELEASE = "orders"


def deploy(env: str, tag: str) -> None:
    # values-<env>.yaml sits next to the chart
    cmd = [
        "helm",
        "upgrade",
        "--install",
        RELEASE,
        CHART,
        "--namespace",
        f"orders-{env}",
        "-f",
        f"{CHART}/values-{env}.yaml",
        "--set",
        f"image.tag={tag}",
        "--set",
        "replicaCount=2",
    ]
    subprocess.run(cmd, check=True)


if __name__ == "__main__":
    deploy(sys.argv[1], sys.argv[2])
