"""Which published version (or historical template family) a fork came from, how sure that is,
and whether the chart is a fork at all.

Every version of the central chart and of every family is a candidate. A fork is compared with
each one on three things (`compare`), each 0..1:

* **template lines** (weight 0.8): the fork's templates paired with the candidate's by name
  (or, when moved into a folder or renamed `.yml`/`.gotmpl`, by file name), helper names undone
  (see profile.py), and matched line by line: twice the matched lines over all lines of both. A
  template the fork added counts against every candidate alike. A template the candidate has and
  the fork lacks counts against the candidate (a fork without `httproute.yaml` is not a fork of a
  version that has it) unless the fork shows it deleted it: the template is one the candidate
  renders behind a values switch, and the fork's values still hold a key only that template
  reads (`serviceMonitor.*` without `servicemonitor.yaml`).
* **helper names** (0.1): the helpers the fork defines that some published chart defines,
  against the candidate's. One the fork defines and the candidate lacks counts fully against it
  (a fork defining `x.selectorLabels` is not a fork of a version that predates that helper); one
  the candidate defines and the fork lacks counts half (the team may have deleted it). Helpers
  only the fork has say nothing about its origin.
* **values keys** (0.1): the key paths of the fork's values.yaml against the candidate's: the
  family a fork came from shows in its keys (`image.repository` or one `image:` string). A chart
  without a values.yaml of its own (values kept beside it) leaves this out rather than scoring 0.

The best candidate is the origin. Ties (equal score, then equal values keys; the central chart
before a family) go to the **oldest** version: a fork cannot predate the features it uses, so
every version that explains it equally well has all of them; the oldest is the one whose later
additions the fork never had. Calling it the origin makes what came after it "added since" (the
central default, taken silently) instead of "removed by the team", which a newer origin would
wrongly claim.

A chart whose best score is below the threshold (`DEFAULT_MIN_LINEAGE`, `[central] min_lineage`,
`--min-lineage`) is not derived from anything known, and the pipeline skips it naming the closest
candidate. A chart without templates of its own (an umbrella that only pulls dependencies) scores
0: it is never a fork.

**Confidence** is the lesser of two shares. *Lead*: how far the origin is ahead of the runner-up,
as a share of what separates the two candidates themselves (one minus the runner-up's score
against the origin); 1 when the fork sides with the origin on everything that tells them apart,
0 on a tie. *Explained*: the share of the fork's template lines the origin accounts for; a fork
that mostly consists of its own templates has a certain origin but little of it left.

The default threshold, 0.42, comes from the scores of the real-world corpus (33 repos,
benchmarks/real_world.py, against the fixture central chart and family) and of the fixtures:
forks of the fixture versions score 0.95-1.0, `helm create` scaffolds of Helm 4 0.70-0.91, the
corpus' near-pristine scaffold forks 0.79-0.82, and forks that kept the scaffold but added their
own objects or cut it down 0.45-0.61. Below them: charts of older `helm create` eras (Helm 2
helpers and labels, no version of them in the catalog) 0.14-0.40, hand-written charts 0-0.39,
umbrella charts 0. 0.42 is the middle of the widest gap between 0.3 and 0.6 (0.398-0.451): no
chart of either side within 0.02 of it. Only one Helm 2 era chart (a 3-file scaffold, 0.47)
lands above it, as a fork whose verify then decides.
"""

from __future__ import annotations

import difflib
import functools
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from migrator.errors import ConfigError
from migrator.lineage.catalog import Catalog
from migrator.lineage.profile import Profile, profile
from migrator.model import Lineage, TemplateMatch
from migrator.verify.render import LoadedChart
from migrator.versions import version_key

DEFAULT_MIN_LINEAGE = 0.42
_TEXT, _HELPERS, _VALUES = 0.8, 0.1, 0.1


@dataclass(frozen=True)
class Similarity:
    """How a fork compares with one candidate."""

    score: float  # the weighted whole, 0..1
    text: float  # template lines
    helpers: float  # helper names
    values: float  # values keys
    explained: float  # share of the fork's template lines found in the candidate
    pairs: Mapping[str, str]  # fork template key -> the candidate's template key
    deleted: tuple[str, ...]  # candidate templates the fork shows it deleted


def compare_charts(fork: LoadedChart, candidate: LoadedChart) -> Similarity:
    """One fork against one chart, outside a catalog: every helper name counts."""
    return compare(profile(fork), profile(candidate))


def compare(fork: Profile, candidate: Profile,
            known_helpers: frozenset[str] | None = None, use_values: bool = True) -> Similarity:
    """`known_helpers`: the helper names some candidate defines (the fork's others are its own
    inventions and say nothing); None counts them all. `use_values=False` scores templates and
    helpers only, as for a fork without values.yaml."""
    pairs = _pairs(fork, candidate)
    matched = sum(_matched(fork.files[mine], candidate.files[theirs])
                  for mine, theirs in pairs.items())
    paired = set(pairs.values())
    deleted = tuple(key for key in sorted(candidate.files)
                    if key not in paired and _deleted(fork, candidate, key))
    theirs = sum(len(lines) for key, lines in candidate.files.items() if key not in deleted)
    mine = fork.line_count
    text = 2 * matched / (mine + theirs) if mine + theirs else 0.0
    mine_known = fork.helpers if known_helpers is None else fork.helpers & known_helpers
    helpers = _explains(mine_known, candidate.helpers)
    values = _overlap(fork.keys, candidate.keys)
    if not mine:
        score = 0.0  # no templates of its own: an umbrella, never a fork
    elif fork.keys and use_values:
        score = _TEXT * text + _HELPERS * helpers + _VALUES * values
    else:
        score = (_TEXT * text + _HELPERS * helpers) / (_TEXT + _HELPERS)
    return Similarity(score=score, text=text, helpers=helpers, values=values,
                      explained=matched / mine if mine else 0.0, pairs=pairs, deleted=deleted)


