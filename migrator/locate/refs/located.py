"""The values deploy YAML reads into: strings that remember where they were written, and tagged
sequences (GitLab's `!reference`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Located(str):
    """A YAML string with its origin. Compares and hashes as the plain string."""

    file: str
    line: int  # 1-based line of the scalar (of the `|`/`>` indicator for block scalars)
    style: str  # "plain", "literal", "folded" or "quoted"

    def __new__(cls, value: str, file: str, line: int, style: str) -> Located:
        obj = super().__new__(cls, value)
        obj.file = file
        obj.line = line
        obj.style = style
        return obj


@dataclass(frozen=True)
class Tagged:
    """A tagged sequence such as GitLab's `!reference [job, script]`."""

    tag: str
    items: tuple[Any, ...]
    file: str
    line: int
