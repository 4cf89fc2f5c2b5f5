"""What reading one deploy file gives: the deploys it holds and what was noticed on the way."""

from __future__ import annotations

from dataclasses import dataclass

from migrator.model import HelmInvocation, Notice


@dataclass(frozen=True)
class FileRefs:
    references: tuple[HelmInvocation, ...] = ()
    notices: tuple[Notice, ...] = ()
