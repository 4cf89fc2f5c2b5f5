from __future__ import annotations

import dataclasses

from migrator.model import (
    ChartPlan,
    DiffClass,
    Difference,
    EnvResult,
    FieldChange,
    FleetPlan,
    Kind,
    Outcome,
    RepoPlan,
    ResourceId,
    ValueDecision,
    ValuesPlan,
)
from migrator.mrtext import DESCRIPTION_LIMIT, size
from migrator.report.markdown import fleet_markdown, mr_title, repo_markdown
from tests.report.sample import (
    CENTRAL,
    PASSWORD,
    blocked_repo,
    deployment,
    fleet,
    ready_repo,
    review_repo,
)


def render(plan: RepoPlan) -> str:
    return repo_markdown(plan, CENTRAL, plan_id="3f9c2a1", tool_version="0.4.0")


def with_chart(plan: RepoPlan, **changes: object) -> RepoPlan:
    chart = dataclasses.replace(plan.charts[0], **changes)  # type: ignore[arg-type]
    return dataclasses.replace(plan, charts=(chart,))


def test_title_names_central_version_and_lineage_whatever_the_verdict() -> None:
    # Whether the MR is a draft is propose's decision (tests/test_propose_mergerequest.py).
    assert mr_title(ready_repo(), CENTRAL) == (
        "Use the central chart app-template 2.3.0 (was: embedded chart forked from 1.4.0)")
    assert mr_title(review_repo(), CENTRAL).startswith("Use the central chart")
    assert mr_title(blocked_repo(), CENTRAL) == (
        "Use the central chart app-template 2.3.0 (was: embedded chart legacy)")


def test_ready_report_opens_with_the_banner_saying_the_cluster_sees_no_change() -> None:
    text = render(ready_repo())
    first = text.splitlines()[0]
    assert first.startswith("> ✅ **Ready: the cluster sees no change.**")
    assert "`staging` and `production`" in first
    assert "ignoring 1 descriptive difference" in first


def test_review_banner_counts_functional_changes_and_names_the_first_ones() -> None:
    first = render(review_repo()).splitlines()[0]
    assert first.startswith("> 🔍 **Review: the cluster sees 4 functional changes")
    assert "`Deployment/payments` `spec.replicas`" in first
    assert "and 1 more" in first


def test_blocked_banner_gives_every_cause() -> None:
    first = render(blocked_repo()).splitlines()[0]
    assert first.startswith("> ⛔ **Blocked:")
    assert "2 destructive differences" in first
    assert "rendering failed in `production`" in first
    assert "cannot express 1 customization" in first
    assert "Nothing is proposed" in first


def test_before_after_table_shows_chart_size_lineage_and_central_reference() -> None:
    text = render(ready_repo())
    assert ("| chart | `deploy/helm/orders/` (14 files, 611 lines), forked from app-template "
            "**1.4.0** (templates 96 % identical) | "
            "`oci://registry.example.com/charts/app-template` **2.3.0** |") in text
    assert "`deploy/values.yaml` (5 values), `deploy/values-production.yaml` (1 value)" in text
    assert "`.gitlab-ci.yml` jobs `deploy-staging`, `deploy-production`" in text


def test_nearly_identical_templates_are_not_called_100_percent_identical() -> None:
    plan = ready_repo()
    lineage = plan.charts[0].lineage
    assert lineage is not None
    nearly = dataclasses.replace(lineage, score=0.998)
    assert "(templates 99 % identical)" in render(with_chart(plan, lineage=nearly))


def test_error_banner_keeps_a_leading_path_as_written() -> None:
    plan = dataclasses.replace(fleet().repos[4], outcome=Outcome(
        Kind.BAD_INPUT, file="chart/values.yaml", detail="line 77: bad token"))
    assert render(plan).startswith("> 💥 **Error: the migrator failed on this repo.** "
                                   "chart/values.yaml: line 77: bad token. The rest")


def test_values_table_explains_each_kept_value() -> None:
    text = render(ready_repo())
    assert "| `replicaCount` | `3` | set by the team (template default was `1`) |" in text
    assert ("| `livenessProbe.initialDelaySeconds` | `30` | inherited from template 1.4.0; "
            "central 2.3.0 uses `10`. Pinned so nothing changes; consider dropping |") in text
    assert "| `image.tag` | `\"5.2.1\"` | the fork took its tag from `appVersion` |" in text
    assert "| `replicaCount` (`production`) | `4` |" in text
    # identity first: it is what keeps every name in place
    assert text.index("`nameOverride`") < text.index("`replicaCount`")


