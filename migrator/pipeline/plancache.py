"""The plan cache: a repo's plan kept in the journal for the next run, without its secrets.

What the journal stores is the plan as reports show it (`report.common.redact_plan`): values
and patch redacted. A patch that carries secrets is kept whole in the work dir instead
(`WorkDir.patch`, 0600, outside the database), and the cached plan holds its keyed hash
(`WorkDir.keyed_hash`): a later run takes that file back only when it is the very patch the
plan made, else it plans the repo again.

Why keep the file rather than rebuild the patch: rebuilding it means planning the repo again
(values, renders, rewrite), which is what the cache saves; and the clone the patch comes from
already holds the same secrets in the same private directory, so the file adds no exposure.
An unchanged re-plan is as fast for a repo with secrets as for any other.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace

from migrator import codec
from migrator.journal import Encoded, Journal, encode
from migrator.model import RepoPlan, RepoRef
from migrator.redact import redact_patch
from migrator.report.common import redact_plan
from migrator.workdir import WorkDir

STAGE = "plan"
VIEW_STAGE = "plan-view"  # the light view of the same plan (`view_record`)


def shown(plan: RepoPlan, work: WorkDir) -> RepoPlan:
    """The plan a run goes on with: as reports show it, but with the real patch (which `apply`
    commits); that patch kept in the work dir when it carries secrets."""
    redacted = redact_plan(plan)
    if plan.patch and redacted.patch != plan.patch:
        work.save_patch(plan.repo.slug, plan.patch)
    elif plan.commit is not None:  # planned from the repo (not a failed fetch): none needed
        work.drop_patch(plan.repo.slug)
    return replace(redacted, patch=plan.patch)


def store(journal: Journal, work: WorkDir, key: str, plan: RepoPlan) -> str | None:
    """Cache `plan` (as `shown` returned it) under the hash of its inputs. Returns the digest
    of what was stored (`load_traced`'s), or None when nothing was."""
    return file(journal, key, plan.repo.slug, record(plan, work))


def record(plan: RepoPlan, work: WorkDir) -> Encoded:
    """What the journal keeps of `plan` (as `shown` returned it), encoded where the plan was
    made: a worker, which has just redacted its patch (for the plan hash) and still holds it."""
    patch = redact_patch(plan.patch) if plan.patch else plan.patch
    return _encoded(replace(plan, patch=patch), plan, work)


def view_record(plan: RepoPlan, view: RepoPlan, work: WorkDir) -> Encoded:
    """What the journal keeps, beside `plan`, of its light view (report/spool.py): a re-plan
    whose reports are all written already reads the views alone (`load_view_traced`)."""
    return _encoded(view, plan, work)


def _encoded(kept: RepoPlan, plan: RepoPlan, work: WorkDir) -> Encoded:
    data: dict[str, object] = {"plan": codec.dump(kept)}
    if plan.patch and redact_patch(plan.patch) != plan.patch:
        data["patch_hmac"] = work.keyed_hash(plan.patch)
    return encode(data)


def file(journal: Journal, key: str, slug: str, encoded: Encoded,
         view: Encoded | None = None) -> str | None:
    """Store a `record` (and its `view_record`) under the hash of its plan's inputs; the
    digest as `store`'s."""
    journal.record_stage(slug, STAGE, key, encoded)
    if view is not None:
        journal.record_stage(slug, VIEW_STAGE, key, view)
    text = journal.stage_text(slug, STAGE, key)
    return _digest(text) if text is not None else None


def load(journal: Journal, work: WorkDir, repo: RepoRef, key: str) -> RepoPlan | None:
    """The cached plan of `repo` for these inputs, with its real patch; None when there is
    none, or its patch with secrets is no longer in the work dir as it was."""
    traced = load_traced(journal, work, repo, key)
    return traced[0] if traced is not None else None


def load_traced(journal: Journal, work: WorkDir, repo: RepoRef,
                key: str) -> tuple[RepoPlan, str] | None:
    """`load`, with the digest of the stored plan: two loads with one digest give one plan,
    which is what lets a run whose every plan is unchanged leave its reports be."""
    text = journal.stage_text(repo.slug, STAGE, key)
    if text is None:
        return None
    stored = json.loads(text)
    plan = replace(codec.load(RepoPlan, stored["plan"]), repo=repo)
    digest = stored.get("patch_hmac")
    if digest is None:
        return plan, _digest(text)
    patch = work.load_patch(repo.slug)
    if patch is None or not hmac.compare_digest(work.keyed_hash(patch), str(digest)):
        return None
    return replace(plan, patch=patch), _digest(text)


def load_view_traced(journal: Journal, work: WorkDir, repo: RepoRef,
                     key: str) -> tuple[RepoPlan, str] | None:
    """The light view of the cached plan of `repo` for these inputs, with the digest of the
    whole plan (`load_traced`'s); None when there is no such plan, or no view of it (then ask
    `load_traced`), or when `load_traced` would find it gone (its patch with secrets)."""
    text = journal.stage_text(repo.slug, STAGE, key)
    view_text = journal.stage_text(repo.slug, VIEW_STAGE, key)
    if text is None or view_text is None:
        return None
    stored = json.loads(view_text)
    digest = stored.get("patch_hmac")
    if digest is not None:
        patch = work.load_patch(repo.slug)
        if patch is None or not hmac.compare_digest(work.keyed_hash(patch), str(digest)):
            return None
    return replace(codec.load(RepoPlan, stored["plan"]), repo=repo), _digest(text)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
