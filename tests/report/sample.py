"""A small hand-built fleet: the records the engine produces, written out as plain data."""

from __future__ import annotations

import base64

from migrator.model import (
    CentralInfo,
    ChartPlan,
    DiffClass,
    Difference,
    EnvResult,
    FieldChange,
    FleetPlan,
    HelmInvocation,
    Kind,
    Lineage,
    Outcome,
    RepoPlan,
    RepoRef,
    ResourceId,
    SetFlag,
    TemplateMatch,
    ValueDecision,
    ValuesPlan,
    WorkloadKpi,
)

PASSWORD = "hunter2-Sup3rSecret"
PASSWORD_B64 = base64.b64encode(PASSWORD.encode()).decode()

CENTRAL = CentralInfo(
    name="app-template",
    source="/srv/charts/app-template",
    target_version="2.3.0",
    versions=("1.4.0", "2.0.0", "2.3.0"),
    ref="oci://registry.example.com/charts/app-template",
)

IDENTICAL = Outcome(Kind.IDENTICAL, environments=("staging", "production"), count=2)
FUNCTIONAL = Outcome(Kind.FUNCTIONAL, resource="Deployment/payments", paths=("spec.replicas",),
                     environments=("production",), count=4)
DESTRUCTIVE = Outcome(Kind.DESTRUCTIVE, detail="object renamed", resource="Deployment/legacy",
                      environments=("staging",), count=2)

ALL_CHECKS = ("replicas", "probes", "resources", "image_pinned", "pdb", "non_root",
              "read_only_fs")


def deployment(name: str, namespace: str = "") -> ResourceId:
    return ResourceId("apps/v1", "Deployment", namespace, name)


def kpi(name: str, failing: dict[str, str] | None = None, namespace: str = "") -> WorkloadKpi:
    failing = failing or {}
    return WorkloadKpi(
        resource=deployment(name, namespace),
        checks={c: c not in failing for c in ALL_CHECKS},
        notes=dict(failing),
    )


def ci_job(job: str, env: str, line: int, *, rewritable: bool = True) -> HelmInvocation:
    return HelmInvocation(
        file=".gitlab-ci.yml",
        line=line,
        source="gitlab-ci",
        context=job,
        subcommand="upgrade",
        release="orders",
        chart="./deploy/helm/orders",
        namespace=env,
        values_files=(f"deploy/helm/orders/values-{env}.yaml",),
        set_flags=(),
        version=None,
        environment=env,
        text=f"helm upgrade --install orders ./deploy/helm/orders -n {env} "
        f"-f deploy/helm/orders/values-{env}.yaml",
        rewritable=rewritable,
    )


def lineage(score: float = 0.96) -> Lineage:
    return Lineage(
        chart="app-template",
        version="1.4.0",
        score=score,
        templates=(
            TemplateMatch("templates/deployment.yaml", 0.91, "templates/deployment.yaml"),
            TemplateMatch("templates/service.yaml", 1.0, "templates/service.yaml"),
            TemplateMatch("templates/extra-cm.yaml", 0.0, None),
        ),
    )


