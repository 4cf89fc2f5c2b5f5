"""The campaign history: what each `status` run saw, kept in the journal's SQLite file.

One row per run (`status_runs`) and one per repo it looked at (`status_repos`): the MR's state
and, where the forge said, when it was created and merged. Its own tables beside the journal's
(`CREATE TABLE IF NOT EXISTS`), written through a connection of its own: the journal's rows and
their meaning stay the journal's business. Nothing secret is kept: repo names, MR links, states
and times, all of which the reports show anyway.

The same records travel as `history.json` next to the reports, so `report merge` can join the
histories of sharded jobs whose journals live in separate caches.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, get_args

MrState = Literal["merged", "open", "draft", "closed", "none", "unknown"]
MR_STATES: tuple[MrState, ...] = get_args(MrState)
HISTORY_SCHEMA = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS status_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    taken REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS status_repos (
    run_id INTEGER NOT NULL REFERENCES status_runs (id),
    repo TEXT NOT NULL,
    state TEXT NOT NULL,
    web_url TEXT,
    created_at TEXT,
    merged_at TEXT,
    PRIMARY KEY (run_id, repo)
);
"""


@dataclass(frozen=True)
class Observation:
    """One repo's merge request as one `status` run saw it."""

    taken: float  # seconds since the epoch, when the run looked
    repo: str
    state: MrState  # "unknown": the forge could not be asked (the run's `error` row)
    web_url: str | None = None
    created_at: str | None = None  # ISO 8601 as the forge gave it
    merged_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Observation:
        state = str(data["state"])
        if state not in MR_STATES:
            raise ValueError(f"unknown MR state {state!r}")
        return cls(taken=float(data["taken"]), repo=str(data["repo"]),
                   state=state,
                   web_url=_text(data.get("web_url")), created_at=_text(data.get("created_at")),
                   merged_at=_text(data.get("merged_at")))


def record(journal: Path, observed: Sequence[Observation]) -> None:
    """Append one run (what it observed, all at one time) to the history in the journal file
    `journal`. A run that looked at no repo adds nothing: it is no point of the burn-down."""
    times = {o.taken for o in observed}
    if len(times) > 1:
        raise ValueError("one run's observations share one time")
    if not times:
        return
    with closing(_connect(journal)) as db, db:
        run_id = db.execute("INSERT INTO status_runs (taken) VALUES (?)",
                            (times.pop(),)).lastrowid
        db.executemany(
            "INSERT OR REPLACE INTO status_repos VALUES (?, ?, ?, ?, ?, ?)",
            [(run_id, o.repo, o.state, o.web_url, o.created_at, o.merged_at) for o in observed])


def load(journal: Path) -> tuple[Observation, ...]:
    """Every observation in the journal file, oldest run first; () without a journal or a run."""
    if not journal.is_file():
        return ()
    with closing(_connect(journal)) as db:
        rows = db.execute(
            "SELECT r.taken, s.repo, s.state, s.web_url, s.created_at, s.merged_at "
            "FROM status_repos s JOIN status_runs r ON r.id = s.run_id "
            "ORDER BY r.taken, r.id, s.repo").fetchall()
    return tuple(Observation.from_dict(dict(zip(
        ("taken", "repo", "state", "web_url", "created_at", "merged_at"), row, strict=True)))
        for row in rows)


def to_json(observed: Iterable[Observation]) -> dict[str, Any]:
    return {"schema": HISTORY_SCHEMA, "observations": [o.as_dict() for o in observed]}


def from_json(data: Mapping[str, Any], source: str) -> tuple[Observation, ...]:
    """The observations of a `history.json`; ValueError naming `source` when it is not one."""
    schema = data.get("schema") if isinstance(data, Mapping) else None
    if schema != HISTORY_SCHEMA:
        raise ValueError(f"{source}: history schema {schema!r}, "
                         f"expected {HISTORY_SCHEMA}")
    try:
        return tuple(Observation.from_dict(item) for item in data["observations"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{source}: not a campaign history ({exc})") from exc


def joined(*histories: Iterable[Observation]) -> tuple[Observation, ...]:
    """Several histories as one (shards of one fleet), each observation once, oldest first."""
    seen = {(o.taken, o.repo): o for h in histories for o in h}
    return tuple(sorted(seen.values(), key=lambda o: (o.taken, o.repo)))


def compact(observed: Iterable[Observation]) -> tuple[Observation, ...]:
    """The same history without the runs that only repeat it: a repo's observation is kept when
    it differs from that repo's one before, and every repo's of the last run (the "as of").
    Everything drawn from a history is drawn the same from its compact form; a campaign of
    weeks with a run an hour stays a few observations per repo."""
    ordered = sorted(observed, key=lambda o: (o.taken, o.repo))
    last = ordered[-1].taken if ordered else None
    before: dict[str, tuple[object, ...]] = {}
    kept = []
    for o in ordered:
        facts = (o.state, o.web_url, o.created_at, o.merged_at)
        if before.get(o.repo) != facts or o.taken == last:
            kept.append(o)
        before[o.repo] = facts
    return tuple(kept)


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), timeout=30.0)
    db.executescript(_SCHEMA)
    return db


def _text(value: object) -> str | None:
    return None if value is None else str(value)
