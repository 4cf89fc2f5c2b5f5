"""The published contracts: schemas/*.schema.json describe exactly what the tool writes.

Every document the fixture fleet's plan writes (and a sharded plan's, and their merge) is
validated with `jsonschema`, the reference implementation of JSON Schema. The closed sets the
schemas list (verdicts, outcome kinds, notice kinds, value reasons, ...) are compared with the
enums of migrator/model.py, and the plan state's records with the dataclasses themselves, so a
change on either side fails here instead of surprising a tool that reads the reports.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import json
import types
import typing
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import jsonschema
import pytest

from migrator import config
from migrator.central import kinds
from migrator.model import (
    REPORT_SCHEMA,
    DiffClass,
    FleetPlan,
    Kind,
    NoticeKind,
    ValueReason,
    Verdict,
)
from migrator.pipeline import fleet as pipeline
from migrator.report.common import DROPPED_REASONS, KEPT_REASONS
from migrator.report.gaps import GAPS_JSON, GAPS_SCHEMA
from migrator.report.json import fleet_json, repo_json
from migrator.report.planstate import STATE_FILE, STATE_SCHEMA, merge, save_state
from migrator.report.write import write_reports
from migrator.verify.kpi import KPI_NAMES

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
# document -> (schema file, the version its `schema` field carries)
DOCUMENTS = {
    "fleet.json": ("fleet.schema.json", REPORT_SCHEMA),
    "report.json": ("report.schema.json", REPORT_SCHEMA),
    STATE_FILE: ("plan-state.schema.json", STATE_SCHEMA),
    GAPS_JSON: ("central-gaps.schema.json", GAPS_SCHEMA),
}


def _schema(document: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMAS / DOCUMENTS[document][0]).read_text())
    return data


def _errors(document: str, data: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(_schema(document))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
            for e in validator.iter_errors(data)]


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _every_document(out: Path) -> Iterator[tuple[str, Path]]:
    """Each JSON document a plan wrote in `out`, with the name of its schema's document."""
    for name in ("fleet.json", STATE_FILE, GAPS_JSON):
        yield name, out / name
    reports = sorted(out.glob("repos/*/report.json"))
    assert reports, f"no repos/*/report.json in {out}"
    for path in reports:
        yield "report.json", path


def _assert_valid(out: Path) -> int:
    checked = 0
    for document, path in _every_document(out):
        errors = _errors(document, _load(path))
        assert errors == [], (str(path.relative_to(out)), errors[:10])
        checked += 1
    return checked


