"""`migrator mappings suggest`: targets found in the central defaults, and modules edited with
libcst so that only rule lines are added."""

from __future__ import annotations

import dataclasses
import difflib
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from migrator import config, demo
from migrator.errors import ConfigError
from migrator.mapping import Mapping, load_mappings, translate
from migrator.model import (
    CentralInfo,
    ChartPlan,
    FleetPlan,
    Kind,
    Lineage,
    RepoPlan,
    RepoRef,
    ValueDecision,
    ValuesPlan,
    Verdict,
)
from migrator.pipeline import fleet as pipeline
from migrator.report import planstate as shards
from migrator.suggest import (
    Suggestion,
    apply_suggestions,
    load_central_defaults,
    module_sources,
    render_report,
    suggest,
)
from migrator.values.shapes import mismatches, values_shape_mismatches
from migrator.values.shapes import outcome as shapes_outcome
from migrator.verify.render import parse_values
from testsupport.outcomes import outcome_for

DATA = Path(__file__).parent / "data" / "suggest"
SHIPPED = Path(__file__).resolve().parents[1] / "mappings"
TARGET = "2.0.0"
ADDED_RULE = re.compile(r'^    rename\("[^"]+", "[^"]+"\),  # suggested: \d+ repos? \(.+\)$')


@pytest.fixture(scope="module")
def central() -> dict[str, Any]:
    path = demo.central_chart_dir() / TARGET / "values.yaml"
    return parse_values(path.read_text(encoding="utf-8"), str(path))


@pytest.fixture(scope="module")
def shipped() -> tuple[Mapping, ...]:
    return load_mappings(SHIPPED)


def chart(family: str, version: str, unmapped: Sequence[str], written: Sequence[str] = (),
          env: str | None = None, value: Any = 1) -> ChartPlan:
    decisions = (tuple(ValueDecision(p, "unmapped", value, env=env) for p in unmapped)
                 + tuple(ValueDecision(p, "deliberate", 2) for p in written))
    return ChartPlan("chart", "app", outcome_for(Verdict.REVIEW),
                     lineage=Lineage(family, version, 1.0, ()),
                     values=ValuesPlan({}, {}, decisions))


def repo(name: str, *charts: ChartPlan) -> RepoPlan:
    return RepoPlan(RepoRef(name, name, f"/fleet/{name}"), "0" * 40, outcome_for(Verdict.REVIEW),
                    charts=charts)


def fleet(*repos: RepoPlan) -> FleetPlan:
    info = CentralInfo("app-template", "/central", TARGET, ("1.0.0", "1.2.0", TARGET),
                       "oci://registry.example.com/charts/app-template")
    return FleetPlan(info, repos, "0.1.0", "abc1234")


def by_source(found: Sequence[Suggestion]) -> dict[str, Suggestion]:
    assert len({s.source for s in found}) == len(found)
    return {s.source: s for s in found}


def one_family(keys: Sequence[str], central: dict[str, Any], mappings: tuple[Mapping, ...],
               written: Sequence[str] = ()) -> dict[str, Suggestion]:
    plan = fleet(repo("orders", chart("app-template", "1.2.0", keys, written)))
    return by_source(suggest(plan, central, mappings))


# ---------------------------------------------------------------------------------------------
# Heuristics, on the central chart's real 2.0.0 defaults


def test_a_leaf_under_another_parent_moves_to_the_central_key_of_that_name(
        central: dict[str, Any], shipped: tuple[Mapping, ...]) -> None:
    found = one_family(["deployment.replicas"], central, shipped)
    assert found["deployment.replicas"].target == "replicas"
    assert "same key `replicas`" in found["deployment.replicas"].why


def test_a_known_synonym_under_the_same_parent_is_renamed(
        central: dict[str, Any], shipped: tuple[Mapping, ...]) -> None:
    found = one_family(["image.name", "image.version"], central, shipped)
    assert found["image.name"].target == "image.repository"
    assert found["image.version"].target == "image.tag"
    assert "synonym" in found["image.name"].why


