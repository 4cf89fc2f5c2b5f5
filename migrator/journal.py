"""The run journal: a SQLite file in the work directory (stdlib sqlite3, WAL mode).

Four kinds of rows:

- stage results per repo, keyed by the hash of the stage's inputs, so a re-run can skip work
  whose inputs did not change;
- remote side effects (push, MR create/update, note), written as an *intent* before the call
  and completed with its *outcome* after it. Every write is its own committed transaction, so a
  process killed at any instant (kill -9) leaves at worst an intent without an outcome, which
  the next run resolves by looking at the remote before acting again;
- the latest proposal per repo (branch, pushed commit, MR iid and URL, status), which `status`
  and the next `apply` read;
- the last successful fetch per GitLab project (clone URL, branch, commit, the listing's
  `last_activity_at`, when), which lets a re-plan leave a project that did not move unfetched.

No secret value is stored: every payload goes through the redactor (key names and value
shapes, `migrator.redact`) and any value registered with `forbid` (the GitLab token) is
replaced, before it is written. Writing never fails for it: a run must not stop because a repo
holds a credential. Where equality of a secret must still be decided, callers store a keyed
hash (`WorkDir.keyed_hash`), never the value.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from migrator.credentials import Secret
from migrator.redact import REDACTED, redact_tree, scrub_text
from migrator.workdir import WorkDir

SCHEMA_VERSION = 1

# "interrupted": an intent whose run died before its outcome, settled by a later run that
# looked at the remote (the detail says what was meant; the remote said what happened).
EffectStatus = Literal["intent", "done", "failed", "interrupted"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    command TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    started REAL NOT NULL,
    finished REAL
);
CREATE TABLE IF NOT EXISTS stages (
    repo TEXT NOT NULL,
    stage TEXT NOT NULL,
    input_hash TEXT NOT NULL,
    result TEXT NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (repo, stage)
);
CREATE TABLE IF NOT EXISTS effects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER,
    repo TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    detail TEXT NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT,
    cause TEXT,
    started REAL NOT NULL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS effects_repo ON effects (repo, kind, key);
CREATE TABLE IF NOT EXISTS proposals (
    repo TEXT PRIMARY KEY,
    project_id INTEGER,
    branch TEXT NOT NULL,
    plan_hash TEXT,
    commit_sha TEXT,
    mr_iid INTEGER,
    mr_url TEXT,
    status TEXT NOT NULL,
    cause TEXT NOT NULL DEFAULT '',
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS fetches (
    repo TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    branch TEXT,
    commit_sha TEXT NOT NULL,
    activity TEXT NOT NULL,
    fetched_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Effect:
    """One remote side effect: what was meant (detail) and, once known, what happened."""

    id: int
    repo: str
    kind: str  # "push", "mr-create", "mr-update", "note"
    key: str  # what it acts on: the branch name, or the MR iid
    detail: dict[str, Any]
    status: EffectStatus
    outcome: dict[str, Any] = field(default_factory=dict)
    cause: str = ""


@dataclass(frozen=True)
class FetchRecord:
    """A GitLab project's last successful fetch: what the listing said of it then, and what it
    brought. A later run reads it to decide whether the project must be fetched again."""

    repo: str  # the slug
    url: str  # the clone URL fetched from (never with credentials: scrubbed when stored)
    branch: str | None  # the default branch fetched
    commit: str  # what the fetch brought
    activity: str  # the project's `last_activity_at` in the listing the fetch followed
    fetched_at: str  # ISO 8601, UTC: when the fetch started, by this machine's clock


@dataclass(frozen=True)
class Proposal:
    """The last known state of one repo's merge request, as `apply` left it."""

    repo: str
    branch: str
    status: str  # a ProposeOutcome action: "created", "updated", "needs-attention", ...
    project_id: int | None = None
    plan_hash: str | None = None
    commit_sha: str | None = None
    mr_iid: int | None = None
    mr_url: str | None = None
    cause: str = ""


