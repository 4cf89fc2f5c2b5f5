"""typer commands: parse options, call the pipeline, print. No logic lives here."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Move a fleet of forked Helm charts onto one central chart.")


@app.callback()
def _root() -> None:
    """Move a fleet of forked Helm charts onto one central chart."""


def main() -> None:
    app()
