"""Where in the fork's templates a difference comes from: `file:line` a reviewer can open.

Helm says which template rendered each object, not which line wrote a field; the line is found
by the names the path carries (the container, the env var, the annotation key), innermost first,
in that template and then in the chart's other templates (a helper in `_helpers.tpl`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

from migrator.central.paths import tokens

# Keys every manifest has: finding them says nothing about where a field comes from.
_STRUCTURAL = {"spec", "template", "metadata", "jobTemplate", "data", "stringData"}


def locate(chart_path: str, templates: Mapping[str, str], source: str | None, path: str = "",
           object_kind: str | None = None) -> tuple[str | None, int | None]:
    """The repo-relative template and 1-based line behind `path` of an object rendered from
    `source` ("templates/deployment.yaml"); `object_kind` alone finds the object's `kind:`."""
    if source is None:
        return None, None
    file = _repo_relative(chart_path, source)
    order = [source, *sorted(t for t in templates if t != source)]
    for pattern in _patterns(path, object_kind):
        for template in order:
            text = templates.get(template)
            if text is None:
                continue
            match = pattern.search(text)
            if match is not None:
                line = text.count("\n", 0, match.start()) + 1
                return _repo_relative(chart_path, template), line
    return file, None


def _patterns(path: str, object_kind: str | None) -> list[re.Pattern[str]]:
    found: list[re.Pattern[str]] = []
    for token in reversed(tokens(path)):
        text = token.text
        if token.item:
            if text.isdigit() or text == "*":
                continue
            found.append(re.compile(rf"name:\s*[\"']?{re.escape(text)}[\"']?\s*$", re.M))
            found.append(re.compile(rf"(?<![\w.-]){re.escape(text)}(?![\w.-])"))
        elif text not in _STRUCTURAL:
            found.append(re.compile(rf"(?<![\w./-])[\"']?{re.escape(text)}[\"']?\s*:"))
    if object_kind:
        found.append(re.compile(rf"^\s*kind:\s*[\"']?{re.escape(object_kind)}[\"']?\s*$", re.M))
    return found


def _repo_relative(chart_path: str, template: str) -> str:
    return posixpath.normpath(posixpath.join(chart_path, template))
