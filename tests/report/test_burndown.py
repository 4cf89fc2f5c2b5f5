"""The campaign's numbers from a hand-made history: merged vs remaining per day, the median
time to merge, the merge requests open the longest."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from migrator.history import Observation
from migrator.report.burndown import Day, campaign


def at(day: int, hour: int = 12) -> float:
    return datetime(2024, 5, day, hour, tzinfo=UTC).timestamp()


def seen(taken: float, repo: str, state: str, **kw: str) -> Observation:
    return Observation(taken=taken, repo=repo, state=state, **kw)  # type: ignore[arg-type]


URL = "https://gitlab.example.com/{}/-/merge_requests/1"

# Four repos followed over five days; no run on the 4th; two runs on the 3rd.
HISTORY = (
    seen(at(1), "a", "open", created_at="2024-05-01T08:00:00Z", web_url=URL.format("a")),
    seen(at(1), "b", "draft", created_at="2024-04-28T12:00:00Z", web_url=URL.format("b")),
    seen(at(1), "c", "none"),
    seen(at(1), "d", "open", created_at="2024-04-30T12:00:00Z", web_url=URL.format("d")),
    seen(at(2), "a", "merged", created_at="2024-05-01T08:00:00Z",
         merged_at="2024-05-02T08:00:00Z"),
    seen(at(2), "b", "draft", created_at="2024-04-28T12:00:00Z", web_url=URL.format("b")),
    seen(at(2), "c", "open"),  # GitLab gave no dates: the history's own times are used
    seen(at(2), "d", "open", created_at="2024-04-30T12:00:00Z", web_url=URL.format("d")),
    seen(at(3, 9), "d", "unknown"),  # GitLab failed on it: the day keeps "open"
    seen(at(3, 18), "c", "merged"),
    seen(at(5), "d", "merged", created_at="2024-04-30T12:00:00Z",
         merged_at="2024-05-05T00:00:00Z"),
)


def test_merged_and_remaining_per_calendar_day() -> None:
    found = campaign(HISTORY)
    assert found is not None
    assert found.days == (
        Day(date(2024, 5, 1), merged=0, remaining=4),
        Day(date(2024, 5, 2), merged=1, remaining=3),
        Day(date(2024, 5, 3), merged=2, remaining=2),
        Day(date(2024, 5, 4), merged=2, remaining=2),  # no run: the day before, again
        Day(date(2024, 5, 5), merged=3, remaining=1),
    )
    assert found.latest == {"merged": 3, "draft": 1}
    assert found.as_of == datetime(2024, 5, 5, 12, tzinfo=UTC)


def test_median_time_to_merge_uses_gitlab_times_else_the_history() -> None:
    found = campaign(HISTORY)
    assert found is not None
    # a: 24 h (GitLab); c: seen open on the 2nd at noon, merged on the 3rd at 18:00 = 30 h;
    # d: 4.5 days (GitLab). The median of 24 h, 30 h, 108 h is 30 h.
    assert found.timed_merges == 3
    assert found.median_to_merge == timedelta(hours=30)


def test_the_oldest_open_merge_requests_with_their_age() -> None:
    found = campaign(HISTORY[:8])  # as of the 2nd: b (draft) and d are open, c since the 2nd
    assert found is not None
    assert [(m.repo, m.state, m.web_url) for m in found.oldest_open] == [
        ("b", "draft", URL.format("b")), ("d", "open", URL.format("d")), ("c", "open", None)]
    assert found.oldest_open[0].age == timedelta(days=4)
    assert found.oldest_open[2].age == timedelta(0)
    first = campaign(HISTORY[:8], oldest=1)
    assert first is not None and [m.repo for m in first.oldest_open] == ["b"]


def test_a_repo_with_nothing_to_migrate_counts_only_once_it_had_a_merge_request() -> None:
    history = (seen(at(1), "a", "open"), seen(at(1), "docs", "none"), seen(at(1), "old", "none"),
               seen(at(2), "a", "open"), seen(at(2), "docs", "none"),
               seen(at(2), "old", "merged"))
    found = campaign(history, not_migrated={"docs", "old"})
    assert found is not None
    # "old" was merged, so it is planned skipped now: it still counts, "docs" never did
    assert [(d.merged, d.remaining) for d in found.days] == [(0, 2), (1, 1)]


def test_no_history_is_no_campaign() -> None:
    assert campaign(()) is None
    assert campaign((seen(at(1), "docs", "none"),), not_migrated={"docs"}) is None


def test_without_a_known_start_a_merge_is_not_timed() -> None:
    found = campaign((seen(at(1), "a", "merged"),))
    assert found is not None
    assert found.median_to_merge is None and found.timed_merges == 0


def test_runs_that_only_repeat_the_history_change_nothing_drawn() -> None:
    repeated = HISTORY + tuple(
        Observation(taken=o.taken + 3600 * k, repo=o.repo, state=o.state, web_url=o.web_url,
                    created_at=o.created_at, merged_at=o.merged_at)
        for k in (1, 2) for o in HISTORY if o.taken == at(2))
    assert campaign(repeated) == campaign(HISTORY)
