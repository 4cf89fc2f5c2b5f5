from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from migrator import demo
from migrator.lineage import match
from migrator.lineage.catalog import Catalog, load_catalog
from migrator.lineage.match import DEFAULT_MIN_LINEAGE
from migrator.model import Lineage
from tests.lineage import charts
from tests.lineage.charts import Files


@pytest.fixture(scope="module")
def fixtures_catalog(central_sources: demo.CentralSources) -> Catalog:
    return load_catalog(str(central_sources.repo_dir),
                        families=str(central_sources.families_dir))


def find(tmp_path: Path, catalog: Catalog, files: Files) -> Lineage:
    return match.find(charts.load(tmp_path / "fork", files), catalog)


VERSIONS = [("app-template", v) for v in demo.central_versions()] + [
    ("web-service", v) for v in demo.family_versions("web-service")]


@pytest.mark.parametrize(("family", "version"), VERSIONS)
def test_a_renamed_fork_of_each_version_comes_from_that_version(
        tmp_path: Path, fixtures_catalog: Catalog, family: str, version: str) -> None:
    found = find(tmp_path, fixtures_catalog, charts.fork(family, version))
    assert (found.chart, found.version) == (family, version)
    assert found.score >= 0.99
    assert found.confidence >= 0.9
    assert all(t.score == 1.0 for t in found.templates), found.modified_templates


@pytest.mark.parametrize("helpers", ["template-service", "", "app", ".helm"])
def test_a_fork_whose_helpers_are_not_named_after_it_is_found_as_well(
        tmp_path: Path, fixtures_catalog: Catalog, helpers: str) -> None:
    files = {**charts.fork("app-template", "1.1.0", helpers=helpers),
             "Chart.yaml": charts.chart_yaml("ticket-service")}
    found = find(tmp_path, fixtures_catalog, files)
    assert (found.chart, found.version) == ("app-template", "1.1.0")
    assert found.score >= 0.99


def test_a_fork_without_the_template_a_version_added_is_not_of_that_version(
        tmp_path: Path, fixtures_catalog: Catalog) -> None:
    # 1.2.0 with its servicemonitor.yaml and serviceMonitor values gone: nothing of 1.2.0 left
    files = charts.drop_values_key(
        charts.without(charts.fork("app-template", "1.2.0"), "templates/servicemonitor.yaml"),
        "serviceMonitor")
    found = find(tmp_path, fixtures_catalog, files)
    assert (found.chart, found.version) == ("app-template", "1.1.0")


def test_a_fork_that_deleted_a_switched_template_but_kept_its_values_keeps_its_version(
        tmp_path: Path, fixtures_catalog: Catalog) -> None:
    # serviceMonitor.* is read by servicemonitor.yaml alone: the team deleted the template
    files = charts.without(charts.fork("app-template", "1.2.0"), "templates/servicemonitor.yaml")
    found = find(tmp_path, fixtures_catalog, files)
    assert (found.chart, found.version) == ("app-template", "1.2.0")
    assert found.runner_up == "app-template 1.1.0"


def test_a_template_moved_into_a_folder_still_pairs_with_its_counterpart(
        tmp_path: Path, fixtures_catalog: Catalog) -> None:
    files = charts.fork("app-template", "2.0.0")
    files["templates/web/deployment.yaml"] = files.pop("templates/deployment.yaml")
    found = find(tmp_path, fixtures_catalog, files)
    assert (found.chart, found.version) == ("app-template", "2.0.0")
    moved = next(t for t in found.templates if t.file == "templates/web/deployment.yaml")
    assert (moved.score, moved.counterpart) == (1.0, "templates/deployment.yaml")


def test_templates_the_fork_edited_or_added_are_listed_against_the_origin(
        tmp_path: Path, fixtures_catalog: Catalog) -> None:
    files = charts.fork("app-template", "2.0.0")
    files["templates/service.yaml"] += "  sessionAffinity: ClientIP\n"
    files["templates/configmap.yaml"] = "apiVersion: v1\nkind: ConfigMap\n"
    found = find(tmp_path, fixtures_catalog, files)
    scores = {t.file: (t.score, t.counterpart) for t in found.templates}
    assert 0.8 < scores["templates/service.yaml"][0] < 1.0
    assert scores["templates/configmap.yaml"] == (0.0, None)
    assert scores["templates/deployment.yaml"] == (1.0, "templates/deployment.yaml")
    assert {t.file for t in found.modified_templates} == {
        "templates/service.yaml", "templates/configmap.yaml"}


