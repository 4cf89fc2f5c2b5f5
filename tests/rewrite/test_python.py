from __future__ import annotations

from pathlib import Path

from tests.rewrite.helpers import make_repo, rewrite


def test_inline_argument_lists_stay_inline_and_keep_comments(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {
            "deploy.py": (
                "import subprocess\n\n"
                "def go():\n"
                "    # the production deploy\n"
                '    subprocess.check_call(["helm", "upgrade", "app", "chart", '
                '"-f", "chart/values-production.yaml"])  # noqa\n'
            )
        },
    )
    result = rewrite(tmp_path, envs=("production",))
    assert result.writes["deploy.py"].decode() == (
        "import subprocess\n\n"
        "def go():\n"
        "    # the production deploy\n"
        '    subprocess.check_call(["helm", "upgrade", "app", '
        '"oci://registry.example.com/charts/app-template", "--version", "2.3.0", '
        '"-f", "deploy/values.yaml", "-f", "deploy/values-production.yaml"])  # noqa\n'
    )


def test_a_chart_named_by_a_constant_in_an_f_string_is_replaced_in_place(tmp_path: Path) -> None:
    """The constant only served the command: it goes with the chart it named."""
    make_repo(
        tmp_path,
        {
            "tasks.py": (
                'CHART = "chart"\n\n'
                "def prod(c):\n"
                '    c.run(f"helm upgrade app {CHART} -f chart/values-production.yaml")\n'
            )
        },
    )
    result = rewrite(tmp_path, envs=("production",))
    assert result.writes["tasks.py"].decode() == (
        "\n"
        "def prod(c):\n"
        '    c.run(f"helm upgrade app oci://registry.example.com/charts/app-template --version'
        ' 2.3.0 -f deploy/values.yaml -f deploy/values-production.yaml")\n'
    )


def test_a_chart_path_built_by_a_call_is_left_alone_with_its_line(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {
            "fab.py": (
                "import os\n"
                "def d(c):\n"
                '    c.run("helm upgrade app " + os.path.join("x", "chart"))\n'
            )
        },
    )
    result = rewrite(tmp_path, envs=("production",))
    assert result.writes == {}
    assert [(inv.file, inv.line, why) for inv, why in result.untouched] == [
        ("fab.py", 3, "the chart path or the release name is computed at run time")
    ]


def test_the_dependency_style_lets_helm_build_the_wrapper(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {
            "d.py": (
                'import os\nos.system("helm upgrade app ./chart -f chart/values-production.yaml")\n'
            )
        },
    )
    result = rewrite(tmp_path, "dependency", envs=("production",))
    assert result.writes["d.py"].decode() == (
        'import os\nos.system("helm upgrade app deploy/chart --dependency-update'
        ' -f deploy/values.yaml -f deploy/values-production.yaml")\n'
    )
    assert result.writes["deploy/chart/Chart.yaml"].startswith(b"apiVersion: v2\nname: orders\n")
