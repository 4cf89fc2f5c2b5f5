"""When a GitLab project's listing proves it unmoved since its clone was fetched
(pipeline/activity.py): the rule on its edges, the clone read from its files, and the journal's
record of a fetch."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from migrator import git
from migrator.journal import FetchRecord, Journal
from migrator.model import RepoRef
from migrator.pipeline.activity import (
    ACTIVITY_INTERVAL,
    CLOCK_SKEW,
    fetch_record,
    parse_stamp,
    unmoved_commit,
)
from migrator.pipeline.inputs import known_listed_commit
from migrator.workdir import WorkDir

URL = "https://gitlab.example.com/shop/orders.git"
COMMIT = "a" * 40
REPO = RepoRef(name="shop/orders", slug="shop-orders", url=URL, default_branch="main",
               project_id=7)
FETCHED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LATER = FETCHED + timedelta(days=1)
HELD = git.Head("main", COMMIT)


def _stamp(when: datetime) -> str:
    """GitLab's shape: milliseconds and `Z`."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _record(activity_age: timedelta, **changes: str | None) -> FetchRecord:
    record = fetch_record(REPO, COMMIT, _stamp(FETCHED - activity_age), FETCHED)
    assert record is not None
    return dataclasses.replace(record, **changes)


def _decide(record: FetchRecord | None, listed: str | None = None, repo: RepoRef = REPO,
            held: git.Head | None = HELD, origin: str | None = URL,
            now: datetime = LATER) -> str | None:
    if listed is None and record is not None:
        listed = record.activity
    return unmoved_commit(repo, listed, record, held, origin, now)


def test_a_stamp_old_enough_at_fetch_and_unchanged_since_gives_the_recorded_commit() -> None:
    assert _decide(_record(timedelta(days=3))) == COMMIT


def test_a_stamp_exactly_one_hour_old_at_fetch_is_not_enough_without_the_skew_margin() -> None:
    assert _decide(_record(ACTIVITY_INTERVAL)) is None


def test_the_margin_for_clock_skew_is_inclusive_to_the_millisecond() -> None:
    assert _decide(_record(ACTIVITY_INTERVAL + CLOCK_SKEW)) == COMMIT
    assert _decide(_record(ACTIVITY_INTERVAL + CLOCK_SKEW - timedelta(milliseconds=1))) is None


def test_a_recent_stamp_at_fetch_proves_nothing_since_a_push_may_not_have_moved_it() -> None:
    # GitLab did not move it for a push within the hour: the clone may be behind.
    assert _decide(_record(timedelta(minutes=10))) is None


def test_a_stamp_that_moved_since_the_fetch_means_a_fetch() -> None:
    record = _record(timedelta(days=3))
    assert _decide(record, listed=_stamp(FETCHED + timedelta(hours=2))) is None


def test_no_record_or_no_listed_stamp_means_a_fetch() -> None:
    assert _decide(None, listed=_stamp(FETCHED - timedelta(days=3))) is None
    assert unmoved_commit(REPO, None, _record(timedelta(days=3)), HELD, URL, LATER) is None


@pytest.mark.parametrize("stamp", ["", "yesterday", "2024-05-01T10:00:00",  # no offset
                                   "2024-13-01T10:00:00Z", "2024-05-01T10:00:00.000Zulu"])
def test_a_stamp_that_does_not_parse_with_its_offset_means_a_fetch(stamp: str) -> None:
    assert parse_stamp(stamp) is None
    # equal in the listing and the record, yet not to be trusted
    assert _decide(_record(timedelta(days=3), activity=stamp)) is None


def test_a_fetch_time_that_does_not_parse_means_a_fetch() -> None:
    assert _decide(_record(timedelta(days=3), fetched_at="2024-05-01 noon")) is None


def test_stamps_with_other_offsets_are_compared_as_instants() -> None:
    # 13:30+02:00 is 11:30 UTC: only 30 minutes before the fetch at 12:00 UTC.
    plus_two = timezone(timedelta(hours=2))
    recent = _record(timedelta(0), activity="2024-05-01T13:30:00.000+02:00")
    assert _decide(recent) is None
    old = _record(timedelta(0), activity="2024-05-01T12:00:00.000+02:00")  # 10:00 UTC
    assert _decide(old) == COMMIT
    assert parse_stamp("2024-05-01T12:00:00.000+02:00") == datetime(2024, 5, 1, 12,
                                                                    tzinfo=plus_two)


def test_a_fetch_time_in_the_future_means_the_clock_is_not_to_be_trusted() -> None:
    record = _record(timedelta(days=3))
    assert _decide(record, now=FETCHED - CLOCK_SKEW - timedelta(seconds=1)) is None
    assert _decide(record, now=FETCHED - CLOCK_SKEW) == COMMIT  # within the skew


@pytest.mark.parametrize("held", [None, git.Head("main", "b" * 40), git.Head(None, COMMIT),
                                  git.Head("other", COMMIT)],
                         ids=["unreadable", "other commit", "detached", "other branch"])