def test_dropped_values_are_counted_with_their_first_names_and_unmapped_listed() -> None:
    text = render(ready_repo())
    assert "Dropped as equal to the central default: 41 keys (`service.key0`," in text
    assert "Nothing unmapped." in text
    review = render(review_repo())
    assert "Not carried over: 1 key" in review
    assert "`extra.dsnUrl`" in review


def test_renamed_key_names_its_source_in_the_fork() -> None:
    assert "set by the team; `image.name` in the fork" in render(review_repo())


def _diff(cls: DiffClass, name: str, path: str = "spec.x") -> Difference:
    return Difference(deployment(name), cls, "changed", (path,),
                      (FieldChange(path, "1", "2"),), why=cls.value)


def test_differences_are_grouped_worst_first_and_only_descriptive_ones_folded() -> None:
    diffs = (_diff(DiffClass.COSMETIC, "c"), _diff(DiffClass.FUNCTIONAL, "f"),
             _diff(DiffClass.DESTRUCTIVE, "d"))
    env = EnvResult("prod", "r", "prod", (), {}, diffs)
    text = render(with_chart(blocked_repo(), environments=(env,)))
    destructive = text.index("<details open><summary>⛔ Destructive differences (1)")
    functional = text.index("<details open><summary>🔍 Functional differences (1)")
    cosmetic = text.index("<details><summary>Differences ignored as descriptive (1)")
    assert destructive < functional < cosmetic
    assert "- `Deployment/d` `spec.x`: `1` → `2` (destructive)" in text


def test_a_difference_present_in_every_environment_is_listed_once() -> None:
    text = render(ready_repo())
    assert text.count('`metadata.labels["helm.sh/chart"]`: `orders-0.1.0` → '
                      '`app-template-2.3.0`') == 1


def test_a_difference_in_some_environments_names_them() -> None:
    assert "`Deployment/legacy` removed in `staging`" in render(blocked_repo())


def test_findings_and_render_errors_are_shown_for_blocked_repos() -> None:
    text = render(blocked_repo())
    assert "### For the central chart maintainers" in text
    assert "- a value for extra containers (the fork adds a sidecar)" in text
    assert "template: legacy/templates/deployment.yaml:12:3: nil pointer" in text


def test_kpis_are_a_before_after_table_in_a_details_block() -> None:
    text = render(ready_repo())
    start = text.index("<details><summary>Deployment quality, before → after: 1 better")
    block = text[start:text.index("</details>", start)]
    assert ("| CPU/memory requests and memory limit | ❌ no CPU request | ❌ no CPU request |"
            in block)
    assert "| PodDisruptionBudget | ❌ no PDB | ✅ |" in block
    assert "**`Deployment/orders`** in `staging` and `production`" in block


def test_references_left_unrewritten_are_listed_with_secrets_hidden() -> None:
    text = render(review_repo())
    assert "### Deploy references that still point at the embedded chart" in text
    assert "`deploy.sh:3`" in text
    assert "— the release name is computed at run time" in text
    assert "--set database.password=<redacted>" in text


def test_reproduce_block_renders_each_environment_with_its_values_files() -> None:
    text = render(ready_repo())
    assert ("helm template orders oci://registry.example.com/charts/app-template --version "
            "2.3.0 --namespace production -f deploy/values.yaml "
            "-f deploy/values-production.yaml") in text
    assert "migrator plan --fleet . --central" in text


def test_footer_names_tool_version_plan_and_commit() -> None:
    last = render(ready_repo()).rstrip().splitlines()[-1]
    assert last.startswith("<sub>Generated by migrator 0.4.0 · plan 3f9c2a1 · commit 0123456789ab")


def test_passwords_never_appear_in_the_description() -> None:
    text = render(review_repo())
    assert PASSWORD not in text
    assert "<redacted>" in text


def test_pipes_and_backticks_in_values_do_not_break_the_table() -> None:
    values = ValuesPlan({}, {}, (ValueDecision("cmd", "deliberate", "a|b`c"),))
    text = render(with_chart(ready_repo(), values=values))
    row = next(line for line in text.splitlines() if line.startswith("| `cmd`"))
    assert "``a\\|b`c``" in row
    assert row.count(" | ") == 2  # three cells


