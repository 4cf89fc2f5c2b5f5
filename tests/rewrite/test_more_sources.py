"""Rewriting the deploys found in new places: GitHub Actions `run:` steps, scripts handed to
another shell, Jenkins `sh` steps, and commands run in a sub-folder."""

from __future__ import annotations

from pathlib import Path

from tests.rewrite.helpers import make_repo, rewrite

NEW = "oci://registry.example.com/charts/app-template --version 2.3.0"


def test_a_github_actions_run_step_is_rewritten_like_a_ci_script(tmp_path: Path) -> None:
    workflow = ("on: push\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - uses: actions/checkout@v4\n      - run: |\n"
                "          helm upgrade --install app ./chart \\\n"
                "            --set image.tag=${{ github.sha }}\n")
    make_repo(tmp_path, {".github/workflows/deploy.yml": workflow})
    result = rewrite(tmp_path, envs=("default",))
    assert result.untouched == ()
    assert result.writes[".github/workflows/deploy.yml"].decode() == workflow.replace(
        "./chart \\", f"{NEW} -f deploy/values.yaml -f deploy/values-default.yaml \\")
    (deploy,) = result.deploys
    assert [s.key for s in deploy.set_flags] == ["image.tag"]


def test_helm_inside_a_quoted_sh_c_script_is_rewritten_inside_its_quotes(
        tmp_path: Path) -> None:
    line = ("    - docker run --rm -v $PWD:/src -w /src alpine/helm:3.14.0 /bin/sh -c "
            "'helm upgrade --install app ./chart'\n")
    make_repo(tmp_path, {".gitlab-ci.yml": "deploy:\n  script:\n" + line})
    result = rewrite(tmp_path, envs=("default",))
    assert result.writes[".gitlab-ci.yml"].decode().endswith(
        f"'helm upgrade --install app {NEW} -f deploy/values.yaml "
        "-f deploy/values-default.yaml'\n")


def test_a_jenkins_step_in_a_dir_block_names_the_new_files_from_that_dir(
        tmp_path: Path) -> None:
    jenkinsfile = ("node {\n  stage('deploy') {\n    dir('ops') {\n"
                   "      sh \"helm upgrade --install app ../chart\"\n    }\n  }\n}\n")
    make_repo(tmp_path, {"Jenkinsfile": jenkinsfile})
    result = rewrite(tmp_path, envs=("default",))
    assert result.writes["Jenkinsfile"].decode() == jenkinsfile.replace(
        "../chart", f"{NEW} -f ../deploy/values.yaml -f ../deploy/values-default.yaml")
    (deploy,) = result.deploys
    assert deploy.values_files == ("deploy/values.yaml", "deploy/values-default.yaml")


def test_a_command_run_inside_the_removed_chart_is_left_for_a_person(tmp_path: Path) -> None:
    make_repo(tmp_path, {
        "Jenkinsfile": "node {\n  dir('.helm') {\n    sh 'helm upgrade --install app .'\n  }\n}\n",
        ".helm/Makefile": "up:\n\thelm upgrade app .\n",
    }, chart=".helm")
    result = rewrite(tmp_path, envs=("default",), chart=".helm")
    assert result.writes == {}
    assert {(ref.file, why) for ref, why in result.untouched} == {
        (f, "runs inside the chart's own folder (.helm/), which the change removes: move the "
            "command out of it by hand") for f in ("Jenkinsfile", ".helm/Makefile")}


def test_a_script_that_cds_to_its_folder_gets_paths_from_that_folder(tmp_path: Path) -> None:
    script = '#!/bin/sh\ncd "$(dirname "$0")"\nhelm upgrade --install app ./chart\n'
    make_repo(tmp_path, {"ops/deploy.sh": script}, chart="ops/chart")
    result = rewrite(tmp_path, envs=("default",), chart="ops/chart")
    assert result.writes["ops/deploy.sh"].decode().endswith(
        f"{NEW} -f ../deploy/values.yaml -f ../deploy/values-default.yaml\n")


def test_what_cannot_be_rewritten_says_why(tmp_path: Path) -> None:
    make_repo(tmp_path, {
        "deploy/run.sh": '#!/bin/sh\nhelm upgrade --install app "$(dirname "$0")/chart"\n',
        "deploy/Makefile": "install:\n\thelm install ./chart --name app\n",
    }, chart="deploy/chart")
    result = rewrite(tmp_path, envs=("default",), chart="deploy/chart")
    assert result.writes == {}
    assert sorted((ref.file, why.split(" (")[0].split(":")[0]) for ref, why in result.untouched
                  ) == [("deploy/Makefile", "Helm 2 syntax"),
                        ("deploy/run.sh", "paths built from the script's own folder")]


def test_the_last_command_of_a_multi_line_quoted_script_is_rewritten_before_its_quote(
        tmp_path: Path) -> None:
    script = ('#!/bin/sh\ndocker run --rm -v "$PWD:/w" -w /w img sh -c \'\n'
              "  helm dependency build ./chart\n  helm upgrade --install app ./chart'\n")
    make_repo(tmp_path, {"deploy.sh": script})
    result = rewrite(tmp_path, envs=("default",))
    assert result.untouched == ()
    assert result.writes["deploy.sh"].decode().endswith(
        f"  helm upgrade --install app {NEW} -f deploy/values.yaml "
        "-f deploy/values-default.yaml'\n")


def test_a_taskfile_command_is_rewritten_from_its_tasks_dir(tmp_path: Path) -> None:
    taskfile = ("version: '3'\ntasks:\n  deploy:\n    dir: ops\n    cmds:\n"
                "      - helm upgrade --install app ../chart\n")
    make_repo(tmp_path, {"Taskfile.yml": taskfile})
    result = rewrite(tmp_path, envs=("default",))
    assert result.writes["Taskfile.yml"].decode().endswith(
        f"helm upgrade --install app {NEW} -f ../deploy/values.yaml "
        "-f ../deploy/values-default.yaml\n")
