"""Line endings kept through an edit: rewrites work on `\\n` text, files keep what they had.

A deploy file written on Windows ends its lines with CRLF; one that went through several editors
may mix both. The rewrites find and edit commands in LF text; `restore` puts every line's own
ending back, so the only lines a patch touches are the lines an edit changed.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Endings:
    """How the lines of a file ended (`\\r\\n` or `\\n`; the last line may have none)."""

    lines: tuple[str, ...]  # the file's lines, as LF text splits them
    endings: tuple[str, ...]  # each line's ending, in the file

    @property
    def crlf_only(self) -> bool:
        return all(e == "\r\n" for e in self.endings[:-1]) and "\r\n" in self.endings

    @property
    def lf_only(self) -> bool:
        return "\r\n" not in self.endings


def split(raw: str) -> tuple[str, Endings]:
    """`raw` with every CRLF as LF, and how to put them back."""
    parts = raw.split("\n")
    lines: list[str] = []
    endings: list[str] = []
    for part in parts[:-1]:
        crlf = part.endswith("\r")
        lines.append(part[:-1] if crlf else part)
        endings.append("\r\n" if crlf else "\n")
    lines.append(parts[-1])
    endings.append("")
    return "\n".join(lines), Endings(tuple(lines), tuple(endings))


def restore(text: str, before: Endings) -> str:
    """`text` (an edit of the LF text `split` gave) with the file's own line endings back: a
    line the edit kept keeps its ending, a new line takes the ending most lines have."""
    if before.lf_only:
        return text
    if before.crlf_only:
        return text.replace("\n", "\r\n")
    new = text.split("\n")
    counts = Counter(e for e in before.endings if e)
    usual = counts.most_common(1)[0][0] if counts else "\n"
    endings = [usual] * (len(new) - 1)
    matcher = difflib.SequenceMatcher(None, before.lines, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            for k in range(j2 - j1):
                if j1 + k < len(endings) and before.endings[i1 + k]:
                    endings[j1 + k] = before.endings[i1 + k]
    return "".join(line + ending for line, ending in zip(new, [*endings, ""], strict=True))