@pytest.fixture(scope="module")
def planned_out(fleet_plan: FleetPlan, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture fleet's plan (planned once per session) written as `plan` writes it."""
    out = tmp_path_factory.mktemp("schemas-out")
    write_reports(fleet_plan, out)
    save_state(fleet_plan, out)
    return out


# --- the schemas themselves ------------------------------------------------------------------


@pytest.mark.parametrize("document", DOCUMENTS)
def test_each_schema_is_a_draft_2020_12_schema_whose_id_and_const_name_its_version(
        document: str) -> None:
    schema = _schema(document)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    file, version = DOCUMENTS[document]
    assert schema["properties"]["schema"]["const"] == version
    assert schema["$id"] == f"urn:migrator:schema:{file.removesuffix('.schema.json')}:{version}"
    assert "schema" in schema["required"] and schema["additionalProperties"] is False


def test_the_schemas_share_their_common_definitions_word_for_word() -> None:
    """Each schema stands alone (a tool needs no resolver); the copies cannot drift apart."""
    defs = {document: _schema(document)["$defs"] for document in DOCUMENTS}
    shared: dict[str, list[str]] = {}
    for document, found in defs.items():
        for name in found:
            shared.setdefault(name, []).append(document)
    copies = {name: docs for name, docs in shared.items() if len(docs) > 1}
    assert {"verdict", "central", "differenceCounts", "customizationKind"} <= set(copies)
    for name, docs in copies.items():
        first = defs[docs[0]][name]
        assert all(defs[d][name] == first for d in docs), (name, docs)


# --- the closed sets follow model.py ---------------------------------------------------------


def _values(members: type[enum.Enum]) -> set[str]:
    return {m.value for m in members}


def test_the_verdicts_and_outcome_kinds_are_those_of_the_model() -> None:
    report = _schema("report.json")["$defs"]
    assert set(report["verdict"]["enum"]) == _values(Verdict)
    assert set(report["outcomeKind"]["enum"]) == _values(Kind)
    assert set(report["noticeKind"]["enum"]) == _values(NoticeKind)
    assert set(report["diffClass"]["enum"]) == _values(DiffClass)
    state = _schema(STATE_FILE)["$defs"]
    assert set(state["Kind"]["enum"]) == _values(Kind)
    assert set(state["NoticeKind"]["enum"]) == _values(NoticeKind)
    assert set(state["DiffClass"]["enum"]) == _values(DiffClass)
    gaps = _schema(GAPS_JSON)["$defs"]
    assert set(gaps["outcomeKind"]["enum"]) == _values(Kind)


def test_the_verdict_a_report_may_carry_is_the_one_its_outcome_kind_implies() -> None:
    rules = _schema("report.json")["$defs"]["verdictFollowsOutcome"]["allOf"]
    implied = {rule["if"]["properties"]["verdict"]["const"]:
               set(rule["then"]["properties"]["outcome"]["properties"]["kind"]["enum"])
               for rule in rules}
    assert implied == {v.value: {k.value for k in Kind if k.verdict is v} for v in Verdict}


def test_value_reasons_kpis_and_customization_kinds_are_those_of_the_code() -> None:
    report = _schema("report.json")["$defs"]
    assert set(report["valueReason"]["enum"]) == set(get_args(ValueReason))
    assert set(report["keptReason"]["enum"]) == set(KEPT_REASONS)
    assert set(report["droppedReason"]["enum"]) == set(DROPPED_REASONS)
    assert report["kpiName"]["enum"] == list(KPI_NAMES)
    named, prefixed = report["customizationKind"]["anyOf"]
    assert set(named["enum"]) == set(kinds.KINDS) - {kinds.EXTRA_OBJECT}
    assert prefixed["pattern"] == f"^{kinds.EXTRA_OBJECT}:.+$"
    assert set(report["differenceCounts"]["required"]) == _values(DiffClass)
    fleet = _schema("fleet.json")["properties"]
    assert set(fleet["summary"]["required"]) == _values(Verdict)
    assert fleet["kpis"]["required"] == list(KPI_NAMES)


# --- plan-state.json: the records of model.py, field for field -------------------------------

_ANY = "any"


def _hint_shape(hint: Any) -> frozenset[str]:
    """The JSON shapes codec.dump writes for a value of type `hint`."""
    origin = get_origin(hint)
    if hint is Any:
        return frozenset({_ANY})
    if origin in (typing.Union, types.UnionType):
        return frozenset().union(*(_hint_shape(a) for a in get_args(hint)))
    if origin is typing.Literal:
        return frozenset({"string"} if all(isinstance(a, str) for a in get_args(hint)) else {_ANY})
    if origin is tuple:
        (item, _) = get_args(hint)
        return frozenset({f"array of {sorted(_hint_shape(item))}"})
    if origin is dict:
        _, value = get_args(hint)
        return frozenset({f"object of {sorted(_hint_shape(value))}"})
    if hint is type(None):
        return frozenset({"null"})
    if isinstance(hint, type) and (dataclasses.is_dataclass(hint) or issubclass(hint, enum.Enum)):
        return frozenset({f"#/$defs/{hint.__name__}"})
    return frozenset({{str: "string", int: "integer", float: "number", bool: "boolean"}[hint]})


def _schema_shape(fragment: Any) -> frozenset[str]:
    """The same shapes, as a schema fragment admits them."""
    if fragment is True or fragment == {}:
        return frozenset({_ANY})
    if "$ref" in fragment:
        return frozenset({fragment["$ref"]})
    if "oneOf" in fragment or "anyOf" in fragment:
        return frozenset().union(*(_schema_shape(f)
                                   for f in fragment.get("oneOf", fragment.get("anyOf"))))
    if "enum" in fragment or "const" in fragment:
        names = {str: "string", type(None): "null", int: "integer"}
        return frozenset(names[type(v)] for v in fragment.get("enum", [fragment.get("const")]))
    declared = fragment["type"]
    shapes = set()
    for kind in [declared] if isinstance(declared, str) else declared:
        if kind == "array":
            shapes.add(f"array of {sorted(_schema_shape(fragment['items']))}")
        elif kind == "object":
            values = fragment.get("additionalProperties", {})
            shapes.add(f"object of {sorted(_schema_shape(values))}")
        else:
            shapes.add(kind)
    return frozenset(shapes)


def _records(root: type) -> dict[str, type]:
    """Every dataclass and enum reachable from `root` through its fields' type hints."""
    found: dict[str, type] = {}

    def visit(hint: Any) -> None:
        for arg in get_args(hint):
            visit(arg)
        if isinstance(hint, type) and (dataclasses.is_dataclass(hint)
                                       or issubclass(hint, enum.Enum)):
            if hint.__name__ in found:
                return
            found[hint.__name__] = hint
            if dataclasses.is_dataclass(hint):
                for field_hint in get_type_hints(hint).values():
                    visit(field_hint)

    visit(root)
    return found


def test_the_plan_state_schema_has_a_record_for_every_record_of_the_plan_and_nothing_else() -> None:
    defs = _schema(STATE_FILE)["$defs"]
    assert set(defs) == set(_records(FleetPlan))


@pytest.mark.parametrize("name", sorted(_records(FleetPlan)))
def test_each_plan_state_record_has_the_fields_and_types_of_its_dataclass(name: str) -> None:
    record = _records(FleetPlan)[name]
    schema = _schema(STATE_FILE)["$defs"][name]
    if issubclass(record, enum.Enum):
        assert set(schema["enum"]) == _values(record)
        return
    assert dataclasses.is_dataclass(record)
    hints = get_type_hints(record)
    fields = [f.name for f in dataclasses.fields(record)]
    assert list(schema["properties"]) == fields
    assert schema["required"] == fields and schema["additionalProperties"] is False
    for field in fields:
        assert _schema_shape(schema["properties"][field]) == _hint_shape(hints[field]), field
        if get_origin(hints[field]) is typing.Literal:
            assert set(schema["properties"][field]["enum"]) == set(get_args(hints[field]))


# --- what the fixture fleet's plan writes ----------------------------------------------------


def test_every_document_the_fixture_fleets_plan_writes_matches_its_schema(
        planned_out: Path, fleet_plan: FleetPlan) -> None:
    checked = _assert_valid(planned_out)
    assert checked == 3 + len(fleet_plan.repos)
    # the documents checked go through the schema's branches: one verdict after another
    verdicts = {r["verdict"] for r in _load(planned_out / "fleet.json")["repos"]}
    assert {"ready", "blocked", "skipped", "error"} <= verdicts, verdicts


def test_an_interrupted_plans_fleet_json_matches_its_schema(fleet_plan: FleetPlan) -> None:
    stopped = replace(fleet_plan, repos=fleet_plan.repos[:3],
                      unplanned=tuple(r.repo.name for r in fleet_plan.repos[3:]))
    data = fleet_json(stopped)
    assert data["interrupted"] is True and data["unplanned"]
    assert _errors("fleet.json", data) == []


def test_a_sharded_plan_and_its_merge_write_documents_that_match_their_schemas(
        plan_settings: config.PlanSettings, fleet_plan: FleetPlan, tmp_path: Path) -> None:
    """Planned as `plan --shard K/2` plans (the session's work dir: unchanged repos come from
    its plan cache), written as it writes, then joined by `report merge`."""
    shards = []
    for k in (1, 2):
        settings = replace(plan_settings, shard=(k, 2))
        shard = pipeline.plan_fleet(pipeline.discover(settings), settings)
        shards.append(tmp_path / f"shard-{k}")
        write_reports(shard, shards[-1])
        save_state(shard, shards[-1])
        _assert_valid(shards[-1])
    merged = merge(tmp_path / "merged", shards)
    assert len(merged.repos) == len(fleet_plan.repos)
    assert _assert_valid(tmp_path / "merged") == 3 + len(fleet_plan.repos)
    assert "+" in _load(tmp_path / "merged" / "fleet.json")["plan_id"]


# --- what the schemas refuse -----------------------------------------------------------------


def _a_report(fleet_plan: FleetPlan, verdict: Verdict) -> dict[str, Any]:
    plan = next(p for p in fleet_plan.repos if p.verdict is verdict and p.charts)
    return copy.deepcopy(repo_json(plan, fleet_plan.central))


def test_a_report_with_an_unknown_verdict_fails(fleet_plan: FleetPlan) -> None:
    report = _a_report(fleet_plan, Verdict.READY)
    assert _errors("report.json", report) == []
    report["verdict"] = "green"
    assert any(e.startswith("verdict:") for e in _errors("report.json", report))


def test_a_report_whose_verdict_contradicts_its_outcome_kind_fails(
        fleet_plan: FleetPlan) -> None:
    report = _a_report(fleet_plan, Verdict.BLOCKED)
    report["verdict"] = "ready"
    assert any(e.startswith("outcome/kind:") for e in _errors("report.json", report))
    chart = _a_report(fleet_plan, Verdict.READY)
    chart["charts"][0]["outcome"]["kind"] = Kind.STILL_USED.value
    assert any(e.startswith("charts/0/outcome/kind:") for e in _errors("report.json", chart))


def test_a_report_with_an_unknown_outcome_kind_or_notice_kind_fails(
        fleet_plan: FleetPlan) -> None:
    report = _a_report(fleet_plan, Verdict.READY)
    report["outcome"]["kind"] = "looks-fine"
    report["notices"].append({"kind": "gossip", "file": None, "line": None, "detail": "x"})
    errors = _errors("report.json", report)
    assert any(e.startswith("outcome/kind:") for e in errors)
    assert any(e.startswith("notices/") for e in errors)


def test_documents_missing_a_required_field_or_carrying_an_unknown_one_fail(
        planned_out: Path) -> None:
    fleet = _load(planned_out / "fleet.json")
    del fleet["summary"]
    assert any("'summary' is a required property" in e for e in _errors("fleet.json", fleet))
    state = _load(planned_out / STATE_FILE)
    del state["fleet"]["repos"][0]["outcome"]["kind"]
    state["fleet"]["repos"][1]["repo"]["token"] = "x"
    errors = _errors(STATE_FILE, state)
    assert any("'kind' is a required property" in e for e in errors)
    assert any("'token' was unexpected" in e for e in errors)
    gaps = _load(planned_out / GAPS_JSON)
    gaps["schema"] = GAPS_SCHEMA + 1
    assert any(e.startswith("schema:") for e in _errors(GAPS_JSON, gaps))