def find(fork: LoadedChart, catalog: Catalog) -> Lineage:
    """The closest published version, however far: the caller decides whether it is close
    enough to be the origin (`score` against its threshold)."""
    if not catalog.charts:
        raise ConfigError(f"{catalog.source}: no chart versions to compare forks with")
    mine = profile(fork)
    known = catalog.helpers()
    ranked = sorted(((compare(mine, catalog.profile(key), known), key) for key in catalog.charts),
                    key=lambda found: _rank(found, catalog.central))
    best, key = ranked[0]
    runner = ranked[1] if len(ranked) > 1 else None
    lead = 1.0 if runner is None else _lead(best, runner[0], key, runner[1], catalog, known,
                                            use_values=bool(mine.keys))
    return Lineage(
        chart=key[0], version=key[1], score=round(best.score, 4),
        templates=_template_matches(mine, catalog.profile(key), best.pairs),
        confidence=round(min(lead, best.explained), 4),
        runner_up=f"{runner[1][0]} {runner[1][1]}" if runner else None,
        lead=round(lead, 4), explained=round(best.explained, 4))


def _rank(found: tuple[Similarity, tuple[str, str]], central: str
          ) -> tuple[float, float, bool, str, tuple[tuple[int, str], ...]]:
    similarity, (name, version) = found
    return (-round(similarity.score, 4), -round(similarity.values, 4), name != central, name,
            version_key(version))


def _lead(best: Similarity, runner: Similarity, best_key: tuple[str, str],
          runner_key: tuple[str, str], catalog: Catalog, known: frozenset[str],
          use_values: bool) -> float:
    """How far the origin is ahead of the runner-up, against how far apart the two are; both
    on the fork's own scale (without values when the fork has none)."""
    apart = 1.0 - compare(catalog.profile(best_key), catalog.profile(runner_key), known,
                          use_values).score
    if apart <= 0.0:
        return 0.0  # the two candidates read the same: nothing tells the fork's origin apart
    return max(0.0, min(1.0, (best.score - runner.score) / apart))


def _pairs(fork: Profile, candidate: Profile) -> dict[str, str]:
    """Fork template -> candidate template: the same key, else the same file name when exactly
    one unpaired candidate template carries it (a template moved into a folder)."""
    pairs = {key: key for key in fork.files if key in candidate.files}
    free: dict[str, list[str]] = defaultdict(list)
    for key in candidate.files:
        if key not in pairs:
            free[key.rsplit("/", 1)[-1]].append(key)
    for key in fork.files:
        if key not in pairs:
            same = free.get(key.rsplit("/", 1)[-1], [])
            if len(same) == 1:
                pairs[key] = same.pop()
    return pairs


def _deleted(fork: Profile, candidate: Profile, key: str) -> bool:
    own = candidate.optional.get(key, frozenset())
    return any(k == path or k.startswith(f"{path}.") for path in own for k in fork.keys)


@functools.lru_cache(maxsize=1024)
def _matched(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """The lines of `a` and `b` that match, in order. Kept: a fleet's forks mostly hold their
    origin's templates unchanged, and the catalog's versions share most of theirs. Bounded
    lower than the distinct templates of a large fleet: each entry holds a template's lines,
    for as long as the worker runs."""
    if a == b:
        return len(a)  # what the matcher finds, without its quadratic search
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks())


def _explains(fork: frozenset[str], candidate: frozenset[str]) -> float:
    """A helper the fork defines and the candidate lacks counts fully against the candidate
    (the fork cannot predate what it uses); one the candidate defines and the fork lacks, half
    (the team may have deleted it)."""
    shared = len(fork & candidate)
    weight = shared + len(fork - candidate) + 0.5 * len(candidate - fork)
    return shared / weight if weight else 1.0


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    union = a | b
    return len(a & b) / len(union) if union else 1.0


def _template_matches(fork: Profile, origin: Profile, pairs: Mapping[str, str]
                      ) -> tuple[TemplateMatch, ...]:
    """Each of the fork's templates against its counterpart, as the report lists them: lines
    only stripped (a changed trim marker is a change), helper names undone."""
    out = []
    for key in sorted(fork.strict, key=lambda k: fork.paths[k]):
        theirs = pairs.get(key)
        if theirs is None:
            out.append(TemplateMatch(fork.paths[key], 0.0, None))
            continue
        a, b = fork.strict[key], origin.strict[theirs]
        total = len(a) + len(b)
        ratio = 1.0 if total == 0 else 2.0 * _matched(a, b) / total
        out.append(TemplateMatch(fork.paths[key], round(ratio, 4), origin.paths[theirs]))
    return tuple(out)