def ready_repo() -> RepoPlan:
    decisions = (
        ValueDecision("nameOverride", "identity", "orders",
                      note="keeps resource names and selector labels (`orders`, not "
                      "`app-template`)"),
        ValueDecision("image.tag", "metadata", "5.2.1",
                      note="the fork took its tag from `appVersion`"),
        ValueDecision("replicaCount", "deliberate", 3, origin_value=1, central_value=1),
        ValueDecision("resources.limits.memory", "deliberate", "512Mi"),
        ValueDecision("livenessProbe.initialDelaySeconds", "inherited-pinned", 30,
                      origin_value=30, central_value=10),
        ValueDecision("replicaCount", "deliberate", 4, env="production", origin_value=1),
        *(ValueDecision(f"service.key{i}", "equal-default", i) for i in range(41)),
    )
    values = ValuesPlan(
        base={"nameOverride": "orders", "image": {"tag": "5.2.1"}, "replicaCount": 3,
              "resources": {"limits": {"memory": "512Mi"}},
              "livenessProbe": {"initialDelaySeconds": 30}},
        envs={"production": {"replicaCount": 4}},
        decisions=decisions,
    )
    label = Difference(
        resource=deployment("orders"),
        diff_class=DiffClass.COSMETIC,
        change="changed",
        paths=('metadata.labels["helm.sh/chart"]',),
        fields=(FieldChange('metadata.labels["helm.sh/chart"]', "orders-0.1.0",
                            "app-template-2.3.0"),),
        why="describes only",
    )
    envs = tuple(
        EnvResult(
            name=env,
            release="orders",
            namespace=env,
            values_files=("deploy/values.yaml",) + (
                ("deploy/values-production.yaml",) if env == "production" else ()),
            values=values.envs.get(env, {}),
            differences=(label,),
            kpis_before=(kpi("orders", {"resources": "no CPU request", "pdb": "no PDB"}),),
            kpis_after=(kpi("orders", {"resources": "no CPU request"}),),
        )
        for env in ("staging", "production")
    )
    chart = ChartPlan(
        path="deploy/helm/orders",
        name="orders",
        outcome=IDENTICAL,
        release="orders",
        lineage=lineage(),
        values=values,
        environments=envs,
        file_count=14,
        line_count=611,
        app_version="5.2.1",
        source_values_files=("deploy/helm/orders/values.yaml",
                             "deploy/helm/orders/values-staging.yaml",
                             "deploy/helm/orders/values-production.yaml"),
    )
    return RepoPlan(
        repo=RepoRef("shop/orders", "shop-orders", "https://gitlab.example.com/shop/orders.git",
                     web_url="https://gitlab.example.com/shop/orders"),
        commit="0123456789abcdef0123456789abcdef01234567",
        outcome=IDENTICAL,
        charts=(chart,),
        references=(ci_job("deploy-staging", "staging", 12),
                    ci_job("deploy-production", "production", 30)),
        patch="diff --git a/deploy/values.yaml b/deploy/values.yaml\n",
        plan_hash="abc",
        seconds=1.25,
    )


