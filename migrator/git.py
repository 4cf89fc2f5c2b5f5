"""Every git command the tool runs goes through here (the git CLI via subprocess).

Credentials never appear in a URL, in argv or in an error message: callers pass them through the
environment (see `env` arguments) and this module scrubs anything URL-credential-shaped from what
it reports.

App repos are data, never code: git runs in a fixed environment where no configuration but the
tool's own is read (no system or global config, no inherited `GIT_*` variables), no hook,
fsmonitor, askpass or credential helper from a repo's config can run, only plain transports are
allowed (never `ext::`), submodules are never fetched, and every URL or path reaches git after
`--` (or `--end-of-options`), so text from a fleet list or a GitLab answer is never an option.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from migrator import gitindex
from migrator.errors import GitError

_URL_USERINFO = re.compile(r"([a-z][a-z0-9+.-]*://)[^/\s@]+@", re.IGNORECASE)

# Make git deterministic and non-interactive whatever the user's config says, and blind to any
# configuration but the tool's own: a ~/.gitconfig with `core.fsmonitor`, hooks or
# `submodule.recurse` would otherwise act on every clone.
_BASE_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_ATTR_NOSYSTEM": "1",
    # Plain transports only (this overrides `protocol.*.allow` in any config). Never `ext`
    # (runs a command), nor any other remote helper. GitLab runs narrow it to https/ssh.
    "GIT_ALLOW_PROTOCOL": "file:http:https:ssh",
    "LC_ALL": "C",
}
# The only GIT_* variables taken from the caller's environment: how to reach hosts (TLS CAs,
# the ssh program), nothing that points git at other repos, configs, hooks or helpers, and no
# tracing (GIT_TRACE_CURL would print the Authorization header into error messages).
_INHERITED = frozenset({"GIT_SSL_CAINFO", "GIT_SSL_CAPATH", "GIT_SSL_CERT", "GIT_SSL_KEY",
                        "GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT"})
# Given on every command line, so they win over a repo's own `.git/config` (a local fleet's
# repos are read in place) and over anything it includes.
_SAFE_CONFIG = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "core.sshCommand=ssh",  # GIT_SSH_COMMAND, when the operator sets it, still wins
    "core.askPass=",
    "core.attributesFile=/dev/null",
    "submodule.recurse=false",
    "fetch.recurseSubmodules=false",
    "protocol.allow=never",  # with GIT_ALLOW_PROTOCOL above: nothing but the plain transports
)
_SAFE_ARGS = tuple(arg for item in _SAFE_CONFIG for arg in ("-c", item))
# `name::address` makes git run the remote helper `git-remote-name` (`ext::` runs a command).
_REMOTE_HELPER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+.-]*::")
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_CLONE_SCHEMES = frozenset({"file", "http", "https", "ssh", "git+ssh", "ssh+git"})


def scrub(text: str) -> str:
    """Remove user:password@ parts from any URL in `text`."""
    return _URL_USERINFO.sub(r"\1", text)


def run(
    args: list[str],
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
) -> str:
    """Run `git ARGS` and return stdout; raise GitError with a scrubbed message on failure."""
    proc = subprocess.run(
        ["git", *_SAFE_ARGS, *args],
        cwd=cwd,
        env=environment(env),
        input=input_text,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        detail = scrub((proc.stderr or proc.stdout).strip()) or f"exit {proc.returncode}"
        raise GitError(f"git {args[0]} failed: {detail}")
    return proc.stdout


def run_bytes(
    args: list[str],
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    input_bytes: bytes | None = None,
) -> bytes:
    """`run` for content that must keep every byte: no newline translation (CRLF stays CRLF),
    no decoding."""
    proc = subprocess.run(
        ["git", *_SAFE_ARGS, *args], cwd=cwd, env=environment(env), input=input_bytes,
        capture_output=True, check=False,
    )
    if proc.returncode != 0:
        message = (proc.stderr or proc.stdout).decode("utf-8", errors="replace").strip()
        raise GitError(f"git {args[0]} failed: {scrub(message) or f'exit {proc.returncode}'}")
    return proc.stdout


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every git command runs in: the caller's, minus its GIT_* variables but
    a few (`_INHERITED`), plus the fixed safe settings, plus `extra` (credentials, an index)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _INHERITED}
    env.update(_BASE_ENV)
    env.update(extra or {})
    if "GIT_CONFIG_COUNT" not in env:
        # No helper of the tool's: none from any config either (a local fleet's repo may name
        # one in its own `.git/config`).
        env.update({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "credential.helper",
                    "GIT_CONFIG_VALUE_0": ""})
    return env


def unsafe_url(location: str) -> str | None:
    """Why `location` (a clone URL or a local path, as a fleet list or GitLab gave it) must not
    reach git, or None. Said in words for the repo's reason."""
    shown = repr(scrub(location)[:200])
    if not location.strip():
        return "no clone URL"
    if location.startswith("-"):
        return f"the clone URL {shown} starts with '-' (git would read it as an option); refused"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in location):
        return f"the clone URL {shown} holds control characters; refused"
    if _REMOTE_HELPER.match(location):
        return (f"the clone URL {shown} names a git remote helper ('name::'), which can run "
                "commands; only http(s), ssh and local repositories are cloned")
    scheme = _URL_SCHEME.match(location)
    if scheme and scheme.group(1).lower() not in _CLONE_SCHEMES:
        return (f"the clone URL {shown} uses the scheme {scheme.group(1)!r}; only http(s), ssh "
                "and local repositories are cloned")
    return None


