"""The plan cache keeps plans without their secrets, and gives the real patch back only from the
work dir's private file, checked by its keyed hash."""

from __future__ import annotations

import dataclasses
import pickle
import sqlite3
import stat
from pathlib import Path

from migrator.journal import Journal
from migrator.pipeline import plancache
from migrator.redact import REDACTED
from migrator.workdir import WorkDir
from tests.report.sample import PASSWORD, PASSWORD_B64, fleet, review_repo
from tests.report.test_write import SECRET_PATCH


def _journal_bytes(work: WorkDir) -> bytes:
    with sqlite3.connect(work.journal) as db:
        return "\n".join(db.iterdump()).encode()


def test_a_plan_with_secrets_is_cached_redacted_and_comes_back_with_its_real_patch(
        tmp_path: Path) -> None:
    work = WorkDir(tmp_path / "w")
    plan = plancache.shown(dataclasses.replace(review_repo(), patch=SECRET_PATCH), work)
    assert plan.patch == SECRET_PATCH  # what apply commits
    assert plan.charts[0].values is not None
    assert plan.charts[0].values.base["database"]["password"] == REDACTED
    assert work.patch("shop-payments").read_text() == SECRET_PATCH
    assert stat.S_IMODE(work.patch("shop-payments").stat().st_mode) == 0o600
    with Journal.open(work) as journal:
        plancache.store(journal, work, "inputs", plan)
        assert plancache.load(journal, work, plan.repo, "inputs") == plan
        assert plancache.load(journal, work, plan.repo, "other inputs") is None
    stored = _journal_bytes(work)
    assert PASSWORD.encode() not in stored and PASSWORD_B64.encode() not in stored


def test_a_plain_password_known_by_its_key_name_only_is_not_stored(tmp_path: Path) -> None:
    work = WorkDir(tmp_path / "w")
    plan = plancache.shown(review_repo(), work)  # `database.password: <plain words>`
    with Journal.open(work) as journal:
        plancache.store(journal, work, "inputs", plan)
    assert PASSWORD.encode() not in _journal_bytes(work)
    assert not work.patch("shop-payments").exists()  # its patch carries no secret


def test_a_missing_or_changed_private_patch_means_planning_again(tmp_path: Path) -> None:
    work = WorkDir(tmp_path / "w")
    plan = plancache.shown(dataclasses.replace(review_repo(), patch=SECRET_PATCH), work)
    with Journal.open(work) as journal:
        plancache.store(journal, work, "inputs", plan)
        work.save_patch("shop-payments", SECRET_PATCH.replace(PASSWORD, "another"))
        assert plancache.load(journal, work, plan.repo, "inputs") is None
        work.drop_patch("shop-payments")
        assert plancache.load(journal, work, plan.repo, "inputs") is None
        work.save_patch("shop-payments", SECRET_PATCH)
        assert plancache.load(journal, work, plan.repo, "inputs") == plan


def test_a_plan_whose_patch_no_longer_carries_secrets_drops_its_private_patch(
        tmp_path: Path) -> None:
    work = WorkDir(tmp_path / "w")
    plancache.shown(dataclasses.replace(review_repo(), patch=SECRET_PATCH), work)
    assert work.patch("shop-payments").exists()
    plancache.shown(review_repo(), work)
    assert not work.patch("shop-payments").exists()


def test_a_plan_without_secrets_is_cached_as_it_is(tmp_path: Path) -> None:
    work = WorkDir(tmp_path / "w")
    plan = plancache.shown(fleet().repos[0], work)
    assert plan == fleet().repos[0]
    with Journal.open(work) as journal:
        plancache.store(journal, work, "inputs", plan)
        assert plancache.load(journal, work, plan.repo, "inputs") == plan


def test_a_failed_fetch_keeps_the_private_patch_of_the_last_plan(tmp_path: Path) -> None:
    """A network blip must not cost the next unchanged re-plan its cached plan."""
    work = WorkDir(tmp_path / "w")
    plancache.shown(dataclasses.replace(review_repo(), patch=SECRET_PATCH), work)
    failed = dataclasses.replace(review_repo(), commit=None, charts=(), patch=None)
    plancache.shown(failed, work)
    assert work.load_patch("shop-payments") == SECRET_PATCH


def test_a_record_made_by_a_worker_is_filed_as_the_run_would_have_stored_the_plan(
        tmp_path: Path) -> None:
    """A planning worker encodes the plan it made; the run only files it: the journal holds
    the same bytes, secrets redacted, as when the run itself stored the plan."""
    work = WorkDir(tmp_path / "w")
    plan = plancache.shown(dataclasses.replace(review_repo(), patch=SECRET_PATCH), work)
    record = pickle.loads(pickle.dumps(plancache.record(plan, work)))  # as a worker sends it
    assert PASSWORD not in record.text and PASSWORD_B64 not in record.text
    with Journal.open(work) as journal:
        filed = plancache.file(journal, "inputs", plan.repo.slug, record)
        filed_text = journal.stage_text(plan.repo.slug, plancache.STAGE, "inputs")
        stored = plancache.store(journal, work, "inputs", plan)
        assert journal.stage_text(plan.repo.slug, plancache.STAGE, "inputs") == filed_text
        assert filed is not None and filed == stored
        assert plancache.load(journal, work, plan.repo, "inputs") == plan
    assert PASSWORD.encode() not in _journal_bytes(work)