def test_a_port_goes_to_the_service_port_although_probes_have_ports_too(
        central: dict[str, Any], shipped: tuple[Mapping, ...]) -> None:
    found = one_family(["deployment.port", "containerPort"], central, shipped)
    assert found["deployment.port"].target == "service.port"
    assert found["containerPort"].target == "service.port"


def test_a_subtree_whose_keys_all_sit_in_one_central_map_moves_in_one_rule(
        central: dict[str, Any], shipped: tuple[Mapping, ...]) -> None:
    found = one_family(["monitoring.enabled", "monitoring.interval", "monitoring.path",
                        "pdb.enabled", "pdb.minAvailable"], central, shipped)
    assert set(found) == {"monitoring", "pdb"}
    assert found["monitoring"].target == "serviceMonitor"
    assert found["monitoring"].keys == 3
    assert found["pdb"].target == "podDisruptionBudget"


def test_a_subtree_named_like_an_open_central_map_moves_whole(
        central: dict[str, Any], shipped: tuple[Mapping, ...]) -> None:
    found = one_family(["deployment.resources.limits.cpu", "deployment.resources.limits.memory",
                        "deployment.replicas"], central, shipped)
    assert found["deployment.resources"].target == "resources"
    assert "open map" in found["deployment.resources"].why
    assert found["deployment.replicas"].target == "replicas"


def test_keys_without_a_home_are_reported_once_per_unknown_subtree(
        central: dict[str, Any], shipped: tuple[Mapping, ...]) -> None:
    found = one_family(["nightlyExport.bucket", "nightlyExport.schedule", "deployment.replicas"],
                       central, shipped)
    export = found["nightlyExport"]
    assert export.target is None
    assert export.keys == 2
    assert "no target found" in export.why and "bucket, schedule" in export.why


def test_an_ambiguous_key_gets_no_target_and_names_the_candidates(
        central: dict[str, Any], shipped: tuple[Mapping, ...]) -> None:
    found = one_family(["extra.enabled"], central, shipped)
    assert found["extra"].target is None
    assert "`hpa.enabled`" in found["extra"].why


def test_a_rename_onto_a_key_the_fork_also_sets_says_it_replaces_that_value(
        central: dict[str, Any], shipped: tuple[Mapping, ...]) -> None:
    found = one_family(["deployment.replicas"], central, shipped, written=["replicas"])
    assert "also set `replicas`" in found["deployment.replicas"].why
    quiet = one_family(["deployment.replicas"], central, shipped, written=["image.tag"])
    assert "also set" not in quiet["deployment.replicas"].why


def test_repos_are_counted_once_across_charts_environments_and_origin_versions(
        central: dict[str, Any], shipped: tuple[Mapping, ...]) -> None:
    plan = fleet(
        repo("orders", chart("app-template", "1.2.0", ["deployment.replicas"]),
             chart("app-template", "1.2.0", ["deployment.replicas"], env="prod")),
        repo("billing", chart("app-template", "1.0.0", ["deployment.replicas"])),
        repo("catalog", chart("app-template", "1.1.0", ["containerPort"])),
    )
    found = by_source(suggest(plan, central, shipped))
    replicas = found["deployment.replicas"]
    assert (replicas.repos, replicas.examples) == (2, ("billing", "orders"))
    assert {s.module for s in found.values()} == {"app_template_v1"}
    assert replicas.from_range == ">=1.0.0,<2.0.0" and not replicas.new_module


def test_charts_without_lineage_or_values_are_left_out(
        central: dict[str, Any], shipped: tuple[Mapping, ...]) -> None:
    no_lineage = ChartPlan("chart", "app", outcome_for(Verdict.ERROR), values=ValuesPlan(
        {}, {}, (ValueDecision("deployment.replicas", "unmapped", 1),)))
    no_values = ChartPlan("chart", "app", outcome_for(Verdict.ERROR),
                          lineage=Lineage("app-template", "1.2.0", 1.0, ()))
    assert suggest(fleet(repo("orders", no_lineage, no_values)), central, shipped) == []


