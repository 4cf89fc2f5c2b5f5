"""Deploys that hide: helm in another shell, under an alias, relative to the script's folder, in
GitHub Actions, Jenkinsfiles and Helm 2 syntax, and Argo CD Applications a chart generates."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.locate.charts import locate
from migrator.locate.refs import chart_dir, find_references, scan_references, values_paths
from migrator.model import NoticeKind
from tests.rewrite.helpers import make_repo


def _where(root: Path) -> list[tuple[str, int, str | None, bool]]:
    return [(r.file, r.line, chart_dir(r), r.rewritable) for r in find_references(root)]


@pytest.mark.parametrize("script", [
    "docker run --rm -v $PWD:/src -w /src alpine/helm:3.14.0 /bin/sh -c "
    "'helm upgrade --install app ./chart'",
    'docker run --rm -v "$PWD:/src" -w /src dtzar/helm-kubectl bash -ec '
    '"helm upgrade --install app ./chart"',
])
def test_helm_inside_docker_run_sh_c_is_found(tmp_path: Path, script: str) -> None:
    make_repo(tmp_path, {".gitlab-ci.yml": f"deploy:\n  script:\n    - {script}\n"})
    (ref,) = find_references(tmp_path)
    assert (ref.line, ref.release, chart_dir(ref), ref.rewritable) == (3, "app", "chart", True)
    assert ref.text == "helm upgrade --install app ./chart"


def test_a_multi_line_script_in_another_shell_keeps_each_commands_line(tmp_path: Path) -> None:
    make_repo(tmp_path, {".gitlab-ci.yml": (
        "variables:\n  RELEASE: orders\ndeploy:\n  script:\n    - |\n"
        "      docker run --rm -v $PWD:/src -w /src img /bin/sh -c '\n"
        "        helm dependency build ./chart &&\n"
        "        helm upgrade --install $RELEASE ./chart -f chart/values-prod.yaml\n"
        "      '\n")})
    refs = find_references(tmp_path)
    assert [(r.line, r.subcommand, r.release) for r in refs] == [
        (7, "dependency build", None), (8, "upgrade", "orders")]


@pytest.mark.parametrize(("script", "found"), [
    ("helm2 upgrade --install app ./chart\n", True),
    ("helm3 upgrade --install app ./chart\n", True),
    ("/usr/local/bin/helm upgrade --install app ./chart\n", True),
    ('HELM="$(command -v helm3)"\n$HELM upgrade --install app ./chart\n', True),
    ("HELM=helm\n$HELM upgrade --install app ./chart\n", True),
    ("H=/opt/helm-v3.14/helm\n$H upgrade --install app ./chart\n", True),
    ("H=kubectl\n$H upgrade --install app ./chart\n", False),
])
def test_helm_aliases_and_variables_holding_helm_are_helm(
        tmp_path: Path, script: str, found: bool) -> None:
    make_repo(tmp_path, {"deploy.sh": "#!/bin/sh\n" + script})
    assert [chart_dir(r) for r in find_references(tmp_path)] == (["chart"] if found else [])


def test_a_helm_variable_from_ci_variables_is_helm(tmp_path: Path) -> None:
    make_repo(tmp_path, {".gitlab-ci.yml": "variables:\n  HELM_BIN: /usr/bin/helm3\n"
                                           "deploy:\n  script:\n"
                                           "    - ${HELM_BIN} upgrade --install app ./chart\n"})
    assert _where(tmp_path) == [(".gitlab-ci.yml", 5, "chart", True)]


def test_cd_to_the_scripts_own_folder_makes_its_paths_relative_to_it(tmp_path: Path) -> None:
    make_repo(tmp_path, {"deploy/deploy.sh": (
        '#!/bin/sh\nset -e\ncd "$(dirname "$0")"\n'
        "helm upgrade --install app ./chart -f chart/values-prod.yaml\n")}, chart="deploy/chart")
    (ref,) = find_references(tmp_path)
    assert (ref.line, ref.cwd, chart_dir(ref), ref.rewritable) == (4, "deploy", "deploy/chart",
                                                                    True)
    assert values_paths(ref) == ("deploy/chart/values-prod.yaml",)


@pytest.mark.parametrize("script", [
    'here="$(cd "$(dirname "$0")" && pwd)"\nhelm upgrade --install app "$here/chart"\n',
    'helm upgrade --install app "$(dirname "$0")/chart"\n',
    'DIR="$( cd "$( dirname "${BASH_SOURCE[0]}" )" >/dev/null 2>&1 && pwd )"\n'
    'CHART="$DIR/chart"\nhelm upgrade --install app "$CHART"\n',
    'cd "${0%/*}"\nhelm upgrade --install app chart\n',
    'here="$(dirname "$0")"\ncd "$here"\nhelm upgrade --install app "$here/chart"\n',
    'top=$( git rev-parse --show-toplevel )\nhelm upgrade --install app "$top/deploy/chart"\n',
])
def test_paths_built_from_the_scripts_own_folder_name_the_chart_beside_it(
        tmp_path: Path, script: str) -> None:
    make_repo(tmp_path, {"deploy/run.sh": "#!/usr/bin/env bash\n" + script}, chart="deploy/chart")
    (ref,) = find_references(tmp_path)
    assert chart_dir(ref) == "deploy/chart"
    if ref.cwd is None:  # run from anywhere: the rewrite could not name the new files
        assert not ref.rewritable and "script's own folder" in ref.why


def test_github_actions_run_steps_are_deploys_with_workflow_job_step_context(
        tmp_path: Path) -> None:
    make_repo(tmp_path, {".github/workflows/deploy.yml": (
        "name: cd\non: push\nenv:\n  RELEASE: orders\n  TAG: ${{ github.sha }}\njobs:\n"
        "  prod:\n    runs-on: ubuntu-latest\n    environment: production\n    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - name: Deploy\n        run: |\n          echo go\n"
        "          helm upgrade --install $RELEASE ./chart \\\n"
        "            -f chart/values-prod.yaml --set image.tag=${{ github.sha }}\n"
        "      - run: helm upgrade --install x ../chart\n        working-directory: ./sub\n"
        "      - run: helm upgrade --install y ./chart\n        shell: pwsh\n"
        "  review:\n    runs-on: ubuntu-latest\n"
        "    environment: ${{ github.head_ref }}\n    steps:\n"
        "      - run: helm template r ./chart\n"),
        "chart/values-prod.yaml": "replicaCount: 3\n"},
    )
    refs = find_references(tmp_path)
    assert [(r.line, r.context, r.environment, r.release, chart_dir(r)) for r in refs] == [
        (15, "cd/prod/Deploy", "production", "orders", "chart"),
        (17, "cd/prod/step 3", "production", "x", "chart"),
        (25, "cd/review/step 1", None, "r", "chart"),
    ]
    deploy = refs[0]
    assert deploy.source == "github-actions" and deploy.rewritable
    assert [(s.key, s.dynamic) for s in deploy.set_flags] == [("image.tag", True)]
    (chart,) = locate(tmp_path, refs, "app-template").charts
    assert chart.environments[0].name == "prod"


def test_jenkins_sh_steps_run_in_their_dir_blocks(tmp_path: Path) -> None:
    make_repo(tmp_path, {"Jenkinsfile": (
        "pipeline {\n  environment {\n    RELEASE = 'orders'\n  }\n  stages {\n"
        "    stage('deploy') {\n      steps {\n        dir('deploy') {\n"
        "          dir('.helm') {\n"
        "            sh \"helm upgrade --install ${RELEASE} . -f values-prod.yaml\"\n"
        "          }\n        }\n"
        "        sh(script: '''\n          helm lint deploy/.helm\n        ''', label: 'x')\n"
        "        // sh 'helm upgrade --install old ./old'\n"
        "      }\n    }\n  }\n}\n")}, chart="deploy/.helm")
    deploy, lint = find_references(tmp_path)
    assert (deploy.line, deploy.context, deploy.release, deploy.cwd) == (
        10, "deploy", "orders", "deploy/.helm")
    assert chart_dir(deploy) == "deploy/.helm"
    assert values_paths(deploy) == ("deploy/.helm/values-prod.yaml",)
    assert (lint.line, lint.subcommand, chart_dir(lint)) == (14, "lint", "deploy/.helm")


def test_helm_2_install_takes_the_release_from_name_and_is_left_for_a_person(
        tmp_path: Path) -> None:
    make_repo(tmp_path, {"chart/Makefile": (
        "install:\n\thelm install . --name app --namespace shop\n"
        "upgrade:\n\thelm upgrade app .\n"
        "clean:\n\thelm delete --purge app\n\thelm init --client-only\n")})
    install, upgrade, delete, init = find_references(tmp_path)
    assert (install.release, chart_dir(install), install.namespace) == ("app", "chart", "shop")
    assert not install.rewritable and "Helm 2" in install.why
    assert (upgrade.release, chart_dir(upgrade), upgrade.rewritable) == ("app", "chart", True)
    assert (delete.subcommand, init.subcommand) == ("delete", "init")
    (chart,) = locate(tmp_path, find_references(tmp_path), "app-template").charts
    assert ("app", "shop") in [(e.release, e.namespace) for e in chart.environments]


def test_applications_a_chart_generates_are_unresolved_references(tmp_path: Path) -> None:
    make_repo(tmp_path, {
        "apps/Chart.yaml": "apiVersion: v2\nname: apps\nversion: 0.1.0\n",
        "apps/templates/applications.yaml": (
            "{{- range .Values.applications }}\n---\n"
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n"
            "  name: {{ .name }}\nspec:\n  source:\n"
            "    repoURL: {{ $.Values.repoURL }}\n"
            "    path: {{ .path | default .name | quote }}\n"
            "  destination:\n    namespace: {{ .name }}\n{{- end }}\n"),
    })
    scan = scan_references(tmp_path)
    (ref,) = scan.found
    assert (ref.file, ref.line, ref.source, ref.rewritable) == (
        "apps/templates/applications.yaml", 10, "argocd", False)
    assert chart_dir(ref) is None  # any chart of the repo may be the one it deploys
    (notice,) = scan.notices
    assert (notice.kind, notice.where) == (NoticeKind.UNRESOLVED,
                                           "apps/templates/applications.yaml:10")


def test_a_docker_run_folded_over_many_plain_lines_reports_helm_where_written(
        tmp_path: Path) -> None:
    make_repo(tmp_path, {".gitlab-ci.yml": (
        "deploy:\n  script:\n    - docker run\n      --rm\n      -v $PWD:/repo\n"
        "      -w /repo\n      img/helm:2\n      /bin/sh -c\n"
        "      'helm init --client-only &&\n"
        "      helm upgrade --install app ./chart\n        --wait'\n")}, chart="chart")
    init, upgrade = find_references(tmp_path)
    assert (init.line, upgrade.line) == (9, 10)
    assert (upgrade.release, chart_dir(upgrade), upgrade.rewritable) == ("app", "chart", True)


@pytest.mark.parametrize(("command", "why"), [
    ("docker run --rm -v $PWD/chart:/chart img sh -c 'helm upgrade --install a ./chart'",
     "does not work in the repository"),
    ("docker exec -i box sh -c 'helm upgrade --install a ./chart'", "another container"),
    ("kubectl exec deploy/tools -- sh -c 'helm upgrade --install a ./chart'",
     "another container"),
    ("ssh deploy@host sh -c 'helm upgrade --install a ./chart'", "another host"),
])
def test_helm_in_a_container_that_does_not_see_the_repository_is_left_for_a_person(
        tmp_path: Path, command: str, why: str) -> None:
    make_repo(tmp_path, {"deploy.sh": f"#!/bin/sh\n{command}\n"})
    (ref,) = find_references(tmp_path)
    assert not ref.rewritable and why in ref.why


def test_taskfile_commands_run_in_the_tasks_dir(tmp_path: Path) -> None:
    make_repo(tmp_path, {
        "Taskfile.yml": "version: '3'\nvars:\n  RELEASE: orders\nincludes:\n"
                        "  k8s: tasks/Taskfile.k8s.yml\n",
        "tasks/Taskfile.k8s.yml": (
            "version: '3'\ntasks:\n  install:\n    dir: chart\n    cmds:\n"
            "      - helm upgrade --install orders . -f values-prod.yaml\n"
            "      - cmd: helm template orders . {{.CLI_ARGS}}\n"),
        "chart/values-prod.yaml": "replicaCount: 2\n",
    })
    install, template = find_references(tmp_path)
    assert (install.source, install.context, install.cwd, chart_dir(install)) == (
        "taskfile", "install", "chart", "chart")
    assert values_paths(install) == ("chart/values-prod.yaml",) and install.rewritable
    assert (template.line, template.rewritable) == (7, False)
    assert "{{" in template.why


def test_a_chart_handed_to_an_action_or_an_orb_is_a_deploy_left_for_a_person(
        tmp_path: Path) -> None:
    make_repo(tmp_path, {
        ".github/workflows/cd.yml": (
            "on: push\njobs:\n  helm:\n    uses: ./.github/workflows/helm.yml\n    with:\n"
            "      chart_path: ./chart\n      other: bitnami/redis\n"),
        ".circleci/config.yml": (
            "version: 2.1\norbs:\n  helm: circleci/helm@3\njobs:\n  deploy:\n    steps:\n"
            "      - helm/upgrade-helm-chart:\n          chart: ./chart\n"
            "          release-name: orders\n"
            "      - helm/upgrade-helm-chart:\n          chart: bitnami/redis\n"),
    })
    orb, action = find_references(tmp_path)
    assert (action.file, action.line, action.context) == (
        ".github/workflows/cd.yml", 6, "./.github/workflows/helm.yml")
    assert (orb.file, orb.line, orb.context, orb.release) == (
        ".circleci/config.yml", 8, "helm/upgrade-helm-chart", "orders")
    assert {chart_dir(action), chart_dir(orb)} == {"chart"}
    assert not action.rewritable and not orb.rewritable


def test_a_github_actions_deploy_without_values_files_takes_its_jobs_name(
        tmp_path: Path) -> None:
    make_repo(tmp_path, {".github/workflows/cd.yml": (
        "on: push\njobs:\n  deploy:\n    runs-on: x\n    steps:\n"
        "      - run: helm upgrade --install app ./chart\n"
        "  staging:\n    runs-on: x\n    steps:\n"
        "      - run: helm upgrade --install app ./chart --namespace staging\n")})
    (chart,) = locate(tmp_path, find_references(tmp_path), "app-template").charts
    assert [e.name for e in chart.environments] == ["default", "staging"]
