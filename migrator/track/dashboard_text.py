"""The campaign dashboard issue's text: the generated block, and what people did to it.

The issue holds one block between two hidden markers; `render` writes it, `parse` finds it
again and reads the ticks people made inside it, `compose` puts a new block where the old one was
and keeps every byte around it. A tick is a task-list item carrying a hidden
`<!-- migrator-action ACTION ID -->`, ID being `repo_id(repo)`: a hash, so no repo name (which a
repo's owner chooses) ever has to survive inside an HTML comment.

Everything that comes from a repo (its name, a blocking reason, an error) goes through
`mrtext.inert`, as in the merge request descriptions: no quick action, no HTML, no mention.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from migrator.mrtext import DESCRIPTION_LIMIT, inert, size

Action = Literal["open", "rebase", "recreate"]
ACTIONS: tuple[Action, ...] = ("open", "rebase", "recreate")
State = Literal["needs-attention", "open", "draft", "not-started", "blocked", "merged"]
# The order of the sections: what a person has to act on first.
STATES: tuple[State, ...] = ("needs-attention", "open", "draft", "not-started", "blocked",
                             "merged")
# The order of the progress columns: how far the campaign got.
PROGRESS: tuple[State, ...] = ("merged", "open", "draft", "needs-attention", "blocked",
                               "not-started")
TITLES: dict[State, str] = {
    "needs-attention": "Needs attention",
    "open": "Open",
    "draft": "Draft",
    "not-started": "Not started",
    "blocked": "Blocked",
    "merged": "Merged",
}
ASK: dict[Action, str] = {
    "open": "open the merge request on the next `apply`",
    "rebase": "rebuild the branch on the target's head on the next `apply`",
    "recreate": "open a new merge request on the next `apply`",
}
_TICK = re.compile(r"^[ \t]*[-*+][ \t]+\[([ xX])\][^\n]*?"
                   r"<!-- migrator-action (open|rebase|recreate) ([0-9a-f]{12}) -->[ \t\r]*$",
                   re.MULTILINE)
_ACTION: dict[str, Action] = {a: a for a in ACTIONS}
_URL = re.compile(r"https?://[^\s()<>\[\]\"'`]+")


@dataclass(frozen=True)
class Row:
    """One repo as the dashboard shows it."""

    repo: str
    state: State
    mr_iid: int | None = None
    mr_url: str | None = None
    pipeline: str | None = None
    opened: float | None = None  # when the MR was opened (epoch seconds)
    reason: str = ""
    wave: int | None = None  # which apply run opened its MR (1-based), None before any
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True)
class Wave:
    number: int
    started: float  # epoch seconds of the apply run


@dataclass(frozen=True)
class Parsed:
    before: str  # a person's text above the block, verbatim
    block: str | None  # the generated block as it stands (None: not there)
    after: str  # a person's text below it, verbatim
    ticked: frozenset[tuple[str, Action]]  # (repo id, action) ticked inside the block


def markers(key: str) -> tuple[str, str]:
    """The hidden first and last lines of the block; `key` tells campaigns apart."""
    return (f"<!-- migrator-dashboard-{key} begin -->", f"<!-- migrator-dashboard-{key} end -->")


def repo_id(repo: str) -> str:
    return hashlib.sha256(repo.encode("utf-8")).hexdigest()[:12]


def parse(text: str, key: str) -> Parsed:
    begin, end = markers(key)
    start = text.find(begin)
    stop = text.find(end, start + len(begin)) if start >= 0 else -1
    if start < 0 or stop < 0:
        return Parsed(text, None, "", frozenset())
    block = text[start: stop + len(end)]
    ticked = frozenset((m.group(3), _ACTION[m.group(2)]) for m in _TICK.finditer(block)
                       if m.group(1) in "xX")
    return Parsed(text[:start], block, text[stop + len(end):], ticked)


def compose(parsed: Parsed, block: str) -> str:
    """The issue's text with `block` in place of the old one; without one, after the text."""
    if parsed.block is None:
        head = parsed.before.rstrip()
        return f"{head}\n\n{block}\n" if head else f"{block}\n"
    return parsed.before + block + parsed.after