def test_a_family_without_a_module_gets_a_new_one_covering_its_major_version(
        central: dict[str, Any], shipped: tuple[Mapping, ...]) -> None:
    plan = fleet(repo("web", chart("legacy-web", "0.3.0", ["image.name"])),
                 repo("web2", chart("legacy-web", "0.4.1", ["image.name"])))
    (found,) = suggest(plan, central, shipped)
    assert (found.module, found.from_range, found.to) == ("legacy_web_v0", ">=0.0.0,<1.0.0",
                                                          TARGET)
    assert found.new_module and found.repos == 2


def test_a_new_range_stays_clear_of_a_module_covering_part_of_the_major(
        central: dict[str, Any]) -> None:
    later = Mapping("legacy_web_v0", "legacy-web", ">=0.5.0,<1.0.0", TARGET, ())
    plan = fleet(repo("web", chart("legacy-web", "0.3.0", ["image.name"])),
                 repo("web2", chart("legacy-web", "0.4.1", ["image.name"])),
                 repo("web3", chart("legacy-web", "0.6.0", ["image.name"])))
    found = suggest(plan, central, (later,))
    ranges = {s.from_range: s.module for s in found}
    assert ranges == {">=0.5.0,<1.0.0": "legacy_web_v0",
                      ">=0.3.0,<=0.4.1": "legacy_web_v0_from_0_3_0"}


# ---------------------------------------------------------------------------------------------
# Editing modules with libcst


def suggestion(source: str, target: str | None, repos: Sequence[str] = ("web", "web2"),
               module: str = "legacy_web_v0", family: str = "legacy-web") -> Suggestion:
    return Suggestion(family=family, from_range=">=0.1.0,<1.0.0", to=TARGET, module=module,
                      new_module=False, source=source, target=target, repos=len(repos),
                      examples=tuple(repos), keys=1, why="test")


SUGGESTED = [
    suggestion("deployment.replicas", "replicas", ("a", "b", "c")),
    suggestion("monitoring", "serviceMonitor", ("web",)),
    suggestion("nightlyExport", None),
    suggestion("health", "probes.readiness"),  # the module already has a rule for `health`
    suggestion("other.key", "x", module="app_template_v1", family="app-template"),
]


@pytest.fixture()
def module(tmp_path: Path) -> Path:
    path = tmp_path / "mappings" / "legacy_web_v0.py"
    path.parent.mkdir()
    shutil.copy(DATA / "legacy_web_v0.py", path)
    return path


def test_appending_rules_adds_rule_lines_and_changes_nothing_else(module: Path) -> None:
    before = module.read_text(encoding="utf-8")
    after = apply_suggestions(module, SUGGESTED)
    diff = [line for line in difflib.ndiff(before.splitlines(), after.splitlines())
            if line[:2] in ("- ", "+ ", "? ")]
    assert diff == [
        '+     rename("deployment.replicas", "replicas"),  # suggested: 3 repos (a, b, c)',
        '+     rename("monitoring", "serviceMonitor"),  # suggested: 1 repo (web)',
    ]
    assert all(ADDED_RULE.match(line[2:]) for line in diff)
    assert after.endswith('suggested: 1 repo (web)\n]\n')


def test_applying_twice_adds_nothing(module: Path) -> None:
    module.write_text(apply_suggestions(module, SUGGESTED), encoding="utf-8")
    again = module.read_text(encoding="utf-8")
    assert apply_suggestions(module, SUGGESTED) == again


