"""What GitLab accepts as a merge request's text, for the report that writes it and the forge
that posts it: the title and description limits, the draft prefix, and the one routine that
cuts a description to fit.

GitLab refuses a title longer than 255 characters (`Issuable::TITLE_LENGTH_MAX`) and a
description longer than 1 MiB (`Issuable::DESCRIPTION_LENGTH_MAX = 1.megabyte`, 1,048,576).
Current GitLab validates the description's byte size (`bytesize: { maximum: ... }` in
app/models/concerns/issuable.rb); older releases counted characters. A description is measured
here in UTF-8 bytes, which keeps it within both.
"""

from __future__ import annotations

import re

from migrator.redact import scrub_text

TITLE_LIMIT = 255  # characters
DESCRIPTION_LIMIT = 1_048_576  # UTF-8 bytes
# GitLab makes an MR a draft by this title prefix; it also recognizes "Draft:", "[Draft]" and
# "(Draft)", which `propose` strips from titles it did not write.
DRAFT_PREFIX = "Draft: "

# What the closing of open blocks usually takes; more is still handled, by cutting again.
_CLOSING_ROOM = 64
_FENCE = re.compile(r"[ \t]*(`{3,}|~{3,})(.*)")


def inert(text: str, *, table: bool = False) -> str:
    """Text from a repo (a name, a reason) as one line GitLab shows but never acts on.

    GitLab runs quick actions (`/merge`, `/close`) written at the start of a line of an issue or
    MR description, renders HTML, and notifies whoever `@name` mentions. The text is put on one
    line, credentials hidden, `&`, `<`, `>` and `@` written as entities, and a leading `/` too,
    so none of that happens; in a table cell `|` is escaped as well.
    """
    text = " ".join(scrub_text(text).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("@", "&#64;")
    if text.startswith("/"):
        text = "&#47;" + text[1:]
    return text.replace("|", "\\|") if table else text


def size(text: str) -> int:
    """The length GitLab compares with DESCRIPTION_LIMIT."""
    return len(text.encode("utf-8"))


def fit_description(body: str, tail: str, pointer: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """`body` + `tail` when that fits in `limit`, else `body` cut to fit, `tail` kept whole.

    The cut happens at a line boundary; an open code fence or <details> is closed so the rest
    still renders, and a note says the text was cut and where to find all of it (`pointer`).
    """
    if size(body) + size(tail) <= limit:
        return body + tail
    note = f"\n\n---\n**This report was cut to fit GitLab's size limit. {pointer}**"
    fixed = size(note) + size(tail)
    if fixed > limit:
        raise ValueError(f"a description limit of {limit} bytes cannot hold the cut note "
                         f"and the {size(tail)} bytes that must stay")
    room = limit - fixed - _CLOSING_ROOM
    while True:
        cut = _head(body, max(room, 0))
        closing = _closing(cut)
        text = cut + closing + note + tail
        if size(text) <= limit:
            return text
        # Only the closing overflowed: leave it the room it needs (the loop ends at room 0,
        # where the cut is empty and so is the closing).
        room = min(room - 1, limit - fixed - size(closing))


def _head(text: str, room: int) -> str:
    """The longest prefix of `text` within `room` bytes that ends before a line break."""
    cut = text.encode("utf-8")[:room].decode("utf-8", "ignore")
    return cut[: cut.rindex("\n")] if "\n" in cut else cut


def _closing(text: str) -> str:
    """What closes the code fence and the <details> blocks that `text` leaves open."""
    fence: str | None = None
    opened = 0
    for line in text.splitlines():
        match = _FENCE.fullmatch(line)
        if fence is None:
            if match:
                fence = match.group(1)
            else:
                opened += line.count("<details") - line.count("</details>")
        elif match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) \
                and not match.group(2).strip():
            fence = None
    closing = f"\n{fence}" if fence else ""
    return closing + "\n</details>" * max(0, opened)