class Journal:
    """The SQLite journal of one work directory. Safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit: each statement is durable on return, which is what intent/outcome needs.
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                   timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL survives any process crash (only an OS crash may lose the last commits).
        self._db.execute("PRAGMA synchronous=NORMAL")
        # A replaced row is overwritten with zeros, not left in a free page: what an older
        # version wrote in clear goes away as its rows are replaced.
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.executescript(_SCHEMA)
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        self._lock = threading.RLock()
        self._forbidden: list[str] = []
        self.run_id: int | None = None

    @classmethod
    def open(cls, work: WorkDir) -> Journal:
        """The journal of this work dir, creating the dir (0700) on a first run."""
        return cls(work.create().journal)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def forbid(self, secret: Secret) -> None:
        """Never store this secret's value: it is replaced wherever it appears."""
        if secret:
            self._forbidden.append(secret.reveal())

    # runs ------------------------------------------------------------------------------

    def start_run(self, command: str, tool_version: str) -> int:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO runs (command, tool_version, started) VALUES (?, ?, ?)",
                (command, tool_version, time.time()))
            self.run_id = int(cur.lastrowid or 0)
            return self.run_id

    def finish_run(self) -> None:
        with self._lock:
            if self.run_id is not None:
                self._db.execute("UPDATE runs SET finished = ? WHERE id = ?",
                                 (time.time(), self.run_id))

    # stage results ----------------------------------------------------------------------

    def record_stage(self, repo: str, stage: str, input_hash: str,
                     result: Mapping[str, Any] | Encoded) -> bool:
        """Keep a stage's result for the next run, with any secret value in it replaced (the
        caller redacts what it knows the structure of first: this is the last lock). The
        result may come `encode`d already, by the process that made it."""
        text = self._unforbidden((result if isinstance(result, Encoded) else encode(result)).text)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO stages VALUES (?, ?, ?, ?, ?)",
                (repo, stage, input_hash, text, time.time()))
        return True

    def stage_result(self, repo: str, stage: str, input_hash: str) -> dict[str, Any] | None:
        """The stored result, or None when there is none or its inputs were different."""
        text = self.stage_text(repo, stage, input_hash)
        if text is None:
            return None
        loaded: dict[str, Any] = json.loads(text)
        return loaded

    def stage_text(self, repo: str, stage: str, input_hash: str) -> str | None:
        """The stored result as stored (JSON text): what `record_stage` returned for it."""
        row = self._stage_row(repo, stage)
        if row is None or row[0] != input_hash:
            return None
        return str(row[1])

    def latest_stage(self, repo: str, stage: str) -> dict[str, Any] | None:
        """The last stored result of `repo`'s stage, whatever its inputs were (what the
        campaign dashboard shows of a plan: the last one made)."""
        row = self._stage_row(repo, stage)
        if row is None:
            return None
        loaded: dict[str, Any] = json.loads(row[1])
        return loaded

    def _stage_row(self, repo: str, stage: str) -> tuple[str, str] | None:
        """(input hash, result) of `repo`'s stage, None when there is none."""
        with self._lock:
            row = self._db.execute(
                "SELECT input_hash, result FROM stages WHERE repo = ? AND stage = ?",
                (repo, stage)).fetchone()
        return None if row is None else (row[0], row[1])

    # side effects -----------------------------------------------------------------------

    def intent(self, repo: str, kind: str, key: str, detail: Mapping[str, Any]) -> int:
        """Record that a side effect is about to happen; returns its id for `done`/`failed`."""
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO effects (run_id, repo, kind, key, detail, status, started) "
                "VALUES (?, ?, ?, ?, ?, 'intent', ?)",
                (self.run_id, repo, kind, key, self._dump(detail), time.time()))
            return int(cur.lastrowid or 0)

    def done(self, effect_id: int, outcome: Mapping[str, Any] | None = None) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE effects SET status = 'done', outcome = ?, finished = ? WHERE id = ?",
                (self._dump(outcome or {}), time.time(), effect_id))

    def failed(self, effect_id: int, cause: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE effects SET status = 'failed', cause = ?, finished = ? WHERE id = ?",
                (self._scrub(cause), time.time(), effect_id))

    @contextmanager
    def effect(self, repo: str, kind: str, key: str,
               detail: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """Intent on entry; outcome (the dict the block fills) on success, cause on failure."""
        effect_id = self.intent(repo, kind, key, detail)
        outcome: dict[str, Any] = {}
        try:
            yield outcome
        except BaseException as exc:
            self.failed(effect_id, f"{type(exc).__name__}: {exc}")
            raise
        self.done(effect_id, outcome)

    def effects(self, repo: str, kind: str | None = None, key: str | None = None) -> list[Effect]:
        query = "SELECT id, repo, kind, key, detail, status, outcome, cause FROM effects " \
                "WHERE repo = ?"
        args: list[Any] = [repo]
        if kind is not None:
            query += " AND kind = ?"
            args.append(kind)
        if key is not None:
            query += " AND key = ?"
            args.append(key)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY id", args).fetchall()
        return [_effect(row) for row in rows]

    def all_effects(self) -> list[Effect]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, repo, kind, key, detail, status, outcome, cause FROM effects "
                "ORDER BY id").fetchall()
        return [_effect(row) for row in rows]

    def pending(self) -> list[Effect]:
        """Intents without an outcome: side effects a killed run may or may not have made."""
        return [e for e in self.all_effects() if e.status == "intent"]

    def mr_waves(self) -> dict[str, tuple[int, float]]:
        """repo -> (id, start time) of the run whose `mr-create` opened its merge request:
        the wave of a campaign that `apply --canary/--limit` runs one after another."""
        with self._lock:
            rows = self._db.execute(
                "SELECT e.repo, r.id, r.started FROM effects e JOIN runs r ON r.id = e.run_id "
                "WHERE e.kind = 'mr-create' AND e.status = 'done' ORDER BY e.id").fetchall()
        waves: dict[str, tuple[int, float]] = {}
        for repo, run_id, started in rows:
            waves.setdefault(repo, (int(run_id), float(started)))
        return waves

    def bot_commits(self, repo: str, branch: str) -> dict[str, str]:
        """sha -> plan hash of every commit this tool meant to push to `branch`.

        Every intent counts, failed or unfinished: a push can reach the server even when the
        run died, or the connection broke, before git could report it. They are all commits
        this tool made, so finding one at the branch head means the branch is still the bot's.
        """
        out: dict[str, str] = {}
        for eff in self.effects(repo, "push", branch):
            sha = eff.detail.get("sha")
            if isinstance(sha, str):
                out[sha] = str(eff.detail.get("plan_hash", ""))
        return out

    def note_posted(self, repo: str, mr_iid: int, marker: str) -> bool | None:
        """True when a note with `marker` is known posted on the MR, None when a run died while
        posting it (the remote must be asked), False when never attempted."""
        state: bool | None = False
        for eff in self.effects(repo, "note", str(mr_iid)):
            if eff.detail.get("marker") != marker:
                continue
            if eff.status == "done":
                return True
            if eff.status in ("intent", "interrupted"):
                state = None
        return state

    def settle_interrupted(self, repo: str) -> int:
        """Mark `repo`'s intents left by earlier, killed runs as interrupted; returns how many.

        Called once this run has brought the repo to a known state from what the remote shows,
        so `pending()` lists only what is still unresolved."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE effects SET status = 'interrupted', finished = ?, "
                "cause = 'the run died before the outcome; settled from the remote state' "
                "WHERE repo = ? AND status = 'intent' AND (run_id IS NOT ? OR run_id IS NULL)",
                (time.time(), repo, self.run_id))
            return cur.rowcount

    # proposals ---------------------------------------------------------------------------

    def set_proposal(self, proposal: Proposal) -> None:
        proposal = replace(proposal, cause=self._scrub(proposal.cause))
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO proposals (repo, project_id, branch, plan_hash, "
                "commit_sha, mr_iid, mr_url, status, cause, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (proposal.repo, proposal.project_id, proposal.branch, proposal.plan_hash,
                 proposal.commit_sha, proposal.mr_iid, proposal.mr_url, proposal.status,
                 proposal.cause, time.time()))

    def proposal(self, repo: str) -> Proposal | None:
        with self._lock:
            row = self._db.execute(
                "SELECT repo, branch, status, project_id, plan_hash, commit_sha, mr_iid, "
                "mr_url, cause FROM proposals WHERE repo = ?", (repo,)).fetchone()
        return None if row is None else Proposal(*row)

    def proposals(self) -> list[Proposal]:
        with self._lock:
            rows = self._db.execute(
                "SELECT repo, branch, status, project_id, plan_hash, commit_sha, mr_iid, "
                "mr_url, cause FROM proposals ORDER BY repo").fetchall()
        return [Proposal(*row) for row in rows]

    # fetches -----------------------------------------------------------------------------

    def record_fetch(self, record: FetchRecord) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO fetches (repo, url, branch, commit_sha, activity, "
                "fetched_at) VALUES (?, ?, ?, ?, ?, ?)",
                (record.repo, self._scrub(record.url), record.branch, record.commit,
                 record.activity, record.fetched_at))

    def fetch_record(self, repo: str) -> FetchRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT repo, url, branch, commit_sha, activity, fetched_at FROM fetches "
                "WHERE repo = ?", (repo,)).fetchone()
        return None if row is None else FetchRecord(*row)

    def forget_fetch(self, repo: str) -> None:
        """The repo's last fetch is not to be relied on (it failed, or left nothing to check)."""
        with self._lock:
            self._db.execute("DELETE FROM fetches WHERE repo = ?", (repo,))

    # internals ---------------------------------------------------------------------------

    def _dump(self, payload: Mapping[str, Any]) -> str:
        return self._unforbidden(encode(payload).text)

    def _scrub(self, text: str) -> str:
        return scrub_text(self._unforbidden(text))

    def _unforbidden(self, text: str) -> str:
        for value in self._forbidden:
            text = text.replace(value, REDACTED)
        return text


@dataclass(frozen=True)
class Encoded:
    """A stage result as the journal stores it: JSON text, every secret value replaced. Only
    `encode` makes one."""

    text: str


def encode(payload: Mapping[str, Any]) -> Encoded:
    """The journal's last lock, wherever it runs: a planning worker encodes the plan it made,
    so that the run only files it (and the patch is redacted once, where it was made)."""
    data = redact_tree(json.loads(json.dumps(payload, default=str)))
    # Maps keep their order: a plan read back must report the bytes the fresh one did
    # (a values file's keys in the file's order, not sorted).
    return Encoded(json.dumps(data))


def _effect(row: tuple[Any, ...]) -> Effect:
    return Effect(id=row[0], repo=row[1], kind=row[2], key=row[3], detail=json.loads(row[4]),
                  status=row[5], outcome=json.loads(row[6]) if row[6] else {},
                  cause=row[7] or "")