def test_the_edited_module_loads_and_its_new_rules_translate_values(module: Path) -> None:
    module.write_text(apply_suggestions(module, SUGGESTED), encoding="utf-8")
    (loaded,) = load_mappings(module.parent)
    assert [(r.kind, r.source, r.target) for r in loaded.rules][-2:] == [
        ("rename", "deployment.replicas", "replicas"),
        ("rename", "monitoring", "serviceMonitor")]
    result = translate({"imageRef": "nginx:1.25", "deployment": {"replicas": 3},
                        "monitoring": {"enabled": True}}, loaded.rules)
    assert result.values == {"image": {"repository": "nginx", "tag": "1.25"}, "replicas": 3,
                             "serviceMonitor": {"enabled": True}}


def test_a_module_that_does_not_import_rename_gains_it_on_its_import_line(
        tmp_path: Path) -> None:
    path = tmp_path / "legacy_web_v0.py"
    path.write_text('from migrator.mapping import Rule, drop\n\nFAMILY = "legacy-web"\n'
                    'FROM = ">=0.1.0,<1.0.0"\nTO = "2.0.0"\n\n'
                    'RULES: list[Rule] = [drop("debug", "unused")]\n', encoding="utf-8")
    text = apply_suggestions(path, SUGGESTED)
    assert text.startswith("from migrator.mapping import Rule, drop, rename\n")
    path.write_text(text, encoding="utf-8")
    (loaded,) = load_mappings(tmp_path)
    assert [r.source for r in loaded.rules] == ["debug", "deployment.replicas", "monitoring",
                                                "health"]


def test_a_last_rule_without_trailing_comma_gains_one_and_keeps_its_comment(
        tmp_path: Path) -> None:
    path = tmp_path / "legacy_web_v0.py"
    before = ('from migrator.mapping import rename\n\nFAMILY = "legacy-web"\n'
              'RULES = [\n    rename("a", "b")  # why a\n]\n')
    path.write_text(before, encoding="utf-8")
    after = apply_suggestions(path, SUGGESTED[:1])
    diff = [line for line in difflib.ndiff(before.splitlines(), after.splitlines())
            if line[:2] in ("- ", "+ ")]
    assert diff == ['-     rename("a", "b")  # why a', '+     rename("a", "b"),  # why a',
                    '+     rename("deployment.replicas", "replicas"),  # suggested: 3 repos '
                    '(a, b, c)']


def test_a_rule_line_names_only_as_many_repos_as_fit_in_the_line_length(module: Path) -> None:
    def added(*names: str) -> str:
        many = dataclasses.replace(SUGGESTED[0], repos=7, examples=names)
        (line,) = [line for line in apply_suggestions(module, [many]).splitlines()
                   if "suggested" in line]
        assert len(line) <= 100
        return line.split("# ")[1]

    assert added("team-0/billing-api", "team-1/billing-api") == (
        "suggested: 7 repos (team-0/billing-api, ...)")
    assert added("platform/team-0/a-rather-long-service-name") == "suggested: 7 repos"


def test_an_empty_rules_list_is_opened_up_one_rule_a_line(tmp_path: Path) -> None:
    path = tmp_path / "legacy_web_v0.py"
    path.write_text('"""Empty so far."""\nFAMILY = "legacy-web"\nFROM = ">=0.1.0,<1.0.0"\n'
                    'TO = "2.0.0"\nRULES = []\n', encoding="utf-8")
    text = apply_suggestions(path, SUGGESTED)
    assert 'RULES = [\n    rename("deployment.replicas", "replicas"),  # suggested' in text
    path.write_text(text, encoding="utf-8")
    (loaded,) = load_mappings(tmp_path)
    assert len(loaded.rules) == 3


def test_a_family_without_a_module_gets_a_generated_one(tmp_path: Path) -> None:
    path = tmp_path / "legacy_web_v0.py"
    text = apply_suggestions(path, SUGGESTED)
    assert "generated by `migrator mappings suggest`" in text
    path.write_text(text, encoding="utf-8")
    (loaded,) = load_mappings(tmp_path)
    assert (loaded.family, loaded.from_spec, loaded.to) == ("legacy-web", ">=0.1.0,<1.0.0",
                                                            TARGET)
    assert [r.source for r in loaded.rules] == ["deployment.replicas", "monitoring", "health"]
    assert apply_suggestions(path, SUGGESTED) == text