def review_repo() -> RepoPlan:
    """A repo whose plan carries a password in every place a report could show one."""
    decisions = (
        ValueDecision("database.password", "deliberate", PASSWORD, origin_value=PASSWORD),
        ValueDecision("database.password", "deliberate", PASSWORD, env="production"),
        ValueDecision("env", "deliberate", [{"name": "DB_PASSWORD", "value": PASSWORD},
                                            {"name": "LOG_LEVEL", "value": "debug"}]),
        ValueDecision("extra.dsnUrl", "unmapped", f"postgres://app:{PASSWORD}@db/app"),
        ValueDecision("image.repository", "deliberate", "registry.example.com/pay",
                      source="image.name"),
        ValueDecision("podAnnotations", "inherited-adopted", None,
                      origin_value={"a": "b"}, central_value={}),
    )
    values = ValuesPlan(
        base={"database": {"password": PASSWORD},
              "env": [{"name": "DB_PASSWORD", "value": PASSWORD}]},
        envs={"production": {"database": {"password": PASSWORD}}},
        decisions=decisions,
    )
    diffs = (
        Difference(deployment("payments"), DiffClass.FUNCTIONAL, "changed",
                   ("spec.replicas",), (FieldChange("spec.replicas", "3", "2"),),
                   why="replica count"),
        # The engine should have redacted these; the report must not trust it.
        Difference(deployment("payments"), DiffClass.FUNCTIONAL, "changed",
                   ("spec.template.spec.containers[app].env[DB_PASSWORD].value",),
                   (FieldChange("spec.template.spec.containers[app].env[DB_PASSWORD].value",
                                "old", PASSWORD),),
                   why="env"),
        Difference(ResourceId("v1", "Secret", "", "payments"), DiffClass.FUNCTIONAL, "changed",
                   ("data.url",), (FieldChange("data.url", PASSWORD_B64, PASSWORD),), why="data"),
        Difference(ResourceId("v1", "ConfigMap", "", "payments-extra"), DiffClass.FUNCTIONAL,
                   "added", (), why="added object"),
    )
    env = EnvResult(
        name="production",
        release="payments",
        namespace="pay",
        values_files=("deploy/values.yaml", "deploy/values-production.yaml"),
        values={"database": {"password": PASSWORD}},
        differences=diffs,
        kpis_before=(kpi("payments", {"replicas": "1 replica"}),),
        kpis_after=(kpi("payments"),),
    )
    chart = ChartPlan(
        path="chart", name="payments", outcome=FUNCTIONAL,
        release="payments", lineage=lineage(0.88), values=values, environments=(env,),
        file_count=9, line_count=300, source_values_files=("chart/values.yaml",),
    )
    set_pw = HelmInvocation(
        file="deploy.sh", line=3, source="shell", context="", subcommand="upgrade",
        release="payments", chart="./chart", namespace="pay", values_files=(),
        set_flags=(SetFlag("set", "database.password", PASSWORD, dynamic=False),),
        version=None, environment=None,
        text=f"helm upgrade payments ./chart --set database.password={PASSWORD}",
        rewritable=False, why="the release name is computed at run time",
    )
    return RepoPlan(
        repo=RepoRef("shop/payments", "shop-payments", "https://gitlab.example.com/shop/pay.git"),
        commit="fedcba9876543210fedcba9876543210fedcba98",
        outcome=FUNCTIONAL,
        charts=(chart,),
        references=(set_pw,),
        patch="diff --git a/x b/x\n",
    )


def blocked_repo() -> RepoPlan:
    renamed = Difference(deployment("legacy"), DiffClass.DESTRUCTIVE, "removed", (),
                         why="object renamed: Deployment/legacy-app-template created instead")
    selector = Difference(deployment("legacy"), DiffClass.DESTRUCTIVE, "changed",
                          ("spec.selector.matchLabels.app",),
                          (FieldChange("spec.selector.matchLabels.app", "legacy", None),),
                          why="immutable field spec.selector")
    envs = (
        EnvResult("staging", "legacy", "staging", ("deploy/values.yaml",), {}, (renamed, selector)),
        EnvResult("production", "legacy", "production", ("deploy/values.yaml",), {}, (),
                  failure=Outcome(Kind.FORK_RENDER_FAILED, environments=("production",),
                                  detail="template: legacy/templates/deployment.yaml:12:3: "
                                         "nil pointer")),
    )
    chart = ChartPlan(
        path="helm", name="legacy", outcome=DESTRUCTIVE,
        environments=envs, findings=("a value for extra containers (the fork adds a sidecar)",),
        values=ValuesPlan({}, {}, ()),
    )
    return RepoPlan(
        repo=RepoRef("ops/legacy", "ops-legacy", "/srv/repos/legacy"),
        commit="1111111111111111111111111111111111111111",
        outcome=DESTRUCTIVE,
        charts=(chart,),
    )


def skipped_repo() -> RepoPlan:
    return RepoPlan(repo=RepoRef("web/docs-site", "web-docs-site", "/srv/repos/docs"),
                    commit=None, outcome=Outcome(Kind.NO_CHART))


def error_repo() -> RepoPlan:
    return RepoPlan(repo=RepoRef("ops/broken", "ops-broken", "/srv/repos/broken"),
                    commit=None, outcome=Outcome(
                        Kind.FETCH_FAILED, detail="repository not found\nfatal: could not read"))


def fleet() -> FleetPlan:
    return FleetPlan(
        central=CENTRAL,
        repos=(ready_repo(), review_repo(), blocked_repo(), skipped_repo(), error_repo()),
        tool_version="0.4.0",
        plan_id="3f9c2a1",
    )
