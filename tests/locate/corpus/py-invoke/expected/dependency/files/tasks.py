from invoke import task

NAMESPACE = {"staging": "orders-staging", "production": "orders"}


@task
def deploy_staging(c, tag="latest"):
    c.run(
        "helm upgrade --install orders deploy/chart --dependency-update --namespace orders-staging "
        "-f deploy/values.yaml -f deploy/values-staging.yaml "
        f"--set image.tag={tag}"
    )


@task
def deploy_production(c, tag):
    c.run(f"helm upgrade --install orders deploy/chart --dependency-update --namespace orders -f deploy/values.yaml -f deploy/values-production.yaml --set image.tag={tag}")


@task
def lint(c):
    c.run("helm lint deploy/chart")
