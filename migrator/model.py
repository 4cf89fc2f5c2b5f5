"""The records that flow between the pipeline stages.

Everything here is plain data: frozen dataclasses and enums, no I/O. Stages take these and return
these; reports read them. Field names are part of the JSON report contract (see report/json.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

REPORT_SCHEMA = 1


class Verdict(StrEnum):
    READY = "ready"
    REVIEW = "review"
    BLOCKED = "blocked"
    SKIPPED = "skipped"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """Higher is worse; a repo takes the worst verdict of its charts."""
        return _VERDICT_RANK[self]


_VERDICT_RANK = {
    Verdict.SKIPPED: 0,
    Verdict.READY: 1,
    Verdict.REVIEW: 2,
    Verdict.BLOCKED: 3,
    Verdict.ERROR: 4,
}


class Kind(StrEnum):
    """Every conclusion the tool can reach. The values are stable names for report readers."""

    # skipped: nothing to migrate
    NO_CHART = "no-chart"
    ALREADY_CENTRAL = "already-central"  # a deploy already names the central chart
    CENTRAL_WRAPPER = "central-wrapper"  # a Chart.yaml only depends on the central chart
    NOT_DERIVED = "not-derived"  # lineage below the threshold: not a fork of anything known
    # ready
    IDENTICAL = "identical"
    # review
    FUNCTIONAL = "functional-differences"
    DEPLOY_LEFT = "deploy-left-for-a-person"
    HATCH_DEPLOY_TIME = "deploy-time-value-in-hatch"  # a hatch would freeze a --set $VAR
    # blocked
    DESTRUCTIVE = "destructive-difference"
    CUSTOMIZED = "template-customization"
    NOT_RENDERABLE = "chart-does-not-render"  # before any environment could be tried
    FORK_RENDER_FAILED = "fork-does-not-render"
    CENTRAL_RENDER_FAILED = "central-does-not-render"
    DEPLOY_RENDER_FAILED = "rewritten-deploy-does-not-render"
    CHART_INVALID = "chart-invalid"  # Helm cannot load it (no version, a templated version...)
    VALUES_SHAPE = "values-of-another-shape"  # a value the central chart expects in another shape
    STILL_USED = "still-used"  # files still name the chart after the rewrite: it is kept
    DEPENDENCY_KEPT = "dependency-not-carried"  # a chart dependency enabled in an environment:
    # the central chart does not carry it
    RENDER_LIMIT = "render-limit"  # a render ran over its time, memory or output limit (or
    # ended the process rendering it) and was stopped
    # error: the tool could not process it
    BAD_INPUT = "bad-input"  # a file the tool must read is missing, malformed or unsafe
    REWRITE_FAILED = "rewrite-failed"
    FETCH_FAILED = "fetch-failed"
    INTERNAL = "internal-error"  # a bug: the traceback is in `log`

    @property
    def verdict(self) -> Verdict:
        return _VERDICT[self]


_VERDICT = {
    Kind.NO_CHART: Verdict.SKIPPED,
    Kind.ALREADY_CENTRAL: Verdict.SKIPPED,
    Kind.CENTRAL_WRAPPER: Verdict.SKIPPED,
    Kind.NOT_DERIVED: Verdict.SKIPPED,
    Kind.IDENTICAL: Verdict.READY,
    Kind.FUNCTIONAL: Verdict.REVIEW,
    Kind.DEPLOY_LEFT: Verdict.REVIEW,
    Kind.HATCH_DEPLOY_TIME: Verdict.REVIEW,
    Kind.DESTRUCTIVE: Verdict.BLOCKED,
    Kind.CUSTOMIZED: Verdict.BLOCKED,
    Kind.NOT_RENDERABLE: Verdict.BLOCKED,
    Kind.FORK_RENDER_FAILED: Verdict.BLOCKED,
    Kind.CENTRAL_RENDER_FAILED: Verdict.BLOCKED,
    Kind.DEPLOY_RENDER_FAILED: Verdict.BLOCKED,
    Kind.CHART_INVALID: Verdict.BLOCKED,
    Kind.VALUES_SHAPE: Verdict.BLOCKED,
    Kind.STILL_USED: Verdict.BLOCKED,
    Kind.DEPENDENCY_KEPT: Verdict.BLOCKED,
    Kind.RENDER_LIMIT: Verdict.BLOCKED,
    Kind.BAD_INPUT: Verdict.ERROR,
    Kind.REWRITE_FAILED: Verdict.ERROR,
    Kind.FETCH_FAILED: Verdict.ERROR,
    Kind.INTERNAL: Verdict.ERROR,
}


@dataclass(frozen=True)
class Outcome:
    """One conclusion. Which fields a kind fills is said in `describe`."""

    kind: Kind
    detail: str = ""  # the cause in the words of whoever found it (Helm, a YAML parser, git)
    file: str | None = None  # repo-relative
    line: int | None = None  # 1-based, in `file`
    environments: tuple[str, ...] = ()
    resource: str | None = None  # "Deployment/orders"
    paths: tuple[str, ...] = ()  # manifest field paths, or values paths (VALUES_SHAPE)
    files: tuple[str, ...] = ()  # templates (CUSTOMIZED); "file:line" of each use (STILL_USED)
    score: float | None = None  # NOT_DERIVED: the closest match's share of templates (0..1)
    count: int = 0  # how many of the same kind there are (differences, deploys, fields)
    chart: str | None = None  # the chart it is about, in a repo with several
    upgrade_from: str | None = None  # a repo already on the central chart: versions it leaves
    log: str | None = None  # where an internal error's traceback was written

    @property
    def verdict(self) -> Verdict:
        return self.kind.verdict

    @property
    def where(self) -> str | None:
        """`file:line`, `file`, or None."""
        if self.file is None:
            return None
        return f"{self.file}:{self.line}" if self.line is not None else self.file


class DiffClass(StrEnum):
    DESTRUCTIVE = "destructive"
    FUNCTIONAL = "functional"
    COSMETIC = "cosmetic"

    @property
    def rank(self) -> int:
        return {"destructive": 2, "functional": 1, "cosmetic": 0}[self.value]


@dataclass(frozen=True)
class RepoRef:
    """One repository of the fleet, as discovery found it."""

    name: str  # display name: "group/sub/orders" for GitLab, directory name for local repos
    slug: str  # unique and filesystem-safe: used for report paths and the clone cache
    url: str  # clone URL (no credentials, ever) or local path
    default_branch: str | None = None
    project_id: int | None = None  # GitLab numeric id
    web_url: str | None = None
    archived: bool = False
    # Why discovery cannot hand this repo on (its project could not be read, its list line is
    # not safe to give git); fetch reports it as the repo's reason, the rest of the fleet goes on.
    unavailable: str | None = None


@dataclass(frozen=True)
class SetFlag:
    """One `--set`-style flag of a helm command."""

    kind: Literal["set", "set-string", "set-file", "set-json", "set-literal"]
    key: str
    value: str
    dynamic: bool  # value depends on the run ($VAR, ${VAR}, $(cmd)): it must stay a flag


@dataclass(frozen=True)
class HelmInvocation:
    """A helm command (or helmfile/Argo CD release) found in a repo's deploy files."""

    file: str  # repo-relative path
    line: int  # 1-based line of the command in `file`
    source: str  # "gitlab-ci", "helmfile", "argocd", "makefile", "shell", "python", "skaffold"
    context: str  # CI job name, make target, function name...; "" when none
    subcommand: str  # "upgrade", "install", "template", "lint", "diff", ...
    release: str | None
    chart: str | None  # as written: "./chart", "deploy/helm/orders", "oci://..."
    namespace: str | None
    values_files: tuple[str, ...]  # as written, in order
    set_flags: tuple[SetFlag, ...]
    version: str | None
    environment: str | None  # GitLab `environment:` of the job, when there is one
    text: str  # the raw command, for the report
    rewritable: bool = True  # False when parts are built at run time (listed, never edited)
    why: str = ""  # why it is not rewritable, when the finder knows (a values file absent...)
    cwd: str | None = None  # repo-relative directory the command runs in, when the file sets
    # it (`cd "$(dirname "$0")"`, Jenkins `dir('x')`, `working-directory:`); None: the default


