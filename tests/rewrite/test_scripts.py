from __future__ import annotations

from pathlib import Path

from tests.rewrite.helpers import make_repo, rewrite


def test_a_dependency_build_that_was_the_only_before_script_takes_its_key_along(
    tmp_path: Path,
) -> None:
    make_repo(
        tmp_path,
        {
            ".gitlab-ci.yml": (
                "deploy:\n"
                "  environment: production\n"
                "  before_script:\n"
                "    - helm dependency build chart\n"
                "  script:\n"
                "    - helm upgrade app chart -f chart/values-production.yaml\n"
            )
        },
    )
    result = rewrite(tmp_path, envs=("production",))
    assert result.writes[".gitlab-ci.yml"].decode() == (
        "deploy:\n"
        "  environment: production\n"
        "  script:\n"
        "    - helm upgrade app oci://registry.example.com/charts/app-template --version 2.3.0"
        " -f deploy/values.yaml -f deploy/values-production.yaml\n"
    )


def test_a_static_set_on_the_last_continued_line_goes_with_its_backslash(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {
            "deploy.sh": (
                "#!/bin/sh\n"
                "helm upgrade app ./chart \\\n"
                "  -f chart/values-production.yaml \\\n"
                "  --set replicaCount=3\n"
                "echo done\n"
            )
        },
    )
    result = rewrite(tmp_path, envs=("production",))
    assert result.writes["deploy.sh"].decode() == (
        "#!/bin/sh\n"
        "helm upgrade app oci://registry.example.com/charts/app-template --version 2.3.0 \\\n"
        "  -f deploy/values.yaml -f deploy/values-production.yaml\n"
        "echo done\n"
    )


def test_a_script_taking_the_environment_as_argument_keeps_choosing_by_it(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {
            "deploy.sh": (
                '#!/bin/bash\nhelm upgrade app ./chart -n "shop-$1" -f "chart/values-$1.yaml"\n'
            )
        },
    )
    result = rewrite(tmp_path)
    assert result.writes["deploy.sh"].decode().splitlines()[1] == (
        "helm upgrade app oci://registry.example.com/charts/app-template --version 2.3.0"
        ' -n "shop-$1" -f deploy/values.yaml -f deploy/values-$1.yaml'
    )
    assert sorted((d.env, d.namespace) for d in result.deploys) == [
        ("production", "shop-production"),
        ("staging", "shop-staging"),
    ]


def test_a_repository_url_becomes_repo_flag_and_chart_name(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {"Makefile": "deploy:\n\thelm upgrade app chart -f chart/values-production.yaml\n"},
    )
    result = rewrite(tmp_path, envs=("production",), chart_ref="https://charts.example.com")
    assert result.writes["Makefile"].decode() == (
        "deploy:\n\thelm upgrade app --repo https://charts.example.com app-template"
        " --version 2.3.0 -f deploy/values.yaml -f deploy/values-production.yaml\n"
    )
    (deploy,) = result.deploys
    assert (deploy.chart, deploy.repo, deploy.version) == (
        "app-template",
        "https://charts.example.com",
        "2.3.0",
    )


def test_one_template_for_two_environments_without_a_variable_is_left_alone(
    tmp_path: Path,
) -> None:
    make_repo(
        tmp_path,
        {
            ".gitlab-ci.yml": (
                ".d:\n  script:\n    - helm upgrade app chart -f chart/values.yaml\n"
                "a:\n  extends: .d\n  environment: staging\n"
                "b:\n  extends: .d\n  environment: production\n"
            )
        },
    )
    result = rewrite(tmp_path)
    assert result.writes == {}
    assert {why for _, why in result.untouched} == {
        "one command deploys several environments (production, staging) whose new values "
        "files it cannot name with the variables it already uses"
    }


def test_a_command_quoted_in_yaml_is_listed_not_guessed(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {
            ".gitlab-ci.yml": (
                'd:\n  environment: production\n  script:\n    - "helm upgrade app chart"\n'
            )
        },
    )
    result = rewrite(tmp_path, envs=("production",))
    assert result.writes == {}
    assert [why for _, why in result.untouched] == [
        "the command's text could not be matched in the file (quoted or escaped YAML?)"
    ]


def test_lint_of_the_removed_chart_becomes_a_render_of_the_central_one(tmp_path: Path) -> None:
    make_repo(tmp_path, {".gitlab-ci.yml": (
        "lint:\n  script:\n    - helm lint --strict ./chart -f chart/values-production.yaml\n")})
    result = rewrite(tmp_path, envs=("production",))
    assert result.writes[".gitlab-ci.yml"].decode() == (
        "lint:\n  script:\n    - helm template oci://registry.example.com/charts/app-template"
        " --version 2.3.0 -f deploy/values.yaml -f deploy/values-production.yaml\n")
    assert result.untouched == () and result.deploys == ()
