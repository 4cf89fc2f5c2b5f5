from __future__ import annotations

from migrator.locate.helmcmd import parse_helm_command, split_set_value
from migrator.locate.shellwords import split_commands
from migrator.model import SetFlag


def test_upgrade_reads_release_chart_namespace_values_and_version() -> None:
    parsed = parse_helm_command(
        "helm upgrade --install orders ./deploy/helm/orders --namespace prod "
        "-f a.yaml --values=b.yaml --values c.yaml,d.yaml --version 1.2.3 --atomic"
    )
    assert parsed is not None
    assert parsed.subcommand == "upgrade"
    assert (parsed.release, parsed.chart) == ("orders", "./deploy/helm/orders")
    assert parsed.namespace == "prod"
    assert parsed.version == "1.2.3"
    assert parsed.values_files == ("a.yaml", "b.yaml", "c.yaml", "d.yaml")
    assert [f.name for f in parsed.other_flags] == ["--install", "--atomic"]


def test_continuations_and_env_assignments_before_helm_are_understood() -> None:
    parsed = parse_helm_command("KUBECONFIG=/k HELM_DEBUG=1 helm upgrade \\\n  r \\\n  ./c -n x")
    assert parsed is not None
    assert parsed.env == (("KUBECONFIG", "/k"), ("HELM_DEBUG", "1"))
    assert (parsed.release, parsed.chart, parsed.namespace) == ("r", "./c", "x")


def test_set_flags_split_on_top_level_commas_and_mark_run_time_values_dynamic() -> None:
    parsed = parse_helm_command(
        "helm upgrade r ./c --set image.tag=$CI_COMMIT_SHA,replicaCount=3 "
        "--set 'hosts={a,b}' --set-string 'literal=$NOT_EXPANDED' "
        '--set-json \'obj={"a":1,"b":2}\' --set-file cfg=files/app.conf '
        '--set "sha=$(git rev-parse HEAD)" --set-literal "x=a,b"'
    )
    assert parsed is not None
    assert parsed.set_flags == (
        SetFlag("set", "image.tag", "$CI_COMMIT_SHA", True),
        SetFlag("set", "replicaCount", "3", False),
        SetFlag("set", "hosts", "{a,b}", False),
        SetFlag("set-string", "literal", "$NOT_EXPANDED", False),
        SetFlag("set-json", "obj", '{"a":1,"b":2}', False),
        SetFlag("set-file", "cfg", "files/app.conf", False),
        SetFlag("set", "sha", "$(git rev-parse HEAD)", True),
        SetFlag("set-literal", "x", "a,b", False),
    )


def test_backticks_and_braced_variables_are_dynamic() -> None:
    parsed = parse_helm_command("helm upgrade r ./c --set a=`date`,b=${TAG}")
    assert parsed is not None
    assert [f.dynamic for f in parsed.set_flags] == [True, True]


def test_static_variables_resolve_release_and_chart() -> None:
    parsed = parse_helm_command(
        'helm upgrade "$APP" ./$CHART_DIR -f $CHART_DIR/values-$ENV.yaml',
        {"APP": "orders", "CHART_DIR": "deploy/orders"},
    )
    assert parsed is not None
    assert (parsed.release, parsed.chart) == ("orders", "./deploy/orders")
    assert parsed.unresolved == ("values",)


def test_unknown_variables_leave_the_chart_unresolved() -> None:
    parsed = parse_helm_command("helm upgrade $APP ./$CHART_DIR")
    assert parsed is not None
    assert parsed.unresolved == ("release", "chart")
    assert parsed.chart == "./$CHART_DIR"


def test_two_word_subcommands_and_optional_release_of_template() -> None:
    diff = parse_helm_command("helm diff upgrade r ./c -f v.yaml")
    template = parse_helm_command("helm template ./c -f v.yaml > out.yaml 2>&1")
    dep = parse_helm_command("helm dep update ./c")
    assert diff is not None and (diff.subcommand, diff.release, diff.chart) == (
        "diff upgrade",
        "r",
        "./c",
    )
    assert template is not None and (template.release, template.chart) == (None, "./c")
    assert dep is not None and (dep.subcommand, dep.chart) == ("dependency update", "./c")


def test_other_programs_are_not_helm_commands() -> None:
    assert parse_helm_command("echo helm upgrade r ./c") is None
    assert parse_helm_command("kubectl apply -f x.yaml") is None


def test_split_commands_respects_quotes_continuations_and_operators() -> None:
    script = 'cd deploy && helm upgrade r \\\n  ./c; echo "a;b"\nhelm lint c | tee x # ; no\n'
    assert split_commands(script) == [
        (0, "cd deploy"),
        (0, "helm upgrade r \\\n  ./c"),
        (1, 'echo "a;b"'),
        (2, "helm lint c"),
        (2, "tee x"),
    ]


def test_set_value_split_keeps_escaped_commas_inside_the_value() -> None:
    assert split_set_value(r"a=1\,2,b=3", "set") == [("a", "1,2"), ("b", "3")]