def test_nothing_to_write_for_a_new_module_without_targets(tmp_path: Path) -> None:
    assert apply_suggestions(tmp_path / "legacy_web_v0.py", SUGGESTED[2:3]) == ""


def test_a_suggestion_for_another_family_is_refused(module: Path) -> None:
    wrong = suggestion("a.b", "c", family="app-template")
    with pytest.raises(ConfigError, match="FAMILY is 'legacy-web'"):
        apply_suggestions(module, [wrong])


def test_a_module_without_a_rules_list_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "legacy_web_v0.py"
    path.write_text('FAMILY = "legacy-web"\nRULES = BASE + []\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="legacy_web_v0.py: expected one top-level"):
        apply_suggestions(path, SUGGESTED)


def test_module_sources_names_only_the_files_that_change(module: Path) -> None:
    directory = module.parent
    shutil.copy(SHIPPED / "app_template_v1.py", directory / "app_template_v1.py")
    extra = suggestion("fresh.key", "replicas", module="other_v3", family="other")
    changed = module_sources(directory, [*SUGGESTED, extra])
    assert set(changed) == {module, directory / "app_template_v1.py", directory / "other_v3.py"}
    for path, text in changed.items():
        path.write_text(text, encoding="utf-8")
    assert module_sources(directory, [*SUGGESTED, extra]) == {}
    assert len(load_mappings(directory)) == 3


# ---------------------------------------------------------------------------------------------
# The report


def test_the_report_lists_proposed_rules_and_keys_without_a_target(
        central: dict[str, Any], shipped: tuple[Mapping, ...]) -> None:
    plan = fleet(repo("orders", chart("app-template", "1.2.0",
                                      ["deployment.replicas", "nightlyExport.bucket"])),
                 repo("web", chart("legacy-web", "0.3.0", ["image.name"])))
    text = render_report(suggest(plan, central, shipped))
    assert "2 rules proposed, 1 key without a target" in text
    assert "## app-template >=1.0.0,<2.0.0 -> 2.0.0: `mappings/app_template_v1.py`" in text
    assert "`mappings/legacy_web_v0.py` (new)" in text
    assert '| `rename("deployment.replicas", "replicas")` | 1 (orders) |' in text
    no_target = text.split("No target found")[1]
    assert "| `nightlyExport` | 1 (orders) |" in no_target


def test_an_empty_plan_says_there_is_nothing_to_suggest() -> None:
    assert "nothing to suggest" in render_report([])


# ---------------------------------------------------------------------------------------------
# End to end: a real plan of a small fleet


EXTRA_VALUES = """
deployment:
  resources:
    limits:
      memory: 256Mi
monitoring:
  enabled: false
  interval: 15s
  path: /metrics
legacyAuth:
  password: hunter2-secret
"""


def _plan(fleet_dir: Path, central_repo: Path, mappings: Path, out: Path) -> FleetPlan:
    settings = dataclasses.replace(config.plan_settings({}, config.PlanFlags(
        repos=config.FleetFlags(fleet=fleet_dir), central=central_repo, target_version=TARGET,
        out=out, work=out / "work", jobs=2)), mappings=mappings)
    plan = pipeline.plan_fleet(pipeline.discover(settings), settings)
    out.mkdir(parents=True, exist_ok=True)
    shards.save_state(plan, out)
    return shards.load_state(out)


def _unmapped(plan: FleetPlan) -> set[str]:
    return {d.path for r in plan.repos for c in r.charts if c.values
            for d in c.values.decisions if d.reason == "unmapped"}


def test_rules_suggested_from_a_real_plan_clear_its_unmapped_keys(tmp_path: Path) -> None:
    sources = demo.build_central(tmp_path / "central")
    fleet_dir = tmp_path / "fleet"
    for name in ("orders", "billing"):
        files = {f"chart/{rel}": text for rel, text in demo.fork_chart(
            demo.central_chart_dir() / "1.2.0", name, "1.0.0").items()}
        files["chart/values.yaml"] += EXTRA_VALUES
        demo.write_repo(fleet_dir / name, [demo.Commit("Fork app-template 1.2.0", files)])
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    shutil.copy(SHIPPED / "app_template_v1.py", mappings / "app_template_v1.py")

    plan = _plan(fleet_dir, sources.repo_dir, mappings, tmp_path / "out1")
    assert {"monitoring.interval", "deployment.resources.limits.memory"} <= _unmapped(plan)
    found = suggest(plan, load_central_defaults(plan), load_mappings(mappings))
    rules = {(s.source, s.target) for s in found}
    assert {("monitoring", "serviceMonitor"), ("deployment.resources", "resources"),
            ("legacyAuth", None)} <= rules
    assert all(s.repos == 2 and s.examples == ("billing", "orders") for s in found)
    # The forks' own serviceMonitor keys equal the central defaults: replacing them is harmless.
    assert not any("careful" in s.why for s in found)
    changed = module_sources(mappings, found)
    assert list(changed) == [mappings / "app_template_v1.py"]
    report = render_report(found)
    assert "hunter2" not in report and "hunter2" not in changed[mappings / "app_template_v1.py"]
    for path, text in changed.items():
        path.write_text(text, encoding="utf-8")

    again = _plan(fleet_dir, sources.repo_dir, mappings, tmp_path / "out2")
    assert _unmapped(again) == {"legacyAuth.password"}


# ---------------------------------------------------------------------------------------------
# Values of another shape: `convert` rules


def shape_chart(family: str, version: str, base: dict[str, Any]) -> ChartPlan:
    """A chart the plan blocked because `base` holds values of another shape."""
    values = ValuesPlan(base, {}, ())
    found = values_shape_mismatches(values, CENTRAL_SHAPES)
    return ChartPlan("chart", "app", shapes_outcome(found),
                     lineage=Lineage(family, version, 1.0, ()), values=values)


CENTRAL_SHAPES: dict[str, Any] = {
    "ingress": {"hosts": [{"host": "chart-example.local",
                           "paths": [{"path": "/", "pathType": "ImplementationSpecific"}]}],
                "tls": []},
    "env": [],
}


def test_a_list_of_host_strings_gets_a_convert_rule_and_a_bool_gets_none(
        shipped: tuple[Mapping, ...]) -> None:
    plan = fleet(repo("orders", shape_chart("app-template", "1.2.0", {
                     "ingress": {"hosts": ["orders.example.com"], "tls": True}})),
                 repo("billing", shape_chart("app-template", "1.0.0", {
                     "ingress": {"hosts": ["billing.example.com"]}})))
    found = by_source(suggest(plan, CENTRAL_SHAPES, shipped))
    hosts = found["ingress.hosts"]
    assert (hosts.rule, hosts.target, hosts.module, hosts.repos) == (
        "convert", "ingress.hosts", "app_template_v1", 2)
    assert hosts.why == ("`ingress.hosts` is a list of strings; the central chart expects a list "
                         "of maps (host, paths): each string becomes the `host` of a map with "
                         "paths from the central default's first item")
    tls = found["ingress.tls"]
    assert tls.target is None and tls.repos == 1
    assert tls.why == ("`ingress.tls` is a bool; the central chart expects a list: no rule fits "
                       "(write a `convert` rule by hand, or change the value)")


SHAPED = dataclasses.replace(
    suggestion("ingress.hosts", "ingress.hosts"), shape=True,
    conversion=mismatches({"ingress": {"hosts": ["a"]}}, CENTRAL_SHAPES)[0].conversion)
NESTED = dataclasses.replace(
    suggestion("ingress.hosts", "ingress.hosts"), shape=True, within=("[]", "paths"),
    conversion=mismatches({"ingress": {"hosts": [{"host": "a", "paths": ["/"]}]}},
                          CENTRAL_SHAPES)[0].conversion)
ENV = dataclasses.replace(
    suggestion("env", "env"), shape=True,
    conversion=mismatches({"env": {"A": "b"}}, CENTRAL_SHAPES)[0].conversion)


def test_a_convert_rule_and_its_function_go_into_the_module_and_nothing_else_changes(
        module: Path) -> None:
    before = module.read_text(encoding="utf-8")
    after = apply_suggestions(module, [SHAPED])
    added = [line[2:] for line in difflib.ndiff(before.splitlines(), after.splitlines())
             if line[:2] == "+ "]
    removed = [line for line in difflib.ndiff(before.splitlines(), after.splitlines())
               if line[:2] == "- "]
    assert removed == []
    assert added[-1] == ('    convert("ingress.hosts", "ingress.hosts", ingress_hosts_reshaped),'
                         "  # suggested: 2 repos")  # no room left for the repo names
    assert "def ingress_hosts_reshaped(value: object) -> object:" in added
    # the function stands above RULES, which keeps the comment lines above it
    assert after.index("def ingress_hosts_reshaped") < after.index("RULES = [")
    assert after.count("from migrator.mapping import") == 1  # `convert` was imported already
    module.write_text(after, encoding="utf-8")
    (loaded,) = load_mappings(module.parent)
    result = translate({"ingress": {"hosts": ["a.example.com", {"host": "b", "paths": []}]}},
                       loaded.rules)
    assert result.values == {"ingress": {"hosts": [
        {"host": "a.example.com", "paths": [{"path": "/", "pathType": "ImplementationSpecific"}]},
        {"host": "b", "paths": []}]}}
    assert mismatches(result.values, CENTRAL_SHAPES) == []
    assert apply_suggestions(module, [SHAPED]) == after


def test_a_module_without_convert_imports_it_and_a_nested_value_is_reshaped_in_each_item(
        tmp_path: Path) -> None:
    path = tmp_path / "legacy_web_v0.py"
    path.write_text('from migrator.mapping import rename\n\nFAMILY = "legacy-web"\n'
                    'FROM = ">=0.1.0,<1.0.0"\nTO = "2.0.0"\nRULES = [\n    rename("a", "b"),\n]\n',
                    encoding="utf-8")
    text = apply_suggestions(path, [NESTED, ENV])
    assert text.startswith("from migrator.mapping import convert, rename\n")
    assert '\n\n\nRULES = [\n    rename("a", "b"),\n' in text
    path.write_text(text, encoding="utf-8")
    (loaded,) = load_mappings(tmp_path)
    result = translate({"ingress": {"hosts": [{"host": "a", "paths": ["/api"]}]},
                        "env": {"LOG": "debug"}}, loaded.rules)
    assert result.values == {
        "ingress": {"hosts": [{"host": "a", "paths": [{"path": "/api",
                                                       "pathType": "ImplementationSpecific"}]}]},
        "env": [{"name": "LOG", "value": "debug"}]}


def test_a_new_module_holds_the_convert_functions_above_its_rules(tmp_path: Path) -> None:
    path = tmp_path / "legacy_web_v0.py"
    text = apply_suggestions(path, [SUGGESTED[0], SHAPED])
    assert "from migrator.mapping import convert, rename\n" in text
    path.write_text(text, encoding="utf-8")
    (loaded,) = load_mappings(tmp_path)
    assert [(r.kind, r.source) for r in loaded.rules] == [
        ("rename", "deployment.replicas"), ("convert", "ingress.hosts")]
    assert apply_suggestions(path, [SUGGESTED[0], SHAPED]) == text


def test_every_generated_module_passes_the_linter(tmp_path: Path) -> None:
    path = tmp_path / "legacy_web_v0.py"
    path.write_text(apply_suggestions(path, [SUGGESTED[0], SHAPED, NESTED, ENV]),
                    encoding="utf-8")
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated",
                           "--line-length", "100", "--select", "E,F,W,I,UP,B,SIM", str(path)],
                          capture_output=True, text=True, check=False)
    assert lint.returncode == 0, lint.stdout


