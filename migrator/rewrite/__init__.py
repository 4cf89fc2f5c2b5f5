"""Rewrite every deploy reference to an embedded chart so it deploys the central chart.

`engine.rewrite_references` takes the references `migrator.refs.find_references` found and the
reference style, and returns the changed files (bytes, ready to commit), how each rewritten
deploy runs afterwards (for the engine to render and compare), and what was left alone and why.
Edits are surgical: only the words and lines that must change do; a reference that cannot be
changed safely is listed, never guessed at.

The package itself names the styles and targets only: the engine (with libcst, a fifth of the
tool's start-up) is imported by what rewrites, not by every command that reads a style.
"""

from __future__ import annotations

from migrator.rewrite.target import (
    STYLES,
    WRAPPER_DIR,
    ArgoTarget,
    CiInclude,
    DeployAfter,
    RewriteResult,
    RewriteTarget,
    Style,
)
from migrator.rewrite.wrapper import nest_values, wrapper_chart_yaml

__all__ = [
    "STYLES",
    "WRAPPER_DIR",
    "ArgoTarget",
    "CiInclude",
    "DeployAfter",
    "RewriteResult",
    "RewriteTarget",
    "Style",
    "nest_values",
    "wrapper_chart_yaml",
]
