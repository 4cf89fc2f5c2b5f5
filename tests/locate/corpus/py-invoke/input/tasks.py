from invoke import task

NAMESPACE = {"staging": "orders-staging", "production": "orders"}


@task
def deploy_staging(c, tag="latest"):
    c.run(
        "helm upgrade --install orders helm/orders --namespace orders-staging "
        "-f helm/orders/values-staging.yaml "
        f"--set image.tag={tag}"
    )


@task
def deploy_production(c, tag):
    c.run(f"helm upgrade --install orders helm/orders --namespace orders -f helm/orders/values-production.yaml --set image.tag={tag}")


@task
def lint(c):
    c.run("helm lint helm/orders")
