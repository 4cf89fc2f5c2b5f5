from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from migrator.credentials import Secret
from migrator.journal import Journal, Proposal, encode
from migrator.redact import REDACTED
from migrator.workdir import WorkDir


def test_the_journal_uses_write_ahead_logging(tmp_path: Path) -> None:
    with Journal.open(WorkDir(tmp_path)):
        pass
    mode = sqlite3.connect(WorkDir(tmp_path).journal).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_an_intent_without_outcome_is_pending_after_reopening(tmp_path: Path) -> None:
    with Journal.open(WorkDir(tmp_path)) as journal:
        journal.start_run("apply", "0.1.0")
        first = journal.intent("g/orders", "push", "migrator/x", {"sha": "a" * 40})
        journal.done(first, {"pushed": True})
        journal.intent("g/orders", "mr-create", "migrator/x", {"plan_hash": "p1"})
    with Journal.open(WorkDir(tmp_path)) as journal:
        pending = journal.pending()
    assert [(e.repo, e.kind) for e in pending] == [("g/orders", "mr-create")]


def test_an_effect_block_records_the_outcome_or_the_cause(tmp_path: Path) -> None:
    with Journal.open(WorkDir(tmp_path)) as journal:
        with journal.effect("g/a", "push", "b", {"sha": "1" * 40}) as out:
            out["pushed"] = True
        with pytest.raises(RuntimeError), journal.effect("g/a", "mr-create", "b", {}):
            raise RuntimeError("GitLab said no")
        done, failed = journal.effects("g/a")
    assert done.status == "done" and done.outcome == {"pushed": True}
    assert failed.status == "failed" and "GitLab said no" in failed.cause


def test_a_stage_result_is_ignored_once_its_inputs_changed(tmp_path: Path) -> None:
    with Journal.open(WorkDir(tmp_path)) as journal:
        journal.record_stage("g/a", "plan", "inputs-1", {"verdict": "ready"})
        assert journal.stage_result("g/a", "plan", "inputs-1") == {"verdict": "ready"}
        assert journal.stage_result("g/a", "plan", "inputs-2") is None
        assert journal.stage_result("g/b", "plan", "inputs-1") is None


def test_bot_commits_include_pushes_whose_outcome_never_came_back(tmp_path: Path) -> None:
    with Journal.open(WorkDir(tmp_path)) as journal:
        ok = journal.intent("g/a", "push", "br", {"sha": "1" * 40, "plan_hash": "p1"})
        journal.done(ok, {"pushed": True})
        journal.intent("g/a", "push", "br", {"sha": "2" * 40, "plan_hash": "p2"})
        broken = journal.intent("g/a", "push", "br", {"sha": "3" * 40, "plan_hash": "p3"})
        journal.failed(broken, "connection reset")
        journal.intent("g/a", "push", "other", {"sha": "4" * 40, "plan_hash": "p4"})
        assert journal.bot_commits("g/a", "br") == {"1" * 40: "p1", "2" * 40: "p2",
                                                    "3" * 40: "p3"}


def test_a_note_is_known_posted_unknown_or_never_tried(tmp_path: Path) -> None:
    with Journal.open(WorkDir(tmp_path)) as journal:
        assert journal.note_posted("g/a", 3, "<!-- m -->") is False
        journal.intent("g/a", "note", "3", {"marker": "<!-- m -->"})
        assert journal.note_posted("g/a", 3, "<!-- m -->") is None
        done = journal.intent("g/a", "note", "3", {"marker": "<!-- m -->"})
        journal.done(done)
        assert journal.note_posted("g/a", 3, "<!-- m -->") is True


def test_a_registered_token_is_replaced_wherever_it_would_be_written(tmp_path: Path) -> None:
    token = Secret("s3cr3t-value-that-is-plain")
    with Journal.open(WorkDir(tmp_path)) as journal:
        journal.forbid(token)
        journal.intent("g/a", "push", "b", {"url": f"see {token.reveal()}"})
        journal.failed(journal.intent("g/a", "push", "b", {}), f"boom {token.reveal()}")
        journal.set_proposal(Proposal("g/a", "b", "error", cause=f"no: {token.reveal()}"))
        journal.record_stage("g/a", "plan", "h", {"note": token.reveal()})
        # encoded elsewhere (a planning worker), before the token was known to be one
        journal.record_stage("g/b", "plan", "h", encode({"note": token.reveal()}))
        first, second = journal.effects("g/a")
        assert first.detail == {"url": f"see {REDACTED}"}
        assert second.cause == f"boom {REDACTED}"
        assert journal.stage_result("g/a", "plan", "h") == {"note": REDACTED}
        assert journal.stage_result("g/b", "plan", "h") == {"note": REDACTED}
    assert token.reveal().encode() not in WorkDir(tmp_path).journal.read_bytes()


