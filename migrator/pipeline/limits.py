"""What a render may take, and what it becomes when it takes more.

A render is one Go call that cannot be interrupted in-process, so the planning worker tells the
run which Helm call it is in (`Rendering`) and the run, watching from outside, kills the worker
when that call runs over its time or the worker over its memory. The chart being planned is
known here (`planning`), so that the outcome lands on that chart, and the rest of its repo is
planned again without it.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from migrator.model import Kind, Outcome
from migrator.verify.render import HelmCall, RenderLimits

_chart: ContextVar[str | None] = ContextVar("migrator_planned_chart", default=None)


@contextmanager
def planning(chart: str) -> Iterator[None]:
    """The Helm calls made inside are on behalf of the embedded chart at `chart` (repo-relative
    path): a limit they run over is that chart's outcome."""
    token = _chart.set(chart)
    try:
        yield
    finally:
        _chart.reset(token)


def current_chart() -> str | None:
    return _chart.get()


@dataclass(frozen=True)
class Rendering:
    """A Helm call in progress in a worker, as the run watches it."""

    call: HelmCall
    chart: str | None  # the embedded chart it is for; None outside any (an upgrade's renders)
    started: float  # time.monotonic() in the watching process


def over_time(rendering: Rendering, limits: RenderLimits) -> Outcome:
    return _stopped(rendering, f"over the {limits.seconds:g} s time limit (--render-timeout)")


def over_memory(rendering: Rendering, limits: RenderLimits) -> Outcome:
    return _stopped(rendering, f"over the {limits.memory_mib} MiB memory limit "
                               "(--render-memory-mib)")


def ended(rendering: Rendering, exitcode: int | None) -> Outcome:
    """The worker ended on its own while this call ran: the call ended it (a Go fatal error,
    the kernel's out-of-memory killer...)."""
    return _stopped(rendering, f"the process rendering it {how_it_ended(exitcode)}")


def _stopped(rendering: Rendering, why: str) -> Outcome:
    call = rendering.call
    if call.action == "load":
        what = "loading the chart"
    elif call.origin == rendering.chart:
        what = "rendering the chart's own templates"
    else:
        what = f"rendering the central chart {call.origin} with the extracted values"
    release = f" (release {call.release})" if call.release else ""
    return Outcome(Kind.RENDER_LIMIT, detail=f"{why} {what}{release}",
                   environments=(call.environment,) if call.environment else ())


def how_it_ended(exitcode: int | None) -> str:
    if exitcode is None:
        return "ended"
    if exitcode >= 0:
        return f"exited with status {exitcode}"
    name = signal.Signals(-exitcode).name if -exitcode in signal.valid_signals() else str(
        -exitcode)
    hint = " (out of memory?)" if -exitcode == signal.SIGKILL else ""
    return f"was killed by {name}{hint}"


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_mib(pid: int) -> float | None:
    """The resident memory of process `pid` (Linux /proc); None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        return None