@dataclass(frozen=True)
class Environment:
    """One deployment target of an embedded chart: which values files, which release."""

    name: str  # "default" when the repo has no per-environment files
    values_files: tuple[str, ...]  # repo-relative, in the order helm applies them (chart's own
    # values.yaml excluded: it is the chart default)
    release: str
    release_source: str  # where the release name came from: ".gitlab-ci.yml:12" or "assumed"
    namespace: str | None
    set_flags: tuple[SetFlag, ...] = ()


class NoticeKind(StrEnum):
    """Something about a repo's files a reviewer should know, that did not stop its plan."""

    UNREADABLE = "unreadable-file"  # a deploy file that cannot be read: its deploys are unknown
    LENIENT = "read-leniently"  # read as its consumer reads it (duplicate keys, tabs...)
    UNRESOLVED = "unresolved-reference"  # a deploy names something built at run time
    MISSING_FILE = "missing-file"  # a deploy names a file the repo does not have
    DEPENDENCY = "chart-dependency"  # a dependency of the embedded chart and what becomes of it
    STILL_NAMED = "still-named"  # documentation or a comment names a path the change removes
    VALUES_SHAPE = "values-of-another-shape"  # a value the central chart reads in another
    # shape, and the mapping rule `mappings suggest` would write for it (or that none fits)


