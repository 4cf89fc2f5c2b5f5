"""What `migrator plan` must conclude about each demo fleet case: its `expected.toml`, parsed.

The cases themselves (`case.toml`, the fork, its overlay) are built by `migrator.demo`; only the
tests read these expectations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from migrator import demo
from migrator.errors import ConfigError
from migrator.model import DiffClass, Kind, NoticeKind, Verdict

# Verdicts that put a chart in the change set.
_PROPOSED = (Verdict.READY, Verdict.REVIEW)


@dataclass(frozen=True)
class EnvExpectation:
    release: str
    namespace: str | None
    values_files: tuple[str, ...]  # as model.Environment: the chart's own values.yaml excluded
    name: str | None = None  # None: the case does not pin the environment's name
    set_flags: Mapping[str, str] = field(default_factory=dict)  # key -> value as written
    keep: tuple[str, ...] = ()  # dotted paths this environment's values file must hold
    drop: tuple[str, ...] = ()  # dotted paths it must not hold


@dataclass(frozen=True)
class ChartExpectation:
    path: str
    name: str
    lineage: str | None  # origin version lineage must find
    environments: tuple[EnvExpectation, ...]
    keep: tuple[str, ...] = ()  # dotted paths the base values must hold (TARGET_VERSION schema)
    drop: tuple[str, ...] = ()  # dotted paths the base values must not hold
    lineage_chart: str = demo.CENTRAL_NAME  # chart whose version `lineage` is (central or family)
    kind: Kind | None = None  # the chart's own outcome kind; None: not pinned

    @property
    def is_fork(self) -> bool:
        """Built by the demo as a renamed fork (an umbrella chart of the team's is not)."""
        return self.kind is not Kind.NOT_DERIVED

    @property
    def loads(self) -> bool:
        """Helm can load it (a Chart.yaml without `version` cannot be)."""
        return self.kind is not Kind.CHART_INVALID


@dataclass(frozen=True)
class NoticeExpectation:
    kind: NoticeKind
    where: str | None = None  # "file:line" the notice must name; None: anywhere


@dataclass(frozen=True)
class CaseExpectation:
    case: str
    verdict: Verdict
    reason: str  # substring of the repo's reason (case-insensitive)
    classes: frozenset[DiffClass]  # classes that must appear among the differences found
    charts: tuple[ChartExpectation, ...] = ()
    reason_pattern: str | None = None  # regex the reason must match (re.search)
    never_shown: tuple[str, ...] = ()  # strings no report may contain
    kind: Kind | None = None  # the repo's outcome kind (its worst chart's); None: not pinned
    notices: tuple[NoticeExpectation, ...] = ()  # notices the repo's plan must carry (others may)
    crlf: tuple[str, ...] = ()  # files of the repo written with CRLF line endings

    def migrated_charts(self) -> tuple[ChartExpectation, ...]:
        """The charts the change set migrates: a chart's own kind says so when pinned, else the
        repo's verdict does."""
        return tuple(c for c in self.charts
                     if (c.kind.verdict if c.kind is not None else self.verdict) in _PROPOSED)

    def ready_charts(self) -> tuple[ChartExpectation, ...]:
        """The migrated charts whose manifests stay identical: their `reference/` must prove it."""
        return tuple(c for c in self.migrated_charts()
                     if (c.kind.verdict if c.kind is not None else self.verdict) is Verdict.READY)


def expected(case: str, fixtures: Path | None = None) -> CaseExpectation:
    """The parsed `expected.toml` of a fleet case."""
    path = demo.case_dir(case, fixtures) / "expected.toml"
    data = demo.load_toml(path)
    try:
        charts = tuple(
            ChartExpectation(
                path=str(c["path"]), name=str(c["name"]), lineage=c.get("lineage"),
                lineage_chart=str(c.get("lineage_chart", demo.CENTRAL_NAME)),
                kind=_kind(c.get("kind")),
                keep=tuple(c.get("keep", ())), drop=tuple(c.get("drop", ())),
                environments=tuple(
                    EnvExpectation(
                        release=str(e["release"]), namespace=e.get("namespace"),
                        values_files=tuple(e.get("values_files", ())), name=e.get("name"),
                        set_flags=dict(e.get("set", {})), keep=tuple(e.get("keep", ())),
                        drop=tuple(e.get("drop", ())),
                    )
                    for e in c.get("environments", [])
                ),
            )
            for c in data.get("charts", [])
        )
        return CaseExpectation(
            case=case, verdict=Verdict(data["verdict"]), reason=str(data["reason"]),
            classes=frozenset(DiffClass(c) for c in data.get("classes", ())), charts=charts,
            reason_pattern=data.get("reason_pattern"),
            never_shown=tuple(data.get("never_shown", ())), kind=_kind(data.get("kind")),
            notices=tuple(NoticeExpectation(NoticeKind(n["kind"]), n.get("where"))
                          for n in data.get("notices", ())),
            crlf=tuple(data.get("crlf", ())),
        )
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _kind(value: object) -> Kind | None:
    return None if value is None else Kind(str(value))
