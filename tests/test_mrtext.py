"""The one routine that fits a merge request description into GitLab's limit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from migrator.mrtext import DESCRIPTION_LIMIT, fit_description, size

MARKER = "\n\n<!-- migrator-plan: abc123 -->\n"
POINTER = "Full report: https://ci.example/r.md"


def test_a_short_description_is_kept_whole_with_its_tail() -> None:
    assert fit_description("short report\n", MARKER, "unused", 1000) == "short report\n" + MARKER


def test_a_long_report_is_cut_at_a_line_with_a_pointer_and_closed_sections() -> None:
    body = "# Report\n<details><summary>all</summary>\n\n```yaml\n" + "key: value\n" * 5000
    text = fit_description(body, MARKER, POINTER, 2000)
    assert size(text) <= 2000
    assert text.endswith(MARKER)
    assert "This report was cut to fit GitLab's size limit. " + POINTER in text
    kept = text[: text.index("\n```\n</details>")]
    assert body.startswith(kept + "\n")  # whole lines only
    assert text.count("```") % 2 == 0
    assert text.count("<details") == text.count("</details>")


def test_the_limit_counts_bytes_as_gitlab_does() -> None:
    body = "é" * 600 + "\n" + "ü" * 600 + "\n"  # 1,202 characters, 2,402 bytes
    text = fit_description(body, MARKER, POINTER, 2000)
    assert len(body) + len(MARKER) < 2000 < size(body)
    assert size(text) <= 2000 and text.startswith("é" * 600 + "\n\n---\n")


def test_a_line_longer_than_the_room_is_cut_between_characters() -> None:
    text = fit_description("€" * 1000, MARKER, POINTER, 500)
    assert size(text) <= 500 and text.startswith("€") and text.endswith(MARKER)


def test_a_longer_fence_is_closed_by_a_fence_as_long() -> None:
    # A fence of four backticks, so a line of three inside it is content, not its end.
    body = "intro\n````text\n```\nsome output\n" + "more output\n" * 500
    text = fit_description(body, MARKER, POINTER, 1000)
    assert "\n````\n\n---\n" in text


def test_a_closed_fence_needs_no_closing() -> None:
    body = "```sh\nrun\n```\n" + "plain line\n" * 500
    text = fit_description(body, MARKER, POINTER, 1000)
    assert "plain line\n\n---\n" in text and text.count("```") == 2


def test_details_inside_a_code_block_are_text_not_sections() -> None:
    body = "```html\n<details>\n```\n" + "line\n" * 500
    assert "</details>" not in fit_description(body, MARKER, POINTER, 1000)


def test_many_open_sections_are_all_closed_within_the_limit() -> None:
    body = "<details><summary>s</summary>\n\n" * 30 + "row\n" * 2000
    text = fit_description(body, MARKER, POINTER, 2000)
    assert size(text) <= 2000
    assert text.count("<details>") == text.count("</details>") == 30


def test_a_limit_too_small_for_the_note_and_the_tail_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        fit_description("x\n" * 100, MARKER, POINTER, 60)


def test_the_default_limit_is_gitlabs_one_mebibyte() -> None:
    assert DESCRIPTION_LIMIT == 1_048_576


_LINES = st.sampled_from([
    "plain text", "```", "```yaml", "````", "~~~", "<details><summary>x</summary>",
    "<details open><summary>y</summary>", "</details>", "| a | b |", "é€😀", "",
])


@given(lines=st.lists(_LINES, max_size=300), limit=st.integers(min_value=120, max_value=3000))
def test_a_fitted_description_never_exceeds_the_limit_and_keeps_its_tail(
        lines: list[str], limit: int) -> None:
    body = "\n".join(lines) + "\n"
    text = fit_description(body, MARKER, "See report.json.", limit)
    assert size(text) <= limit
    assert text.endswith(MARKER)
    if text != body + MARKER:
        kept = text[: text.index("\n\n---\n**This report was cut")]
        assert "See report.json." in text
        assert size(kept) < size(body)
