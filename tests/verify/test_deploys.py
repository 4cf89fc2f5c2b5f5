"""check_deploys: each rewritten deploy checked as it will run, rendered only when it differs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from migrator.model import HelmInvocation, Kind, SetFlag, ValuesPlan
from migrator.rewrite.target import DeployAfter
from migrator.values.read import ForkValues
from migrator.verify import deploys
from migrator.verify.deploys import check_deploys
from migrator.verify.environments import Sides, Verified, verify_environments
from tests.verify.charts import environment, load_chart


def setup(tmp_path: Path) -> tuple[Sides, Verified]:
    fork = load_chart(tmp_path / "fork", "orders")
    central = load_chart(tmp_path / "central", "central")
    s = Sides(fork, "chart", ForkValues(fork.values, {"prod": {}}), central, (), ())
    return s, verify_environments(s, [environment("prod")], ValuesPlan({"name": "app"}, {}, ()))


def deploy(release: str = "app", files: tuple[str, ...] = ("deploy/values.yaml",),
           flags: tuple[SetFlag, ...] = ()) -> DeployAfter:
    ref = HelmInvocation("Makefile", 7, "makefile", "deploy", "upgrade", release, "./chart",
                         "default", (), (), None, None, "helm upgrade")
    return DeployAfter(ref, "prod", release, "default", "oci://x/central", "1.0.0", files, flags)


def files(**texts: str) -> Callable[[str], str]:
    """`deploy_values_yaml=...` gives the text of deploy/values.yaml."""
    return lambda rel: texts[rel.replace("/", "_").replace(".", "_")]


def test_a_deploy_that_passes_what_was_verified_is_not_rendered_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s, verified = setup(tmp_path)
    calls: list[str] = []
    real = deploys.render_release
    monkeypatch.setattr(deploys, "render_release",
                        lambda *a, **k: calls.append("render") or real(*a, **k))
    checked = check_deploys(s, verified, [environment("prod")], [deploy()],
                            files(deploy_values_yaml="name: app\n"))
    assert calls == [] and checked.failure is None
    assert checked.environments == verified.environments


def test_a_deploy_with_another_release_is_compared_with_the_fork_deployed_the_same_way(
        tmp_path: Path) -> None:
    s, verified = setup(tmp_path)
    checked = check_deploys(s, verified, [environment("prod")],
                            [deploy(release="app-canary")],
                            files(deploy_values_yaml="name: app\n"))
    # the fork deployed as app-canary is named app-canary; the migration keeps "app"
    (diff, *_) = checked.environments[0].differences
    assert "as deployed by Makefile:7" in diff.why


def test_a_rewritten_deploy_that_does_not_render_names_its_command(tmp_path: Path) -> None:
    s, verified = setup(tmp_path)
    checked = check_deploys(s, verified, [environment("prod")], [deploy()],
                            files(deploy_values_yaml="name: 'a: b: c'\n"))
    assert checked.failure is not None
    assert checked.failure.kind is Kind.DEPLOY_RENDER_FAILED
    assert (checked.failure.file, checked.failure.line) == ("Makefile", 7)


def test_a_flag_helms_parser_refuses_is_that_deploys_failure_not_the_repos(tmp_path: Path) -> None:
    s, verified = setup(tmp_path)
    bad = (SetFlag("set", "image.repository", "{{.REGISTRY}}/app", False),)
    checked = check_deploys(s, verified, [environment("prod")], [deploy(flags=bad)],
                            files(deploy_values_yaml="name: app\n"))
    assert checked.failure is not None and checked.failure.kind is Kind.DEPLOY_RENDER_FAILED
    assert "has no value" in checked.failure.detail