@dataclass(frozen=True)
class Notice:
    kind: NoticeKind
    detail: str  # the sentence after "file:line: "
    file: str | None = None
    line: int | None = None

    @property
    def where(self) -> str | None:
        if self.file is None:
            return None
        return f"{self.file}:{self.line}" if self.line is not None else self.file


@dataclass(frozen=True)
class EmbeddedChart:
    path: str  # repo-relative chart directory
    name: str
    version: str
    app_version: str | None
    values_file: str | None  # repo-relative path of the chart's values.yaml
    environments: tuple[Environment, ...]
    file_count: int
    line_count: int
    dependencies: tuple[str, ...] = ()  # names of declared chart dependencies
    problem: Outcome | None = None  # why it cannot be planned (Helm cannot load its Chart.yaml)


@dataclass(frozen=True)
class TemplateMatch:
    file: str  # template path inside the fork, e.g. "templates/deployment.yaml"
    score: float  # 0..1 similarity with the counterpart at the lineage version
    counterpart: str | None  # same-named template in the origin, None when the fork added it


@dataclass(frozen=True)
class Lineage:
    chart: str  # central chart name or historical family name
    version: str
    score: float  # 0..1: template lines, helper names and values keys (lineage/match.py)
    templates: tuple[TemplateMatch, ...]
    mapping: str | None = None  # name of the mapping module that translates its values
    confidence: float = 1.0  # 0..1: the lesser of `lead` and `explained`
    runner_up: str | None = None  # the next closest candidate, "app-template 1.1.0"
    lead: float = 1.0  # how far ahead of the runner-up, as a share of what tells them apart
    explained: float = 1.0  # share of the fork's template lines the origin accounts for

    @property
    def modified_templates(self) -> tuple[TemplateMatch, ...]:
        return tuple(t for t in self.templates if t.score < 1.0)

    @property
    def low_confidence(self) -> bool:
        """Said in the report: a person should check the origin before trusting the values."""
        return self.confidence < 0.5


ValueReason = Literal[
    "deliberate",  # the fork changed it from its origin: the team's choice
    "inherited-pinned",  # same as origin, central default changed since: pinned
    "inherited-adopted",  # same as origin, central default changed: central default taken
    "equal-default",  # equal to the central default at the target: dropped
    "identity",  # added to keep names and selector labels
    "metadata",  # added to pin what chart metadata decided (appVersion -> image.tag)
    "repair",  # added to reproduce a template edit the central chart offers as a value
    "unmapped",  # the central chart has no such key: not written
]


@dataclass(frozen=True)
class ValueDecision:
    path: str  # dotted path in the central chart's schema ("image.tag")
    reason: ValueReason
    value: Any = None  # the value written (or dropped); reports redact credential-like keys
    env: str | None = None  # None for the base values file
    source: str | None = None  # the fork's key when a mapping renamed it
    origin_value: Any = None
    central_value: Any = None
    note: str = ""


@dataclass(frozen=True)
class ValuesPlan:
    """What the migrated repo's values files hold, and why."""

    base: dict[str, Any]  # content of deploy/values.yaml (plain data)
    envs: dict[str, dict[str, Any]]  # env -> content of deploy/values-<env>.yaml
    decisions: tuple[ValueDecision, ...]


@dataclass(frozen=True)
class ResourceId:
    api_version: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0] if "/" in self.api_version else ""


@dataclass(frozen=True)
class FieldChange:
    path: str  # e.g. 'spec.template.spec.containers[app].image'
    before: str | None  # short, already redacted text; None when absent
    after: str | None


@dataclass(frozen=True)
class Difference:
    resource: ResourceId
    diff_class: DiffClass
    change: Literal["changed", "removed", "added"]
    paths: tuple[str, ...]  # field paths that differ (empty for added/removed objects)
    fields: tuple[FieldChange, ...] = ()
    why: str = ""  # why this class: "immutable field spec.selector", "describes only", ...


@dataclass(frozen=True)
class WorkloadKpi:
    resource: ResourceId
    checks: dict[str, bool]  # kpi name -> passes; names in kpi.KPI_NAMES
    notes: dict[str, str] = field(default_factory=dict)  # kpi name -> short explanation


