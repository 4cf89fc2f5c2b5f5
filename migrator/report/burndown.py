"""The campaign in numbers, from the history `status` runs leave: merged vs remaining per day,
the median time to merge, and the merge requests open the longest.

A day's numbers are each repo's last known state at the end of that day (UTC): a run that could
not ask GitLab about a repo (`unknown`) keeps what the runs before it saw, and a day without
any run repeats the day before, so the axis is calendar days, not runs.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from migrator.history import MR_STATES, MrState, Observation, compact

OPEN_STATES: tuple[MrState, ...] = ("open", "draft")


@dataclass(frozen=True)
class Day:
    day: date
    merged: int
    remaining: int  # open, draft, closed, no MR yet, or never answered for

    @property
    def total(self) -> int:
        return self.merged + self.remaining


@dataclass(frozen=True)
class OpenMr:
    repo: str
    web_url: str | None
    state: MrState  # "open" or "draft"
    since: datetime  # created_at, or when a run first saw it open when GitLab did not say
    age: timedelta


@dataclass(frozen=True)
class Campaign:
    days: tuple[Day, ...]
    as_of: datetime  # the last run
    latest: dict[MrState, int]  # repos by their last known state
    median_to_merge: timedelta | None
    timed_merges: int  # the merges the median is over (both ends known)
    oldest_open: tuple[OpenMr, ...]


def campaign(observed: Sequence[Observation], *, not_migrated: Collection[str] = (),
             oldest: int = 5) -> Campaign | None:
    """The campaign of these observations; None when there is none.

    `not_migrated`: repos the plan leaves alone (nothing to migrate); they count only once they
    have had a merge request (a merged repo is planned `skipped` afterwards: it still counts).
    """
    had_mr = {o.repo for o in observed if o.state not in ("none", "unknown")}
    observed = compact(o for o in observed if o.repo not in not_migrated or o.repo in had_mr)
    if not observed:
        return None
    first, last = _day(observed[0].taken), _day(observed[-1].taken)
    days: list[Day] = []
    state: dict[str, MrState] = {}
    i = 0
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        while i < len(observed) and _day(observed[i].taken) <= day:
            o = observed[i]
            if o.state != "unknown" or o.repo not in state:
                state[o.repo] = o.state
            i += 1
        merged = sum(s == "merged" for s in state.values())
        days.append(Day(day, merged, len(state) - merged))
    as_of = datetime.fromtimestamp(observed[-1].taken, UTC)
    by_repo: dict[str, list[Observation]] = {}
    for o in observed:
        by_repo.setdefault(o.repo, []).append(o)
    durations = [d for d in map(_time_to_merge, by_repo.values()) if d is not None]
    return Campaign(
        days=tuple(days),
        as_of=as_of,
        latest={s: n for s in MR_STATES if (n := sum(v == s for v in state.values()))},
        median_to_merge=(timedelta(seconds=statistics.median(d.total_seconds()
                                                              for d in durations))
                         if durations else None),
        timed_merges=len(durations),
        oldest_open=_oldest_open(by_repo, state, as_of)[:oldest],
    )


def _time_to_merge(mine: Sequence[Observation]) -> timedelta | None:
    merged = [o for o in mine if o.state == "merged"]
    if not merged:
        return None
    latest = merged[-1]
    end = _when(latest.merged_at) or _seen(merged[0])
    start = _when(latest.created_at) or next(
        (_seen(o) for o in mine if o.state in OPEN_STATES), None)
    if start is None or end < start:
        return None
    return end - start


def _oldest_open(by_repo: dict[str, list[Observation]], state: dict[str, MrState],
                 as_of: datetime) -> tuple[OpenMr, ...]:
    found = []
    for repo, now in state.items():
        if now not in OPEN_STATES:
            continue
        mine = [o for o in by_repo[repo] if o.state in OPEN_STATES]
        latest = mine[-1]
        since = _when(latest.created_at) or _seen(mine[0])
        found.append(OpenMr(repo, latest.web_url, now, since, max(as_of - since, timedelta())))
    return tuple(sorted(found, key=lambda m: (m.since, m.repo)))


def _day(taken: float) -> date:
    return datetime.fromtimestamp(taken, UTC).date()


def _seen(o: Observation) -> datetime:
    return datetime.fromtimestamp(o.taken, UTC)


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
