"""An embedded chart is checked before Helm loads it: in place when nothing in it is a link,
through a checked copy when something is; Helm sees the same chart either way."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from migrator.errors import RepoError
from migrator.verify import render

CHART = {
    "chart/Chart.yaml": "apiVersion: v2\nname: orders\nversion: 0.1.0\nappVersion: '1.0'\n",
    "chart/values.yaml": "replicas: 2\nimage: {tag: a}\n",
    "chart/.helmignore": "*.bak\nnotes/\n",
    "chart/templates/cm.yaml": "kind: ConfigMap\ndata: {replicas: '{{ .Values.replicas }}'}\n",
    "chart/templates/_helpers.tpl": '{{- define "orders.name" -}}orders{{- end }}\n',
    "chart/templates/sub/svc.yaml": "kind: Service\n",
    "chart/templates/old.yaml.bak": "kind: Ignored\n",
    "chart/notes/x.yaml": "kind: Ignored\n",
    "chart/files/blob.bin": "\0\1\2",
}


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _seen(loaded: render.LoadedChart) -> tuple[object, ...]:
    return (loaded.name, loaded.version, loaded.app_version, loaded.values, loaded.templates,
            loaded.dependencies, loaded.subcharts)


def test_a_chart_without_links_is_loaded_in_place_as_helm_loads_a_copy_of_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _write(tmp_path / "repo", CHART)
    copy = shutil.copytree(repo / "chart", tmp_path / "copy" / "chart")

    def no_copy(*args: object, **kwargs: object) -> None:
        raise AssertionError("copied a chart Helm can read in place")

    monkeypatch.setattr(render.tempfile, "TemporaryDirectory", no_copy)
    loaded = render.load_fork(repo, "chart")
    assert _seen(loaded) == _seen(render.load(copy))
    assert sorted(loaded.templates) == ["templates/_helpers.tpl", "templates/cm.yaml",
                                        "templates/sub/svc.yaml"]


def test_a_link_to_a_file_of_the_repo_is_read_as_that_file(tmp_path: Path) -> None:
    repo = _write(tmp_path / "repo", {**CHART, "shared/svc.yaml": "kind: Service\nshared: 1\n"})
    (repo / "chart/templates/sub/svc.yaml").unlink()
    os.symlink("../../../shared/svc.yaml", repo / "chart/templates/sub/svc.yaml")
    loaded = render.load_fork(repo, "chart")
    assert loaded.templates["templates/sub/svc.yaml"] == "kind: Service\nshared: 1\n"
    assert (repo / "chart/templates/sub/svc.yaml").is_symlink()  # the repo is left as it was


def test_a_chart_folder_reached_through_a_link_is_loaded_through_the_copy(tmp_path: Path
                                                                          ) -> None:
    repo = _write(tmp_path / "repo", {f"real/{k}": v for k, v in CHART.items()})
    os.symlink("real/chart", repo / "chart")
    assert _seen(render.load_fork(repo, "chart")) == _seen(render.load_fork(repo, "real/chart"))


@pytest.mark.parametrize(("bad", "message"), [
    ("chart/templates/a-binary.yaml", "chart/templates/a-binary.yaml: binary content"),
    ("chart/templates/z-binary.yaml", "chart/templates/z-binary.yaml: binary content"),
])
def test_a_chart_with_a_link_is_refused_for_what_it_holds_as_one_without(
        tmp_path: Path, bad: str, message: str) -> None:
    for linked in (False, True):
        repo = _write(tmp_path / f"repo-{linked}", CHART)
        (repo / bad).write_bytes(b"kind: x\n\0")
        if linked:
            os.symlink("cm.yaml", repo / "chart/templates/link.yaml")
        with pytest.raises(RepoError, match=message):
            render.load_fork(repo, "chart")


def test_a_chart_without_chart_yaml_is_refused_in_place(tmp_path: Path) -> None:
    repo = _write(tmp_path / "repo", {k: v for k, v in CHART.items() if k != "chart/Chart.yaml"})
    with pytest.raises(RepoError, match="chart/Chart.yaml: missing"):
        render.load_fork(repo, "chart")


def test_a_chart_at_the_repository_root_loads_in_place(tmp_path: Path) -> None:
    repo = _write(tmp_path / "repo", {k.removeprefix("chart/"): v for k, v in CHART.items()})
    assert _seen(render.load_fork(repo, "")) == _seen(render.load_fork(repo, "."))
    assert render.load_fork(repo, "").name == "orders"
