"""migrator.toml: typed settings, validated with errors a person can act on.

Precedence: command-line flags, then migrator.toml, then defaults. Example:

    [central]
    source = "charts/"                 # chart repository dir (index.yaml) or git repo (tags v*)
    name = "app-template"
    target_version = "2.0.0"
    ref = "oci://registry.example.com/charts/app-template"

    [plan]
    fleet = "repos/"                   # directory of git repos, or a list file
    out = "plan-out"
    jobs = 4
    inherited = "pin"                  # or "adopt"
    cosmetic_keys = ["helm.sh/chart", "app.kubernetes.io/version"]
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from migrator.chart.manifests import DEFAULT_COSMETIC_KEYS
from migrator.errors import ConfigError

DEFAULT_CHART_REF = "oci://registry.example.com/charts/app-template"


@dataclass(frozen=True)
class PlanSettings:
    fleet: Path
    central: Path
    target_version: str
    out: Path
    work: Path
    jobs: int = 1
    central_name: str | None = None
    central_path: str | None = None
    chart_ref: str = DEFAULT_CHART_REF
    inherited: Literal["pin", "adopt"] = "pin"
    mappings: Path = field(default_factory=lambda: Path("mappings"))
    cosmetic_keys: tuple[str, ...] = DEFAULT_COSMETIC_KEYS
    values_dir: str = "deploy"
    force: bool = False
    shard: tuple[int, int] | None = None  # (k, n): this job plans shard k of n (1-based)
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


def load_file(path: Path | None) -> dict[str, Any]:
    """The parsed migrator.toml, {} when there is none. An explicit path must exist."""
    candidate = path or Path("migrator.toml")
    if not candidate.exists():
        if path is not None:
            raise ConfigError(f"{path}: no such config file")
        return {}
    try:
        return tomllib.loads(candidate.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{candidate}: {exc}") from exc


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError as exc:
        raise ConfigError(f"--shard {text}: expected K/N, e.g. 2/8") from exc
    if not 1 <= k <= n:
        raise ConfigError(f"--shard {text}: K must be between 1 and N")
    return k, n


def plan_settings(file_cfg: Mapping[str, Any], flags: Mapping[str, Any]) -> PlanSettings:
    """Merge flags (None = not given) over the config file and check what is required."""
    central = _section(file_cfg, "central")
    plan = _section(file_cfg, "plan")

    def pick(flag: str, section: Mapping[str, Any], key: str, default: Any = None) -> Any:
        value = flags.get(flag)
        return section.get(key, default) if value is None else value

    missing = [name for name, value in (
        ("--fleet", pick("fleet", plan, "fleet")),
        ("--central", pick("central", central, "source")),
        ("--target-version", pick("target_version", central, "target_version")),
        ("--out", pick("out", plan, "out")),
    ) if not value]
    if missing:
        raise ConfigError(f"missing {', '.join(missing)} (flag or migrator.toml)")
    inherited = str(pick("inherited", plan, "inherited", "pin"))
    if inherited not in ("pin", "adopt"):
        raise ConfigError(f"--inherited {inherited}: expected pin or adopt")
    jobs = int(pick("jobs", plan, "jobs", 0) or 0) or min(4, os.cpu_count() or 1)
    if jobs < 1:
        raise ConfigError("--jobs must be at least 1")
    out = Path(pick("out", plan, "out"))
    return PlanSettings(
        fleet=Path(pick("fleet", plan, "fleet")),
        central=Path(pick("central", central, "source")),
        target_version=str(pick("target_version", central, "target_version")),
        out=out,
        work=Path(pick("work", plan, "work", str(out / ".work"))),
        jobs=jobs,
        central_name=pick("central_name", central, "name"),
        central_path=pick("central_path", central, "path"),
        chart_ref=str(pick("chart_ref", central, "ref", DEFAULT_CHART_REF)),
        inherited=cast(Literal["pin", "adopt"], inherited),
        mappings=Path(pick("mappings", plan, "mappings", str(_default_mappings()))),
        cosmetic_keys=tuple(plan.get("cosmetic_keys", DEFAULT_COSMETIC_KEYS)),
        values_dir=str(plan.get("values_dir", "deploy")),
        force=bool(flags.get("force") or False),
        shard=parse_shard(flags.get("shard") or plan.get("shard")),
        include=tuple(flags.get("include") or plan.get("include", ())),
        exclude=tuple(flags.get("exclude") or plan.get("exclude", ())),
    )


def _section(cfg: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    section = cfg.get(name, {})
    if not isinstance(section, dict):
        raise ConfigError(f"migrator.toml: [{name}] must be a table")
    return section


def _default_mappings() -> Path:
    """mappings/ of the current directory if there is one, else the one shipped beside the
    package (a source checkout)."""
    here = Path("mappings")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[1] / "mappings"
