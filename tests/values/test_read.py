"""read_fork_values: what a fork deploys today, read as Helm reads it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from migrator.errors import RepoError
from migrator.model import EmbeddedChart, Environment, NoticeKind, SetFlag
from migrator.values.read import read_fork_values


def chart(values_file: str | None, *envs: Environment) -> EmbeddedChart:
    return EmbeddedChart("chart", "app", "0.1.0", None, values_file, envs, 3, 30)


def env(name: str, *files: str, flags: tuple[SetFlag, ...] = ()) -> Environment:
    return Environment(name, files, "app", ".gitlab-ci.yml:3", None, flags)


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_env_files_merge_in_order_and_static_flags_win(tmp_path: Path) -> None:
    repo = write(tmp_path, {"chart/values.yaml": "replicas: 1\nimage: {tag: a}\n",
                            "chart/values-prod.yaml": "replicas: 2\n",
                            "deploy/prod-extra.yaml": "replicas: 3\nimage: {tag: b}\n"})
    flags = (SetFlag("set", "image.tag", "c", dynamic=False),
             SetFlag("set", "image.pullPolicy", "$POLICY", dynamic=True))
    read = read_fork_values(repo, chart("chart/values.yaml", env(
        "prod", "chart/values-prod.yaml", "deploy/prod-extra.yaml", flags=flags)))
    assert read.defaults == {"replicas": 1, "image": {"tag": "a"}}
    assert read.by_env == {"prod": {"replicas": 3, "image": {"tag": "c"}}}


def test_a_chart_without_values_yaml_has_empty_defaults(tmp_path: Path) -> None:
    repo = write(tmp_path, {"chart/values-dev.yaml": "replicas: 2\n"})
    read = read_fork_values(repo, chart(None, env("dev", "chart/values-dev.yaml")))
    assert read.defaults == {} and read.by_env == {"dev": {"replicas": 2}}


def test_a_missing_values_file_names_the_file_and_the_deploy_that_passes_it(
        tmp_path: Path) -> None:
    with pytest.raises(RepoError) as failure:
        read_fork_values(tmp_path, chart(None, env("prod", "chart/values-prod.yaml")))
    assert failure.value.file == "chart/values-prod.yaml"
    assert str(failure.value) == ("chart/values-prod.yaml: values file does not exist "
                                  "(passed by .gitlab-ci.yml:3)")


def test_a_values_file_linking_out_of_the_repo_is_refused(tmp_path: Path) -> None:
    secret = write(tmp_path / "outside", {"secret.yaml": "password: x\n"}) / "secret.yaml"
    repo = tmp_path / "repo"
    (repo / "chart").mkdir(parents=True)
    os.symlink(secret, repo / "chart" / "values-prod.yaml")
    with pytest.raises(RepoError, match="symlink points outside the repository"):
        read_fork_values(repo, chart(None, env("prod", "chart/values-prod.yaml")))


@pytest.mark.parametrize("text", ["", "# only comments\n# here\n", "~\n", "null\n"])
def test_an_empty_or_comment_only_values_file_is_no_values(tmp_path: Path, text: str) -> None:
    repo = write(tmp_path, {"chart/values.yaml": text, "chart/values-dev.yaml": text})
    read = read_fork_values(repo, chart("chart/values.yaml", env("dev", "chart/values-dev.yaml")))
    assert read.defaults == {} and read.by_env == {"dev": {}}


@pytest.mark.parametrize(("text", "shape"), [("- one\n- two\n", "a list"),
                                             ("just-a-string\n", "a string"), ("3\n", "a number")])
def test_an_environment_file_that_is_not_a_map_names_the_file_and_its_shape(
        tmp_path: Path, text: str, shape: str) -> None:
    repo = write(tmp_path, {"chart/values-prod.yaml": text})
    with pytest.raises(RepoError) as failure:
        read_fork_values(repo, chart(None, env("prod", "chart/values-prod.yaml")))
    assert failure.value.file == "chart/values-prod.yaml"
    assert failure.value.cause == (f"the values file is {shape}, not a map of keys: Helm refuses "
                                   "it (passed by .gitlab-ci.yml:3)")


DUPLICATED = """\
replicas: 1
image:
  tag: a
autoscaling:
  enabled: false
  minReplicas: 1
service:
  port: 80
autoscaling:
  enabled: true
"""


def test_a_key_written_twice_is_read_as_helm_reads_it_and_noticed_with_its_lines(
        tmp_path: Path) -> None:
    repo = write(tmp_path, {"chart/values.yaml": DUPLICATED,
                            "chart/values-prod.yaml": "replicas: 2\nimage:\n  tag: b\n  tag: c\n"})
    read = read_fork_values(repo, chart("chart/values.yaml",
                                        env("prod", "chart/values-prod.yaml")))
    assert read.defaults["autoscaling"] == {"enabled": True}  # the last one, whole
    assert read.by_env["prod"]["image"] == {"tag": "c"}
    assert [(n.kind, n.where, n.detail) for n in read.notices] == [
        (NoticeKind.LENIENT, "chart/values.yaml:9",
         "duplicate key `autoscaling` (also at line 4): Helm uses the last one"),
        (NoticeKind.LENIENT, "chart/values-prod.yaml:4",
         "duplicate key `image.tag` (also at line 3): Helm uses the last one"),
    ]
    assert read.lines["chart/values.yaml"]["autoscaling.enabled"] == 10


def test_a_file_helm_reads_and_the_round_trip_reader_refuses_is_noticed(
        tmp_path: Path) -> None:
    text = "a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: *a\n  <<: *b\n"
    repo = write(tmp_path, {"chart/values.yaml": text})
    read = read_fork_values(repo, chart("chart/values.yaml", env("dev")))
    assert read.defaults["c"] == {"x": 1, "true": 2}  # YAML 1.1 as Helm: `y` is a bool
    [notice] = read.notices
    assert notice.where == "chart/values.yaml"
    assert notice.detail.startswith("written anew, without its comments")