def is_repo(path: Path) -> bool:
    return (path / ".git").exists() or (path / "HEAD").is_file() and (path / "objects").is_dir()


def head(repo: Path) -> str:
    found = read_head(repo)
    if found is not None and found.commit is not None:
        return found.commit
    return run(["rev-parse", "HEAD"], cwd=repo).strip()


# --- reading refs without a git process -------------------------------------------------------
# A re-plan of an unchanged fleet asks every repo "where is your HEAD?": a git process each is
# most of its time. These read the answer from the files git keeps it in (a loose ref, the
# packed-refs file, a detached HEAD) and say None whenever the layout is anything they do not
# know for certain (a reftable, a linked worktree, a gitfile, a symbolic ref beyond HEAD): the
# caller then asks git, as before.

_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


@dataclass(frozen=True)
class Head:
    """What HEAD of a repository names: a branch and the commit it points at, or, detached,
    only a commit."""

    branch: str | None  # short name: `main` for refs/heads/main
    commit: str | None


def git_dir(repo: Path) -> Path | None:
    """The git directory of `repo` (its `.git`, or itself when bare), None when it is not one
    this module reads without git (a `.git` file pointing elsewhere, a linked worktree)."""
    dot = repo / ".git"
    if dot.is_dir():
        found = dot
    elif not dot.exists() and (repo / "HEAD").is_file() and (repo / "objects").is_dir():
        found = repo
    else:
        return None
    if (found / "commondir").exists() or (found / "reftable").exists():
        return None
    return found


def read_head(repo: Path) -> Head | None:
    """HEAD of `repo` read from its files, or None when in doubt (ask git then)."""
    where = git_dir(repo)
    if where is None:
        return None
    text = _plain_file(where / "HEAD")
    if text is None or not text.endswith("\n") or text.count("\n") != 1:
        return None
    text = text[:-1]
    if _SHA.match(text):
        return Head(None, text)
    if not text.startswith("ref: refs/heads/"):
        return None
    ref = text[len("ref: "):]
    branch = ref[len("refs/heads/"):]
    if not branch or branch.startswith("-") or "\\" in branch or ".." in branch:
        return None
    commit = read_ref(where, ref)
    if commit is None:
        return None  # unborn, or not written plainly: ask git
    return Head(branch, commit)


def fetched_by_name(repo: Path, head: Head) -> bool:
    """Whether `git fetch origin <head.branch>` from `repo` would bring HEAD's commit: no
    ref that git's lookup order puts before `refs/heads/<branch>` (`refs/<branch>`, a tag of
    that name) exists."""
    where = git_dir(repo)
    if where is None or head.branch is None:
        return head.branch is None
    packed = _packed(where)
    if packed is None:
        return False
    return not any((where / ref).exists() or (where / ref).is_symlink() or ref in packed
                   for ref in (f"refs/{head.branch}", f"refs/tags/{head.branch}"))