def render(key: str, rows: Sequence[Row], waves: Sequence[Wave], *, now: float,
           ticked: Collection[tuple[str, Action]] = (), skipped: int = 0,
           limit: int = DESCRIPTION_LIMIT) -> str:
    """The block; the tables are cut (with a count of what was left out) to fit `limit`."""
    cap: int | None = None
    while True:
        text = _render(key, rows, waves, now, frozenset(ticked), skipped, cap)
        if size(text) <= limit - 4096 or cap == 0:  # room for a person's text around it
            return text
        cap = max(len(rows) // 2, 1) if cap is None else cap // 2


def _render(key: str, rows: Sequence[Row], waves: Sequence[Wave], now: float,
            ticked: frozenset[tuple[str, Action]], skipped: int, cap: int | None) -> str:
    begin, end = markers(key)
    lines = [begin, "## Migration campaign", "",
             "_Written by `migrator status`: this block is replaced on each run, except the "
             "boxes you tick, which ask the next `migrator apply` for that action (and are "
             "unticked once it is done). Write anything you like above or below it._", ""]
    lines += _progress(rows, waves, skipped)
    by_state = {state: sorted((r for r in rows if r.state == state), key=lambda r: r.repo)
                for state in STATES}
    for state in STATES:
        if by_state[state]:
            lines += _section(state, by_state[state], now, ticked, cap)
    lines.append(end)
    return "\n".join(lines)


def _progress(rows: Sequence[Row], waves: Sequence[Wave], skipped: int) -> list[str]:
    header = ["", *(TITLES[s].lower() for s in PROGRESS), "total"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    groups: list[tuple[str, list[Row]]] = [("**all**", list(rows))]
    if waves:
        for wave in waves:
            day = datetime.fromtimestamp(wave.started, UTC).strftime("%Y-%m-%d")
            groups.append((f"wave {wave.number} ({day})",
                           [r for r in rows if r.wave == wave.number]))
        groups.append(("no MR yet", [r for r in rows if r.wave is None]))
    for name, members in groups:
        counts = [sum(r.state == s for r in members) for s in PROGRESS]
        lines.append("| " + " | ".join([name, *map(str, counts), str(len(members))]) + " |")
    lines.append("")
    done = sum(r.state == "merged" for r in rows)
    share = f"{100 * done // len(rows)} %" if rows else "—"
    lines.append(f"**{done} of {len(rows)} merged ({share})**"
                 + (f"; {skipped} more repos need nothing." if skipped else "."))
    lines.append("")
    return lines


def _section(state: State, rows: Sequence[Row], now: float,
             ticked: frozenset[tuple[str, Action]], cap: int | None) -> list[str]:
    shown = rows if cap is None else rows[:cap]
    lines: list[str] = []
    folded = state == "merged"
    title = f"{TITLES[state]} ({len(rows)})"
    if folded:
        lines += ["<details>", f"<summary>{title}</summary>", ""]
    else:
        lines += [f"### {title}", ""]
    why = "blocked by" if state == "blocked" else "why"
    lines += [f"| repo | MR | pipeline | age | wave | {why} |", "|---|---|---|---|---|---|"]
    for r in shown:
        lines.append("| " + " | ".join([
            inert(r.repo, table=True), _mr_link(r), inert(r.pipeline or "—", table=True),
            _age(r.opened, now), str(r.wave) if r.wave else "—",
            inert(r.reason, table=True) or "—"]) + " |")
    if len(rows) > len(shown):
        lines.append(f"\n… and {len(rows) - len(shown)} more (see `migrator status`).")
    boxes = [(r, a) for r in shown for a in r.actions]
    if boxes:
        lines.append("")
        for r, action in boxes:
            mark = "x" if (repo_id(r.repo), action) in ticked else " "
            lines.append(f"- [{mark}] {inert(r.repo)}: {ASK[action]} "
                         f"<!-- migrator-action {action} {repo_id(r.repo)} -->")
    lines.append("")
    if folded:
        lines += ["</details>", ""]
    return lines


def _mr_link(row: Row) -> str:
    if row.mr_iid is None:
        return "—"
    url = row.mr_url or ""
    if _URL.fullmatch(url):
        return f"[!{row.mr_iid}]({url})"
    return f"!{row.mr_iid}"


def _age(opened: float | None, now: float) -> str:
    """Whole days, so the text (and the issue) changes at most once a day for it."""
    if opened is None:
        return "—"
    days = max(0, int((now - opened) // 86400))
    return "today" if days == 0 else f"{days} d"