def test_confidence_falls_as_the_fork_moves_away_from_its_origin(
        tmp_path: Path, fixtures_catalog: Catalog) -> None:
    pristine = charts.fork("app-template", "1.2.0")
    edited = {**pristine, "templates/service.yaml": pristine["templates/service.yaml"]
              + "  sessionAffinity: ClientIP\n"}
    own = "".join(f"  key{i}: {{{{ .Values.config.key{i} | quote }}}}\n" for i in range(400))
    mostly_own = {**edited, "templates/configmap.yaml": f"apiVersion: v1\nkind: ConfigMap\n"
                  f"metadata:\n  name: orders-config\ndata:\n{own}"}
    found = [find(tmp_path / str(i), fixtures_catalog, files)
             for i, files in enumerate((pristine, edited, mostly_own))]
    assert [(f.chart, f.version) for f in found] == [("app-template", "1.2.0")] * 3
    assert found[0].confidence > found[1].confidence > found[2].confidence
    assert not found[1].low_confidence
    # most of the chart is its own: a certain origin, but little of it is left
    assert found[2].low_confidence
    assert found[2].explained < 0.5 < found[2].lead


def test_ties_go_to_the_oldest_version_and_say_nothing_tells_them_apart(tmp_path: Path) -> None:
    same = charts.fork("app-template", "1.0.0", name="scaffold")
    catalog = charts.catalog(tmp_path / "catalog", "scaffold",
                             {"1.0.0": same, "1.0.1": same, "1.1.0": same})
    found = find(tmp_path, catalog, charts.fork("app-template", "1.0.0"))
    assert (found.chart, found.version) == ("scaffold", "1.0.0")
    assert found.score >= 0.99
    assert found.lead == 0.0
    assert found.low_confidence


def _without_defines(helpers: str, *names: str) -> str:
    """_helpers.tpl without the define blocks of `names` (and their comment)."""
    blocks = helpers.split("{{/*")
    return "{{/*".join(b for b in blocks if not any(f'define "scaffold.{n}"' in b for n in names))


def test_helper_names_tell_a_fork_from_a_version_that_predates_them(tmp_path: Path) -> None:
    newer = charts.fork("app-template", "1.0.0", name="scaffold")
    helpers = newer["templates/_helpers.tpl"]
    # the older scaffold had neither selectorLabels nor serviceAccountName: everything else is
    # the same, so its helpers file is only shorter
    older = {**newer, "templates/_helpers.tpl": _without_defines(
        helpers, "selectorLabels", "serviceAccountName")}
    catalog = charts.catalog(tmp_path / "catalog", "scaffold", {"1.0.0": older, "2.0.0": newer})
    # a fork that rewrote its helpers file in its own words, keeping the helper names
    fork = charts.fork("app-template", "1.0.0")
    fork["templates/_helpers.tpl"] = "".join(
        f'{{{{- define "orders.{n}" -}}}}\n{{{{- /* our own {n} */ -}}}}\n{{{{- end }}}}\n'
        for n in ("name", "fullname", "chart", "labels", "selectorLabels", "serviceAccountName"))
    mine = match.profile(charts.load(tmp_path / "fork", fork))
    by_version = {v: match.compare(mine, catalog.profile(("scaffold", v)), catalog.helpers())
                  for v in ("1.0.0", "2.0.0")}
    assert by_version["1.0.0"].text > by_version["2.0.0"].text  # lines alone: the older one
    assert by_version["1.0.0"].helpers < by_version["2.0.0"].helpers
    found = match.find(charts.load(tmp_path / "fork", fork), catalog)
    assert found.version == "2.0.0"


def test_a_chart_without_templates_is_never_a_fork(tmp_path: Path,
                                                  fixtures_catalog: Catalog) -> None:
    found = find(tmp_path, fixtures_catalog, charts.UMBRELLA)
    assert found.score == 0.0
    assert found.templates == ()


@pytest.mark.parametrize("files", [charts.HAND_WRITTEN, charts.LIBRARY_USER],
                         ids=["hand-written", "library-user"])
def test_charts_that_are_no_fork_score_far_below_the_threshold(
        tmp_path: Path, fixtures_catalog: Catalog, files: Files) -> None:
    found = find(tmp_path, fixtures_catalog, files)
    assert found.score < DEFAULT_MIN_LINEAGE / 2
    assert found.chart in ("app-template", "web-service")  # the closest is still named


