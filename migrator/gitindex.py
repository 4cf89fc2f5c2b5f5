"""A git index (the staging area's file, version 2) read and written in this process.

A patch is the diff between HEAD and a throwaway index that holds the change (`git.patch_for`).
Staging the change with git costs two processes per repo (`ls-files` to list what a deleted
folder holds, `update-index` to stage): here the index `read-tree` wrote is read, the change
applied to its entries, and the index written back for `git diff --cached`, which is all that
reads it. Only the plain case is done here (version 2, SHA-1, stage 0, no path that is a file
on one side and a folder on the other, no pathspec magic): `edited` says None for anything else
and the caller stages with git, as before.

Format: Documentation/gitformat-index.txt in git's sources. An entry is 62 bytes of stat data,
mode, object id and flags, then its path, NUL-padded to a multiple of 8 bytes; the file ends
with the SHA-1 of everything before it. Stat data stays zero in the entries written here: it
only tells git whether a work-tree file may have changed, and `diff --cached` never looks at
the work tree.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Mapping

_HEADER = struct.Struct(">4sLL")
_FIXED = 62  # stat data (40), object id (20), flags (2)
_NAME_MASK = 0xFFF
_EXTENDED = 0x4000
_STAGE = 0x3000
# Characters git's pathspecs read as wildcards or magic: a deleted path holding one is matched
# by git as a pattern, which this module does not imitate.
_PATHSPEC_SPECIAL = frozenset("*?[]\\:")
# What an entry of a plain index is: a file, an executable, a symlink, a submodule. A sparse
# index also holds folders (040000), which this module does not edit.
_ENTRY_MODES = frozenset({0o100644, 0o100755, 0o120000, 0o160000})


def edited(index: bytes, deleted: list[str], added: Mapping[str, str]) -> bytes | None:
    """`index` (as `git read-tree` wrote it) with every entry at or under a `deleted` path taken
    out and each `added` path (-> its blob id) staged as a regular file (mode 100644, what
    `update-index --index-info` is given); None when anything is outside the plain case."""
    entries = _entries(index)
    if entries is None or not all(_plain_path(p) for p in [*deleted, *added]):
        return None
    # as git gets them from argv: a name that is not UTF-8 keeps its bytes (surrogateescape)
    drop = tuple(os.fsencode(p) for p in deleted)
    kept = {name: raw for name, raw in entries.items()
            if not any(name == d or name.startswith(d + b"/") for d in drop)}
    new = {os.fsencode(path): _entry(os.fsencode(path), blob) for path, blob in added.items()}
    if any(_conflicts(name, kept, new) for name in new):
        return None
    kept.update(new)
    body = _HEADER.pack(b"DIRC", 2, len(kept)) + b"".join(kept[n] for n in sorted(kept))
    return body + hashlib.sha1(body).digest()


def _entries(index: bytes) -> dict[bytes, bytes] | None:
    """Each entry's path and raw bytes, or None for an index this module does not write back
    (another version, a conflict stage, an extended entry, a folder entry of a sparse index, a
    path of 4095 bytes or more)."""
    if len(index) < _HEADER.size + 20:
        return None
    signature, version, count = _HEADER.unpack_from(index)
    if signature != b"DIRC" or version != 2:
        return None
    entries: dict[bytes, bytes] = {}
    at = _HEADER.size
    for _ in range(count):
        if at + _FIXED > len(index) - 20:
            return None
        (mode,) = struct.unpack_from(">L", index, at + 24)
        (flags,) = struct.unpack_from(">H", index, at + 60)
        if flags & (_EXTENDED | _STAGE) or flags & _NAME_MASK == _NAME_MASK \
                or mode not in _ENTRY_MODES:
            return None
        end = at + _FIXED + (flags & _NAME_MASK)
        size = _entry_size(flags & _NAME_MASK)
        if at + size > len(index) - 20 or index[end:end + 1] != b"\0":
            return None
        entries[index[at + _FIXED:end]] = index[at:at + size]
        at += size
    return entries  # extensions (a cache tree) are left behind: the change makes them stale


def _entry(name: bytes, blob: str) -> bytes:
    head = struct.pack(">10L20sH", 0, 0, 0, 0, 0, 0, 0o100644, 0, 0, 0, bytes.fromhex(blob),
                       len(name))
    return (head + name).ljust(_entry_size(len(name)), b"\0")


def _entry_size(name_length: int) -> int:
    """An entry's length: its fixed part and path, with 1 to 8 NULs to a multiple of 8."""
    return (_FIXED + name_length + 8) // 8 * 8


def _plain_path(path: str) -> bool:
    parts = path.split("/")
    return (0 < len(os.fsencode(path)) < _NAME_MASK and not _PATHSPEC_SPECIAL & set(path)
            and all(part not in ("", ".", "..") for part in parts))


def _conflicts(name: bytes, kept: Mapping[bytes, bytes], new: Mapping[bytes, bytes]) -> bool:
    """A file staged where a folder stays, or under a path that stays a file: git refuses
    such an index; the caller lets git say so."""
    prefix = name + b"/"
    if any(other.startswith(prefix) for other in (*kept, *new)):
        return True
    parts = name.split(b"/")
    return any(b"/".join(parts[:i]) in kept or b"/".join(parts[:i]) in new
               for i in range(1, len(parts)))
