"""helmfiles: values helmfile renders at run time are not file names; paths from its folder."""

from __future__ import annotations

from pathlib import Path

from migrator.locate.charts import locate
from migrator.locate.refs import chart_dir, scan_references, values_paths, with_missing_values
from migrator.model import NoticeKind
from tests.rewrite.helpers import make_repo, rewrite

GOTMPL = """\
environments:
  dev:
    values:
      - env/{{ .Environment.Name }}.yaml
---
releases:
  - name: web
    chart: ./charts/web
    values:
      - {{ toYaml .Values.web | nindent 8 }}
"""


def test_an_inline_template_values_entry_is_unresolved_and_left_for_a_person(
        tmp_path: Path) -> None:
    make_repo(tmp_path, {"helmfile.yaml.gotmpl": GOTMPL, "env/dev.yaml": "web: {}\n"},
              chart="charts/web")
    scan = with_missing_values(tmp_path, scan_references(tmp_path))
    (ref,) = scan.found
    assert (ref.file, ref.line, ref.environment, chart_dir(ref)) == (
        "helmfile.yaml.gotmpl", 7, "dev", "charts/web")
    assert not ref.rewritable and "rendered by helmfile" in ref.why
    (notice,) = scan.notices
    assert (notice.kind, notice.where) == (NoticeKind.UNRESOLVED, "helmfile.yaml.gotmpl:7")
    assert "`{{ toYaml .Values.web | nindent 8 }}` (line 10)" in notice.detail
    # not a values file: the chart's environment is not built from it
    (chart,) = locate(tmp_path, scan.found, "app-template").charts
    assert [e.values_files for e in chart.environments] == [()]
    untouched = rewrite(tmp_path, envs=("default",), chart="charts/web").untouched
    assert [why for _, why in untouched] == [ref.why]


def test_a_gotmpl_values_file_is_rendered_by_helmfile_not_read(tmp_path: Path) -> None:
    make_repo(tmp_path, {
        "deploy/helmfile.yaml": "releases:\n  - name: web\n    chart: ../charts/web\n"
                                "    values:\n      - values.yaml.gotmpl\n",
        "deploy/values.yaml.gotmpl": "replicas: {{ env \"REPLICAS\" }}\n",
    }, chart="charts/web")
    scan = scan_references(tmp_path)
    (ref,) = scan.found
    assert chart_dir(ref) == "charts/web"  # relative to the helmfile's own folder
    assert values_paths(ref) == ("deploy/values.yaml.gotmpl",)
    assert not ref.rewritable
    assert [n.kind for n in scan.notices] == [NoticeKind.UNRESOLVED]


def test_environment_name_paths_are_filled_per_environment(tmp_path: Path) -> None:
    make_repo(tmp_path, {
        "helmfile.yaml": "environments:\n  dev: {}\n  prod: {}\n---\nreleases:\n"
                         "  - name: web\n    chart: ./charts/web\n    values:\n"
                         "      - values/{{ .Environment.Name }}.yaml\n",
        "values/dev.yaml": "replicaCount: 1\n", "values/prod.yaml": "replicaCount: 3\n",
    }, chart="charts/web")
    scan = with_missing_values(tmp_path, scan_references(tmp_path))
    assert [(r.environment, r.values_files, r.rewritable) for r in scan.found] == [
        ("dev", ("values/dev.yaml",), True), ("prod", ("values/prod.yaml",), True)]
    assert scan.notices == ()
    (chart,) = locate(tmp_path, scan.found, "app-template").charts
    assert [(e.name, e.values_files) for e in chart.environments] == [
        ("dev", ("values/dev.yaml",)), ("prod", ("values/prod.yaml",))]
