"""From shell command lines to `HelmInvocation` records: shared by CI, Makefiles and scripts."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from migrator.locate.helmcmd import ParsedHelm, parse_helm_command
from migrator.locate.shellwords import tokenize
from migrator.model import HelmInvocation

# Parts of a command that, when built at run time, make it impossible to rewrite safely. Values
# files chosen at run time (`-f values-$ENV.yaml`) are not among them: the rewrite can often keep
# the same choice with the new files (`-f deploy/values-$ENV.yaml`).
_BLOCKING = ("chart", "release")


@dataclass(frozen=True)
class ScriptLine:
    """One command of a script, and where its text starts."""

    file: str
    line: int
    text: str


def helm_invocations_in_script(
    lines: Iterable[ScriptLine],
    variables: Mapping[str, str],
    *,
    source: str,
    context: str,
    environment: str | None,
) -> Iterator[HelmInvocation]:
    """Helm commands among `lines`, following simple `NAME=value`/`export NAME=value` lines."""
    known = dict(variables)
    for line in lines:
        if _track_assignment(line.text, known):
            continue
        parsed = parse_helm_command(line.text, known)
        if parsed is not None:
            yield invocation_from(
                parsed,
                file=line.file,
                line=line.line,
                source=source,
                context=context,
                environment=environment,
            )


def invocation_from(
    parsed: ParsedHelm,
    *,
    file: str,
    line: int,
    source: str,
    context: str,
    environment: str | None,
    rewritable: bool = True,
) -> HelmInvocation:
    return HelmInvocation(
        file=file,
        line=line,
        source=source,
        context=context,
        subcommand=parsed.subcommand,
        release=parsed.release,
        chart=parsed.chart,
        namespace=parsed.namespace,
        values_files=parsed.values_files,
        set_flags=parsed.set_flags,
        version=parsed.version,
        environment=environment,
        text=parsed.text,
        rewritable=rewritable and not any(p in parsed.unresolved for p in _BLOCKING),
    )


def _track_assignment(text: str, known: dict[str, str]) -> bool:
    """Record `NAME=value` / `export NAME=value`; True when the line is only assignments."""
    words = [w for w in tokenize(text) if not w.operator]
    if words and words[0].value in ("export", "readonly", "declare", "local"):
        words = words[1:]
        if words and words[0].value.startswith("-"):
            return False
    if not words or not all("=" in w.value and _is_name(w.value.split("=", 1)[0]) for w in words):
        return False
    for w in words:
        name = w.value.split("=", 1)[0]
        value = w.expand(known, use_defaults=True) if w.expansions else w.value
        if value is None:
            known.pop(name, None)  # computed at run time: no longer known
        else:
            known[name] = value.split("=", 1)[1]
    return True


def _is_name(text: str) -> bool:
    return text.isidentifier() and text.isascii()