@dataclass(frozen=True)
class EnvResult:
    """The verify stage for one environment of one chart."""

    name: str
    release: str
    namespace: str | None
    values_files: tuple[str, ...]  # files the migrated deploy passes, repo-relative
    values: dict[str, Any]  # what this environment's written file holds
    differences: tuple[Difference, ...]
    kpis_before: tuple[WorkloadKpi, ...] = ()
    kpis_after: tuple[WorkloadKpi, ...] = ()
    failure: Outcome | None = None  # a render failure, with file:line where Helm gives one


@dataclass(frozen=True)
class CentralValue:
    """A value of the central chart that already expresses a customization: a mapping problem,
    not a missing feature."""

    key: str  # dotted: "istio.enabled", "volumes"
    versions: tuple[str, ...]  # the published versions whose defaults have it, oldest first
    setting: str | None = None  # "true"/"false" for a switch; None: a value for any content


@dataclass(frozen=True)
class Customization:
    """One thing a fork does that the migrated chart does not, by kind (central/kinds.py)."""

    kind: str  # stable name: "extra-container", "extra-object:CronJob", "other", ...
    resource: str | None  # "Deployment/gateway"; None for a values key
    paths: tuple[str, ...]  # manifest field paths; the values path for a values key
    environments: tuple[str, ...]
    blocks: bool  # it keeps the chart blocked (destructive, or from an edited template)
    file: str | None = None  # repo-relative: the fork's template (or values file) behind it
    line: int | None = None  # 1-based, in `file`, when the text could be found
    diff_class: DiffClass | None = None  # None for a values key
    why: str = ""  # the difference's own words ("immutable field spec.selector")
    expressed_by: tuple[CentralValue, ...] = ()  # central values that could already say it

    @property
    def where(self) -> str | None:
        if self.file is None:
            return None
        return f"{self.file}:{self.line}" if self.line is not None else self.file


@dataclass(frozen=True)
class ChartPlan:
    path: str
    name: str
    outcome: Outcome
    release: str | None = None
    lineage: Lineage | None = None
    values: ValuesPlan | None = None
    environments: tuple[EnvResult, ...] = ()
    findings: tuple[str, ...] = ()  # what the central chart would need to offer
    file_count: int = 0
    line_count: int = 0
    app_version: str | None = None
    source_values_files: tuple[str, ...] = ()  # the fork's values files (before)
    notices: tuple[Notice, ...] = ()  # what a reviewer should know (its dependencies...)
    # what the migration would change, by kind, for a blocked or review chart (central/)
    customizations: tuple[Customization, ...] = ()
    # what else blocks it, that no central-chart feature removes (a render failure, files
    # still using the chart, a dependency the central chart does not carry)
    held_by: tuple[Outcome, ...] = ()

    @property
    def verdict(self) -> Verdict:
        return self.outcome.verdict


@dataclass(frozen=True)
class RepoPlan:
    repo: RepoRef
    commit: str | None
    outcome: Outcome  # the repo's own, or that of its worst chart
    charts: tuple[ChartPlan, ...] = ()
    references: tuple[HelmInvocation, ...] = ()  # deploy references to the embedded chart(s)
    patch: str | None = None  # `git apply`-able change set, None when nothing is proposed
    plan_hash: str | None = None  # stable hash of the inputs+outputs, for idempotent apply
    seconds: float = 0.0
    notes: tuple[str, ...] = ()  # what a reviewer should know about the change set
    notices: tuple[Notice, ...] = ()  # what the tool noticed in the repo's files on the way
    # "migrate": an embedded chart moves onto the central one; "upgrade": the repo already
    # deploys the central chart and moves to the target version
    kind: Literal["migrate", "upgrade"] = "migrate"

    @property
    def verdict(self) -> Verdict:
        return self.outcome.verdict


@dataclass(frozen=True)
class CentralInfo:
    name: str  # "app-template"
    source: str  # the --central path as given
    target_version: str
    versions: tuple[str, ...]
    ref: str  # how deploys name it: "oci://registry.example.com/charts/app-template"
    families: str | None = None  # chart repository of historical template families, if any
    # The planning flags that change a plan and were not at their defaults, as a person passes
    # them to reproduce it: ("--style", "dependency", "--inherited", "adopt").
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class FleetPlan:
    central: CentralInfo
    repos: tuple[RepoPlan, ...]
    tool_version: str
    plan_id: str  # short hash naming this plan in reports
    # The repos of the fleet an interrupted run (Ctrl-C) did not plan, by name: `repos` holds
    # those it finished.
    unplanned: tuple[str, ...] = ()

    def count(self, verdict: Verdict) -> int:
        return sum(1 for r in self.repos if r.verdict is verdict)

    @property
    def interrupted(self) -> bool:
        return bool(self.unplanned)
