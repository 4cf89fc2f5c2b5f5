"""gaps: per kind, who it blocks; the unblock order, checked by hand on a small fleet."""

from __future__ import annotations

from migrator.central import kinds
from migrator.central.gaps import Step, gaps, unblock_order
from migrator.model import (
    CentralInfo,
    CentralValue,
    ChartPlan,
    Customization,
    DiffClass,
    FleetPlan,
    Kind,
    Outcome,
    RepoPlan,
    RepoRef,
)

CENTRAL = CentralInfo("app-template", "/charts", "2.0.0", ("1.0.0", "2.0.0"), "oci://x/app")
BLOCKED = Outcome(Kind.CUSTOMIZED)
DESTRUCTIVE = Outcome(Kind.DESTRUCTIVE)
REVIEW = Outcome(Kind.FUNCTIONAL)
CONTAINER, CRONJOB, SECRET = kinds.EXTRA_CONTAINER, "extra-object:CronJob", "extra-object:Secret"
ENV, VOLUMES, OTHER = kinds.ENV, kinds.VOLUMES, kinds.OTHER
FEATURE = {CONTAINER: "extraContainers", CRONJOB: "extraObjects", ENV: "extraEnv + envFrom",
           VOLUMES: "extraVolumes + extraVolumeMounts"}


def item(kind: str, *, blocks: bool = True, resource: str = "Deployment/app",
         expressed: tuple[CentralValue, ...] = ()) -> Customization:
    return Customization(kind, resource, (f"spec.{kind}",), ("prod",), blocks,
                         file="chart/templates/deployment.yaml", line=7,
                         diff_class=DiffClass.FUNCTIONAL, expressed_by=expressed)


def repo(name: str, *items: Customization, outcome: Outcome = BLOCKED,
         held: tuple[Outcome, ...] = ()) -> RepoPlan:
    chart = ChartPlan("chart", name, outcome, customizations=items, held_by=held)
    return RepoPlan(RepoRef(name, name, f"/srv/{name}"), "c0ffee", outcome, (chart,))


def small_fleet() -> FleetPlan:
    return FleetPlan(CENTRAL, (
        repo("r1", item(CONTAINER)),
        repo("r2", item(CONTAINER), item(CRONJOB)),
        repo("r3", item(CRONJOB, resource="CronJob/a"), item(SECRET, resource="Secret/b")),
        repo("r4", item(ENV)),
        repo("r5", item(ENV), item(CONTAINER)),
        repo("r6", item(OTHER), item(CONTAINER), outcome=DESTRUCTIVE),  # a selector: held
        repo("r7", item(CONTAINER), held=(Outcome(Kind.STILL_USED, files=("ci.yml:4",)),)),
        repo("r8", item(ENV, blocks=False), outcome=REVIEW),  # not blocked: never counted
        repo("r9", outcome=Outcome(Kind.FORK_RENDER_FAILED, detail="nil pointer")),
        repo("r10", item(VOLUMES, expressed=(CentralValue("volumes", ("1.0.0", "2.0.0")),)),
             item(CONTAINER), item(ENV)),
        repo("r11", item(ENV, blocks=False), item(CONTAINER)),
    ), "0.1.0", "abc1234")


def test_the_unblock_order_on_a_small_fleet_checked_by_hand() -> None:
    # Movable: r1 {C}, r2 {C,O}, r3 {O}, r4 {E}, r5 {E,C}, r10 {V,C,E}, r11 {C}.
    # Step 1: C moves r1, r11 (2); O moves r3 (1); E moves r4 (1)  -> extraContainers.
    # Step 2: O moves r2, r3 (2); E moves r4, r5 (2); tie: E is still needed by r4, r5, r10
    #         (3), O by r2, r3 (2)                                -> extraEnv + envFrom.
    # Step 3: O moves r2, r3 (2); V moves r10 (1)                  -> extraObjects.
    # Step 4: V moves r10                                          -> extraVolumes.
    found = gaps(small_fleet())
    assert [(s.feature, s.moved, s.cumulative) for s in found.order] == [
        ("extraContainers", ("r1", "r11"), 2),
        ("extraEnv + envFrom", ("r4", "r5"), 4),
        ("extraObjects", ("r2", "r3"), 6),
        ("extraVolumes + extraVolumeMounts", ("r10",), 7),
    ]
    assert found.order[2].kinds == (CRONJOB, SECRET)
    assert (found.blocked, found.movable, found.review) == (10, 7, 1)
    assert {(h.repo, h.why) for h in found.held} == {
        ("r6", ("other",)), ("r7", ("still-used",)), ("r9", ("fork-does-not-render",))}


def test_a_step_the_target_already_expresses_is_a_mapping() -> None:
    found = gaps(small_fleet())
    assert found.order[-1].mapping == ("volumes",)
    assert all(s.mapping == () for s in found.order[:-1])


def test_per_kind_counts_blocked_repos_and_every_repo_it_shows_in() -> None:
    by_kind = {k.kind: k for k in gaps(small_fleet()).kinds}
    container = by_kind[CONTAINER]
    assert container.blocked_repos == ("r1", "r10", "r11", "r2", "r5", "r6", "r7")
    assert container.blocked_charts == tuple(f"{r}: chart" for r in container.blocked_repos)
    env = by_kind[ENV]
    assert env.blocked_repos == ("r10", "r4", "r5")
    assert env.seen_repos == ("r10", "r11", "r4", "r5", "r8")
    assert (env.feature, env.coverable) == ("extraEnv + envFrom", True)
    assert (by_kind[OTHER].feature, by_kind[OTHER].coverable) == (OTHER, False)
    assert by_kind[VOLUMES].at_target == ("volumes",)
    assert [k.kind for k in gaps(small_fleet()).kinds][0] == CONTAINER  # most blocked first


def test_examples_show_blocking_evidence_from_several_repos_first() -> None:
    examples = {k.kind: k for k in gaps(small_fleet()).kinds}[CONTAINER].examples
    assert [e.repo for e in examples] == ["r1", "r10", "r11"]
    assert examples[0].where == "chart/templates/deployment.yaml:7"


def test_when_nothing_moves_a_repo_alone_the_step_still_counts_toward_the_next() -> None:
    needs = {"a": frozenset({"x", "y"}), "b": frozenset({"x", "y"}), "c": frozenset({"z", "y"})}
    assert unblock_order(needs) == (
        Step("y", (), (), 0),  # wanted by all three
        Step("x", (), ("a", "b"), 2),
        Step("z", (), ("c",), 3),
    )


def test_a_fleet_with_nothing_blocked_has_no_order() -> None:
    fleet = FleetPlan(CENTRAL, (repo("r8", item(ENV, blocks=False), outcome=REVIEW),),
                      "0.1.0", "abc")
    found = gaps(fleet)
    assert (found.order, found.held, found.blocked) == ((), (), 0)
    assert [k.kind for k in found.kinds] == [ENV]
