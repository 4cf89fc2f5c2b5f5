"""Plans survive a round trip through JSON unchanged."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from migrator import codec
from migrator.model import FleetPlan, Verdict


def test_a_whole_fleet_plan_round_trips_through_json(fleet_plan: FleetPlan) -> None:
    text = json.dumps(codec.dump(fleet_plan))
    again = codec.load(FleetPlan, json.loads(text))
    assert again == fleet_plan
    assert again.repos[0].verdict is fleet_plan.repos[0].verdict


@dataclass(frozen=True)
class _Node:
    name: str
    kind: Verdict | None = None
    children: tuple[_Node, ...] = ()
    pair: tuple[int, str] | None = None
    extra: dict[str, list[_Node]] = field(default_factory=dict)


def test_records_that_hold_records_of_their_own_type_load() -> None:
    """Each type's loader is made once and reused; a record type that refers to itself must
    not make its loader recurse forever."""
    tree = _Node("root", Verdict.READY, (_Node("a", pair=(1, "x")), _Node("b")),
                 extra={"more": [_Node("c", Verdict.BLOCKED)]})
    data = json.loads(json.dumps(codec.dump(tree)))
    assert codec.load(_Node, data) == tree
    assert codec.load(_Node, None) is None
