"""The text edits of a central-chart suggestion besides its templates: values.yaml (ruamel round
trip: every comment and key stays, each new key comes with its own comment), the version in
Chart.yaml (one line) and the CHANGELOG entry (a section inserted above the latest one)."""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Sequence

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from migrator.central.hatches import Hatch
from migrator.errors import MigratorError

_VERSION_LINE = re.compile(r"(?m)^(?P<lead>version:[ \t]*)(?P<q>[\"']?)(?P<v>[^\"'\s#]+)(?P=q)")
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_WIDTH = 95


class ChartEditError(MigratorError):
    """A chart file this tool cannot edit safely; the message names it."""


def _yaml() -> YAML:
    y = YAML()
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def add_values(text: str, hatches: Sequence[Hatch], version: str, file: str) -> str:
    """values.yaml with a key per hatch appended, each empty (off) and documented."""
    newline = "\r\n" if "\r\n" in text else "\n"
    source = text.replace("\r\n", "\n")
    y = _yaml()
    try:
        doc = y.load(source) if source.strip() else CommentedMap()
    except YAMLError as exc:
        raise ChartEditError(f"cannot be edited round trip: {exc}", file=file) from exc
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, CommentedMap):
        raise ChartEditError("is not a map of keys", file=file)
    for i, hatch in enumerate(hatches):
        if hatch.key in doc:
            raise ChartEditError(f"already has `{hatch.key}`", file=file)
        doc[hatch.key] = CommentedSeq() if hatch.shape == "list" else CommentedMap()
        lines = [] if i else ["", f"Hatches (added in {version}): generic values for what a "
                                  "release adds to the chart's", "manifests.", ""]
        lines += textwrap.wrap(f"{hatch.doc} Empty by default: nothing renders until a "
                               "release sets it.", _WIDTH - 2)
        doc.yaml_set_comment_before_after_key(
            hatch.key, before="\n".join(lines) if i == 0 else "\n" + "\n".join(lines))
    out = io.StringIO()
    y.dump(doc, out)
    return out.getvalue().replace("\n", newline)


def chart_version(chart_yaml: str, file: str) -> str:
    found = _VERSION_LINE.search(chart_yaml)
    if found is None:
        raise ChartEditError("no `version:` line", file=file)
    return found.group("v")


def next_minor(version: str, file: str) -> str:
    found = _SEMVER.match(version)
    if found is None:
        raise ChartEditError(f"version {version!r} is not MAJOR.MINOR.PATCH", file=file)
    major, minor, _ = (int(p) for p in found.groups())
    return f"{major}.{minor + 1}.0"


def bump_version(chart_yaml: str, new: str, file: str) -> str:
    """Chart.yaml with its `version:` line saying `new`, and nothing else changed (appVersion
    is the app's version: it names the default image, so it stays)."""
    chart_version(chart_yaml, file)
    return _VERSION_LINE.sub(lambda m: f"{m.group('lead')}{m.group('q')}{new}{m.group('q')}",
                             chart_yaml, count=1)


def changelog(existing: str | None, version: str, entry: Sequence[str]) -> str:
    """CHANGELOG.md with a `## <version>` section above the latest release (below a
    `## [Unreleased]` section, which stays the first); a new file when there is none."""
    section = "\n".join([f"## {version}", "", *entry]).rstrip("\n") + "\n"
    if existing is None or not existing.strip():
        return f"# Changelog\n\n{section}"
    newline = "\r\n" if "\r\n" in existing else "\n"
    lines = existing.replace("\r\n", "\n").split("\n")
    headings = [i for i, line in enumerate(lines) if line.startswith("## ")]
    released = [i for i in headings if "unreleased" not in lines[i].lower()]
    if released:
        at = released[0]
        lines[at:at] = [*section.rstrip("\n").split("\n"), ""]
        text = "\n".join(lines)
    else:
        text = existing.replace("\r\n", "\n").rstrip("\n") + "\n\n" + section
    return text.replace("\n", newline)
