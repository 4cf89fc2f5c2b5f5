"""Plans survive a round trip through JSON unchanged."""

from __future__ import annotations

import json

from migrator import codec
from migrator.model import FleetPlan


def test_a_whole_fleet_plan_round_trips_through_json(fleet_plan: FleetPlan) -> None:
    text = json.dumps(codec.dump(fleet_plan))
    again = codec.load(FleetPlan, json.loads(text))
    assert again == fleet_plan
    assert again.repos[0].verdict is fleet_plan.repos[0].verdict