def test_a_stage_result_shaped_like_a_credential_is_kept_redacted(tmp_path: Path) -> None:
    secret = "https://oauth2:glpat-abcdefghijklmnop@gitlab.example/x"
    with Journal.open(WorkDir(tmp_path)) as journal:
        assert journal.record_stage("g/a", "fetch", "h", {"url": secret, "n": 3}) is True
        assert journal.stage_result("g/a", "fetch", "h") == {"url": REDACTED, "n": 3}
    assert b"glpat-abcdefghijklmnop" not in WorkDir(tmp_path).journal.read_bytes()


def test_a_value_secret_by_its_key_name_is_not_stored(tmp_path: Path) -> None:
    """A plain `db.password` has no credential shape: only its key says what it is."""
    with Journal.open(WorkDir(tmp_path)) as journal:
        journal.record_stage("g/a", "plan", "h",
                             {"values": {"db": {"password": "plain-words", "host": "db-host-7"}}})
        assert journal.stage_result("g/a", "plan", "h") == {
            "values": {"db": {"password": REDACTED, "host": "db-host-7"}}}
    stored = WorkDir(tmp_path).journal.read_bytes()
    assert b"db-host-7" in stored and b"plain-words" not in stored


def test_a_failure_whose_cause_quotes_a_credential_is_recorded_not_raised(
        tmp_path: Path) -> None:
    """Apply must not end in an error because git quoted a secret in its message."""
    pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
    with Journal.open(WorkDir(tmp_path)) as journal:
        with pytest.raises(RuntimeError), journal.effect("g/a", "push", "b", {"sha": "1" * 40}):
            raise RuntimeError(f"patch failed at:\n{pem}")
        journal.set_proposal(Proposal("g/a", "b", "error", cause=f"cannot apply {pem}"))
        (failed,) = journal.effects("g/a")
        assert failed.status == "failed" and REDACTED in failed.cause
        proposal = journal.proposal("g/a")
        assert proposal is not None and proposal.cause == f"cannot apply {REDACTED}"
    assert b"MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in WorkDir(tmp_path).journal.read_bytes()


def test_proposals_keep_the_latest_state_per_repo(tmp_path: Path) -> None:
    with Journal.open(WorkDir(tmp_path)) as journal:
        journal.set_proposal(Proposal("g/b", "br", "created", 7, "p1", "c1", 1, "u1"))
        journal.set_proposal(Proposal("g/a", "br", "created", 8, "p1", "c2", 4, "u2"))
        journal.set_proposal(Proposal("g/b", "br", "updated", 7, "p2", "c3", 1, "u1"))
        assert journal.proposal("g/b") == Proposal("g/b", "br", "updated", 7, "p2", "c3", 1, "u1")
        assert [p.repo for p in journal.proposals()] == ["g/a", "g/b"]
        assert journal.proposal("g/c") is None


def test_records_written_before_a_kill_9_survive_it(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from migrator.journal import Journal
        from migrator.workdir import WorkDir
        j = Journal.open(WorkDir(Path({str(tmp_path)!r})))
        for i in range(1000):
            j.intent("g/a", "push", "br", {{"sha": str(i), "plan_hash": "p"}})
            if i == 5:
                print("ready", flush=True)
            time.sleep(0.002)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with Journal.open(WorkDir(tmp_path)) as journal:
        written = journal.bot_commits("g/a", "br")
    assert 6 <= len(written) < 1000
    assert set(written) == {str(i) for i in range(len(written))}


def test_settling_marks_only_earlier_runs_intents_of_that_repo_interrupted(
        tmp_path: Path) -> None:
    with Journal.open(WorkDir(tmp_path)) as journal:
        journal.start_run("apply", "0.1.0")
        journal.intent("g/a", "mr-create", "br", {})
        journal.intent("g/b", "mr-create", "br", {})
    with Journal.open(WorkDir(tmp_path)) as journal:
        journal.start_run("apply", "0.1.0")
        mine = journal.intent("g/a", "push", "br", {"sha": "5" * 40})
        assert journal.settle_interrupted("g/a") == 1
        states = {(e.repo, e.id == mine): e.status for e in journal.all_effects()}
    assert states == {("g/a", False): "interrupted", ("g/b", False): "intent",
                      ("g/a", True): "intent"}