def read_ref(where: Path, ref: str) -> str | None:
    """The commit `ref` (a full name, `refs/heads/main`) points at in the git directory
    `where`: its loose file, else its line in packed-refs; None when neither says it plainly."""
    loose = where / ref
    if loose.exists() or loose.is_symlink():
        text = _plain_file(loose)
        if text is None:
            return None
        sha = text.strip()
        return sha if _SHA.match(sha) and text == sha + "\n" else None
    packed = _packed(where)
    return packed.get(ref) if packed is not None else None


def _packed(where: Path) -> dict[str, str] | None:
    """packed-refs as ref -> commit ({} when there is none), None when it cannot be read."""
    path = where / "packed-refs"
    if not (path.exists() or path.is_symlink()):
        return {}
    text = _plain_file(path)
    if text is None:
        return None
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith(("#", "^")) or not line:
            continue
        sha, _, name = line.partition(" ")
        if _SHA.match(sha) and name:
            out[name] = sha
    return out


def _plain_file(path: Path, limit: int = 16 << 20) -> str | None:
    """The text of `path` when it is a plain file (no symlink, FIFO or device: a repo of the
    fleet is data, and a FIFO named HEAD would hang the read) of UTF-8 within `limit` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        # os.read, not a file object: a re-plan reads a few of these per repo, and the
        # buffered reader cost more than the reads
        data = os.read(fd, info.st_size + 1)
        while info.st_size < len(data) <= limit:  # it grew since: read on, to the limit
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            data += chunk
        if len(data) > limit:
            return None
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def read_origin_url(repo: Path) -> str | None:
    """`remote.origin.url` from `repo`'s own config file, when it is written there plainly
    (one url, no quoting, no include); None otherwise."""
    where = git_dir(repo)
    if where is None:
        return None
    text = _plain_file(where / "config")
    if text is None:
        return None
    lines = text.splitlines()
    section, urls = "", []
    for raw in lines:
        line = raw.strip()
        if line.startswith("["):
            section = line
            if section.lower().startswith("[include") or (
                    "origin" in section and section != '[remote "origin"]'):
                return None
            continue
        if section == '[remote "origin"]':
            key, sep, value = line.partition("=")
            if sep and key.strip().lower() == "url":
                urls.append(value.strip())
    if len(urls) != 1 or any(c in urls[0] for c in "\"\\;#"):
        return None
    return urls[0]


def _is_url(location: str) -> bool:
    """A clone URL (`scheme://`, scp-like `git@host:`), not a path on this machine."""
    return "://" in location or location.startswith("git@")


def as_url(location: str) -> str:
    """Local paths become file:// URLs so that shallow and filtered clones work on them too."""
    if _is_url(location):
        return location
    return Path(location).resolve().as_uri()


def _local_source(location: str) -> Path | None:
    """The repository a fleet entry names by its path on this machine, or None (a URL)."""
    if _is_url(location):
        return None
    path = Path(location).resolve()
    return path if is_repo(path) else None


# A patch names each blob by its id abbreviated to git's default length, which grows with the
# objects the repository sees (7 hex digits below 2**14 packed objects, 8 from there). A clone
# that borrows its source's objects sees the source's whole history, a shallow one only HEAD:
# a source of fewer objects gives both the same length; a larger one is cloned shallow.
_BORROW_OBJECTS = 1 << 14


def _borrowable(source: Path) -> bool:
    """Whether a clone of `source` may borrow its objects without its patches changing: the
    source holds fewer than `_BORROW_OBJECTS` objects, packed (what git counts in the clone
    that borrows them) and loose (a shallow clone gets HEAD's packed, so they count too), and
    borrows none itself (nor is a linked worktree)."""
    where = git_dir(source)
    if where is None or _borrows(where):
        return False
    objects = where / "objects"
    count = 0
    try:
        for index in (objects / "pack").glob("*.idx"):
            count += _packed_objects(index)
        with os.scandir(objects) as entries:
            for entry in entries:
                if count >= _BORROW_OBJECTS:
                    break
                if len(entry.name) == 2 and entry.is_dir(follow_symlinks=False):
                    count += len(os.listdir(entry.path))
    except OSError:
        return False
    return count < _BORROW_OBJECTS