def test_the_report_shows_the_convert_rule_and_its_function() -> None:
    text = render_report([SHAPED, dataclasses.replace(suggestion("ingress.tls", None),
                                                      shape=True, why="no rule fits")])
    assert ("1 rule proposed, 1 key without a target (0 unmapped keys in all, 2 values of "
            "another shape)") in text
    assert '`convert("ingress.hosts", "ingress.hosts", ingress_hosts_reshaped)`' in text
    assert "```python\ndef ingress_hosts_reshaped(value: object) -> object:" in text


def test_a_convert_rule_suggested_from_a_real_plan_unblocks_its_charts(tmp_path: Path) -> None:
    sources = demo.build_central(tmp_path / "central")
    fleet_dir = tmp_path / "fleet"
    hosts = ("  hosts:\n    - host: chart-example.local\n      paths:\n        - path: /\n"
             "          pathType: ImplementationSpecific\n")
    for name in ("orders", "billing"):
        files = {f"chart/{rel}": text for rel, text in demo.fork_chart(
            demo.central_chart_dir() / "1.2.0", name, "1.0.0").items()}
        assert hosts in files["chart/values.yaml"]
        files["chart/values.yaml"] = files["chart/values.yaml"].replace(
            hosts, f"  hosts:\n    - {name}.example.com\n")
        demo.write_repo(fleet_dir / name, [demo.Commit("Fork app-template 1.2.0", files)])
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    shutil.copy(SHIPPED / "app_template_v1.py", mappings / "app_template_v1.py")

    plan = _plan(fleet_dir, sources.repo_dir, mappings, tmp_path / "out1")
    assert {c.outcome.kind for r in plan.repos for c in r.charts} == {Kind.VALUES_SHAPE}
    found = suggest(plan, load_central_defaults(plan), load_mappings(mappings))
    assert [(s.rule, s.source, s.repos) for s in found] == [("convert", "ingress.hosts", 2)]
    for path, text in module_sources(mappings, found).items():
        path.write_text(text, encoding="utf-8")

    again = _plan(fleet_dir, sources.repo_dir, mappings, tmp_path / "out2")
    assert Kind.VALUES_SHAPE not in {c.outcome.kind for r in again.repos for c in r.charts}
    for repo_plan in again.repos:
        chart = repo_plan.charts[0]
        assert chart.values is not None
        [host] = chart.values.base["ingress"]["hosts"]
        assert host["host"] == f"{repo_plan.repo.name}.example.com" and host["paths"]


def test_two_reshapings_of_one_source_are_both_written_once(module: Path) -> None:
    module.write_text(apply_suggestions(module, [SHAPED, NESTED]), encoding="utf-8")
    text = module.read_text(encoding="utf-8")
    assert text.count('convert("ingress.hosts", "ingress.hosts",') == 2
    assert apply_suggestions(module, [SHAPED, NESTED]) == text
    (loaded,) = load_mappings(module.parent)
    result = translate({"ingress": {"hosts": ["a", {"host": "b", "paths": ["/b"]}]}},
                       loaded.rules)
    assert mismatches(result.values, CENTRAL_SHAPES) == []


def test_forks_holding_one_path_in_different_shapes_get_a_suggestion_each(
        shipped: tuple[Mapping, ...]) -> None:
    plan = fleet(repo("orders", shape_chart("app-template", "1.2.0", {"env": {"A": "b"}})),
                 repo("billing", shape_chart("app-template", "1.2.0", {"env": "production"})))
    found = suggest(plan, CENTRAL_SHAPES, shipped)
    assert sorted((s.examples, s.source, s.rule, s.target) for s in found) == [
        (("billing",), "env", "convert", None), (("orders",), "env", "convert", "env")]
