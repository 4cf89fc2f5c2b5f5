import os

from fabric import task

CHART_DIR = os.path.join("deploy", "orders")


@task
def deploy(c):
    c.local("helm upgrade --install orders deploy/chart --dependency-update -n orders -f deploy/values.yaml -f deploy/values-production.yaml")


@task
def deploy_custom(c, chart=None):
    os.system("helm upgrade --install orders " + (chart or CHART_DIR) + " -n orders")
