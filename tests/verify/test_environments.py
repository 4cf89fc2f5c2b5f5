"""verify_environments: each environment rendered before and after, repairs proved and hoisted."""

from __future__ import annotations

from pathlib import Path

from migrator.model import DiffClass, Kind, ValuesPlan
from migrator.values.read import ForkValues
from migrator.verify.environments import Sides, verify_environments
from tests.verify.charts import DEPLOYMENT, environment, load_chart

HARD_CODED = DEPLOYMENT.replace("        {{- toYaml .Values.podAnnotations | nindent 8 }}\n",
                                "        team: checkout\n")


def sides(tmp_path: Path, fork_template: str = DEPLOYMENT,
          by_env: dict[str, dict[str, object]] | None = None) -> Sides:
    fork = load_chart(tmp_path / "fork", "orders", template=fork_template)
    central = load_chart(tmp_path / "central", "central")
    envs = by_env if by_env is not None else {"dev": {}, "prod": {}}
    return Sides(fork, "chart", ForkValues(fork.values, envs), central, (), ())


def test_identical_renders_give_no_difference_and_keep_each_fork_render(tmp_path: Path) -> None:
    s = sides(tmp_path)
    verified = verify_environments(s, [environment("dev"), environment("prod")],
                                   ValuesPlan({"name": "app"}, {}, ()))
    assert [e.differences for e in verified.environments] == [(), ()]
    assert set(verified.before) == {"dev", "prod"}
    assert verified.after_values["prod"] == {"name": "app"}


def test_a_missing_value_shows_as_a_functional_difference(tmp_path: Path) -> None:
    s = sides(tmp_path, by_env={"prod": {"replicas": 3}})
    verified = verify_environments(s, [environment("prod")], ValuesPlan({"name": "app"}, {}, ()))
    (diff,) = verified.environments[0].differences
    assert diff.diff_class is DiffClass.FUNCTIONAL and diff.paths == ("spec.replicas",)


def test_a_hard_coded_pod_annotation_is_repaired_into_values_and_hoisted(tmp_path: Path) -> None:
    s = sides(tmp_path, HARD_CODED)
    verified = verify_environments(s, [environment("dev"), environment("prod")],
                                   ValuesPlan({"name": "app"}, {}, ()))
    assert all(e.differences == () for e in verified.environments)
    # both environments needed it: it goes to the base file, said once
    assert verified.values.base["podAnnotations"] == {"team": "checkout"}
    assert verified.values.envs == {}
    repairs = [d for d in verified.values.decisions if d.reason == "repair"]
    assert [(d.path, d.env) for d in repairs] == [("podAnnotations.team", None)]


def test_a_fork_that_does_not_render_fails_only_its_environment(tmp_path: Path) -> None:
    broken = DEPLOYMENT.replace("{{ .Values.replicas }}", "{{ .Values.scale.replicas }}")
    s = sides(tmp_path, broken, by_env={"dev": {"scale": {"replicas": 2}}, "prod": {}})
    verified = verify_environments(s, [environment("dev"), environment("prod")],
                                   ValuesPlan({"name": "app", "replicas": 2}, {}, ()))
    dev, prod = verified.environments
    assert dev.failure is None
    assert prod.failure is not None and prod.failure.kind is Kind.FORK_RENDER_FAILED
    assert prod.failure.environments == ("prod",)
    assert "chart/templates/deployment.yaml" in prod.failure.detail
    assert "prod" not in verified.before


def test_values_the_central_chart_cannot_render_fail_with_the_central_kind(tmp_path: Path) -> None:
    s = sides(tmp_path, by_env={"prod": {}})
    verified = verify_environments(s, [environment("prod")],
                                   ValuesPlan({"name": "a: b: c"}, {}, ()))
    failure = verified.environments[0].failure
    assert failure is not None and failure.kind is Kind.CENTRAL_RENDER_FAILED
    assert "prod" in verified.before and "prod" not in verified.after_values