def test_huge_plans_stay_under_the_gitlab_description_limit() -> None:
    diffs = tuple(
        Difference(ResourceId("v1", "ConfigMap", "", f"cm-{i}"), DiffClass.FUNCTIONAL, "changed",
                   tuple(f"data.key-{j}" for j in range(15)),
                   tuple(FieldChange(f"data.key-{j}", "x" * 100, "y" * 100) for j in range(15)))
        for i in range(2000))
    env = EnvResult("prod", "r", "prod", ("deploy/values.yaml",), {}, diffs)
    decisions = tuple(ValueDecision(f"config.key{i}", "deliberate", "v" * 200)
                      for i in range(5000))
    chart = dataclasses.replace(review_repo().charts[0], environments=(env,),
                                values=ValuesPlan({}, {}, decisions))
    charts = tuple(dataclasses.replace(chart, path=f"charts/c{i}") for i in range(8))
    text = render(dataclasses.replace(review_repo(), charts=charts))
    assert size(text) < DESCRIPTION_LIMIT
    assert "- … and " in text and "more (see report.json)" in text
    assert text.count("## 🔍 `charts/c") == 8  # every chart keeps its section
    assert text.rstrip().endswith("</sub>")


def test_a_report_too_long_with_the_shortest_lists_is_cut_and_keeps_its_footer() -> None:
    # Chart paths are never shortened; two-byte characters count twice, as GitLab counts bytes.
    charts = tuple(dataclasses.replace(review_repo().charts[0], path=f"charts/{'é' * 40_000}{i}")
                   for i in range(12))
    text = render(dataclasses.replace(review_repo(), charts=charts))
    assert len(text) < DESCRIPTION_LIMIT // 2 and size(text) < DESCRIPTION_LIMIT
    assert "**This report was cut to fit GitLab's size limit. report.json holds all of it.**" \
        in text
    assert text.count("<details") == text.count("</details>")
    assert text.endswith("do not push to this branch by hand unless you take it over: the tool "
                         "will then leave it alone and flag it.</sub>\n")


def test_fleet_summary_lists_every_repo_worst_first_with_totals() -> None:
    plan = fleet()
    text = fleet_markdown(plan)
    assert "| 💥 Error | 1 |" in text and "| **total** | **5** |" in text
    rows = [line for line in text.splitlines() if line.startswith("| [`")]
    assert [r.split("`")[1] for r in rows] == [
        "ops/broken", "ops/legacy", "shop/payments", "shop/orders", "web/docs-site"]
    assert "[`shop/orders`](repos/shop-orders/report.md)" in text
    assert "| [`ops/legacy`](repos/ops-legacy/report.md) | ⛔ Blocked | destructive: "\
           "Deployment/legacy object renamed in staging and 1 more | 1 | 2 | 0 | 0 |" in text
    # shares round down: 100 % only when every workload passes
    assert "| replicas ≥ 2 (or HPA min ≥ 2) | 66 % (2/3) | 100 % (3/3) |" in text


def test_fleet_summary_of_an_empty_fleet_says_so() -> None:
    empty = FleetPlan(CENTRAL, (), "0.4.0", "p")
    text = fleet_markdown(empty)
    assert "No repository in this plan." in text
    assert "Deployment quality" not in text


def test_multi_chart_repo_gets_a_section_per_chart() -> None:
    plan = ready_repo()
    second = ChartPlan("deploy/helm/worker", "worker",
                       Outcome(Kind.IDENTICAL, environments=("prod",)))
    text = render(dataclasses.replace(plan, charts=(plan.charts[0], second)))
    assert "## ✅ `deploy/helm/orders`: Ready" in text
    assert "## ✅ `deploy/helm/worker`: Ready" in text
    assert mr_title(dataclasses.replace(plan, charts=(plan.charts[0], second)),
                    CENTRAL).endswith("(was: 2 embedded charts)")


def test_a_blocked_repo_that_moves_its_other_chart_says_which_moves_and_which_stays() -> None:
    ready = ready_repo().charts[0]
    blocked = dataclasses.replace(blocked_repo().charts[0], path="charts/sync")
    patch = (f"diff --git a/{ready.path}/Chart.yaml b/{ready.path}/Chart.yaml\n"
             "deleted file mode 100644\n--- a/x\n+++ /dev/null\n@@ -1 +0,0 @@\n-name: x\n")
    plan = dataclasses.replace(blocked_repo(), charts=(ready, blocked), patch=patch)
    text = render(plan)
    assert ("The change set moves only `deploy/helm/orders`; `charts/sync` stays until this is "
            "resolved.") in text
    assert "forced" not in text
    sync = text.split("`charts/sync`: Blocked", 1)[1]
    assert "_Not in the change set; moving it would look like this:_" in sync
    orders = text.split("`deploy/helm/orders`: Ready", 1)[1].split("`charts/sync`: Blocked")[0]
    assert "Not in the change set" not in orders
