"""Keep only the values that really differ: a three-way comparison, like a merge.

origin  = the template version the fork came from (lineage), in the target's keys
fork    = the fork's effective values (chart defaults + an environment's files), target's keys
central = the central chart's defaults at the target version

fork vs origin | central vs origin | meaning                         | action
same           | same              | nobody touched it               | nothing to write
changed        | any               | the team's deliberate choice    | keep (unless = central)
same           | changed           | inherited default since improved| pin (default) or adopt

Absent is not null: a key the fork does not have takes the central default (see `_absent`); an
explicit `key: null` in a fork's file is a deletion, and is written.

Everything here is pure: plain dicts in, a ValuesPlan out.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from migrator import tree
from migrator.mapping import Rule, translate
from migrator.model import ValueDecision, ValueReason, ValuesPlan
from migrator.tree import MISSING

Policy = Literal["pin", "adopt"]
_NOT_WRITTEN = ("equal-default", "unmapped", "inherited-adopted")


@dataclass(frozen=True)
class ValuesInputs:
    fork_defaults: dict[str, Any]  # the fork chart's values.yaml, as Helm reads it
    env_user: dict[str, dict[str, Any]]  # env -> its values files merged (nulls kept)
    origin_defaults: dict[str, Any] | None  # None when lineage found no origin
    central_defaults: dict[str, Any]
    rules: Sequence[Rule] = ()  # mapping rules from the origin's keys to the target's
    fork_name: str = ""
    central_name: str = ""
    fork_app_version: str | None = None
    policy: Policy = "pin"
    name_key: str = "nameOverride"  # what the central chart offers to keep names
    app_version_key: str = "image.tag"  # what decides the app version in the central chart
    flag_paths: frozenset[str] = field(default_factory=frozenset)  # set by --set in every env
    # The central chart's templates: which keys they read by name (see `_absent`)
    central_templates: Mapping[str, str] = field(default_factory=dict)


def plan_values(inputs: ValuesInputs) -> ValuesPlan:
    central = inputs.central_defaults
    origin = None
    if inputs.origin_defaults is not None:
        origin = translate(inputs.origin_defaults, inputs.rules).values
    reads = read_by_name(inputs.central_templates)
    base_tr = translate(inputs.fork_defaults, inputs.rules)
    base, base_decisions = three_way(base_tr.values, origin, central, inputs.policy, reads)
    renames = {new: old for old, new in base_tr.renamed}
    pins = _identity_and_metadata(inputs, base_tr.values)
    for path, value, _ in pins:
        tree.put(base, path, value)
    env_full: dict[str, dict[str, Any]] = {}
    env_decisions: dict[str, list[ValueDecision]] = {}
    for env, user in inputs.env_user.items():
        # A user's `null` stays (tree.merge, not tree.coalesce): an explicit deletion that the
        # migrated values repeat, where a key absent from the fork takes the central default.
        effective = tree.merge(inputs.fork_defaults, user)
        tr = translate(effective, inputs.rules)
        renames.update({new: old for old, new in tr.renamed})
        full, decisions = three_way(tr.values, origin, central, inputs.policy, reads)
        for path, value, _ in pins:
            if tree.get(full, path) is MISSING:
                tree.put(full, path, value)
        env_full[env] = full
        env_decisions[env] = decisions
    if env_full and set(env_full) != {"default"}:
        base = _push_down_conflicts(base, list(env_full.values()))
    envs = {env: overlay(full, base, central) for env, full in env_full.items()}
    written = _written(base)
    pinned = {d.path for _, _, d in pins}
    decisions = [d for d in _with_source(base_decisions, renames)
                 if (d.reason in _NOT_WRITTEN and d.path not in pinned)
                 or (d.reason not in _NOT_WRITTEN and d.path in written)]
    decisions.extend(d for _, _, d in pins)
    seen = {(d.path, d.reason, _key(d.value)) for d in decisions}
    for env, env_list in env_decisions.items():
        env_written = _written(envs[env])
        for d in _with_source(env_list, renames):
            if d.path in env_written or (
                    d.reason in _NOT_WRITTEN and d.path not in pinned
                    and (d.path, d.reason, _key(d.value)) not in seen):
                decisions.append(_replace(d, env=env))
    if "default" in envs and not envs["default"]:
        envs.pop("default")
    return ValuesPlan(base=base, envs={e: v for e, v in envs.items() if v},
                      decisions=tuple(decisions))


def _written(values: dict[str, Any]) -> set[str]:
    """The dotted paths a file holds: its leaves and the maps above them (a map decided as a
    whole, `replicas: {api: 1}` where the central default is a number, is written)."""
    out: set[str] = set()
    for path, _ in tree.leaves(values):
        out.update(tree.dotted(path[:i]) for i in range(1, len(path) + 1))
    return out


def _key(value: Any) -> str:
    return repr(value)


def _replace(d: ValueDecision, **changes: Any) -> ValueDecision:
    return ValueDecision(**{**d.__dict__, **changes})


def _with_source(decisions: Sequence[ValueDecision], renames: Mapping[str, str]
                 ) -> list[ValueDecision]:
    out = []
    for d in decisions:
        source = next((old + d.path[len(new):] for new, old in renames.items()
                       if d.path == new or d.path.startswith(new + ".")), None)
        out.append(_replace(d, source=source) if source else d)
    return out


def read_by_name(templates: Mapping[str, str]) -> frozenset[str] | None:
    """Every key name a chart's templates read as a field (`.Values.service.type`, `.type`
    after `with`), or None when the templates are not known."""
    if not templates:
        return None
    names: set[str] = set()
    for text in templates.values():
        for action in _ACTION.findall(text):
            names.update(_FIELD.findall(action))
    return frozenset(names)


_ACTION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_FIELD = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)")


def three_way(fork: dict[str, Any], origin: dict[str, Any] | None, central: dict[str, Any],
              policy: Policy = "pin", central_reads: frozenset[str] | None = None
              ) -> tuple[dict[str, Any], list[ValueDecision]]:
    """The sparse values to write so the central chart gets the fork's values, and why.
    `central_reads`: the key names the central templates read by name (`read_by_name`)."""
    out: dict[str, Any] = {}
    decisions: list[ValueDecision] = []
    _walk(fork, origin if origin is not None else MISSING, central, (), False,
          origin is not None, policy, out, decisions, central_reads)
    return out, decisions


def _walk(fork: dict[str, Any], origin: Any, central: Any, path: tree.Path, free: bool,
          has_origin: bool, policy: Policy, out: dict[str, Any],
          decisions: list[ValueDecision], reads: frozenset[str] | None = None) -> None:
    for key, fv in fork.items():
        p = (*path, str(key))
        cv = central.get(key, MISSING) if isinstance(central, dict) else MISSING
        ov = origin.get(key, MISSING) if isinstance(origin, dict) else MISSING
        dotted = tree.dotted(p)
        if isinstance(fv, dict) and fv and (isinstance(cv, dict) or cv is MISSING):
            child_free = free or (isinstance(cv, dict) and not cv)
            _walk(fv, ov, cv, p, child_free, has_origin, policy, out, decisions, reads)
            continue
        if isinstance(fv, dict) and not fv and isinstance(cv, dict):
            _empty_map(fv, ov, cv, p, has_origin, policy, out, decisions)
            continue
        if fv is None and cv is MISSING:
            continue  # deletes nothing the central chart has
        if cv is not MISSING and tree.same(fv, cv):
            decisions.append(ValueDecision(dotted, "equal-default", fv, central_value=cv))
        elif cv is MISSING and not free:
            decisions.append(ValueDecision(dotted, "unmapped", fv,
                                           note="the central chart has no such key"))
        elif has_origin and ov is not MISSING and tree.same(fv, ov):
            reason: ValueReason = "inherited-pinned" if policy == "pin" else "inherited-adopted"
            if policy == "pin":
                tree.put(out, p, copy.deepcopy(fv))
            decisions.append(ValueDecision(dotted, reason, fv, origin_value=ov,
                                           central_value=None if cv is MISSING else cv))
        else:
            tree.put(out, p, copy.deepcopy(fv))
            decisions.append(ValueDecision(
                dotted, "deliberate", fv,
                origin_value=None if ov is MISSING else ov,
                central_value=None if cv is MISSING else cv))
    _absent(fork, origin, central, path, out, decisions, reads)


def _absent(fork: dict[str, Any], origin: Any, central: Any, path: tree.Path,
            out: dict[str, Any], decisions: list[ValueDecision],
            reads: frozenset[str] | None) -> None:
    """Keys the central chart has and the fork does not: absent is not null.

    A key absent from the fork (a trimmed file, an older scaffold) takes the central default,
    whatever the origin had; only an explicit `key: null` deletes one. Nulling a map is what
    broke central templates (`nil pointer evaluating interface {}.create`): a map never is, nor
    a key the central templates read by name (`contains "NodePort" .Values.service.type` fails
    on a null).
    One case keeps the fork's meaning only as a deletion: a value its origin had, missing from
    a map the fork sets and the central templates pass along whole (`toYaml` of a
    `livenessProbe` without `initialDelaySeconds`). That map is the fork's whole definition,
    which Helm would now merge with the central map; the key the team's map lacks is deleted,
    where the central default would add something (a non-empty value).
    """
    if (not path or reads is None or not isinstance(central, dict)
            or not isinstance(origin, dict)):
        return
    for key, cv in central.items():
        ov = origin.get(key, MISSING)
        if key in fork or ov is MISSING or isinstance(cv, dict) or isinstance(ov, dict):
            continue
        if cv in (None, "", [], False, 0) or key in reads:
            continue  # the default adds nothing a deletion would take away, or a template
            # reads it by name and may not take a null
        p = (*path, str(key))
        tree.put(out, p, None)
        decisions.append(ValueDecision(
            tree.dotted(p), "deliberate", None, origin_value=ov, central_value=cv,
            note=f"not in the fork's `{tree.dotted(path)}` (its origin had it): deleted so that "
                 "the map stays the team's"))


def _empty_map(fv: dict[str, Any], ov: Any, cv: dict[str, Any], p: tree.Path, has_origin: bool,
               policy: Policy, out: dict[str, Any], decisions: list[ValueDecision]) -> None:
    """An empty map changes nothing in Helm, unless the central chart filled it since."""
    if not cv:
        return
    inherited = has_origin and isinstance(ov, dict) and not ov
    if inherited and policy == "adopt":
        decisions.append(ValueDecision(tree.dotted(p), "inherited-adopted", {}, origin_value={},
                                       central_value=cv))
        return
    for sub in cv:
        tree.put(out, (*p, str(sub)), None)
    decisions.append(ValueDecision(
        tree.dotted(p), "inherited-pinned" if inherited else "deliberate",
        {str(sub): None for sub in cv}, origin_value=None if ov is MISSING else ov,
        central_value=cv, note="empty in the fork; the central chart sets defaults here"))


def _identity_and_metadata(inputs: ValuesInputs, fork: dict[str, Any]
                           ) -> list[tuple[tree.Path, Any, ValueDecision]]:
    """Values that keep what the fork's chart *metadata* decided: its name and appVersion."""
    pins: list[tuple[tree.Path, Any, ValueDecision]] = []
    central = inputs.central_defaults
    name_path = tree.undotted(inputs.name_key)
    if (inputs.fork_name and inputs.fork_name != inputs.central_name
            and tree.get(central, name_path) is not MISSING
            and not tree.get(fork, name_path, None)):
        pins.append((name_path, inputs.fork_name, ValueDecision(
            inputs.name_key, "identity", inputs.fork_name,
            note=f"keeps resource names and selector labels ({inputs.fork_name}, "
                 f"not {inputs.central_name})")))
    tag_path = tree.undotted(inputs.app_version_key)
    if (inputs.fork_app_version and tree.get(central, tag_path) is not MISSING
            and not tree.get(fork, tag_path, None)
            and inputs.app_version_key not in inputs.flag_paths):
        pins.append((tag_path, inputs.fork_app_version, ValueDecision(
            inputs.app_version_key, "metadata", inputs.fork_app_version,
            note="the fork took it from its appVersion, which the central chart does not know")))
    return pins


