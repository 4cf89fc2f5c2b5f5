"""What a `status` run adds to the campaign history: each repo's MR in the five states people
count (merged, open, draft, closed, none), appended to the journal's file."""

from __future__ import annotations

import time
from collections.abc import Sequence

from migrator.history import MrState, Observation
from migrator.history import load as load_history
from migrator.history import record as record_history
from migrator.journal import Journal
from migrator.track.status import MrStatus


def observe(rows: Sequence[MrStatus], taken: float) -> tuple[Observation, ...]:
    return tuple(Observation(taken=taken, repo=r.repo, state=mr_state(r),
                             web_url=r.web_url or None, created_at=r.created_at,
                             merged_at=r.merged_at)
                 for r in rows)


_STATES: dict[str, MrState] = {"merged": "merged", "closed": "closed", "locked": "closed",
                               "none": "none"}


def mr_state(row: MrStatus) -> MrState:
    if row.state == "opened":
        return "draft" if row.draft else "open"
    # "error": GitLab did not answer for it this time; the history keeps what it knew
    return _STATES.get(row.state, "unknown")


def record(journal: Journal, rows: Sequence[MrStatus],
           taken: float | None = None) -> tuple[Observation, ...]:
    """Append this run to the history; returns the whole history, this run included."""
    record_history(journal.path, observe(rows, time.time() if taken is None else taken))
    return load_history(journal.path)
