"""Finding embedded charts, their environments and their deploy commands in a repo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from migrator.errors import RepoError
from migrator.locate.charts import env_of_file, locate
from migrator.locate.refs import find_references, scan_references
from migrator.model import Kind, NoticeKind
from migrator.verify import render

CHART = "apiVersion: v2\nname: {name}\nversion: 0.1.0\nappVersion: '1.0'\n"


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize(("path", "env"), [
    ("chart/values-prod.yaml", "prod"),
    ("chart/values.staging.yaml", "staging"),
    ("values/dev.yaml", "dev"),
    ("env/prod/values.yaml", "prod"),
    ("environments/qa/values.yaml", "qa"),
    ("chart/values.yaml", None),
    ("chart/values.schema.json", None),
])
def test_environment_names_come_from_the_file_layout(path: str, env: str | None) -> None:
    assert env_of_file(path) == env


def test_vendored_dependencies_are_not_forks(tmp_path: Path) -> None:
    repo = _write(tmp_path, {
        "deploy/helm/orders/Chart.yaml": CHART.format(name="orders"),
        "deploy/helm/orders/charts/redis/Chart.yaml": CHART.format(name="redis"),
        "deploy/helm/worker/Chart.yaml": CHART.format(name="worker"),
    })
    found = locate(repo, (), "app-template")
    assert [c.path for c in found.charts] == ["deploy/helm/orders", "deploy/helm/worker"]


def test_environments_and_release_come_from_the_ci_deploy_jobs(tmp_path: Path) -> None:
    repo = _write(tmp_path, {
        "chart/Chart.yaml": CHART.format(name="users"),
        "chart/values.yaml": "{}\n",
        "chart/values-prod.yaml": "{}\n",
        ".gitlab-ci.yml": (
            "deploy-prod:\n  environment: production\n  script:\n"
            "    - helm upgrade --install users-api ./chart -f chart/values-prod.yaml"
            " --namespace users --set image.tag=$CI_COMMIT_SHA\n"),
    })
    found = locate(repo, find_references(repo), "app-template")
    env = found.charts[0].environments[0]
    assert (env.name, env.release, env.namespace) == ("prod", "users-api", "users")
    assert env.values_files == ("chart/values-prod.yaml",)
    assert env.release_source == ".gitlab-ci.yml:4"
    assert env.set_flags[0].dynamic


def test_without_deploy_commands_the_release_is_assumed_and_said_so(tmp_path: Path) -> None:
    repo = _write(tmp_path, {
        "chart/Chart.yaml": CHART.format(name="billing"),
        "env/dev/values.yaml": "{}\n", "env/prod/values.yaml": "{}\n",
    })
    envs = locate(repo, (), "app-template").charts[0].environments
    assert [(e.name, e.values_files) for e in envs] == [
        ("dev", ("env/dev/values.yaml",)), ("prod", ("env/prod/values.yaml",))]
    assert all(e.release_source.startswith("assumed") for e in envs)


def test_a_wrapper_chart_of_the_central_chart_is_already_migrated(tmp_path: Path) -> None:
    repo = _write(tmp_path, {"deploy/chart/Chart.yaml": CHART.format(name="orders")
                             + "dependencies:\n  - name: app-template\n    version: 2.0.0\n"})
    found = locate(repo, (), "app-template")
    assert found.charts == () and found.wrappers == ("deploy/chart/Chart.yaml",)


def test_a_malformed_chart_yaml_is_that_charts_reason_and_names_file_and_line(
        tmp_path: Path) -> None:
    repo = _write(tmp_path, {"chart/Chart.yaml": "apiVersion: v2\nname: [x\n",
                             "good/Chart.yaml": CHART.format(name="good")})
    bad, good = locate(repo, (), "app-template").charts
    assert bad.problem is not None and bad.problem.kind is Kind.CHART_INVALID
    assert (bad.problem.file, bad.problem.line) == ("chart/Chart.yaml", 3)
    assert "malformed YAML" in bad.problem.detail
    assert good.problem is None


def test_a_symlink_leaving_the_repo_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("secret: 1\n")
    repo = _write(tmp_path / "repo", {"chart/Chart.yaml": CHART.format(name="x"),
                                      "chart/templates/cm.yaml": "kind: ConfigMap\n"})
    os.symlink(outside, repo / "chart/templates/leak.yaml")
    with pytest.raises(RepoError, match="chart/templates/leak.yaml: symlink points outside"):
        render.load_fork(repo, "chart")


def test_a_huge_file_is_refused(tmp_path: Path) -> None:
    repo = _write(tmp_path, {"chart/Chart.yaml": CHART.format(name="x")})
    (repo / "chart/templates").mkdir()
    (repo / "chart/templates/big.yaml").write_bytes(b"#" * (render.MAX_FILE_BYTES + 1))
    with pytest.raises(RepoError, match="big.yaml: file is"):
        render.load_fork(repo, "chart")


def test_a_binary_template_is_refused(tmp_path: Path) -> None:
    repo = _write(tmp_path, {"chart/Chart.yaml": CHART.format(name="x")})
    (repo / "chart/templates").mkdir()
    (repo / "chart/templates/x.yaml").write_bytes(b"\x00\x01binary")
    with pytest.raises(RepoError, match="binary content"):
        render.load_fork(repo, "chart")


@pytest.mark.parametrize(("content", "where", "message"), [
    (b"deploy:\n  script: [\n", ".gitlab-ci.yml:3", "malformed YAML"),
    (b"\xcb\x00\xff" * 100, ".gitlab-ci.yml", "not a UTF-8 text file (binary?)"),
])
def test_malformed_or_binary_ci_files_are_unreadable_notices_that_name_the_file(
        tmp_path: Path, content: bytes, where: str, message: str) -> None:
    (tmp_path / ".gitlab-ci.yml").write_bytes(content)
    (tmp_path / "Makefile").write_text("deploy:\n\thelm upgrade --install x ./chart\n")
    scan = scan_references(tmp_path)
    (notice,) = scan.notices
    assert (notice.kind, notice.where) == (NoticeKind.UNREADABLE, where)
    assert notice.detail.startswith(message)
    assert [r.file for r in scan.found] == ["Makefile"]  # the other files are still read


def test_deploy_files_that_leave_the_repository_are_unreadable(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yml"
    outside.write_text("deploy:\n  script: [helm upgrade x ./chart]\n")
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / ".gitlab-ci.yml").symlink_to(outside)
    (notice,) = scan_references(linked).notices
    assert (notice.kind, notice.where) == (NoticeKind.UNREADABLE, ".gitlab-ci.yml")
    assert notice.detail.startswith("symlink points outside the repository")
    climbing = tmp_path / "climbing"
    climbing.mkdir()
    (climbing / ".gitlab-ci.yml").write_text("include: '../outside.yml'\n")
    (notice,) = scan_references(climbing).notices
    assert notice.where == "../outside.yml"
    assert notice.detail.startswith("path leads outside the repository")
    assert find_references(climbing) == ()
