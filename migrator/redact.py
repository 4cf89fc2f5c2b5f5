"""Keep secrets out of every report: credential-like keys and Secret data are never shown."""

from __future__ import annotations

import re
from typing import Any

REDACTED = "<redacted>"

# Matched against each segment of a dotted path, case-insensitively.
_SECRET_KEY = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|api[-_]?key|private[-_]?key|credential|auth|"
    r"access[-_]?key|client[-_]?secret|pwd|dsn|connection[-_]?string)",
    re.IGNORECASE,
)
# Values that look like credentials even under an innocent key.
_SECRET_VALUE = re.compile(
    r"(-----BEGIN [A-Z ]*PRIVATE KEY-----|glpat-[0-9A-Za-z_-]{10,}|"
    # The look-behind anchors the scheme, so long words do not backtrack.
    r"(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@)",
)
# Keys that name a Secret (a reference) rather than hold one.
_SECRET_REFERENCE = re.compile(
    r"^(secretName|secretKeyRef|secretRef|existingSecret|imagePullSecrets|"
    r"serviceAccountName|tokenSecretName)$", re.IGNORECASE)


def is_secret_key(path: str) -> bool:
    """True when any segment of a dotted key path looks like a credential."""
    return any(_SECRET_KEY.search(part) and not _SECRET_REFERENCE.match(part)
               for part in re.split(r"[.\[\]]", path) if part)


def redact_value(path: str, value: Any) -> Any:
    """The value itself, or REDACTED when the key or the value looks like a credential."""
    if is_secret_key(path):
        return REDACTED
    if isinstance(value, str) and _SECRET_VALUE.search(value):
        return REDACTED
    if isinstance(value, dict):
        return redact_tree(value, path)
    if isinstance(value, list):
        return [redact_value(f"{path}[{i}]", v) for i, v in enumerate(value)]
    return value


def redact_tree(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A copy of a values tree with every credential-like leaf replaced."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        out[key] = redact_value(path, value)
    return out


def redact_env_list(env: list[Any]) -> list[Any]:
    """Container env entries: hide `value` of entries whose name looks like a credential."""
    out: list[Any] = []
    for item in env:
        if isinstance(item, dict) and "value" in item and is_secret_key(str(item.get("name", ""))):
            item = {**item, "value": REDACTED}
        out.append(item)
    return out
