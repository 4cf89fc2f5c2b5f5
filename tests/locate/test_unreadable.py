"""One bad file never fails the repository: it is named, and every other file is still read."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.locate.charts import locate
from migrator.locate.refs import scan_references, with_missing_values
from migrator.locate.refs.walk import MAX_BYTES
from migrator.model import Kind, NoticeKind
from tests.rewrite.helpers import make_repo

GOOD = {"Makefile": "deploy:\n\thelm upgrade --install orders ./chart\n"}
CHART = "apiVersion: v2\nname: {name}\nversion: 0.1.0\n"


@pytest.mark.parametrize(("rel", "content", "where", "cause"), [
    ("helmfile.yaml", b"releases:\n  - name: [web\n", "helmfile.yaml:3", "malformed YAML"),
    ("deploy.sh", b"#!/bin/sh\n\x00\x01\x02", "deploy.sh", "not a text file"),
    ("deploy.py", b"import subprocess\nsubprocess.run('helm upgrade x ./chart'\n",
     "deploy.py:2", "not valid Python"),
    ("skaffold.yaml", b"\xff\xfe\x00bad", "skaffold.yaml", "not a UTF-8 text file"),
    ("deploy.sh", b"#" * (MAX_BYTES + 1), "deploy.sh", "file is"),
])
def test_a_file_that_cannot_be_read_is_a_notice_and_the_others_are_read(
        tmp_path: Path, rel: str, content: bytes, where: str, cause: str) -> None:
    make_repo(tmp_path, GOOD)
    (tmp_path / rel).write_bytes(content)
    scan = scan_references(tmp_path)
    assert [(r.file, r.line) for r in scan.found] == [("Makefile", 2)]
    (notice,) = scan.notices
    assert (notice.kind, notice.where) == (NoticeKind.UNREADABLE, where)
    assert notice.detail.startswith(cause) and notice.detail.endswith("its deploys are unknown")


def test_a_deploy_script_linked_out_of_the_repository_is_named_not_followed(
        tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.sh"
    outside.write_text("helm upgrade --install x ./chart\n")
    repo = make_repo(tmp_path / "repo", GOOD)
    (repo / "deploy.sh").symlink_to(outside)
    (repo / "inner.sh").symlink_to(repo / "Makefile")  # stays inside: read where it points
    scan = scan_references(repo)
    assert [r.file for r in scan.found] == ["Makefile"]
    (notice,) = scan.notices
    assert notice.where == "deploy.sh" and "symlink points outside" in notice.detail


def test_a_values_file_the_repository_lacks_leaves_that_deploy_for_a_person(
        tmp_path: Path) -> None:
    make_repo(tmp_path, {
        "chart/values-prod.yaml": "replicaCount: 3\n",
        "Makefile": "prod:\n\thelm upgrade --install app ./chart -f chart/values-prod.yaml\n"
                    "gone:\n\thelm upgrade --install app ./chart -f chart/values-gone.yaml\n"
                    "later:\n\thelm upgrade --install app ./chart -f chart/values-$(ENV).yaml\n",
    })
    scan = with_missing_values(tmp_path, scan_references(tmp_path))
    prod, gone, later = scan.found
    assert prod.rewritable and later.rewritable
    assert not gone.rewritable and "chart/values-gone.yaml" in gone.why
    (notice,) = scan.notices
    assert (notice.kind, notice.where) == (NoticeKind.MISSING_FILE, "Makefile:4")
    # the chart's environments come from the deploys whose files exist
    (chart,) = locate(tmp_path, scan.found, "app-template").charts
    assert [(e.name, e.values_files) for e in chart.environments] == [
        ("prod", ("chart/values-prod.yaml",))]


@pytest.mark.parametrize(("chart_yaml", "line", "detail"), [
    ("apiVersion: v2\nname: bad\n", 2, "chart.metadata.version is required"),
    ('apiVersion: v2\nname: bad\nversion: "{{ .Env.VERSION }}"\n', 3, "is a template"),
    ("apiVersion: v2\nname: bad\nversion: '{{ (datasource \"semver\").version }}'\n", 3,
     "is a template"),
    ("- just\n- a list\n", None, "Chart.yaml is not a mapping"),
    ("apiVersion: v2\nname: [bad\n", 3, "malformed YAML"),
])
def test_a_chart_yaml_helm_refuses_is_that_charts_reason_only(
        tmp_path: Path, chart_yaml: str, line: int | None, detail: str) -> None:
    make_repo(tmp_path, {"bad/Chart.yaml": chart_yaml, "good/Chart.yaml": CHART.format(
        name="good")}, chart="good")
    bad, good = locate(tmp_path, (), "app-template").charts
    assert bad.problem is not None
    assert (bad.problem.kind, bad.problem.file, bad.problem.line) == (
        Kind.CHART_INVALID, "bad/Chart.yaml", line)
    assert detail in bad.problem.detail
    assert good.problem is None and good.version == "0.1.0"


def test_a_chart_yaml_with_a_duplicate_key_is_read_as_helm_reads_it(tmp_path: Path) -> None:
    make_repo(tmp_path, {"chart/Chart.yaml": CHART.format(name="a") + "version: 0.2.0\n"})
    found = locate(tmp_path, (), "app-template")
    assert found.charts[0].version == "0.2.0" and found.charts[0].problem is None
    (notice,) = found.notices
    assert (notice.kind, notice.where) == (NoticeKind.LENIENT, "chart/Chart.yaml:4")
    assert "Helm uses the last one" in notice.detail
