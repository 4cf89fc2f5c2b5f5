"""Chart version ordering and ranges (semver-ish, no dependency needed for this much)."""

from __future__ import annotations

from migrator.errors import ConfigError


def version_key(version: str) -> tuple[tuple[int, str], ...]:
    """Numeric parts compare numerically; a pre-release sorts before its release."""
    core, _, pre = version.lstrip("v").partition("-")
    parts = tuple((int(p), "") if p.isdigit() else (0, p) for p in core.split("."))
    return (*parts, (0 if pre else 1, pre))


def in_range(version: str, spec: str) -> bool:
    """`spec` is comma-separated comparisons: ">=1.0.0,<2.0.0"."""
    key = version_key(version)
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        for op in (">=", "<=", "==", ">", "<", "="):
            if part.startswith(op):
                bound = version_key(part[len(op):].strip())
                ok = {">=": key >= bound, "<=": key <= bound, ">": key > bound,
                      "<": key < bound, "==": key == bound, "=": key == bound}[op]
                if not ok:
                    return False
                break
        else:
            raise ConfigError(f"version range {spec!r}: cannot read {part!r}")
    return True
