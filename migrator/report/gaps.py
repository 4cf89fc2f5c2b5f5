"""The fleet's gap report as files: `central-gaps.md` for the central chart's maintainers and
`central-gaps.json` for tools (versioned schema, stable names: the kinds of central/kinds.py;
published as schemas/central-gaps.schema.json).

What it says is computed in central/gaps.py; this module only renders it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from migrator.central.gaps import Example, Gaps, KindGap, Step
from migrator.central.kinds import setting
from migrator.model import CentralValue
from migrator.report.common import scrub_text

GAPS_SCHEMA = 1
GAPS_MD = "central-gaps.md"
GAPS_JSON = "central-gaps.json"
_ROWS = 25  # repos named per cell before "and N more"


def gaps_json(g: Gaps) -> dict[str, Any]:
    return {
        "schema": GAPS_SCHEMA,
        "central": g.central,
        "target_version": g.target_version,
        "repos": {"total": g.repos, "blocked": g.blocked, "review": g.review,
                  "movable": g.movable, "held": len(g.held)},
        "unblock_order": [
            {"add": s.feature, "kinds": list(s.kinds), "moves": list(s.moved),
             "cumulative": s.cumulative, "features": [x.feature for x in g.order[:i + 1]],
             "mapping_at_target": list(s.mapping)}
            for i, s in enumerate(g.order)],
        "kinds": [_kind_json(k) for k in g.kinds],
        "held": [{"repo": h.repo, "why": list(h.why)} for h in g.held],
    }


def _kind_json(k: KindGap) -> dict[str, Any]:
    return {
        "kind": k.kind,
        "feature": k.feature,
        "coverable": k.coverable,
        "blocks": {"repos": list(k.blocked_repos), "charts": list(k.blocked_charts)},
        "seen": {"repos": list(k.seen_repos), "charts": list(k.seen_charts)},
        "items": k.items,
        "expressed_by": [{"key": v.key, "setting": v.setting, "versions": list(v.versions),
                          "at_target": v.key in k.at_target} for v in k.expressed_by],
        "expressed_items": k.expressed_items,
        "examples": [{"repo": e.repo, "chart": e.chart, "resource": e.resource,
                      "paths": [scrub_text(p) for p in e.paths], "where": e.where}
                     for e in k.examples],
    }


def gaps_markdown(g: Gaps, plan_id: str = "") -> str:
    plan = f"plan `{plan_id}` · " if plan_id else ""
    out = [f"# What the central chart must learn: {g.central} {g.target_version}", "",
           f"{plan}{g.repos} repos: {g.blocked} blocked, {g.review} review. Every count comes "
           "from the repos' classified differences: a blocked repo moves once every kind that "
           "blocks it is covered, and only if nothing else holds it.", ""]
    out += ["## Unblock order", ""]
    if not g.order:
        out += ["No blocked repo can move by adding central-chart features."
                if g.blocked else "No repo is blocked."]
    else:
        out += ["| step | add to the central chart | covers | repos that move | cumulative |",
                "| ---: | --- | --- | --- | ---: |"]
        for i, s in enumerate(g.order, 1):
            mapping = (f" (or map onto the target's {_codes(s.mapping)})" if s.mapping else "")
            out.append(f"| {i} | `{s.feature}`{mapping} | {_codes(s.kinds)} | "
                       f"{_names(s.moved)} | {s.cumulative} |")
        out += [""] + [f"- {cumulative_sentence(g.order[:i + 1])}" for i in range(len(g.order))]
    if g.held:
        out += ["", f"Held whatever the central chart adds ({len(g.held)} repo{_s(len(g.held))}:"
                " a change no value makes safe, a render failure, files still using the chart,"
                " ...; each repo's report says more):", ""]
        out += [f"- {h.repo}: {_codes(h.why)}" for h in g.held[:_ROWS]]
        if len(g.held) > _ROWS:
            out.append(f"- … and {len(g.held) - _ROWS} more (central-gaps.json lists them all)")
    out += ["", "## By kind", ""]
    if not g.kinds:
        out.append("Nothing to classify: no blocked or review chart differs.")
        return "\n".join(out) + "\n"
    out += ["| kind | blocks repos (charts) | seen in repos | a central value that already "
            "expresses it | what the central chart would add |",
            "| --- | ---: | ---: | --- | --- |"]
    for k in g.kinds:
        out.append(f"| `{k.kind}` | {len(k.blocked_repos)} ({len(k.blocked_charts)}) | "
                   f"{len(k.seen_repos)} | {expressed_words(k) or '—'} | "
                   f"{f'`{k.feature}`' if k.coverable else 'nothing generic: a person'} |")
    for k in g.kinds:
        out += ["", f"### `{k.kind}`", ""]
        if k.blocked_repos:
            out.append(f"Blocks {_names(k.blocked_repos)}.")
        else:
            out.append("Blocks no repo (seen in review charts, or beside what blocks).")
        if k.expressed_by:
            out.append(f"Could already be said with {expressed_words(k)}"
                       f"{': a mapping problem' if k.at_target else ''}"
                       f" ({k.expressed_items} of {k.items} item{_s(k.items)}).")
        out += ["", "Examples:", ""]
        out += [_example(e) for e in k.examples]
    return "\n".join(out) + "\n"


def _example(e: Example) -> str:
    what = " ".join(x for x in (e.resource or "",
                                ", ".join(f"`{scrub_text(p)}`" for p in e.paths[:3])) if x)
    at = f" at `{e.where}`" if e.where else ""
    return f"- {e.repo} `{e.chart}`: {what}{at}"


def cumulative_sentence(steps: Sequence[Step]) -> str:
    """ "add extraContainers + extraObjects: 41 repos can move" """
    n = steps[-1].cumulative if steps else 0
    return (f"add {' + '.join(s.feature for s in steps)}: {n} repo{_s(n)} can move")


def expressed_words(k: KindGap) -> str:
    return ", ".join(f"{setting(v)} ({_versions(v, k)})" for v in k.expressed_by)


def _versions(v: CentralValue, k: KindGap) -> str:
    span = v.versions[0] if len(v.versions) == 1 else f"{v.versions[0]} to {v.versions[-1]}"
    return f"{span}, the target has it" if v.key in k.at_target else span


def _codes(items: Sequence[str]) -> str:
    return ", ".join(f"`{i}`" for i in items) if items else "—"


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_ROWS])
    return shown + (f" and {len(items) - _ROWS} more" if len(items) > _ROWS else "") or "—"


def _s(n: int) -> str:
    return "" if n == 1 else "s"
