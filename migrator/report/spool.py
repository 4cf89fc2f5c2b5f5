"""A repo's own report files, rendered as soon as the repo is planned and kept on disk until the
run writes its reports; the run holds only a light view of the plan meanwhile.

Why: a plan holds the values the migration writes and the patch, most of its size, and only the
repo's own files (report.json, report.md, changes.patch, its plan-state.json entry) show them.
The fleet files (fleet.md, .html, .json, .csv, junit.xml, central-gaps) read the verdicts,
reasons, differences and checks. Holding every whole plan until the end made the run's memory
grow with the fleet; with the spool it grows by the view alone.

The worker that planned a repo renders its files (`render`) and sends them with the light view:
the run's own process never builds the whole plan, so its heap is not left in pieces by plans
it let go. The run appends them to one file in the private work dir (the texts are the
reports', redacted) and reads them back, in fleet order, when it writes the reports. Nothing
reaches `--out` before then: the run writes its reports at its end, all at once, as before.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from migrator.model import CentralInfo, ChartPlan, RepoPlan, ValueDecision, ValueReason
from migrator.report.planstate import state_item
from migrator.report.write import PLAN_ID_PLACEHOLDER, RepoFiles, repo_files

# report.json, report.md (naming the plan as PLAN_ID_PLACEHOLDER), the redacted patch (None:
# nothing is proposed), the plan-state.json entry
Texts = tuple[str, str, str | None, str]



@dataclass(frozen=True)
class Spooled:
    """A planned repo's own report files, rendered where it was planned (a worker), and the
    light view of its plan the run holds instead of the plan."""

    view: RepoPlan
    texts: Texts


def render(plan: RepoPlan, central: CentralInfo, tool_version: str) -> Spooled | None:
    """None when the plan id's place in report.md cannot be told (the run then keeps the whole
    plan and renders its files at the end)."""
    texts = _texts(plan, central, tool_version)
    if texts[1].count(PLAN_ID_PLACEHOLDER) != 1:
        return None
    return Spooled(light(plan), texts)


def _texts(plan: RepoPlan, central: CentralInfo, tool_version: str) -> Texts:
    files = repo_files(plan, central, PLAN_ID_PLACEHOLDER, tool_version)
    return files.report_json, files.report_md, files.patch, state_item(plan)


@dataclass(frozen=True)
class _Entry:
    offset: int
    sizes: tuple[int, int, int, int]  # bytes of each text; -1: no patch


class Spool:
    """Usable as a context manager: the file goes when the run is done with it."""

    def __init__(self, path: Path, tool_version: str) -> None:
        self._path = path
        self.tool_version = tool_version
        self._entries: dict[str, _Entry] = {}
        self._deferred: dict[str, tuple[Callable[[], RepoPlan], CentralInfo]] = {}
        self._writer: BinaryIO | None = None
        self._reader: BinaryIO | None = None
        # Once the file cannot be written (a full or read-only work dir), texts are held in
        # memory instead: that costs the run memory, not its reports.
        self._held: dict[str, Texts] = {}
        self._unwritable = False
        self._closers: list[Callable[[], None]] = []

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, slug: str, texts: Texts) -> None:
        if not self._unwritable:
            try:
                self._entries[slug] = self._write(texts)
                return
            except OSError:
                self._unwritable = True
        self._held[slug] = texts

    def _write(self, texts: Texts) -> _Entry:
        report_json, report_md, patch, item = texts
        parts = [report_json.encode(), report_md.encode(), (patch or "").encode(),
                 item.encode()]
        writer = self._open_writer()
        offset = writer.tell()
        for part in parts:
            writer.write(part)
        return _Entry(offset, (len(parts[0]), len(parts[1]),
                               len(parts[2]) if patch is not None else -1, len(parts[3])))

    def defer(self, slug: str, load: Callable[[], RepoPlan], central: CentralInfo) -> None:
        """The repo's files are to be rendered from `load()`'s whole plan, if they are ever
        asked for (a cached plan whose view the run held: its reports are seldom written
        again)."""
        self._deferred[slug] = (load, central)

    def close_with(self, close: Callable[[], None]) -> None:
        """Call `close` when the spool closes (what deferred loads read from)."""
        self._closers.append(close)

    def files(self, slug: str) -> RepoFiles | None:
        texts = self._read(slug)
        if texts is None:
            return None
        report_json, report_md, patch, _ = texts
        return RepoFiles(report_json, report_md, patch)

    def state_item(self, slug: str) -> str | None:
        texts = self._read(slug)
        return texts[3] if texts is not None else None

    def close(self) -> None:
        for handle in (self._writer, self._reader):
            if handle is not None:
                with suppress(OSError):  # a write that failed is not retried on close
                    handle.close()
        self._writer = self._reader = None
        self._entries.clear()
        self._deferred.clear()
        self._held.clear()
        for close in self._closers:
            close()
        self._closers.clear()
        with suppress(OSError):  # nothing there to remove, or not a file the run made
            if self._path.is_file():
                self._path.unlink()

    def _open_writer(self) -> BinaryIO:
        if self._writer is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            # A spool left by a run that was killed is of no use to this one.
            self._writer = self._path.open("wb")
        return self._writer

    def _read(self, slug: str) -> tuple[str, str, str | None, str] | None:
        if slug in self._deferred:
            load, central = self._deferred.pop(slug)
            self.add(slug, _texts(load(), central, self.tool_version))
        if slug in self._held:
            return self._held[slug]
        entry = self._entries.get(slug)
        if entry is None:
            return None
        if self._writer is not None:
            self._writer.flush()
        if self._reader is None:
            self._reader = self._path.open("rb")
        self._reader.seek(entry.offset)
        texts = [self._reader.read(max(size, 0)).decode() for size in entry.sizes]
        return texts[0], texts[1], texts[2] if entry.sizes[2] >= 0 else None, texts[3]


def light(plan: RepoPlan) -> RepoPlan:
    """`plan` without what only its own report files show: the patch and the values written
    (each chart's files and each environment's), and of the value decisions only their reasons
    (fleet.csv counts them by reason). The fleet files of light plans are those of whole plans
    (tests/report/test_spool.py)."""
    return replace(plan, patch=None, charts=tuple(_light_chart(c) for c in plan.charts))


def _light_chart(chart: ChartPlan) -> ChartPlan:
    values = chart.values
    if values is not None:
        values = replace(values, base={}, envs={},
                         decisions=tuple(_reason_only(d.reason) for d in values.decisions))
    return replace(chart, values=values,
                   environments=tuple(replace(e, values={}) for e in chart.environments))


@functools.cache
def _reason_only(reason: ValueReason) -> ValueDecision:
    # One record per reason, shared by every light plan: a chart has a decision per key.
    return ValueDecision("", reason)
