"""The planning workers, seen from the run: started, given one task at a time, watched, killed.

Each worker is a process started fresh (`spawn`): the run's own process has the Go runtime of
helm-python-sdk loaded, and a child forked from it deadlocks in its first Helm call. While a
worker is inside a Helm call (it says so, worker.py), the run holds that call to its limits: a
call running longer than `RenderLimits.seconds`, or a worker growing past `memory_mib` resident,
is stopped by killing the worker's process group, and the task comes back as `Stopped`, naming
the call. A worker that dies on its own comes back the same way. Its slot gets a new worker
when there is more to do.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from migrator.errors import MigratorError
from migrator.model import Outcome
from migrator.pipeline import limits
from migrator.pipeline.limits import Rendering
from migrator.pipeline.tasks import Fetched, Setup, Task
from migrator.verify.render import RenderLimits

_SPAWN = multiprocessing.get_context("spawn")
MEMORY_CHECK_SECONDS = 0.1


@dataclass(frozen=True)
class Finished:
    task: Task
    result: Any  # Fetched for a FetchTask, Planned for a PlanTask


@dataclass(frozen=True)
class Stopped:
    """The worker is gone before it finished `task`: killed over a limit, or dead on its own."""

    task: Task
    rendering: Rendering | None  # the Helm call it was in, if any
    outcome: Outcome | None  # that call's outcome (set when it was in one), else None
    why: str  # in words, for a stop outside any Helm call


Event = Finished | Stopped


class _Slot:
    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.task: Task | None = None
        self.rendering: Rendering | None = None
        self.ready = False  # it said it loaded the run's context

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid


def _serve(conn: Connection, setup: Setup) -> None:
    """A worker process's main, the planning stages imported there only: the run's own process
    never loads them (nor libcst, DeepDiff, ...), which keeps its start-up and memory small."""
    from migrator.pipeline.worker import serve

    serve(conn, setup)


class Pool:
    """`size` planning workers. Not thread-safe: one thread runs it."""

    def __init__(self, size: int, setup: Setup) -> None:
        self._setup = setup
        self._limits: RenderLimits = setup.limits
        self._slots: list[_Slot | None] = [None] * max(1, size)
        self._memory_checked = 0.0

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(kill=exc[0] is not None)

    # --- giving work --------------------------------------------------------------------

    def idle(self) -> int:
        return sum(1 for s in self._slots if s is None or s.task is None)

    def busy(self) -> int:
        return len(self._slots) - self.idle()

    def give(self, task: Task) -> None:
        """Hand `task` to an idle worker (there must be one); a worker starts with its first
        task, and one that died is replaced."""
        i = next(i for i, s in enumerate(self._slots) if s is None or s.task is None)
        slot = self._slots[i]
        if slot is not None and not slot.process.is_alive():  # died idle: replaced
            self._forget(slot)
            slot = None
        slot = slot or self._spawn()
        self._slots[i] = slot
        slot.task, slot.rendering = task, None
        with suppress(OSError):  # it just died: `events` reports it, with this task
            slot.conn.send(task)

    # --- watching -----------------------------------------------------------------------

    def events(self, timeout: float) -> list[Event]:
        """What happened within `timeout` seconds (less when something did)."""
        busy = [s for s in self._slots if s is not None and s.task is not None]
        if not busy:
            time.sleep(timeout)
            return []
        ready = set(wait([s.conn for s in busy] + [s.process.sentinel for s in busy],
                         timeout=timeout))
        out: list[Event] = []
        for slot in busy:
            if slot.conn in ready or slot.process.sentinel in ready:
                event = self._read(slot)
                if event is not None:
                    out.append(event)
        return out + self._over_limits()

    def _read(self, slot: _Slot) -> Event | None:
        """Every message the worker sent; an event when it finished or died."""
        try:
            while slot.conn.poll():
                message = slot.conn.recv()
                if message[0] == "ready":
                    slot.ready = True
                elif message[0] == "call":
                    slot.rendering = Rendering(message[1], message[2], time.monotonic())
                elif message[0] == "called":
                    slot.rendering = None
                elif message[0] == "done":
                    task, slot.task, slot.rendering = slot.task, None, None
                    assert task is not None
                    return Finished(task, message[1])
                elif message[0] == "failed":
                    raise MigratorError(message[1])
        except (EOFError, OSError):
            pass
        if slot.process.is_alive():
            return None
        return self._died(slot)

    def _died(self, slot: _Slot) -> Stopped | None:
        slot.process.join()
        exitcode = slot.process.exitcode
        task, rendering, ready = slot.task, slot.rendering, slot.ready
        self._forget(slot)
        if not ready and exitcode is not None and exitcode > 0:
            # it failed before its first task (Python could not import it...): so would any
            raise MigratorError(f"a planning worker could not start: it "
                                f"{limits.how_it_ended(exitcode)} (its error is above)")
        if task is None:
            return None
        if rendering is not None:
            return Stopped(task, rendering, limits.ended(rendering, exitcode), "")
        return Stopped(task, None, None, f"the planning process {limits.how_it_ended(exitcode)}")

    def _over_limits(self) -> list[Event]:
        now = time.monotonic()
        check_memory = now - self._memory_checked >= MEMORY_CHECK_SECONDS
        if check_memory:
            self._memory_checked = now
        out: list[Event] = []
        for slot in self._slots:
            if slot is None or slot.task is None:
                continue
            rendering = slot.rendering
            if rendering is not None and now - rendering.started > self._limits.seconds:
                out.append(self._stop(slot, limits.over_time(rendering, self._limits), ""))
                continue
            if not check_memory:
                continue
            rss = limits.resident_mib(slot.pid)
            if rss is not None and rss > self._limits.memory_mib:
                outcome = (limits.over_memory(rendering, self._limits) if rendering is not None
                           else None)
                out.append(self._stop(slot, outcome, f"planning used more than "
                                      f"{self._limits.memory_mib} MiB of memory outside any "
                                      f"render (--render-memory-mib) and was stopped"))
        return out

    def _stop(self, slot: _Slot, outcome: Outcome | None, why: str) -> Stopped:
        task, rendering = slot.task, slot.rendering
        assert task is not None
        self._kill(slot)
        return Stopped(task, rendering, outcome, why)

    # --- ending -------------------------------------------------------------------------

    def close(self, kill: bool = False) -> None:
        """End every worker: at once with `kill` (or when busy), else by closing its pipe."""
        for slot in self._slots:
            if slot is None:
                continue
            if kill or slot.task is not None:
                self._kill(slot)
            else:
                with suppress(OSError):
                    slot.conn.send(None)
        deadline = time.monotonic() + 2.0
        for slot in self._slots:
            if slot is not None:
                slot.process.join(max(0.0, deadline - time.monotonic()))
                if slot.process.is_alive():
                    self._kill(slot)
                else:
                    self._forget(slot)

    def _kill(self, slot: _Slot) -> None:
        # The worker leads its own process group (once started), so the git it runs goes too.
        # Only while it is unreaped: its pid, and so its group id, cannot be anyone else's.
        for send in (os.killpg, os.kill):
            try:
                send(slot.pid, signal.SIGKILL)
                break
            except ProcessLookupError:
                continue
        slot.process.join()
        self._forget(slot)

    def _forget(self, slot: _Slot) -> None:
        slot.conn.close()
        slot.process.close()
        self._slots[self._slots.index(slot)] = None

    def _spawn(self) -> _Slot:
        ours, theirs = _SPAWN.Pipe()
        process = _SPAWN.Process(target=_serve, args=(theirs, self._setup),
                                 name="migrator-plan-worker", daemon=True)
        with _sigint_blocked():
            process.start()
        theirs.close()
        return _Slot(process, ours)


@contextmanager
def _sigint_blocked() -> Iterator[None]:
    """A worker is born with SIGINT blocked (the mask survives exec) until it ignores it: a
    Ctrl-C while it starts is the run's, never a traceback in the worker. The run's own SIGINT
    waits the few milliseconds of the start and is then delivered."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


__all__ = ["Event", "Fetched", "Finished", "Pool", "Stopped"]