def _borrows(where: Path) -> bool:
    """Whether the git directory `where` reads objects from another (`--shared`)."""
    return (where / "objects" / "info" / "alternates").exists()


def _packed_objects(index: Path) -> int:
    """The number of objects a pack index lists: the last entry of its fan-out table."""
    with index.open("rb") as handle:
        head = handle.read(8)
        offset = 8 + 255 * 4 if head[:4] == b"\377tOc" else 255 * 4
        handle.seek(offset)
        return int.from_bytes(handle.read(4), "big")


def is_origin(origin: str | None, location: str) -> bool:
    """Whether a clone whose `origin` is this was made from `location`: its URL, or, for a
    local repository cloned by path (`clone_or_update`), that path."""
    if origin is None:
        return False
    if _is_url(location):
        return origin == location
    path = Path(location).resolve()
    return origin == str(path) or origin == path.as_uri()


def clone_or_update(
    url: str,
    dest: Path,
    branch: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Keep a single-branch clone of `url` at `dest`; return its HEAD sha.

    From a URL the clone is blobless and shallow. A repository on this machine (a path) of
    fewer than 2**14 objects is cloned by git's local clone instead, its objects borrowed
    (`--shared`: the clone's `objects/info/alternates` names the source's): nothing is
    packed, copied or sent, at about half the CPU of a shallow clone through the file
    transport. (A larger one is cloned shallow: see `_BORROW_OBJECTS`.)

    A later call fetches and resets the same clone instead of cloning again, from `url` (the
    clone's `origin` follows it, should the project have moved). A borrowed clone is made
    again instead, which costs no more: updated, it would go on borrowing objects its source
    may since have pruned (history rewritten), or from a source that moved. GitError, before
    git runs, when `url` is unsafe (see `unsafe_url`).
    """
    problem = unsafe_url(url)
    if problem is None and branch is not None and branch.startswith("-"):
        problem = f"the branch name {branch[:100]!r} starts with '-'; refused"
    if problem is not None:
        raise GitError(problem)
    if (dest / ".git").is_dir():
        if not _borrows(dest / ".git"):
            return _update(url, dest, branch, env)
        shutil.rmtree(dest)
    local = _local_source(url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        args = ["clone", "--quiet", "--single-branch", "--no-recurse-submodules"]
        if branch:
            args += ["--branch", branch]
        if local is not None and _borrowable(local):
            args += ["--shared", "--", str(local), str(tmp)]
        else:
            args += ["--depth", "1", "--filter=blob:none", "--", as_url(url), str(tmp)]
        run(args, env=env)
        # Clone next to the destination and rename, so an interrupted clone never looks done.
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return head(dest)


def _update(url: str, dest: Path, branch: str | None, env: Mapping[str, str] | None) -> str:
    ref = branch or "HEAD"
    if not is_origin(remote_url(dest), url):
        run(["remote", "set-url", "--", "origin", as_url(url)], cwd=dest)
    run(["fetch", "--quiet", "--depth", "1", "--filter=blob:none", "--no-recurse-submodules",
         "--", "origin", ref], cwd=dest, env=env)
    run(["reset", "--quiet", "--hard", "FETCH_HEAD"], cwd=dest, env=env)
    run(["clean", "-qfdx"], cwd=dest, env=env)
    return head(dest)


def remote_url(repo: Path, remote: str = "origin") -> str | None:
    """The URL git fetches `remote` of `repo` from, or None when it has none."""
    if remote == "origin":
        plain = read_origin_url(repo)
        if plain is not None:
            return plain
    try:
        return run(["config", "--get", f"remote.{remote}.url"], cwd=repo).strip() or None
    except GitError:
        return None


def patch_for(repo: Path, writes: Mapping[str, bytes | None]) -> str:
    """A `git apply`-able patch against HEAD of `repo` that makes exactly `writes`.

    `writes` maps repo-relative paths to new content, or None to delete (a directory path
    deletes everything under it). Neither the work tree nor the index of `repo` changes: the
    change is staged in a throwaway index, with the new blobs written to the object store.

    The patch is byte for byte what git wrote (a CRLF line stays CRLF, a missing final newline
    stays missing), as text: a file whose old or new content is not UTF-8 is given as
    a binary patch, which applies just as exactly.
    """
    with tempfile.TemporaryDirectory(prefix="migrator-patch-") as tmp:
        index = Path(tmp) / "index"
        env = {"GIT_INDEX_FILE": str(index)}
        run(["-c", "index.version=2", "read-tree", "HEAD"], cwd=repo, env=env)
        deleted = [rel for rel, content in writes.items() if content is None]
        added = [(rel, content) for rel, content in writes.items() if content is not None]
        objects = _plain_objects(repo, writes)
        blobs = {rel: _store_blob(objects, content) for rel, content in added} \
            if objects is not None else None
        staged = gitindex.edited(index.read_bytes(), deleted, blobs) \
            if blobs is not None else None
        if staged is not None:
            index.write_bytes(staged)
        else:
            _stage(repo, env, Path(tmp), deleted, added, blobs)
        raw = _cached_diff(repo, env)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        attributes = Path(tmp) / "attributes"
        attributes.write_text("".join(f"{_attribute_pattern(path)} binary\n"
                                      for path in _not_utf8(raw, repo, env)))
        return _cached_diff(repo, env, attributes).decode("utf-8")


def _stage(repo: Path, env: Mapping[str, str], tmp: Path, deleted: list[str],
           added: list[tuple[str, bytes]], blobs: Mapping[str, str] | None) -> None:
    """Stage the change in the index `env` names with git: what `gitindex.edited` leaves
    (pathspec magic in a deleted path, a file where a folder was, an index of another
    version). `blobs`: the added contents' ids, already stored; None to store them with git."""
    # Paths as bytes throughout: a name that is not UTF-8 is staged as it is (a path as
    # os.walk gives it, undecodable bytes escaped, is given back to git as those bytes).
    records: list[bytes] = []
    if deleted:
        listed = run_bytes(["ls-files", "-z", "--", *deleted], cwd=repo, env=env)
        records += [b"0 " + b"0" * 40 + b"\t" + path for path in listed.split(b"\0") if path]
    for i, (rel, content) in enumerate(added):
        if blobs is not None:
            records.append(f"100644 {blobs[rel]}\t".encode() + os.fsencode(rel))
            continue
        blob = tmp / f"blob-{i}"
        blob.write_bytes(content)
        # --path: the blob is what `git add` would store for that path (a repository whose
        # .gitattributes keep LF in git and CRLF in the work tree gets LF); the user's own
        # core.autocrlf is not the repository's business
        sha = run(["-c", "core.autocrlf=false", "hash-object", "-w", f"--path={rel}",
                   str(blob)], cwd=repo, env=env).strip()
        records.append(f"100644 {sha}\t".encode() + os.fsencode(rel))
    if records:
        # -z: records end with NUL, so no path is read as a C-quoted one
        run_bytes(["update-index", "-z", "--index-info"], cwd=repo, env=env,
                  input_bytes=b"".join(record + b"\0" for record in records))


def _plain_objects(repo: Path, writes: Mapping[str, bytes | None]) -> Path | None:
    """The object directory of `repo` when a blob for any path of `writes` is its content as
    it is (no `.gitattributes` anywhere, nor in `info/`, nor among the writes; SHA-1 objects):
    then this process stores the blobs itself instead of a `git hash-object` each. None
    otherwise."""
    where = git_dir(repo)
    head = read_head(repo)
    if where is None or head is None or head.commit is None or len(head.commit) != 40:
        return None
    if (where / "info" / "attributes").exists() or any(
            rel == ".gitattributes" or rel.endswith("/.gitattributes") for rel in writes):
        return None
    for _, dirs, files in os.walk(repo):
        if ".gitattributes" in files:
            return None
        dirs[:] = [d for d in dirs if d != ".git"]
    objects = where / "objects"
    return objects if objects.is_dir() else None


def _store_blob(objects: Path, content: bytes) -> str:
    """Write `content` as a loose blob object (what `git hash-object -w` writes) and return
    its id."""
    data = b"blob %d\0" % len(content) + content
    sha = hashlib.sha1(data).hexdigest()  # git's object id
    folder = objects / sha[:2]
    target = folder / sha[2:]
    if target.exists():
        return sha
    folder.mkdir(exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="tmp_obj_")
    try:
        with os.fdopen(fd, "wb") as handle:
            # git reads any level; these objects only live in the clone cache
            handle.write(zlib.compress(data, 1))
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return sha


def _cached_diff(repo: Path, env: Mapping[str, str], attributes: Path | None = None) -> bytes:
    config = ["-c", f"core.attributesFile={attributes}"] if attributes else []
    return run_bytes([*config, "diff", "--cached", "--binary", "--no-color", "--no-ext-diff",
                      "--find-renames", "HEAD"], cwd=repo, env=env)


def _not_utf8(patch: bytes, repo: Path, env: Mapping[str, str]) -> list[str]:
    """The paths (both sides of a rename) of the patch's sections that are not UTF-8 text.

    `diff --raw` lists the same file pairs in the same order as the patch's sections."""
    sections = re.split(rb"(?m)^(?=diff --git )", patch)[1:]
    raw = run_bytes(["diff", "--cached", "--raw", "-z", "--find-renames", "HEAD"], cwd=repo,
                    env=env).split(b"\0")
    pairs: list[list[str]] = []
    i = 0
    while i < len(raw) and raw[i].startswith(b":"):
        renamed = raw[i].split(b" ")[-1][:1] in (b"R", b"C")
        count = 2 if renamed else 1
        pairs.append([p.decode("utf-8", errors="surrogateescape")
                      for p in raw[i + 1:i + 1 + count]])
        i += 1 + count
    out: list[str] = []
    for section, paths in zip(sections, pairs, strict=False):
        try:
            section.decode("utf-8")
        except UnicodeDecodeError:
            out.extend(paths)
    return out


def _attribute_pattern(path: str) -> str:
    """`path` as a .gitattributes pattern matching only it (anchored; wildcards escaped; a
    character the pattern syntax cannot hold, such as a space, matched by `?`)."""
    out = []
    for ch in path:
        if ch in "*?[\\":
            out.append("\\" + ch)
        elif ch.isspace() or ch == '"' or not ch.isprintable():
            out.append("?")
        else:
            out.append(ch)
    return "/" + "".join(out)


# --- branch, commit and push helpers for `apply` (propose stage) -----------------------------


def commit_patch(
    repo: Path,
    base: str,
    patch: str,
    message: str,
    name: str,
    email: str,
    env: Mapping[str, str] | None = None,
) -> str:
    """Create a commit of `patch` on top of `base` and return its sha.

    Neither the work tree, the index nor HEAD of `repo` changes (the clone cache stays as the
    plan stage left it): the tree is built in a throwaway index and the commit object is only
    written to the object store. `name`/`email` are both author and committer.
    """
    with tempfile.TemporaryDirectory(prefix="migrator-index-") as tmp:
        index_env = {**(env or {}), "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        run(["read-tree", "--end-of-options", base], cwd=repo, env=index_env)
        # In a blobless clone this fetches the touched blobs on demand: `env` carries the
        # credentials for that.
        run_bytes(["apply", "--cached", "--whitespace=nowarn", "-"], cwd=repo, env=index_env,
                  input_bytes=patch.encode("utf-8"))
        tree = run(["write-tree"], cwd=repo, env=index_env).strip()
    ident = {
        "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email,
    }
    return run(["commit-tree", tree, "-p", base, "-F", "-"], cwd=repo,
               env={**(env or {}), **ident}, input_text=message).strip()


def remote_branch_head(repo: Path, branch: str,
                       env: Mapping[str, str] | None = None) -> str | None:
    """The sha `branch` points to on `origin`, or None when the branch does not exist."""
    out = run(["ls-remote", "--heads", "--", "origin", f"refs/heads/{branch}"], cwd=repo,
              env=env)
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        if ref == f"refs/heads/{branch}":
            return sha
    return None


def fetch_branch(repo: Path, branch: str, env: Mapping[str, str] | None = None) -> str | None:
    """Fetch the head commit of `origin`'s `branch` (no blobs) and return its sha, or None when
    the branch does not exist."""
    local = f"refs/migrator/remote/{branch}"
    try:
        run(["fetch", "--quiet", "--no-tags", "--depth", "1", "--filter=blob:none",
             "--no-recurse-submodules", "--", "origin", f"+refs/heads/{branch}:{local}"],
            cwd=repo, env=env)
    except GitError as exc:
        if "couldn't find remote ref" in str(exc).lower():
            return None
        raise
    return run(["rev-parse", "--verify", "--quiet", local], cwd=repo).strip()


def commit_fields(repo: Path, sha: str) -> tuple[str, str, str]:
    """(author email, committer email, full message) of commit `sha`."""
    out = run(["show", "-s", "--format=%ae%x00%ce%x00%B", "--end-of-options", sha], cwd=repo)
    author, committer, message = out.split("\x00", 2)
    return author, committer, message


def trailer(message: str, key: str) -> str | None:
    """The value of the last `key: value` trailer line of a commit message."""
    found: str | None = None
    prefix = f"{key.lower()}:"
    for line in message.splitlines():
        if line.lower().startswith(prefix):
            found = line[len(prefix):].strip()
    return found


def has_object(repo: Path, sha: str) -> bool:
    try:
        run(["cat-file", "-e", "--end-of-options", f"{sha}^{{commit}}"], cwd=repo)
    except GitError:
        return False
    return True


def push_branch(
    repo: Path,
    sha: str,
    branch: str,
    expected: str | None,
    env: Mapping[str, str] | None = None,
) -> bool:
    """Point `origin`'s `branch` at `sha`, only if it still points at `expected` (None: only
    if the branch does not exist yet). False when that lease did not hold: someone else
    pushed in between, and nothing was overwritten."""
    ref = f"refs/heads/{branch}"
    lease = f"--force-with-lease={ref}:{expected or ''}"
    try:
        run(["push", "--quiet", "--no-verify", "--no-recurse-submodules", lease, "--", "origin",
             f"{sha}:{ref}"], cwd=repo, env=env)
    except GitError as exc:
        text = str(exc)
        if "stale info" in text or "[rejected]" in text or "fetch first" in text:
            return False
        raise
    return True


# --- reading and branching a repository in place (`central suggest`) -------------------------


def files_at(repo: Path, ref: str, path: str = ".") -> dict[str, bytes]:
    """Every regular file under `path` at commit `ref`, as repo-relative path -> content (the
    work tree is not read: what is committed is what a patch against `ref` applies to)."""
    sha = ref_sha(repo, ref)
    if sha is None:
        raise GitError(f"{repo}: no commit {ref!r}")
    prefix = [] if path in ("", ".") else [path.strip("/")]
    data = run_bytes(["archive", "--format=tar", sha, "--", *prefix], cwd=repo)
    out: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            handle = tar.extractfile(member) if member.isreg() else None
            if handle is not None:
                out[member.name] = handle.read()
    return out


def ref_sha(repo: Path, ref: str) -> str | None:
    """The commit `ref` names in `repo`, or None when it names none."""
    try:
        return run(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
                   cwd=repo).strip() or None
    except GitError:
        return None


def create_branch(repo: Path, branch: str, sha: str) -> None:
    """Point the new local branch `branch` at `sha`; GitError when it exists already (nothing
    is overwritten) or the name is not a valid branch name. HEAD and the work tree stay."""
    run(["check-ref-format", "--branch", branch], cwd=repo)
    run(["update-ref", "--create-reflog", f"refs/heads/{branch}", sha, ""], cwd=repo)
