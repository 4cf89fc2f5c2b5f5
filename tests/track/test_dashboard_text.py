"""The dashboard issue's text: the block, a person's text around it, their ticks inside it."""

from __future__ import annotations

from migrator.mrtext import inert
from migrator.track.dashboard_text import (
    Row,
    Wave,
    compose,
    markers,
    parse,
    render,
    repo_id,
)

NOW = 1_700_000_000.0
DAY = 86400.0
ROWS = [
    Row("g/orders", "open", 3, "https://gitlab.example.com/g/orders/-/merge_requests/3",
        "success", NOW - 3 * DAY, wave=1, actions=("rebase",)),
    Row("g/mailer", "blocked", reason="destructive: Deployment/app spec.selector"),
    Row("g/search", "not-started", reason="ready", actions=("open",)),
    Row("g/billing", "merged", 1, "https://gitlab.example.com/g/billing/-/merge_requests/1",
        wave=1),
]


def block(**kw: object) -> str:
    return render("k1", ROWS, [Wave(1, NOW - 5 * DAY)], now=NOW, **kw)  # type: ignore[arg-type]


def tick(text: str, repo: str, action: str) -> str:
    marker = f"<!-- migrator-action {action} {repo_id(repo)} -->"
    lines = [line.replace("- [ ]", "- [x]", 1) if marker in line else line
             for line in text.split("\n")]
    return "\n".join(lines)


def test_the_block_shows_progress_per_wave_and_a_table_per_state() -> None:
    text = block()
    begin, end = markers("k1")
    assert text.startswith(begin) and text.endswith(end)
    assert "| **all** | 1 | 1 | 0 | 0 | 1 | 1 | 4 |" in text
    assert "| wave 1 (2023-11-09) | 1 | 1 | 0 | 0 | 0 | 0 | 2 |" in text
    assert "| no MR yet | 0 | 0 | 0 | 0 | 1 | 1 | 2 |" in text
    assert "### Open (1)" in text and "### Blocked (1)" in text and "### Not started (1)" in text
    assert "| g/orders | [!3](https://gitlab.example.com/g/orders/-/merge_requests/3) | " \
           "success | 3 d | 1 | — |" in text
    assert "| g/mailer | — | — | — | — | destructive: Deployment/app spec.selector |" in text
    assert f"- [ ] g/search: open the merge request on the next `apply` " \
           f"<!-- migrator-action open {repo_id('g/search')} -->" in text
    assert "<summary>Merged (1)</summary>" in text


def test_the_same_fleet_renders_the_same_text_within_a_day() -> None:
    assert block() == render("k1", ROWS, [Wave(1, NOW - 5 * DAY)], now=NOW + 3600)


def test_a_persons_text_around_the_block_is_kept_byte_for_byte() -> None:
    above, below = "Team notes:\r\n* ask @dana about mailer\r\n\r\n", "\n\n> signed, platform  \n"
    old = above + block() + below
    parsed = parse(old, "k1")
    assert (parsed.before, parsed.after) == (above, below)
    new = block(ticked=set())
    assert compose(parsed, new) == above + new + below


def test_ticks_are_read_inside_the_block_only_and_survive_a_rerender() -> None:
    fake = f"- [x] g/orders: look <!-- migrator-action rebase {repo_id('g/orders')} -->\n"
    text = fake + tick(block(), "g/search", "open").replace("\n", "\r\n")
    parsed = parse(text, "k1")
    assert parsed.ticked == {(repo_id("g/search"), "open")}
    again = block(ticked=parsed.ticked)
    assert parse(again, "k1").ticked == parsed.ticked


def test_an_issue_without_the_block_gets_it_after_the_persons_text() -> None:
    parsed = parse("Someone deleted the block.", "k1")
    assert parsed.block is None
    assert compose(parsed, block()) == "Someone deleted the block.\n\n" + block() + "\n"
    assert parse(block(), "other").block is None  # another campaign's block is not ours


def test_repo_text_is_inert_quick_actions_html_and_mentions() -> None:
    hostile = "x\n/merge\n<script>alert(1)</script> @all | /close"
    row = Row("g/evil", "blocked", reason=hostile)
    text = render("k1", [row], [], now=NOW)
    assert "<script>" not in text and "@all" not in text
    assert not any(line.lstrip().startswith("/") for line in text.splitlines())
    assert "x &#47;merge" not in text  # only a leading slash needs it; inside it stays "/"
    assert "x /merge &lt;script&gt;alert(1)&lt;/script&gt; &#64;all \\| /close" in text
    assert inert("/merge now") == "&#47;merge now"


def test_a_huge_fleet_is_cut_to_fit_the_description_limit() -> None:
    rows = [Row(f"g/repo-{i:05d}", "not-started", reason="ready " * 20, actions=("open",))
            for i in range(3000)]
    text = render("k1", rows, [], now=NOW, limit=200_000)
    assert len(text.encode()) <= 200_000
    assert "more (see `migrator status`)" in text
    assert text.endswith(markers("k1")[1])
