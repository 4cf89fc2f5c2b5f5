"""Which published version (or historical template family) a fork came from.

Each of the fork's templates is compared with the same-named template of every version the
central source publishes, after undoing the rename every fork made (its helpers are prefixed with
its own chart name). The version whose templates match best, line by line, is the origin.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

from migrator.lineage.catalog import Catalog
from migrator.model import Lineage, TemplateMatch
from migrator.verify.render import LoadedChart
from migrator.versions import version_key


def _normalize(source: str, name: str, canonical: str) -> list[str]:
    if name != canonical:
        source = re.sub(rf'(["\s(])({re.escape(name)})\.', rf"\g<1>{canonical}.", source)
    return [line.strip() for line in source.splitlines() if line.strip()]


def _ratio(a: list[str], b: list[str]) -> tuple[float, int]:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks())
    total = len(a) + len(b)
    return (1.0 if total == 0 else 2.0 * matched / total), matched


def compare(fork: LoadedChart, fork_name: str, candidate: LoadedChart) -> Lineage:
    canonical = candidate.name
    mine = {k: _normalize(v, fork_name, canonical) for k, v in _templates(fork).items()}
    theirs = {k: _normalize(v, canonical, canonical) for k, v in _templates(candidate).items()}
    matches: list[TemplateMatch] = []
    matched_lines = 0
    total_lines = 0
    for name in sorted(set(mine) | set(theirs)):
        a, b = mine.get(name), theirs.get(name)
        total_lines += len(a or []) + len(b or [])
        if a is None:
            continue  # a template the fork deleted only lowers the overall score
        if b is None:
            matches.append(TemplateMatch(name, 0.0, None))
            continue
        ratio, matched = _ratio(a, b)
        matched_lines += 2 * matched
        matches.append(TemplateMatch(name, round(ratio, 4), name))
    score = 1.0 if total_lines == 0 else matched_lines / total_lines
    return Lineage(chart=candidate.name, version=candidate.version, score=round(score, 4),
                   templates=tuple(matches))


def _templates(chart: LoadedChart) -> Mapping[str, str]:
    # NOTES.txt and test hooks never reach the cluster; they would only add noise.
    return {k: v for k, v in chart.templates.items()
            if not k.endswith("NOTES.txt") and "/tests/" not in k}


def find(fork: LoadedChart, fork_name: str, catalog: Catalog) -> Lineage | None:
    """The best-matching published version; ties go to the newest version."""
    best: Lineage | None = None
    best_values = -1.0
    for _key, candidate in sorted(
            catalog.charts.items(), key=lambda kv: (kv[0][0], version_key(kv[0][1]))):
        lineage = compare(fork, fork_name, candidate)
        # Templates decide; the shape of values.yaml breaks ties between identical templates.
        values_score = _key_overlap(fork.values, candidate.values)
        if best is None or (lineage.score, values_score) >= (best.score, best_values):
            best, best_values = lineage, values_score
    if best is None or best.score < 0.3:
        return None
    return best


def _key_overlap(a: Mapping[str, object], b: Mapping[str, object]) -> float:
    ka, kb = _paths(a), _paths(b)
    return len(ka & kb) / max(1, len(ka | kb))


def _paths(values: Mapping[str, object], prefix: str = "") -> set[str]:
    out: set[str] = set()
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        out.add(path)
        if isinstance(value, Mapping):
            out |= _paths(value, path)
    return out
