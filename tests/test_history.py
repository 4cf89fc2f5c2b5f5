"""The campaign history in the journal's SQLite file, and as history.json."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from migrator.history import Observation, compact, from_json, joined, load, record, to_json
from migrator.journal import Journal, Proposal
from migrator.workdir import WorkDir


def seen(taken: float, repo: str, state: str = "open", **kw: str) -> Observation:
    return Observation(taken=taken, repo=repo, state=state, **kw)  # type: ignore[arg-type]


def test_runs_are_appended_and_read_back_oldest_first(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    second = [seen(200.0, "b", "merged", merged_at="2024-05-02T10:00:00Z"), seen(200.0, "a")]
    first = [seen(100.0, "a", "draft", web_url="https://gitlab.example.com/a/-/merge_requests/1",
                  created_at="2024-05-01T09:00:00.000Z"), seen(100.0, "b")]
    record(path, second)
    record(path, first)
    assert load(path) == (*sorted(first, key=lambda o: o.repo), *sorted(second,
                                                                      key=lambda o: o.repo))


def test_the_history_lives_beside_the_journal_without_touching_its_rows(tmp_path: Path) -> None:
    work = WorkDir(tmp_path / "work")
    with Journal.open(work) as journal:
        journal.set_proposal(Proposal(repo="a", branch="migrate", status="created", mr_iid=3))
        record(journal.path, [seen(100.0, "a")])
        # the journal's own connection still works and sees its rows
        assert journal.proposal("a") == Proposal(repo="a", branch="migrate", status="created",
                                                 mr_iid=3)
    with Journal.open(work) as journal:
        record(journal.path, [seen(200.0, "a", "merged")])
        assert [o.state for o in load(journal.path)] == ["open", "merged"]
        assert journal.proposals()[0].repo == "a"
    tables = {row[0] for row in sqlite3.connect(work.journal).execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"proposals", "effects", "status_runs", "status_repos"} <= tables


def test_no_journal_or_no_run_is_no_history(tmp_path: Path) -> None:
    assert load(tmp_path / "absent.sqlite") == ()
    with Journal.open(WorkDir(tmp_path / "work")) as journal:
        record(journal.path, [])  # a run that looked at no repo adds nothing
        assert load(journal.path) == ()


def test_one_run_is_one_time(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one time"):
        record(tmp_path / "j.sqlite", [seen(1.0, "a"), seen(2.0, "b")])


def test_history_json_round_trips_and_refuses_what_it_is_not() -> None:
    history = (seen(1.0, "a", "none"), seen(1.0, "b", "closed", web_url="https://x/1"))
    assert from_json(json.loads(json.dumps(to_json(history))), "h.json") == history
    with pytest.raises(ValueError, match="h.json: history schema 7"):
        from_json({"schema": 7, "observations": []}, "h.json")
    with pytest.raises(ValueError, match="unknown MR state 'approved'"):
        from_json({"schema": 1, "observations": [
            {"taken": 1, "repo": "a", "state": "approved"}]}, "h.json")
    with pytest.raises(ValueError, match="h.json: history schema None"):
        from_json([], "h.json")  # type: ignore[arg-type]


def test_shard_histories_join_each_observation_once_oldest_first() -> None:
    one = (seen(1.0, "a"), seen(3.0, "a", "merged"))
    two = (seen(2.0, "b"), seen(1.0, "a"))
    assert joined(one, two) == (seen(1.0, "a"), seen(2.0, "b"), seen(3.0, "a", "merged"))


def test_a_compact_history_keeps_each_change_and_the_last_run() -> None:
    hourly = [seen(float(h), "a", "open" if h < 30 else "merged") for h in range(48)]
    hourly += [seen(float(h), "b", "unknown" if h in (5, 6) else "draft") for h in range(48)]
    kept = compact(hourly)
    assert [(o.taken, o.repo, o.state) for o in kept] == [
        (0.0, "a", "open"), (0.0, "b", "draft"), (5.0, "b", "unknown"), (7.0, "b", "draft"),
        (30.0, "a", "merged"), (47.0, "a", "merged"), (47.0, "b", "draft")]
    assert compact(kept) == kept and compact([]) == ()
