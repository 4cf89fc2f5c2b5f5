"""From shell command lines to `HelmInvocation` records: shared by CI, Makefiles and scripts.

A script is read top to bottom, as the shell runs it, with what can be known without running it:
`NAME=value` assignments, the directory `cd` moves to, and scripts handed to another shell
(`docker run ... image sh -c '...helm upgrade...'`), whose commands are read like the others.
Control flow is not followed: a value set in one branch counts for the rest of the script.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from migrator.locate.helmcmd import ParsedHelm, parse_helm_command
from migrator.locate.shellwords import Word, split_command_spans, tokenize
from migrator.model import HelmInvocation

# Parts of a command that, when built at run time, make it impossible to rewrite safely. Values
# files chosen at run time (`-f values-$ENV.yaml`) are not among them: the rewrite can often keep
# the same choice with the new files (`-f deploy/values-$ENV.yaml`).
_BLOCKING = ("chart", "release")
_SHELLS = {"sh", "bash", "ash", "dash", "zsh", "ksh"}
_MAX_NESTING = 3  # sh -c inside sh -c inside ...


@dataclass(frozen=True)
class ScriptLine:
    """One command of a script, and where its text starts."""

    file: str
    line: int
    text: str
    # the file's lines when YAML folded `text` onto one line: a command inside it is found
    # again where it is written
    folded_from: tuple[str, ...] = ()


@dataclass
class _State:
    """What the script has established so far."""

    known: dict[str, str]
    base: str  # where the source runs its commands ("" for the repo root)
    cwd: str | None = None  # after a `cd` the file can follow; None: `base`
    script_dir: frozenset[str] = frozenset()  # expansions that give the script's own folder
    from_script_dir: set[str] = field(default_factory=set)  # variables built from them

    def copy(self) -> _State:
        return replace(self, known=dict(self.known), from_script_dir=set(self.from_script_dir))


def helm_invocations_in_script(
    lines: Iterable[ScriptLine],
    variables: Mapping[str, str],
    *,
    source: str,
    context: str,
    environment: str | None,
    base: str = "",
    cwd: str | None = None,
    script_dir: Mapping[str, str] | None = None,
) -> Iterator[HelmInvocation]:
    """Helm commands among `lines`, following simple `NAME=value`/`export NAME=value` lines and
    `cd <dir>`. `base` is the directory the source runs commands in (a Makefile's own folder);
    `cwd` one the caller already knows (Jenkins `dir('x')`, `working-directory:`);
    `script_dir` maps the spellings of "this script's folder" (`$(dirname "$0")`) to it, as an
    absolute path from the repository root (`/deploy`)."""
    state = _State({**variables, **(script_dir or {})}, base, cwd,
                   frozenset(script_dir or {}))
    where = _Where(source, context, environment)
    for line in lines:
        yield from _command(line, state, where, 0)


@dataclass(frozen=True)
class _Where:
    source: str
    context: str
    environment: str | None


def _command(line: ScriptLine, state: _State, where: _Where, depth: int
             ) -> Iterator[HelmInvocation]:
    if _track_assignment(line.text, state):
        return
    if _track_cd(line.text, state):
        return
    parsed = parse_helm_command(line.text, state.known)
    if parsed is not None:
        found = invocation_from(parsed, file=line.file, line=line.line, source=where.source,
                                context=where.context, environment=where.environment)
        if state.cwd is not None:
            found = replace(found, cwd=state.cwd)
        if parsed.flag_uses("--name") and parsed.verb == "install":
            found = replace(found, rewritable=False, why=(
                "Helm 2 syntax (`install --name`): Helm 3 takes the release as an argument; "
                "rewrite it by hand"))
        if _uses_script_dir(parsed, state) and state.cwd is None:
            found = replace(found, rewritable=False, why=(
                "paths built from the script's own folder (`$(dirname \"$0\")`) or the "
                "repository's top: the rewrite cannot tell where the script is run from"))
        yield found
        return
    inner = inner_script(line.text)
    if inner is None or depth >= _MAX_NESTING:
        return
    start, script = inner
    first_line = line.line + line.text.count("\n", 0, start)
    nested = state.copy()
    elsewhere = _container_without_repo(line.text[:start])
    for offset, s, e in split_command_spans(script):
        number = first_line + offset
        if line.folded_from:
            number = _written_at(line.folded_from, script[s:e], first_line)
            first_line = number
        sub = ScriptLine(line.file, number, script[s:e], line.folded_from)
        for found in _command(sub, nested, where, depth + 1):
            yield replace(found, rewritable=False, why=elsewhere) if elsewhere else found


_WORKSPACE = {"$PWD", "${PWD}", "$(pwd)", "`pwd`", ".", "$CI_PROJECT_DIR", "${CI_PROJECT_DIR}",
              "$GITHUB_WORKSPACE", "${GITHUB_WORKSPACE}", "${{ github.workspace }}",
              "$WORKSPACE", "${WORKSPACE}"}


def _container_without_repo(before: str) -> str:
    """Why paths of a script run in a container are not the repository's ("" when they are):
    `docker run -v "$PWD:/src" -w /src img sh -c '...'` sees the repository where it runs;
    `docker exec`, `kubectl exec` or a run without that mount see the container's own files."""
    words = [w for w in tokenize(before) if not w.operator]
    names = [w.value.rsplit("/", 1)[-1] for w in words]
    if "exec" in names and any(n in ("docker", "podman", "kubectl", "nerdctl") for n in names):
        return "helm runs in another container (`exec`): its paths are not the repository's"
    if "ssh" in names:
        return "helm runs on another host (`ssh`): its paths are not the repository's"
    if not any(n in ("docker", "podman", "nerdctl") for n in names) or "run" not in names:
        return ""
    mounts: dict[str, str] = {}  # container path -> host path
    workdir = None
    for i, word in enumerate(words):
        flag, eq, attached = word.value.partition("=")
        value = attached if eq else (words[i + 1].value if i + 1 < len(words) else "")
        if flag in ("-v", "--volume"):
            host, _, rest = value.partition(":")
            mounts[rest.split(":", 1)[0].rstrip("/")] = host.rstrip("/")
        elif flag in ("-w", "--workdir"):
            workdir = value.rstrip("/")
    if workdir is not None and mounts.get(workdir) in _WORKSPACE:
        return ""
    return ("helm runs in a container that does not work in the repository (`-v $PWD:/x -w "
            "/x`): its paths are the container's")


def _written_at(lines: tuple[str, ...], command: str, after: int) -> int:
    """The 1-based line, from `after` on, where a command YAML folded is written: the first one
    holding its first two words."""
    words = [w.value for w in tokenize(command, folded=True) if not w.operator][:2]
    for wanted in (" ".join(words), words[0] if words else ""):
        for number in range(after, len(lines) + 1):
            if wanted and wanted in lines[number - 1]:
                return number
    return after


def inner_script(text: str) -> tuple[int, str] | None:
    """The script a command hands to another shell (`sh -c '...'`, `docker run img bash -ec
    "..."`): where its text starts in `text`, and the script as that shell reads it."""
    words = [w for w in tokenize(text) if w.value != "\n" or not w.operator]
    for i, word in enumerate(words[:-2]):
        if word.operator or word.value.rsplit("/", 1)[-1] not in _SHELLS:
            continue
        j = i + 1
        while j < len(words) - 1 and _is_shell_flag(words[j]) and "c" not in words[j].value:
            j += 1
        if j + 1 >= len(words) or not (_is_shell_flag(words[j]) and "c" in words[j].value):
            continue
        script = words[j + 1]
        if script.operator:
            return None
        quoted = text[script.start] in "'\"" and text[script.end - 1] == text[script.start]
        return (script.start + 1 if quoted else script.start), script.value
    return None


def _is_shell_flag(word: Word) -> bool:
    return (not word.operator and not word.quoted and word.value.startswith("-")
            and word.value[1:].isalpha())


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


def _track_assignment(text: str, state: _State) -> bool:
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
        value = w.expand(state.known, use_defaults=True) if w.expansions else w.value
        if value is None:
            state.known.pop(name, None)  # computed at run time: no longer known
        else:
            state.known[name] = value.split("=", 1)[1]
        if _mentions_script_dir(w, state):
            state.from_script_dir.add(name)
        else:
            state.from_script_dir.discard(name)
    return True


def _track_cd(text: str, state: _State) -> bool:
    """Follow `cd <dir>` / `pushd <dir>`; True when the command is one. A directory the file
    cannot name (`cd "$WORKDIR"`, `cd /src`, `cd -`) goes back to the source's default."""
    words = [w for w in tokenize(text) if not w.operator]
    if not words or words[0].value not in ("cd", "pushd", "popd"):
        return False
    args = [w for w in words[1:] if w.value not in ("-P", "-L", "--")]
    target = args[0].expand(state.known, use_defaults=True) if len(args) == 1 else None
    if target is not None and target.startswith("/") and _mentions_script_dir(args[0], state):
        state.cwd = posixpath.normpath(target).lstrip("/") or "."  # the script's own folder
        return True
    if target is None or target.startswith(("/", "~", "-")) or words[0].value == "popd":
        state.cwd = None
        return True
    base = state.cwd if state.cwd is not None else state.base
    state.cwd = posixpath.normpath(posixpath.join(base, target))
    if state.cwd.startswith(".."):
        state.cwd = None  # leaves the repository: nothing there is ours
    return True


def _uses_script_dir(parsed: ParsedHelm, state: _State) -> bool:
    roles = [parsed.chart_word] + [u.words[-1] for u in parsed.flag_uses("--values")]
    return any(i is not None and _mentions_script_dir(parsed.words[i], state) for i in roles)


def _mentions_script_dir(word: Word, state: _State) -> bool:
    for exp in word.expansions:
        text = word.value[exp.start : exp.end]
        if text in state.script_dir or (exp.name is not None
                                        and exp.name in state.from_script_dir):
            return True
    return False


def _is_name(text: str) -> bool:
    return text.isidentifier() and text.isascii()
