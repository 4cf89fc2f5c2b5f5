"""A definition the rewrite left unused goes with the chart it named; one still read stays."""

from __future__ import annotations

from pathlib import Path

from migrator.rewrite.deadvars import drop_dead_definitions
from tests.rewrite.helpers import make_repo, rewrite

NAMES = ("chart",)


def test_a_make_variable_only_the_rewritten_command_read_goes(tmp_path: Path) -> None:
    make_repo(tmp_path, {"Makefile": ("CHART := ./chart\nNS := shop\n\ndeploy:\n"
                                      "\thelm upgrade --install orders $(CHART) -n $(NS)\n")})
    written = rewrite(tmp_path, envs=("default",)).writes["Makefile"].decode()
    assert written.startswith("NS := shop\n\ndeploy:\n\thelm upgrade --install orders oci://")


def test_a_make_variable_still_read_elsewhere_stays() -> None:
    before = "CHART := ./chart\ndeploy:\n\thelm upgrade a $(CHART)\nlint:\n\tls $(CHART)\n"
    after = before.replace("helm upgrade a $(CHART)", "helm upgrade a oci://x")
    assert drop_dead_definitions(before, after, "makefile", NAMES) == after


def test_a_makefile_that_shares_its_variables_keeps_them() -> None:
    for shared in ("include common.mk\n", "export\n", ".EXPORT_ALL_VARIABLES:\n"):
        before = f"{shared}CHART := ./chart\ndeploy:\n\thelm upgrade a $(CHART)\n"
        after = before.replace("$(CHART)", "oci://x")
        assert drop_dead_definitions(before, after, "makefile", NAMES) == after


def test_a_variable_whose_value_names_something_else_stays() -> None:
    before = "VERSION := 1.2.3\ndeploy:\n\thelm upgrade a ./chart --version $(VERSION)\n"
    after = "VERSION := 1.2.3\ndeploy:\n\thelm upgrade a oci://x --version 2.0.0\n"
    assert drop_dead_definitions(before, after, "makefile", NAMES) == after


def test_a_shell_variable_goes_unless_exported() -> None:
    before = 'set -e\nCHART="./chart"\nhelm upgrade app "$CHART"\n'
    after = 'set -e\nCHART="./chart"\nhelm upgrade app oci://x\n'
    assert drop_dead_definitions(before, after, "shell", NAMES) == "set -e\nhelm upgrade app oci://x\n"
    exported = "export CHART\n" + after
    assert drop_dead_definitions("export CHART\n" + before, exported, "shell", NAMES) == exported


def test_a_shell_assignment_prefixing_a_command_is_not_a_definition() -> None:
    before = "CHART=./chart helm upgrade app $CHART\n"
    after = "CHART=./chart helm upgrade app oci://x\n"
    assert drop_dead_definitions(before, after, "shell", NAMES) == after


def test_a_python_constant_goes_unless_the_module_exports_names() -> None:
    before = 'CHART = "chart"\nRUN = ["helm", "upgrade", "app", CHART]\n'
    after = 'CHART = "chart"\nRUN = ["helm", "upgrade", "app", "oci://x"]\n'
    assert drop_dead_definitions(before, after, "python", NAMES) == (
        'RUN = ["helm", "upgrade", "app", "oci://x"]\n')
    listed = '__all__ = ["CHART"]\n' + after
    assert drop_dead_definitions('__all__ = ["CHART"]\n' + before, listed, "python",
                                 NAMES) == listed


def test_ci_variables_stay_they_reach_every_job_script() -> None:
    before = "variables:\n  CHART: ./chart\njob:\n  script:\n    - helm upgrade a $CHART\n"
    after = before.replace("$CHART", "oci://x")
    assert drop_dead_definitions(before, after, "gitlab-ci", NAMES) == after
