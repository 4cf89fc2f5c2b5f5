"""decide: the worst thing found decides the verdict, once, with the facts that explain it."""

from __future__ import annotations

from migrator.model import (
    DiffClass,
    Difference,
    EnvResult,
    HelmInvocation,
    Kind,
    Lineage,
    Outcome,
    ResourceId,
    TemplateMatch,
    Verdict,
)
from migrator.report.reasons import describe
from migrator.verify.decide import decide

DEPLOY = ResourceId("apps/v1", "Deployment", "prod", "orders")


def diff(cls: DiffClass, *paths: str, change: str = "changed", why: str = "") -> Difference:
    return Difference(DEPLOY, cls, change, paths, why=why)  # type: ignore[arg-type]


def env(name: str, *diffs: Difference, failure: Outcome | None = None) -> EnvResult:
    return EnvResult(name, "orders", "prod", (), {}, diffs, failure=failure)


def lineage(*edited: str) -> Lineage:
    templates = (TemplateMatch("templates/service.yaml", 1.0, "templates/service.yaml"),
                 *(TemplateMatch(t, 0.8, t) for t in edited))
    return Lineage("app-template", "2.0.0", 0.9, templates)


def deploy_ref(line: int) -> HelmInvocation:
    return HelmInvocation(".gitlab-ci.yml", line, "gitlab-ci", "deploy", "upgrade", "orders",
                          "$CHART", None, (), (), None, None, "helm upgrade orders $CHART")


def test_identical_manifests_are_ready_and_count_each_descriptive_difference_once() -> None:
    # As the reports list them: the same change in two environments is one difference.
    label = diff(DiffClass.COSMETIC, 'metadata.labels["helm.sh/chart"]')
    version = diff(DiffClass.COSMETIC, 'metadata.labels["app.kubernetes.io/version"]')
    decision = decide(lineage(), [env("dev", label), env("prod", label, version)])
    assert decision.outcome == Outcome(Kind.IDENTICAL, environments=("dev", "prod"), count=2)
    assert decision.outcome.verdict is Verdict.READY and decision.findings == ()


def test_a_render_failure_decides_before_any_difference() -> None:
    failed = Outcome(Kind.FORK_RENDER_FAILED, detail="x.yaml:3: nil pointer",
                     environments=("prod",))
    decision = decide(lineage(), [env("dev", diff(DiffClass.DESTRUCTIVE, "spec.selector")),
                                  env("prod", failure=failed)])
    assert decision.outcome is failed and decision.outcome.verdict is Verdict.BLOCKED


def test_a_destructive_difference_blocks_and_says_how_many_more() -> None:
    first = diff(DiffClass.DESTRUCTIVE, "spec.selector.matchLabels.tier",
                 why="immutable field spec.selector")
    decision = decide(lineage(), [env("dev", first), env("prod", first),
                                  env("qa", diff(DiffClass.FUNCTIONAL, "spec.replicas"))])
    assert decision.outcome == Outcome(
        Kind.DESTRUCTIVE, detail="immutable field spec.selector", resource="Deployment/orders",
        paths=("spec.selector.matchLabels.tier",), environments=("dev",), count=2)
    assert decision.findings == ("Deployment/orders: selector labels the central chart cannot set",)
    assert describe(decision.outcome) == (
        "destructive: Deployment/orders spec.selector.matchLabels.tier "
        "(immutable field spec.selector) in dev and 1 more")


def test_a_functional_difference_from_an_edited_template_blocks() -> None:
    sidecar = diff(DiffClass.FUNCTIONAL, "spec.template.spec.containers[log-shipper]")
    decision = decide(lineage("templates/deployment.yaml"), [env("prod", sidecar)])
    assert decision.outcome.kind is Kind.CUSTOMIZED
    assert decision.outcome.files == ("templates/deployment.yaml",)
    assert "extra containers/sidecars" in decision.findings[0]


def test_a_functional_difference_from_values_needs_a_review() -> None:
    decision = decide(lineage(), [env("prod", diff(DiffClass.FUNCTIONAL, "spec.replicas"))])
    assert decision.outcome == Outcome(Kind.FUNCTIONAL, resource="Deployment/orders",
                                       paths=("spec.replicas",), environments=("prod",), count=1)


def test_a_deploy_left_for_a_person_turns_identical_into_review() -> None:
    left = [(deploy_ref(12), "chart built at run time"), (deploy_ref(30), "same")]
    decision = decide(lineage(), [env("prod")], left)
    assert decision.outcome == Outcome(Kind.DEPLOY_LEFT, detail="chart built at run time",
                                       file=".gitlab-ci.yml", line=12, count=2)
    assert decision.outcome.verdict is Verdict.REVIEW


def test_a_rewritten_deploy_that_does_not_render_blocks_even_with_differences() -> None:
    failure = Outcome(Kind.DEPLOY_RENDER_FAILED, detail="boom", file="Makefile", line=4)
    decision = decide(lineage(), [env("prod", diff(DiffClass.FUNCTIONAL, "spec.replicas"))],
                      deploy_failure=failure)
    assert decision.outcome is failure and decision.outcome.verdict is Verdict.BLOCKED


def test_an_object_the_central_chart_cannot_create_is_a_finding() -> None:
    gone = Difference(ResourceId("batch/v1", "CronJob", "prod", "cleanup"), DiffClass.DESTRUCTIVE,
                      "removed", (), why="object deleted by the migration")
    decision = decide(lineage(), [env("prod", gone)])
    assert decision.findings == ("CronJob cleanup: no counterpart in the central chart "
                                 "(a value for extra objects would carry it)",)


STILL_USED = Outcome(Kind.STILL_USED, detail="names chart/", files=("Makefile:3",), count=1)
DEPENDENCY = Outcome(Kind.DEPENDENCY_KEPT, detail="redis 10.0.0", environments=("prod",),
                     file="chart/requirements.yaml", line=2)


def test_a_chart_still_used_blocks_what_would_be_ready_or_reviewed() -> None:
    for envs, left in (([env("prod")], []),
                       ([env("prod", diff(DiffClass.FUNCTIONAL, "spec.replicas"))], []),
                       ([env("prod")], [(deploy_ref(12), "chart built at run time")])):
        decision = decide(lineage(), envs, left, still_used=STILL_USED)
        assert decision.outcome is STILL_USED and decision.outcome.verdict is Verdict.BLOCKED
    assert describe(STILL_USED) == ("still used after the rewrite, so the chart is kept: "
                                     "Makefile:3 (names chart/)")


def test_a_render_failure_or_a_destructive_difference_reads_before_a_use_left() -> None:
    failed = Outcome(Kind.FORK_RENDER_FAILED, detail="boom", environments=("prod",))
    decision = decide(lineage(), [env("prod", failure=failed)], still_used=STILL_USED,
                      dependency=DEPENDENCY)
    assert decision.outcome is failed
    selector = diff(DiffClass.DESTRUCTIVE, "spec.selector", why="immutable field spec.selector")
    decision = decide(lineage(), [env("prod", selector)], still_used=STILL_USED,
                      dependency=DEPENDENCY)
    assert decision.outcome.kind is Kind.DESTRUCTIVE


def test_an_enabled_dependency_reads_before_a_use_left_and_names_itself() -> None:
    decision = decide(lineage(), [env("prod")], still_used=STILL_USED, dependency=DEPENDENCY)
    assert decision.outcome is DEPENDENCY and decision.outcome.verdict is Verdict.BLOCKED
    assert describe(DEPENDENCY) == ("chart/requirements.yaml:2: the chart dependency redis "
                                    "10.0.0 is enabled in prod and the central chart does not "
                                    "carry it")
