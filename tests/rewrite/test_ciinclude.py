"""The rewritten jobs and the central template together run the deploy the rewrite announced."""

from __future__ import annotations

import re
from pathlib import Path

from ruamel.yaml import YAML

from migrator.locate.helmcmd import parse_helm_command
from migrator.locate.refs.gitlabci import ci_jobs
from migrator.rewrite.ciinclude import central_template_yaml
from migrator.rewrite.target import RewriteTarget
from tests.rewrite.helpers import CENTRAL, make_repo, rewrite

CI = (
    "stages: [deploy]\n"
    ".deploy:\n"
    "  stage: deploy\n"
    "  image: alpine/helm\n"
    "  script:\n"
    "    - helm upgrade --install orders ./chart -n shop-$CI_ENVIRONMENT_NAME"
    " -f chart/values-$CI_ENVIRONMENT_NAME.yaml --set image.tag=$CI_COMMIT_SHA"
    " --set replicaCount=2 --atomic --timeout 5m\n"
    "staging:\n"
    "  extends: .deploy\n"
    "  environment: staging\n"
    "production:\n"
    "  extends: .deploy\n"
    "  environment: production\n"
    "  when: manual\n"
)


def _template_command(job_vars: dict[str, str]) -> str:
    target = RewriteTarget("ci-include", "chart", CENTRAL, "app-template", "2.3.0", {}, {})
    template = YAML(typ="safe").load(central_template_yaml(target))[".app-template-deploy"]
    variables = {**template["variables"], **job_vars}
    command = template["script"][0]
    files = " ".join(f"-f {f}" for f in variables["VALUES_FILES"].split())
    command = re.sub(r"\$\(for f in .*?done\)", files, command)
    # the template expands these unquoted: their words become the command's words
    for name in ("HELM_EXTRA_ARGS", "CENTRAL_CHART"):
        command = command.replace(f"${name}", variables.get(name, ""))
    for name, value in variables.items():
        command = command.replace(f'"${name}"', value)
    return command


def test_each_replaced_job_deploys_through_the_template_what_the_rewrite_announced(
    tmp_path: Path,
) -> None:
    make_repo(tmp_path, {".gitlab-ci.yml": CI})
    result = rewrite(tmp_path, "ci-include")
    (tmp_path / ".gitlab-ci.yml").write_bytes(result.writes[".gitlab-ci.yml"])
    written = YAML(typ="safe").load(result.writes[".gitlab-ci.yml"])
    assert written["include"] == [
        {"project": "platform/helm-templates", "ref": "v2", "file": "/templates/deploy.yml"}
    ]
    assert {written["staging"]["extends"], written["production"]["extends"]} == {
        ".app-template-deploy"
    }
    jobs = ci_jobs(tmp_path)
    assert jobs["production"].resolved["when"] == "manual"
    assert jobs["production"].resolved["stage"] == "deploy"
    for deploy in result.deploys:
        job = jobs[deploy.invocation.context]
        variables = {str(k): str(v) for k, v in job.resolved["variables"].items()}
        parsed = parse_helm_command(_template_command(variables))
        assert parsed is not None
        assert (parsed.release, parsed.chart, parsed.version) == ("orders", CENTRAL, "2.3.0")
        assert parsed.namespace == deploy.namespace == f"shop-{deploy.env}"
        assert parsed.values_files == deploy.values_files
        assert parsed.set_flags == deploy.set_flags
        assert [f.name for f in parsed.other_flags] == ["--install", "--atomic", "--timeout"]


def test_a_job_that_does_more_than_deploy_keeps_its_rewritten_command(tmp_path: Path) -> None:
    make_repo(
        tmp_path,
        {
            ".gitlab-ci.yml": (
                "deploy:\n"
                "  environment: production\n"
                "  script:\n"
                "    - helm upgrade orders chart -f chart/values-production.yaml\n"
                "    - ./smoke-test.sh\n"
            )
        },
    )
    result = rewrite(tmp_path, "ci-include", envs=("production",))
    text = result.writes[".gitlab-ci.yml"].decode()
    assert "extends" not in text and "include:" not in text
    assert "helm upgrade orders oci://registry.example.com/charts/app-template" in text
    assert result.notes == (
        "CI job deploy kept as a helm command: the job also runs `./smoke-test.sh`",
    )
