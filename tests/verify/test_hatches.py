"""Migrating onto hatches: what a fork adds to its manifests (a sidecar, a CronJob, env from a
Secret, volumes) goes into the target's hatch values, copied from the fork's render per
environment, and verify proves it as any value; a deploy-time value inside that static content
keeps the chart in review."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from migrator import demo, git
from migrator.central import suggest as central
from migrator.model import Environment, Kind, SetFlag, ValuesPlan
from migrator.values.read import ForkValues
from migrator.verify import hatches, manifests, render
from migrator.verify.environments import Sides, verify_environments
from migrator.verify.manifests import Rendered

COSMETIC = manifests.DEFAULT_COSMETIC_KEYS
SIDECAR = """\
        - name: shipper
          image: "fluent-bit:{{ .Values.shipper.tag }}"
          args: ["-p", "path=/logs/{{ .Release.Name }}.log"]
"""


def deployment(name: str, containers: list[dict[str, Any]],
               volumes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    pod: dict[str, Any] = {"containers": containers}
    if volumes:
        pod["volumes"] = volumes
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"template": {"spec": pod}}}


def rendered(*objects: dict[str, Any]) -> Rendered:
    return manifests.index([(f"chart/templates/{o['kind'].lower()}.yaml", o) for o in objects],
                           "prod")


HATCHED = {key: [] for key in hatches.KEYS}


# --- what is proposed -------------------------------------------------------------------------


def test_a_target_offers_the_hatches_its_defaults_hold_as_lists() -> None:
    assert hatches.offered({"extraContainers": [], "extraObjects": [], "envFrom": {},
                            "volumes": []}) == {"extraContainers", "extraObjects"}


def test_a_sidecar_its_volume_and_the_app_containers_additions_go_to_their_hatches() -> None:
    app = {"name": "app", "image": "shop:1"}
    fork_app = {**app, "env": [{"name": "MODE", "value": "x"}],
                "envFrom": [{"secretRef": {"name": "shop-db"}}],
                "volumeMounts": [{"name": "logs", "mountPath": "/logs"}]}
    sidecar = {"name": "shipper", "image": "fluent-bit:2"}
    before = rendered(deployment("shop", [fork_app, sidecar], [{"name": "logs",
                                                                "emptyDir": {}}]))
    after = rendered(deployment("shop", [app]))
    found = {c.path: c.value for c in hatches.propose(before, after, HATCHED, {}, COSMETIC)}
    assert found == {"extraContainers": [sidecar],
                     "extraVolumes": [{"name": "logs", "emptyDir": {}}],
                     "extraEnv": [{"name": "MODE", "value": "x"}],
                     "envFrom": [{"secretRef": {"name": "shop-db"}}],
                     "extraVolumeMounts": [{"name": "logs", "mountPath": "/logs"}]}


def test_nothing_is_proposed_when_the_target_has_no_hatch() -> None:
    before = rendered(deployment("shop", [{"name": "app"}, {"name": "shipper"}]))
    after = rendered(deployment("shop", [{"name": "app"}]))
    assert hatches.propose(before, after, {"volumes": []}, {}, COSMETIC) == []


def test_a_hatch_keeps_what_it_already_holds() -> None:
    before = rendered(deployment("shop", [{"name": "app"}, {"name": "a"}, {"name": "b"}]))
    after = rendered(deployment("shop", [{"name": "app"}, {"name": "a"}]))
    (carried,) = hatches.propose(before, after, HATCHED, {"extraContainers": [{"name": "a"}]})
    assert carried.value == [{"name": "a"}, {"name": "b"}]


def test_an_extra_object_is_carried_without_descriptive_labels_and_stays_literal() -> None:
    rules = {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "shop-alerts", "labels": {"helm.sh/chart": "shop-0.1.0",
                                                            "app": "shop"}},
             "data": {"rule": "{{ $labels.instance }} is down"}}
    before = rendered(deployment("shop", [{"name": "app"}]), rules)
    after = rendered(deployment("shop", [{"name": "app"}]))
    (carried,) = hatches.propose(before, after, HATCHED, {}, COSMETIC)
    assert carried.path == "extraObjects"
    assert carried.value == [{"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "shop-alerts", "labels": {"app": "shop"}},
                              "data": {"rule": '{{ "{{" }} $labels.instance }} is down'}}]
    assert "templates/configmap.yaml: ConfigMap/shop-alerts" in carried.note


def test_an_object_the_central_chart_renders_under_another_name_is_not_carried() -> None:
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "shop"}}
    before = rendered(deployment("shop", [{"name": "app"}]), service)
    after = rendered(deployment("shop", [{"name": "app"}]),
                     {**service, "metadata": {"name": "shop-app-template"}})
    assert hatches.propose(before, after, HATCHED, {}, COSMETIC) == []
    # nor while a name repair is pending: next round sees it under the name it keeps
    alone = rendered(deployment("shop", [{"name": "app"}]))
    assert hatches.propose(before, alone, HATCHED, {}, COSMETIC, renaming=True) == []


# --- deploy-time values -----------------------------------------------------------------------


SHA = SetFlag("set", "image.tag", "$CI_COMMIT_SHA", dynamic=True)


def test_a_deploy_time_value_inside_a_hatch_holds_the_chart_for_review() -> None:
    values = {"extraContainers": [{"name": "migrate", "image": "shop:$CI_COMMIT_SHA"}]}
    held = hatches.frozen_deploy_values(values, [SHA], "prod")
    assert held is not None and held.kind is Kind.HATCH_DEPLOY_TIME
    assert held.kind.verdict.value == "review"
    assert held.paths == ("extraContainers[migrate].image",)
    assert held.detail == "--set image.tag=$CI_COMMIT_SHA" and held.environments == ("prod",)


def test_a_deploy_time_value_rendered_into_a_secrets_data_is_found_too() -> None:
    flag = SetFlag("set", "db.password", "$DB_PASSWORD", dynamic=True)
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
              "data": {"password": base64.b64encode(b"$DB_PASSWORD").decode()}}
    held = hatches.frozen_deploy_values({"extraObjects": [secret]}, [flag], "prod")
    assert held is not None and held.paths == ("extraObjects[db].data.password",)


def test_static_flags_and_values_outside_hatches_hold_nothing() -> None:
    static = SetFlag("set", "image.tag", "1.2.3", dynamic=False)
    assert hatches.frozen_deploy_values(
        {"extraContainers": [{"image": "shop:1.2.3"}]}, [static], "prod") is None
    assert hatches.frozen_deploy_values({"image": {"tag": "$CI_COMMIT_SHA"}}, [SHA],
                                        "prod") is None


# --- verify with real Helm, on the central chart `central suggest` makes of 2.0.0 -------------


@pytest.fixture(scope="module")
def hatched(tmp_path_factory: pytest.TempPathFactory) -> render.LoadedChart:
    root = tmp_path_factory.mktemp("central")
    repo = demo.build_central(root).git_dir
    made = central.suggest(repo, None, ["extra-container", "volumes", "env", "extra-object"])
    chart = root / "2.1.0"
    for rel, content in {**git.files_at(repo, "HEAD"), **made.writes}.items():
        (chart / rel).parent.mkdir(parents=True, exist_ok=True)
        (chart / rel).write_bytes(content)
    return render.load(chart)


def fork(tmp_path: Path, template_edit: str = SIDECAR, extra: dict[str, str] | None = None
         ) -> render.LoadedChart:
    files = demo.fork_chart(demo.central_chart_dir() / "2.0.0", "shop", "1.0.0")
    files["templates/deployment.yaml"] = files["templates/deployment.yaml"].replace(
        "      {{- with .Values.volumes }}", template_edit + "      {{- with .Values.volumes }}")
    files["values.yaml"] += "shipper:\n  tag: '2.2'\n"
    files.update(extra or {})
    for rel, text in files.items():
        (tmp_path / "fork" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "fork" / rel).write_text(text)
    return render.load(tmp_path / "fork")


def env(name: str, *flags: SetFlag) -> Environment:
    return Environment(name, (), "shop", "ci", "shop", flags)


PLANNED = ValuesPlan({"nameOverride": "shop", "image": {"tag": "1.0.0"}}, {}, ())


def test_a_sidecar_the_same_everywhere_moves_to_the_base_values(
        tmp_path: Path, hatched: render.LoadedChart) -> None:
    shop = fork(tmp_path)
    sides = Sides(shop, "chart", ForkValues(shop.values, {"dev": {}, "prod": {}}), hatched, (),
                  COSMETIC)
    verified = verify_environments(sides, [env("dev"), env("prod")], PLANNED)
    assert all(e.differences == () or all(d.diff_class.value == "cosmetic"
                                          for d in e.differences)
               for e in verified.environments)
    assert verified.values.base["extraContainers"] == [
        {"name": "shipper", "image": "fluent-bit:2.2",
         "args": ["-p", "path=/logs/shop.log"]}]
    assert verified.values.envs == {}
    (decision,) = [d for d in verified.values.decisions if d.path == "extraContainers"]
    assert decision.reason == "repair" and decision.env is None
    assert "container shipper" in decision.note and "`extraContainers`" in decision.note
    assert verified.held == ()


def test_a_sidecar_that_differs_by_environment_goes_to_each_environments_file(
        tmp_path: Path, hatched: render.LoadedChart) -> None:
    shop = fork(tmp_path)
    by_env = {"dev": {"shipper": {"tag": "3.0-rc"}}, "prod": {}}
    sides = Sides(shop, "chart", ForkValues(shop.values, by_env), hatched, (), COSMETIC)
    verified = verify_environments(sides, [env("dev"), env("prod")], PLANNED)
    assert not any(d.diff_class.value != "cosmetic"
                   for e in verified.environments for d in e.differences)
    assert "extraContainers" not in verified.values.base
    images = {name: values["extraContainers"][0]["image"]
              for name, values in verified.values.envs.items()}
    assert images == {"dev": "fluent-bit:3.0-rc", "prod": "fluent-bit:2.2"}


def test_an_extra_cronjob_moves_into_extra_objects_and_renders_the_same(
        tmp_path: Path, hatched: render.LoadedChart) -> None:
    cron = ('apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: {{ .Release.Name }}-export\n'
            '  labels:\n    {{- include "shop.labels" . | nindent 4 }}\nspec:\n'
            '  schedule: "0 2 * * *"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n'
            '          restartPolicy: OnFailure\n          containers:\n            - name: x\n'
            '              image: "shop:{{ .Values.image.tag | default .Chart.AppVersion }}"\n')
    # what the fork renders literally stays literal through the hatch's `tpl`
    alerts = ('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-alerts\n'
              'data:\n  rule: \'{{ "{{" }} $labels.instance }} is down\'\n')
    shop = fork(tmp_path, "", {"templates/cronjob.yaml": cron,
                               "templates/alerts.yaml": alerts})
    sides = Sides(shop, "chart", ForkValues(shop.values, {"prod": {}}), hatched, (), COSMETIC)
    verified = verify_environments(sides, [env("prod")], PLANNED)
    (only,) = verified.environments
    assert all(d.diff_class.value == "cosmetic" for d in only.differences), only.differences
    objects = {o["kind"]: o for o in verified.values.base["extraObjects"]}
    assert objects["CronJob"]["metadata"]["name"] == "shop-export"
    assert "helm.sh/chart" not in objects["CronJob"]["metadata"]["labels"]
    assert verified.before["prod"].objects[next(
        r for r in verified.before["prod"].objects if r.kind == "ConfigMap")]["data"] == {
        "rule": "{{ $labels.instance }} is down"}


def test_a_deploy_time_tag_inside_the_sidecar_is_held_in_that_environment(
        tmp_path: Path, hatched: render.LoadedChart) -> None:
    shop = fork(tmp_path, SIDECAR.replace("{{ .Values.shipper.tag }}", "{{ .Values.image.tag }}"))
    sides = Sides(shop, "chart", ForkValues(shop.values, {"dev": {}, "prod": {}}), hatched, (),
                  COSMETIC)
    verified = verify_environments(sides, [env("dev"), env("prod", SHA)], PLANNED)
    # render-equal in both (the literal text renders on both sides), but prod's is frozen
    assert not any(d.diff_class.value != "cosmetic"
                   for e in verified.environments for d in e.differences)
    (held,) = verified.held
    assert held.kind is Kind.HATCH_DEPLOY_TIME and held.environments == ("prod",)
    assert held.paths == ("extraContainers[shipper].image",)
    assert verified.values.envs["prod"]["extraContainers"][0]["image"] == \
        "fluent-bit:$CI_COMMIT_SHA"