def _push_down_conflicts(base: dict[str, Any], envs: Sequence[dict[str, Any]]
                         ) -> dict[str, Any]:
    """Drop from the base file what some environment wants back at the central default.

    Every deploy passes an environment file, so such a value moves into the environments that
    keep it, and no written file has to spell out a central default.
    """
    out = copy.deepcopy(base)
    env_leaves = [dict(tree.leaves(e)) for e in envs]
    for path, _ in list(tree.leaves(base)):
        if any(not _covers(flat, path) for flat in env_leaves):
            tree.delete(out, path)
    return out


def _covers(flat: Mapping[tree.Path, Any], path: tree.Path) -> bool:
    return path in flat or any(p[:len(path)] == path for p in flat)


def overlay(full: dict[str, Any], base: dict[str, Any], central: dict[str, Any]
            ) -> dict[str, Any]:
    """What an environment file must hold so that base + it gives `full` over the central."""
    out: dict[str, Any] = {}
    flat_full = dict(tree.leaves(full))
    flat_base = dict(tree.leaves(base))
    for path, value in flat_full.items():
        if path not in flat_base or not tree.same(flat_base[path], value):
            tree.put(out, path, copy.deepcopy(value))
    for path in flat_base:
        if _covers(flat_full, path) or any(path[:i] in flat_full for i in range(1, len(path))):
            continue
        restored = tree.get(central, path)
        tree.put(out, path, None if restored is MISSING else copy.deepcopy(restored))
    return out
