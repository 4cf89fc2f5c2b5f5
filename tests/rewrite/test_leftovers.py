"""What still names a chart once the change set is made: every spelling of a removed path that a
file can use counts, documentation and comments only inform, look-alike names do not count."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.model import HelmInvocation, Kind, NoticeKind
from migrator.rewrite.leftovers import find_leftovers, keep_in_place, removed_paths


def repo(root: Path, files: dict[str, str | bytes], chart: str = "chart") -> Path:
    tree: dict[str, str | bytes] = {f"{chart}/Chart.yaml": "apiVersion: v2\nname: app\n",
                                    f"{chart}/values.yaml": "replicaCount: 1\n",
                                    f"{chart}/templates/deployment.yaml": "kind: Deployment\n",
                                    **files}
    for rel, content in tree.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def uses(root: Path, writes: dict[str, bytes | None]) -> list[str]:
    return [m.where for m in find_leftovers(root, writes).uses]


def mentions(root: Path, writes: dict[str, bytes | None]) -> list[str]:
    return [m.where for m in find_leftovers(root, writes).mentions]


GONE: dict[str, bytes | None] = {"chart": None}


@pytest.mark.parametrize(("rel", "text", "line"), [
    (".github/workflows/bump.yml", "steps:\n  - run: sed -i s/a/b/ chart/values.yaml\n", 2),
    ("Makefile", "CHART := ./chart\n", 1),
    ("Makefile", "deploy:\n\tcd chart && helm upgrade app .\n", 2),
    ("argocd/app.yaml", "source:\n  path: chart\n", 2),
    ("helmfile.yaml", "releases:\n  - chart: ./chart/\n", 2),
    ("skaffold.yaml", "chartPath: chart\n", 1),
    (".circleci/config.yml", "steps:\n  - helm/upgrade-helm-chart:\n      chart: ./chart\n", 3),
    (".github/workflows/d.yml", "defaults:\n  run:\n    working-directory: chart\n", 3),
    ("Jenkinsfile", "dir('chart') {\n  sh 'helm upgrade app .'\n}\n", 1),
    ("deploy.sh", "helm upgrade app \"${CI_PROJECT_DIR}/chart\"\n", 1),
    ("Dockerfile", "COPY chart/ /srv/chart/\n", 1),
])
def test_each_spelling_of_the_removed_chart_from_the_root_is_a_use(
        tmp_path: Path, rel: str, text: str, line: int) -> None:
    root = repo(tmp_path, {rel: text})
    found = find_leftovers(root, GONE)
    assert [m.where for m in found.uses] == [f"{rel}:{line}"]
    assert found.uses[0].removed == "chart"


def test_paths_relative_to_the_scripts_own_folder_are_uses(tmp_path: Path) -> None:
    root = repo(tmp_path, {
        "deploy/deploy.sh": ('here="$(cd "$(dirname "$0")" && pwd)"\n'
                             'helm upgrade --install app "$here/chart"\n'),
        "deploy/other.sh": "helm upgrade --install app ./chart\n",
        "deploy/lint.sh": "helm lint chart/\n",
        "scripts/up.sh": "helm upgrade --install app ../deploy/chart\n",
    }, chart="deploy/chart")
    assert uses(root, {"deploy/chart": None}) == [
        "deploy/deploy.sh:2", "deploy/lint.sh:1", "deploy/other.sh:1", "scripts/up.sh:1"]


def test_a_path_relative_to_a_folder_the_file_changes_into_is_a_use(tmp_path: Path) -> None:
    root = repo(tmp_path, {
        ".gitlab-ci.yml": "deploy:\n  script:\n    - cd deploy\n    - helm upgrade app ./chart\n",
        "Jenkinsfile": "dir('deploy') {\n  sh 'helm upgrade app chart/'\n}\n",
    }, chart="deploy/chart")
    assert uses(root, {"deploy/chart": None}) == [".gitlab-ci.yml:4", "Jenkinsfile:2"]


def test_an_umbrella_chart_depending_on_the_removed_chart_uses_it(tmp_path: Path) -> None:
    root = repo(tmp_path, {"charts/stack/Chart.yaml": (
        "apiVersion: v2\nname: stack\ndependencies:\n  - name: app\n"
        "    repository: file://../app\n")}, chart="charts/app")
    assert uses(root, {"charts/app": None}) == ["charts/stack/Chart.yaml:5"]


@pytest.mark.parametrize("text", [
    "image: alpine/helm:3.14\n",  # a path component elsewhere
    "- uses: helm/kind-action@v1\n",  # a GitHub action named like the folder
    "helm upgrade app oci://registry.example.com/charts/app-template\n",
    "path: mychart\n",
    "cd chart-old && make\n",
    "see chart.yaml\n",
    "helm repo add chart https://example.com\n",
])
def test_a_name_that_only_looks_like_the_removed_one_is_not_a_use(
        tmp_path: Path, text: str) -> None:
    root = repo(tmp_path, {"ci.yml": text, "helm/Chart.yaml": "name: helm\n"})
    assert uses(root, {"chart": None, "helm": None}) == []


def test_documentation_comments_and_ignore_lists_are_mentions_not_uses(tmp_path: Path) -> None:
    root = repo(tmp_path, {
        "README.md": "The chart is in chart/.\n",
        "docs/runbook.sh": "helm upgrade app ./chart\n",
        "Makefile": "# helm upgrade app ./chart (the old way)\ndeploy:\n\ttrue\n",
        ".gitignore": "chart/charts/\n",
        ".github/CODEOWNERS": "chart/ @platform\n",
    })
    found = find_leftovers(root, GONE)
    assert found.uses == ()
    assert [m.where for m in found.mentions] == [
        ".github/CODEOWNERS:1", ".gitignore:1", "Makefile:1", "README.md:1",
        "docs/runbook.sh:1"]
    notices = found.notices()
    assert {n.kind for n in notices} == {NoticeKind.STILL_NAMED}
    assert notices[-1].where == "docs/runbook.sh:1"
    assert notices[-1].detail == "still names chart/: update it with the change"


def test_mentions_are_not_told_when_the_chart_stays(tmp_path: Path) -> None:
    root = repo(tmp_path, {"README.md": "see chart/\n", "Makefile": "X := chart/x\n"})
    found = find_leftovers(root, GONE)
    assert [m.where for m in found.uses] == ["Makefile:1"]
    assert found.notices() == ()


def test_the_repository_is_read_as_the_change_set_leaves_it(tmp_path: Path) -> None:
    root = repo(tmp_path, {"Makefile": "deploy:\n\thelm upgrade app ./chart\n",
                           "chart/Makefile": "lint:\n\thelm lint chart/values.yaml\n"})
    rewritten = b"deploy:\n\thelm upgrade app oci://r/app-template\n"
    # the rewritten Makefile no longer names it; the files inside the removed chart are gone
    assert uses(root, {"chart": None, "Makefile": rewritten}) == []
    assert uses(root, {"chart": None}) == ["Makefile:2"]


def test_values_files_the_change_set_deletes_are_looked_for_too(tmp_path: Path) -> None:
    root = repo(tmp_path, {"helm/values-dev.yaml": "a: 1\n",
                           "ci/build.yml": "env:\n  VALUES_FILE: helm/values-dev.yaml\n"})
    found = find_leftovers(root, {"chart": None, "helm/values-dev.yaml": None})
    assert [(m.where, m.removed) for m in found.uses] == [("ci/build.yml:2",
                                                           "helm/values-dev.yaml")]


def test_a_deploy_left_for_a_person_is_a_use_even_without_the_path(tmp_path: Path) -> None:
    root = repo(tmp_path, {"deploy.sh": 'helm upgrade app "$CHART_DIR"\n'})
    ref = HelmInvocation("deploy.sh", 1, "shell", "", "upgrade", "app", "$CHART_DIR", None, (),
                         (), None, None, 'helm upgrade app "$CHART_DIR"', rewritable=False)
    found = find_leftovers(root, GONE, [(ref, "the chart path is computed at run time")], "chart")
    outcome = found.outcome()
    assert outcome is not None and outcome.kind is Kind.STILL_USED
    assert outcome.files == ("deploy.sh:1",)
    assert outcome.detail == "a deploy left for a person: the chart path is computed at run time"


def test_the_outcome_names_each_use_and_the_paths_they_name(tmp_path: Path) -> None:
    root = repo(tmp_path, {"a.sh": "cat chart/values.yaml\n", "b.sh": "x=./chart\n"})
    outcome = find_leftovers(root, GONE).outcome()
    assert outcome is not None
    assert (outcome.files, outcome.detail, outcome.count) == (("a.sh:1", "b.sh:1"),
                                                             "names chart/", 2)
    assert find_leftovers(repo(tmp_path / "clean", {}), GONE).outcome() is None


def test_binary_and_huge_files_are_not_read(tmp_path: Path) -> None:
    root = repo(tmp_path, {"logo.png": b"\x89PNG\0chart/values.yaml",
                           "dump.sql": "chart/values.yaml\n" * 70_000})
    assert uses(root, GONE) == []


def test_removed_paths_are_the_topmost_folders_left_empty() -> None:
    before = ["chart/Chart.yaml", "chart/templates/a.yaml", "chart/Makefile",
              "values/dev.yaml", "values/prod.yaml", "keep.txt"]
    after = {"chart/Makefile", "keep.txt"}
    assert removed_paths(before, after, ["chart", "values"]) == (
        "chart/Chart.yaml", "chart/templates", "values")


def test_keeping_in_place_drops_only_the_deletions() -> None:
    writes: dict[str, bytes | None] = {"chart": None, "deploy/values.yaml": b"a: 1\n"}
    assert keep_in_place(writes) == {"deploy/values.yaml": b"a: 1\n"}
