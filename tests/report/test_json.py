from __future__ import annotations

import dataclasses
import datetime
import json

from migrator.model import ValueDecision, ValuesPlan, Verdict
from migrator.report.json import fleet_json, repo_json
from tests.report.sample import CENTRAL, PASSWORD, blocked_repo, fleet, ready_repo, review_repo


def test_fleet_json_follows_the_contract() -> None:
    data = fleet_json(fleet())
    assert data["schema"] == 1
    assert data["tool_version"] == "0.4.0" and data["plan_id"] == "3f9c2a1"
    assert data["central"] == {
        "name": "app-template", "source": "/srv/charts/app-template", "target_version": "2.3.0",
        "versions": ["1.4.0", "2.0.0", "2.3.0"],
        "ref": "oci://registry.example.com/charts/app-template"}
    assert data["summary"] == {v.value: 1 for v in Verdict}
    first = data["repos"][0]
    assert {k: first[k] for k in ("name", "slug", "verdict", "reason", "report")} == {
        "name": "shop/orders", "slug": "shop-orders", "verdict": "ready",
        "reason": "rendered manifests identical in staging, production (ignoring 1 descriptive "
                  "difference)",
        "report": "repos/shop-orders/report.json"}
    assert [r["name"] for r in data["repos"]] == [p.repo.name for p in fleet().repos]
    assert data["kpis"]["replicas"]["before"] == round(2 / 3, 4)


def test_repo_json_follows_the_contract() -> None:
    data = repo_json(ready_repo(), CENTRAL)
    assert {"schema", "repo", "commit", "verdict", "reason", "charts", "references",
            "patch"} <= set(data)
    assert (data["repo"], data["verdict"], data["patch"]) == ("shop/orders", "ready",
                                                              "changes.patch")
    chart = data["charts"][0]
    assert {"path", "name", "verdict", "reason", "release", "lineage", "environments", "kept",
            "pinned", "dropped", "unmapped", "identity", "findings"} <= set(chart)
    assert chart["lineage"]["templates"][0] == {
        "file": "templates/deployment.yaml", "score": 0.91,
        "counterpart": "templates/deployment.yaml"}
    prod = chart["environments"]["production"]
    assert prod["values_files"] == ["deploy/values.yaml", "deploy/values-production.yaml"]
    assert prod["values"] == {"replicaCount": 4}
    assert prod["error"] is None
    diff = prod["differences"][0]
    assert diff["resource"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                "namespace": "", "name": "orders"}
    assert diff["class"] == "cosmetic" and diff["change"] == "changed"
    assert diff["fields"] == [{"path": 'metadata.labels["helm.sh/chart"]',
                               "before": "orders-0.1.0", "after": "app-template-2.3.0"}]
    assert prod["kpis"]["before"][0]["checks"]["pdb"] is False
    assert prod["kpis"]["after"][0]["checks"]["pdb"] is True


def test_kept_includes_pinned_and_identity_while_dropped_includes_adopted() -> None:
    chart = repo_json(ready_repo(), CENTRAL)["charts"][0]
    assert [d["path"] for d in chart["identity"]] == ["nameOverride"]
    assert [d["path"] for d in chart["pinned"]] == ["livenessProbe.initialDelaySeconds"]
    kept = {(d["path"], d["env"], d["reason"]) for d in chart["kept"]}
    assert ("nameOverride", None, "identity") in kept
    assert ("livenessProbe.initialDelaySeconds", None, "inherited-pinned") in kept
    assert ("replicaCount", "production", "deliberate") in kept
    assert len(chart["dropped"]) == 41
    assert set(chart["kept"][0]) >= {"path", "value", "env", "source", "reason", "note"}
    review = repo_json(review_repo(), CENTRAL)["charts"][0]
    assert [d["reason"] for d in review["dropped"]] == ["inherited-adopted"]
    assert [d["path"] for d in review["unmapped"]] == ["extra.dsnUrl"]


def test_references_keep_their_place_and_say_whether_they_were_rewritten() -> None:
    refs = repo_json(review_repo(), CENTRAL)["references"]
    assert refs == [{"file": "deploy.sh", "line": 3, "source": "shell", "context": "",
                     "text": "helm upgrade payments ./chart --set database.password=<redacted>",
                     "environment": None, "rewritable": False,
                     "why": "the release name is computed at run time"}]


def test_blocked_repo_without_patch_and_lineage_has_nulls() -> None:
    data = repo_json(blocked_repo(), CENTRAL)
    assert data["patch"] is None
    assert data["charts"][0]["lineage"] is None
    assert data["charts"][0]["environments"]["production"]["error"].startswith(
        "does not render: template:")


def test_passwords_are_redacted_everywhere_in_the_json() -> None:
    text = json.dumps(repo_json(review_repo(), CENTRAL))
    assert PASSWORD not in text
    assert "<redacted>" in text


def test_yaml_values_that_json_cannot_hold_become_text() -> None:
    plan = ready_repo()
    values = ValuesPlan({}, {}, (ValueDecision("release.date", "deliberate",
                                               datetime.date(2024, 5, 1)),))
    plan = dataclasses.replace(plan, charts=(dataclasses.replace(plan.charts[0], values=values),))
    data = json.loads(json.dumps(repo_json(plan, CENTRAL)))
    assert data["charts"][0]["kept"][0]["value"] == "2024-05-01"
