import os

from fabric import task

CHART_DIR = os.path.join("deploy", "orders")


@task
def deploy(c):
    c.local("helm upgrade --install orders deploy/orders -n orders -f deploy/orders/values-production.yaml")


@task
def deploy_custom(c, chart=None):
    os.system("helm upgrade --install orders " + (chart or CHART_DIR) + " -n orders")
