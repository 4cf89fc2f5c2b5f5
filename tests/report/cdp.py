"""Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`).

`--window-size` cannot go below 500 px in headless Chromium (the page is laid out at 500 and
clipped), so a phone width needs `Emulation.setDeviceMetricsOverride`, which only the protocol
offers. The pipe is fd 3 (commands in) and fd 4 (answers out), each message JSON ended by NUL.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import subprocess
import time
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class Page:
    """One tab of a private headless Chromium; close it (a context manager) to end the browser."""

    def __init__(self, profile: Path, *, width: int, height: int, mobile: bool = False,
                 scripts: bool = True, timeout: float = 60.0) -> None:
        self._timeout = timeout
        into_chrome, self._out = os.pipe()
        self._in, from_chrome = os.pipe()
        # High numbers, so that placing them at 3 and 4 in the child clobbers neither.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (into_chrome, from_chrome)]
        for fd in (into_chrome, from_chrome):
            os.close(fd)

        def place() -> None:
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self._proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={profile}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4, *high), preexec_fn=place)  # noqa: PLW1509 (before exec only)
        for fd in high:
            os.close(fd)
        self._buffer = b""
        self._next = 0
        self._session: str | None = None
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.send("Target.attachToTarget", targetId=target,
                                  flatten=True)["sessionId"]
        self.send("Page.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=mobile)
        if not scripts:
            self.send("Emulation.setScriptExecutionDisabled", value=True)

    def __enter__(self) -> Page:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._session = None
            self.send("Browser.close")
        except (OSError, TimeoutError, RuntimeError):
            pass
        finally:
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            for fd in (self._in, self._out):
                os.close(fd)

    def open(self, page: Path) -> None:
        self.send("Page.navigate", url=page.as_uri())
        self._wait_event("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """The JSON value of `expression`, evaluated by DevTools (it runs whatever the page's
        own policy allows its scripts)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r} raised: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, clip: dict[str, float] | None = None) -> Path:
        """The whole page as PNG, or the part `clip` names (x, y, width, height in CSS px)."""
        extra: dict[str, Any] = {"clip": {**clip, "scale": 1}} if clip else {}
        data = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                         **extra)
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if self._session is not None:
            message["sessionId"] = self._session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read()
            if answer.get("id") == self._next:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer.get("result", {})
                return result

    def _wait_event(self, name: str) -> None:
        while self._read().get("method") != name:
            pass

    def _read(self) -> dict[str, Any]:
        deadline = time.monotonic() + self._timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self._in, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        loaded: dict[str, Any] = json.loads(message)
        return loaded