def test_a_heavily_edited_fork_stays_above_the_threshold(
        tmp_path: Path, fixtures_catalog: Catalog) -> None:
    # kept the scaffold, dropped the optional objects, added its own ConfigMap and Secret
    files = charts.without(charts.fork("app-template", "1.0.0"), "templates/hpa.yaml",
                           "templates/ingress.yaml")
    files["templates/configmap.yaml"] = "".join(
        f"# setting {i}\n" for i in range(40)) + "apiVersion: v1\nkind: ConfigMap\n"
    files["templates/secret.yaml"] = "apiVersion: v1\nkind: Secret\ntype: Opaque\n"
    found = find(tmp_path, fixtures_catalog, files)
    assert (found.chart, found.version) == ("app-template", "1.0.0")
    assert found.score >= DEFAULT_MIN_LINEAGE


ODD_CHARTS: dict[str, Files] = {
    "no values.yaml": charts.without(charts.fork("app-template", "1.0.0"), "values.yaml"),
    "no templates": {"Chart.yaml": charts.chart_yaml("bare")},
    "only NOTES.txt": {"Chart.yaml": charts.chart_yaml("notes"),
                       "templates/NOTES.txt": "Thanks for installing {{ .Chart.Name }}.\n"},
    "templates in subfolders": {"Chart.yaml": charts.chart_yaml("nested"),
                                "templates/a/b/service.yaml": "apiVersion: v1\nkind: Service\n"},
    ".tpl files only": {"Chart.yaml": charts.chart_yaml("lib"),
                        "templates/_helpers.tpl": '{{- define "lib.name" -}}x{{- end }}\n'},
    "empty values.yaml": {**charts.fork("app-template", "2.0.0"), "values.yaml": "# none\n"},
    "empty template": {"Chart.yaml": charts.chart_yaml("empty"),
                       "templates/deployment.yaml": ""},
}


@pytest.mark.parametrize("name", list(ODD_CHARTS))
def test_any_chart_helm_loads_gets_a_closest_match(tmp_path: Path, fixtures_catalog: Catalog,
                                                   name: str) -> None:
    found = find(tmp_path, fixtures_catalog, ODD_CHARTS[name])
    assert 0.0 <= found.score <= 1.0
    assert 0.0 <= found.confidence <= 1.0
    assert found.runner_up is not None


def test_a_fork_without_values_yaml_is_judged_on_its_templates_and_helpers(
        tmp_path: Path, fixtures_catalog: Catalog) -> None:
    found = find(tmp_path, fixtures_catalog, ODD_CHARTS["no values.yaml"])
    assert (found.chart, found.version) == ("app-template", "1.0.0")
    assert found.score >= 0.99


def test_a_chart_whose_values_helm_left_as_none_is_still_compared(
        tmp_path: Path, fixtures_catalog: Catalog) -> None:
    # helm-python hands a chart without values.yaml over with values None
    loaded = charts.load(tmp_path / "fork", charts.fork("app-template", "1.2.0"))
    found = match.find(dataclasses.replace(loaded, values=None), fixtures_catalog)
    assert (found.chart, found.version) == ("app-template", "1.2.0")


@pytest.mark.parametrize("version", ["1.2.0", "2.0.0"])
def test_a_pristine_fork_without_values_yaml_keeps_a_high_confidence(
        tmp_path: Path, fixtures_catalog: Catalog, version: str) -> None:
    # the lead over the runner-up is measured on the fork's own scale (no values keys)
    files = {k: v for k, v in charts.fork("app-template", version).items() if k != "values.yaml"}
    found = find(tmp_path, fixtures_catalog, files)
    assert (found.chart, found.version) == ("app-template", version)
    assert found.confidence >= 0.9, (found.confidence, found.runner_up)


@pytest.mark.parametrize("lines", [(), ("a",), ("{{ end }}",) * 40,
                                   tuple(f"line {i % 7}" for i in range(60)),
                                   ("x", "y", "x", "y", "z") * 9])
def test_a_template_unchanged_matches_all_its_lines_as_the_line_matcher_counts_them(
        lines: tuple[str, ...]) -> None:
    import difflib

    matcher = difflib.SequenceMatcher(None, lines, tuple(lines), autojunk=False)
    assert match._matched(lines, tuple(lines)) == len(lines) == sum(
        block.size for block in matcher.get_matching_blocks())


def test_a_template_changed_matches_what_the_line_matcher_finds_however_often_asked() -> None:
    fork = ("a", "b", "c", "d", "e", "f")
    theirs = ("a", "c", "x", "d", "f", "b")
    assert [match._matched(fork, theirs) for _ in range(3)] == [2, 2, 2]  # `a`, then `b`
