"""When a GitLab project need not be fetched again: its listing's `last_activity_at` proves that
nothing was pushed since the clone in the work dir was fetched.

GitLab moves a project's `last_activity_at` on an event (a push is one) only when the stamp is at
least an hour old: `Event#reset_project_activity` updates the row `WHERE last_activity_at <=
RESET_PROJECT_ACTIVITY_INTERVAL.ago` (`RESET_PROJECT_ACTIVITY_INTERVAL = 1.hour`,
app/models/event.rb; gitlab-foss MR !6391 "Restrict last_activity_at updates to one per hour",
issue gitlab-ce#22213), and the projects API exposes that column as it is. So a stamp unchanged
since a fetch proves nothing by itself: a push within the hour after the last recorded activity
leaves it where it was. It proves that nothing was pushed after the fetch only when the stamp was
already an hour old when the fetch started: any push after that would have found it old enough
to move. Hence the rule, with a margin for the skew between GitLab's clock and this machine's.

What this cannot see, and `--fresh` is for: a push whose event GitLab has not made yet (events
are made by a background job, usually within seconds), and a stamp update GitLab lost
(gitlab-org/gitlab#581897). Every other doubt (no record, a stamp that does not parse, a clone
that is not the one recorded) means a fetch, as without this module.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from migrator import git
from migrator.journal import FetchRecord
from migrator.model import RepoRef

# GitLab's Event::RESET_PROJECT_ACTIVITY_INTERVAL.
ACTIVITY_INTERVAL = timedelta(hours=1)
# How far this machine's clock may be from GitLab's (the stamp is GitLab's, the fetch time ours).
CLOCK_SKEW = timedelta(minutes=5)


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_stamp(text: str) -> datetime | None:
    """An ISO 8601 time with its UTC offset (`2024-05-01T10:00:00.000Z`, `...+02:00`), as GitLab
    and `fetch_record` write them; None for anything else, a time without offset included."""
    try:
        when = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return when if when.utcoffset() is not None else None


def fetch_record(repo: RepoRef, commit: str, listed: str | None,
                 started: datetime | None) -> FetchRecord | None:
    """What to keep of a successful fetch of `repo` that started at `started` (an aware time)
    after a listing that gave `listed` as its last activity; None when something is missing,
    and the next run fetches."""
    if listed is None or started is None or started.utcoffset() is None \
            or repo.default_branch is None:
        return None
    return FetchRecord(repo=repo.slug, url=repo.url, branch=repo.default_branch, commit=commit,
                       activity=listed, fetched_at=started.astimezone(UTC).isoformat())


def unmoved_commit(repo: RepoRef, listed: str | None, record: FetchRecord | None,
                   held: git.Head | None, origin: str | None, now: datetime) -> str | None:
    """The commit of `repo`'s default branch, known without fetching, or None (fetch it).

    Known when the listing's `last_activity_at` (`listed`) is the one recorded at its last
    fetch (`record`), that stamp was at least `ACTIVITY_INTERVAL` + `CLOCK_SKEW` old when the
    fetch started, and the clone is still the one the fetch left: HEAD (`held`) on the
    recorded branch and commit, fetched from the repo's URL (`origin`), which is the recorded
    one, as is the default branch. `now` (aware) only guards against a fetch time in the future
    (a clock set back, a record from elsewhere)."""
    if record is None or listed is None or repo.unavailable or repo.default_branch is None:
        return None
    if listed != record.activity or record.url != repo.url \
            or record.branch != repo.default_branch:
        return None
    if held is None or held.branch != record.branch or held.commit != record.commit:
        return None
    if not git.is_origin(origin, repo.url):
        return None
    stamp, fetched = parse_stamp(record.activity), parse_stamp(record.fetched_at)
    if stamp is None or fetched is None or fetched > now + CLOCK_SKEW:
        return None
    if fetched - stamp < ACTIVITY_INTERVAL + CLOCK_SKEW:
        return None
    return record.commit
