"""What the merge request and the bot's commit say: titles, markers, trailer, note."""

from __future__ import annotations

import pytest

from migrator import git
from migrator.propose.describe import (
    NOTE_MARKER,
    PLAN_TRAILER,
    commit_message,
    marked_plan,
    needs_attention_note,
    plan_marker,
    strip_draft,
)


@pytest.mark.parametrize("title", ["Draft: Use it", "Draft:Use it", "[Draft] Use it",
                                   "(Draft) Use it", "WIP: Use it", "Use it"])
def test_any_draft_prefix_gitlab_knows_is_stripped(title: str) -> None:
    assert strip_draft(title) == "Use it"


def test_the_last_plan_marker_of_a_description_names_the_plan() -> None:
    text = f"quoted {plan_marker('old')}\n\nreport\n\n{plan_marker('new-1.2')}\n"
    assert marked_plan(text) == "new-1.2"
    assert marked_plan("no marker here") is None


def test_the_commit_carries_the_reason_and_the_plan_trailer() -> None:
    message = commit_message("Use it", "  identical manifests \n", "h1")
    assert message == f"Use it\n\nidentical manifests\n\n{PLAN_TRAILER}: h1\n"
    assert git.trailer(message, PLAN_TRAILER) == "h1"
    assert commit_message("Use it", "", "h1") == f"Use it\n\n{PLAN_TRAILER}: h1\n"


def test_the_needs_attention_note_is_marked_and_names_branch_and_head() -> None:
    note = needs_attention_note("migrator/x", "0123456789abcdef", "bot@example.com")
    assert note.startswith(NOTE_MARKER)
    assert "`migrator/x`" in note and "`0123456789ab`" in note and "bot@example.com" in note