def test_a_clone_that_is_not_what_the_fetch_left_means_a_fetch(held: git.Head | None) -> None:
    assert _decide(_record(timedelta(days=3)), held=held) is None


@pytest.mark.parametrize("origin", [None, "https://gitlab.example.com/shop/other.git"])
def test_a_clone_fetched_from_elsewhere_means_a_fetch(origin: str | None) -> None:
    assert _decide(_record(timedelta(days=3)), origin=origin) is None


@pytest.mark.parametrize("repo", [
    dataclasses.replace(REPO, url="https://gitlab.example.com/shop/moved.git"),
    dataclasses.replace(REPO, default_branch="develop"),
    dataclasses.replace(REPO, default_branch=None),
    dataclasses.replace(REPO, unavailable="shop/orders: reading the project failed"),
], ids=["moved", "default branch changed", "no default branch", "unavailable"])
def test_a_project_listed_otherwise_than_when_fetched_means_a_fetch(repo: RepoRef) -> None:
    assert _decide(_record(timedelta(days=3)), repo=repo) is None


def test_nothing_is_recorded_of_a_fetch_without_a_stamp_a_start_or_a_branch() -> None:
    stamp = _stamp(FETCHED - timedelta(days=3))
    assert fetch_record(REPO, COMMIT, None, FETCHED) is None
    assert fetch_record(REPO, COMMIT, stamp, None) is None
    assert fetch_record(REPO, COMMIT, stamp, datetime(2024, 5, 1, 12)) is None  # naive
    assert fetch_record(dataclasses.replace(REPO, default_branch=None), COMMIT, stamp,
                        FETCHED) is None


def test_the_journal_keeps_the_last_fetch_of_a_project_until_it_is_forgotten(
        tmp_path: Path) -> None:
    record = _record(timedelta(days=3))
    with Journal.open(WorkDir(tmp_path / "work")) as journal:
        assert journal.fetch_record(REPO.slug) is None
        journal.record_fetch(record)
        newer = dataclasses.replace(record, commit="c" * 40)
        journal.record_fetch(newer)
        assert journal.fetch_record(REPO.slug) == newer
        journal.forget_fetch(REPO.slug)
        assert journal.fetch_record(REPO.slug) is None
    with Journal.open(WorkDir(tmp_path / "work")) as journal:  # and across runs
        journal.record_fetch(record)
    with Journal.open(WorkDir(tmp_path / "work")) as journal:
        assert journal.fetch_record(REPO.slug) == record


def test_a_url_with_credentials_is_never_stored_and_never_trusted(tmp_path: Path) -> None:
    leaky = dataclasses.replace(REPO, url="https://bot:hunter2@gitlab.example.com/shop/o.git")
    record = fetch_record(leaky, COMMIT, _stamp(FETCHED - timedelta(days=3)), FETCHED)
    assert record is not None
    with Journal.open(WorkDir(tmp_path / "work")) as journal:
        journal.record_fetch(record)
        kept = journal.fetch_record(REPO.slug)
    assert kept is not None and "hunter2" not in kept.url
    assert b"hunter2" not in (tmp_path / "work" / "journal.sqlite").read_bytes()
    assert _decide(kept, repo=leaky, origin=leaky.url) is None


def _clone(tmp_path: Path) -> tuple[WorkDir, str]:
    """A clone in the work dir as a fetch of REPO leaves it: branch main, origin REPO's URL."""
    source = tmp_path / "source"
    source.mkdir()
    git.run(["init", "--quiet", "--initial-branch=main"], cwd=source)
    (source / "README.md").write_text("orders\n")
    git.run(["add", "README.md"], cwd=source)
    git.run(["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "--quiet",
             "-m", "first"], cwd=source)
    work = WorkDir(tmp_path / "work")
    commit = git.clone_or_update(str(source), work.clone(REPO.slug), "main")
    git.run(["remote", "set-url", "origin", URL], cwd=work.clone(REPO.slug))
    return work, commit


def test_the_clone_is_read_from_its_files_and_must_hold_the_recorded_fetch(
        tmp_path: Path) -> None:
    work, commit = _clone(tmp_path)
    stamp = _stamp(FETCHED - timedelta(days=3))
    record = fetch_record(REPO, commit, stamp, FETCHED)
    assert known_listed_commit(REPO, work, stamp, record, LATER) == commit
    assert known_listed_commit(REPO, work, stamp, None, LATER) is None
    other = dataclasses.replace(REPO, slug="shop-other")  # no clone at all
    assert known_listed_commit(other, work, stamp, dataclasses.replace(
        record, repo=other.slug) if record else None, LATER) is None
    git.run(["remote", "set-url", "origin", URL.replace("orders", "payments")],
            cwd=work.clone(REPO.slug))
    assert known_listed_commit(REPO, work, stamp, record, LATER) is None
