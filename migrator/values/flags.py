"""Deploy-time `--set` flags as values: static ones move into the values files, dynamic ones
(`$CI_COMMIT_SHA`) stay flags and render as their literal text on both sides of a comparison."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from migrator import tree
from migrator.mapping import Rule, translate
from migrator.model import Environment, SetFlag
from migrator.verify import render


def static(flags: Sequence[SetFlag]) -> list[SetFlag]:
    return [f for f in flags if not f.dynamic and f.kind != "set-file"]


def dynamic(flags: Sequence[SetFlag]) -> list[SetFlag]:
    return [f for f in flags if f.dynamic]


def flag_paths(envs: Sequence[Environment]) -> frozenset[str]:
    """Keys every environment sets with dynamic --set flags (they stay flags)."""
    sets = [{f.key for f in dynamic(e.set_flags)} for e in envs]
    return frozenset(set.intersection(*sets)) if sets else frozenset()


def flag_values(flags: Sequence[SetFlag], rules: Sequence[Rule]) -> dict[str, Any]:
    """--set flags as values (in the target's keys when `rules` translate them)."""
    merged: dict[str, Any] = {}
    for flag in flags:
        if flag.kind == "set-file":
            continue
        # A run-time value (`$SHA`, skaffold's `{{.TAG}}`) renders as its own text: parsed
        # literally, so braces or commas in it are not read as Helm's list syntax.
        kind = "set-literal" if flag.dynamic else flag.kind
        merged = tree.merge(merged, render.parse_set(kind, f"{flag.key}={flag.value}"))
    return translate(merged, rules).values if rules else merged
