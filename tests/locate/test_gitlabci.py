from __future__ import annotations

from pathlib import Path

from migrator.locate.refs import find_references, scan_references
from migrator.model import NoticeKind, SetFlag


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_anchor_merge_key_reports_the_command_where_the_anchor_writes_it(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            ".gitlab-ci.yml": (
                ".deploy: &deploy\n"
                "  script:\n"
                "    - helm upgrade orders ./chart -f chart/values-$CI_ENVIRONMENT_NAME.yaml\n"
                "staging:\n"
                "  <<: *deploy\n"
                "  environment: staging\n"
                "production:\n"
                "  <<: *deploy\n"
                "  environment: {name: production}\n"
            )
        },
    )
    refs = find_references(tmp_path)
    assert [(r.context, r.line, r.environment, r.values_files) for r in refs] == [
        ("production", 3, "production", ("chart/values-production.yaml",)),
        ("staging", 3, "staging", ("chart/values-staging.yaml",)),
    ]


def test_extends_from_a_local_include_and_reference_tag(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            ".gitlab-ci.yml": (
                "include:\n"
                "  - local: /ci/helm.yml\n"
                "deploy:\n"
                "  extends: .helm\n"
                "  environment: prod\n"
                "  variables:\n"
                "    NAMESPACE: shop\n"
                "  script:\n"
                "    - !reference [.helm, script]\n"
                "    - helm status orders -n $NAMESPACE\n"
            ),
            "ci/helm.yml": (
                ".helm:\n"
                "  variables:\n"
                "    NAMESPACE: default\n"
                "    CHART: deploy/orders\n"
                "  script:\n"
                "    - >-\n"
                "      helm upgrade orders $CHART\n"
                "      --namespace $NAMESPACE\n"
            ),
        },
    )
    refs = find_references(tmp_path)
    upgrade = next(r for r in refs if r.subcommand == "upgrade")
    assert (upgrade.file, upgrade.line, upgrade.chart, upgrade.namespace) == (
        "ci/helm.yml",
        7,
        "deploy/orders",
        "shop",
    )
    assert upgrade.rewritable


def test_literal_block_reports_each_command_on_its_own_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            ".gitlab-ci.yml": (
                "deploy:\n"
                "  script:\n"
                "    - |\n"
                "      export TAG=$CI_COMMIT_SHORT_SHA\n"
                "      helm upgrade app ./chart \\\n"
                "        --set image.tag=$TAG,replicaCount=2\n"
                "      helm template app ./chart > out.yaml\n"
            )
        },
    )
    refs = find_references(tmp_path)
    assert [(r.line, r.subcommand) for r in refs] == [(5, "upgrade"), (7, "template")]
    assert refs[0].set_flags == (
        SetFlag("set", "image.tag", "$TAG", True),
        SetFlag("set", "replicaCount", "2", False),
    )


def test_a_chart_path_computed_at_run_time_is_not_rewritable(tmp_path: Path) -> None:
    write(
        tmp_path,
        {".gitlab-ci.yml": "deploy:\n  script:\n    - helm upgrade $APP ./$(ls -d charts/*)\n"},
    )
    (ref,) = find_references(tmp_path)
    assert not ref.rewritable


def test_default_before_script_is_inherited_unless_the_job_opts_out(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            ".gitlab-ci.yml": (
                "default:\n"
                "  before_script:\n"
                "    - helm dependency build ./chart\n"
                "a:\n"
                "  script: [echo a]\n"
                "b:\n"
                "  inherit: {default: false}\n"
                "  script: [echo b]\n"
            )
        },
    )
    assert [r.context for r in find_references(tmp_path)] == ["a"]


def test_a_reference_to_a_missing_job_is_an_unreadable_notice_at_its_file_and_line(
        tmp_path: Path) -> None:
    write(tmp_path, {".gitlab-ci.yml": "a:\n  script:\n    - !reference [.nope, script]\n"})
    (notice,) = scan_references(tmp_path).notices
    assert (notice.kind, notice.where) == (NoticeKind.UNREADABLE, ".gitlab-ci.yml:3")
    assert "points at nothing" in notice.detail
