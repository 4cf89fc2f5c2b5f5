"""Deploy orders to one environment: python scripts/deploy.py staging <tag>."""

import subprocess
import sys

RELEASE = "orders"


def deploy(env: str, tag: str) -> None:
    # values-<env>.yaml sits next to the chart
    cmd = [
        "helm",
        "upgrade",
        "--install",
        RELEASE,
        "deploy/chart",
        "--dependency-update",
        "--namespace",
        f"orders-{env}",
        "-f",
        "deploy/values.yaml",
        "-f",
        f"deploy/values-{env}.yaml",
        "--set",
        f"image.tag={tag}",
    ]
    subprocess.run(cmd, check=True)


if __name__ == "__main__":
    deploy(sys.argv[1], sys.argv[2])
