"""migrator.toml: typed settings, validated with errors a person can act on.

Precedence: command-line flags, then migrator.toml, then defaults. The flags arrive as one
frozen record per command (`PlanFlags`, `ApplyFlags`, `StatusFlags`): a misspelled option is a
type error, never a key that silently falls back to the file. Example:

    [central]
    source = "charts/"                 # chart repository dir (index.yaml) or git repo (tags v*)
    name = "app-template"
    target_version = "2.0.0"
    ref = "oci://registry.example.com/charts/app-template"
    min_lineage = 0.42                 # below this lineage score a chart is not derived: skipped

    [plan]
    fleet = "repos/"                   # directory of git repos, or a list file
    out = "plan-out"
    jobs = 4
    inherited = "pin"                  # or "adopt"
    cosmetic_keys = ["helm.sh/chart", "app.kubernetes.io/version"]
    render_timeout = 30                # seconds one Helm render may take
    render_memory_mib = 2048           # resident memory of a planning worker while it renders
    render_output_mib = 256            # text one render may produce
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from migrator.credentials import check_clone_host
from migrator.errors import ConfigError
from migrator.forge.local import LocalForgeSettings
from migrator.gitlab_api import DEFAULT_MAX_RESPONSE_MIB, GitLabSettings
from migrator.lineage.match import DEFAULT_MIN_LINEAGE
from migrator.propose.settings import ProposeSettings
from migrator.rewrite import STYLES, ArgoTarget, CiInclude, Style
from migrator.track.status import TrackSettings
from migrator.verify.manifests import DEFAULT_COSMETIC_KEYS
from migrator.verify.render import RenderLimits
from migrator.workdir import WorkDir

DEFAULT_CHART_REF = "oci://registry.example.com/charts/app-template"


# What one command was given on its command line, one field per option, named as the option
# (`--project` is `project`). Not given is None, False for a switch, () for a repeatable option:
# then migrator.toml or the default decides. `--config`, `--quiet` and `--json` are not here:
# they choose the file and the output, not a setting.


@dataclass(frozen=True, kw_only=True)
class FleetFlags:
    """Which repos: the options plan, apply and status share."""

    fleet: Path | None = None
    gitlab_url: str | None = None
    group: str | None = None
    project: tuple[str, ...] = ()
    topic: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    include_archived: bool = False
    include_forks: bool = False
    token_var: str | None = None
    allow_clone_host: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class PlanFlags:
    """`migrator plan`."""

    repos: FleetFlags = FleetFlags()
    central: Path | None = None
    families: Path | None = None
    target_version: str | None = None
    out: Path | None = None
    jobs: int | None = None
    central_name: str | None = None
    central_path: str | None = None
    chart_ref: str | None = None
    style: str | None = None
    inherited: str | None = None
    work: Path | None = None
    shard: str | None = None
    force: bool = False
    fresh: bool = False
    min_lineage: float | None = None
    render_timeout: float | None = None
    render_memory_mib: int | None = None
    render_output_mib: int | None = None


@dataclass(frozen=True, kw_only=True)
class ApplyFlags:
    """`migrator apply`: every option of plan (apply plans first, the same way), and those
    that shape the merge requests."""

    repos: FleetFlags = FleetFlags()
    central: Path | None = None
    families: Path | None = None
    target_version: str | None = None
    out: Path | None = None
    jobs: int | None = None
    central_name: str | None = None
    central_path: str | None = None
    chart_ref: str | None = None
    style: str | None = None
    inherited: str | None = None
    work: Path | None = None
    shard: str | None = None
    force: bool = False  # plans blocked repos' change sets too, and proposes them as drafts
    fresh: bool = False
    limit: int | None = None
    canary: int | None = None
    label: tuple[str, ...] = ()
    report_link: str | None = None
    min_lineage: float | None = None
    render_timeout: float | None = None
    render_memory_mib: int | None = None
    render_output_mib: int | None = None
    dashboard_issue: str | None = None  # GROUP/PROJECT: act on the boxes ticked in its issue

    def plan_flags(self) -> PlanFlags:
        """How apply plans before it proposes."""
        return PlanFlags(
            repos=self.repos, central=self.central, families=self.families,
            target_version=self.target_version, out=self.out, jobs=self.jobs,
            central_name=self.central_name, central_path=self.central_path,
            chart_ref=self.chart_ref, style=self.style, inherited=self.inherited,
            work=self.work, shard=self.shard,
            force=self.force, fresh=self.fresh, min_lineage=self.min_lineage,
            render_timeout=self.render_timeout, render_memory_mib=self.render_memory_mib,
            render_output_mib=self.render_output_mib)


@dataclass(frozen=True, kw_only=True)
class StatusFlags:
    """`migrator status`."""

    repos: FleetFlags = FleetFlags()
    work: Path | None = None
    shard: str | None = None
    out: Path | None = None  # the plan's --out, whose fleet.html gets the campaign's history
    dashboard_issue: str | None = None  # GROUP/PROJECT: keep the campaign's issue there


@dataclass(frozen=True)
class GitLabOptions:
    """Where the fleet lives when it is a GitLab group. The token is read from `token_var`."""

    url: str
    group: str | None = None
    projects: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    include_archived: bool = False
    include_forks: bool = False
    token_var: str = "GITLAB_TOKEN"
    # Hosts a project's clone URL may name besides GitLab's own (cloned without the token).
    allowed_clone_hosts: tuple[str, ...] = ()
    max_response_mib: int = DEFAULT_MAX_RESPONSE_MIB  # larger GitLab answers are refused

    def client_settings(self) -> GitLabSettings:
        """How the API client and git reach this GitLab."""
        return GitLabSettings(self.url, self.token_var,
                              allowed_clone_hosts=self.allowed_clone_hosts,
                              max_response_bytes=self.max_response_mib * 1024 * 1024)


@dataclass(frozen=True)
class PlanSettings:
    fleet: Path | None
    central: Path
    target_version: str
    out: Path
    work: WorkDir
    jobs: int = 1
    central_name: str | None = None
    central_path: str | None = None
    families: Path | None = None  # chart repository of historical template families
    chart_ref: str = DEFAULT_CHART_REF
    inherited: Literal["pin", "adopt"] = "pin"
    mappings: Path = field(default_factory=lambda: Path("mappings"))
    cosmetic_keys: tuple[str, ...] = DEFAULT_COSMETIC_KEYS
    values_dir: str = "deploy"
    force: bool = False
    shard: tuple[int, int] | None = None  # (k, n): this job plans shard k of n (1-based)
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    gitlab: GitLabOptions | None = None
    style: Style = "values-only"
    ci_include: CiInclude | None = None
    argocd: ArgoTarget | None = None
    fresh: bool = False  # plan every repo again, even when its inputs did not change
    min_lineage: float = DEFAULT_MIN_LINEAGE  # lineage score below which a chart is skipped
    render_limits: RenderLimits = RenderLimits()  # past them a render is stopped


@dataclass(frozen=True)
class StatusSettings:
    fleet: Path | None
    gitlab: GitLabOptions | None
    work: WorkDir
    track: TrackSettings
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    shard: tuple[int, int] | None = None  # (k, n): the repos of shard k of n, as plan splits
    out: Path | None = None  # the plan's reports: --out, else [plan] out
    dashboard_issue: str | None = None  # GROUP/PROJECT holding the campaign dashboard issue


# Every key migrator.toml may hold: a typo is an error, not a silently ignored setting.
KNOWN_KEYS: dict[str, frozenset[str]] = {
    "central": frozenset({"source", "name", "path", "target_version", "ref", "families",
                          "min_lineage"}),
    "plan": frozenset({"fleet", "out", "work", "jobs", "inherited", "mappings", "cosmetic_keys",
                       "values_dir", "shard", "include", "exclude", "render_timeout",
                       "render_memory_mib", "render_output_mib"}),
    "gitlab": frozenset({"url", "group", "projects", "topics", "include_archived",
                         "include_forks", "token_var", "allowed_clone_hosts",
                         "max_response_mib"}),
    "rewrite": frozenset({"style", "ci_include", "argocd"}),
    "apply": frozenset({"labels", "branch", "bot_name", "bot_email", "assignee_ids",
                        "reviewer_ids", "remove_source_branch", "squash", "limit",
                        "report_link"}),
}


def load_file(path: Path | None) -> dict[str, Any]:
    """The parsed migrator.toml, {} when there is none. An explicit path must exist."""
    candidate = path or Path("migrator.toml")
    if not candidate.exists():
        if path is not None:
            raise ConfigError(f"{path}: no such config file")
        return {}
    try:
        data = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{candidate}: {exc}") from exc
    for section, keys in data.items():
        if section not in KNOWN_KEYS:
            raise ConfigError(f"{candidate}: unknown section [{section}] "
                              f"(known: {', '.join(sorted(KNOWN_KEYS))})")
        unknown = sorted(set(keys) - KNOWN_KEYS[section]) if isinstance(keys, dict) else []
        if unknown:
            raise ConfigError(f"{candidate}: [{section}] has unknown key(s) {', '.join(unknown)}"
                              f" (known: {', '.join(sorted(KNOWN_KEYS[section]))})")
    return data


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


DEFAULT_JOBS = 4  # at most; fewer on a machine with fewer CPUs
ALL_CPUS = (0, -1)  # --jobs values that mean one worker per CPU


def parse_jobs(value: Any) -> int:
    """How many repos are planned at once: `value` (--jobs or [plan] jobs), one per CPU for 0
    or -1, and by default 4 (fewer on a smaller machine: each worker may hold
    --render-memory-mib while it renders)."""
    cpus = os.cpu_count() or 1
    if value is None:
        return min(DEFAULT_JOBS, cpus)
    if isinstance(value, bool) or not isinstance(value, int) or value < -1:
        raise ConfigError(f"--jobs (or [plan] jobs) {value!r}: expected a number of repos "
                          "planned at once, or 0 (or -1) for one per CPU")
    return cpus if value in ALL_CPUS else value


def _gitlab_url(file_cfg: Mapping[str, Any], flags: FleetFlags) -> str | None:
    url = flags.gitlab_url or _section(file_cfg, "gitlab").get("url")
    return str(url) if url else None


def _missing_gitlab_projects(file_cfg: Mapping[str, Any], flags: FleetFlags
                             ) -> list[tuple[str, bool]]:
    """A GitLab fleet is a group or a list of projects."""
    section = _section(file_cfg, "gitlab")
    if not _gitlab_url(file_cfg, flags):
        return []
    return [("--group or --project (with --gitlab-url)",
             bool(flags.group or section.get("group") or flags.project
                  or section.get("projects")))]


def plan_settings(file_cfg: Mapping[str, Any], flags: PlanFlags) -> PlanSettings:
    """Merge the flags over the config file and check what is required."""
    central = _section(file_cfg, "central")
    plan = _section(file_cfg, "plan")
    fleet = _given(flags.repos.fleet, plan, "fleet")
    source = _given(flags.central, central, "source")
    target_version = _given(flags.target_version, central, "target_version")
    out = _given(flags.out, plan, "out")
    # Every missing option in one error: a person fixes them all at once, not one per run.
    missing = [name for name, value in (
        ("--fleet or --gitlab-url", fleet or _gitlab_url(file_cfg, flags.repos)),
        *_missing_gitlab_projects(file_cfg, flags.repos),
        ("--central", source),
        ("--target-version", target_version),
        ("--out", out),
    ) if not value]
    if missing:
        raise ConfigError(f"missing {', '.join(missing)} (flag or migrator.toml)")
    gitlab = gitlab_options(file_cfg, flags.repos)
    inherited = str(_given(flags.inherited, plan, "inherited", "pin"))
    if inherited not in ("pin", "adopt"):
        raise ConfigError(f"--inherited {inherited}: expected pin or adopt")
    jobs = parse_jobs(_given(flags.jobs, plan, "jobs"))
    min_lineage = _min_lineage(_given(flags.min_lineage, central, "min_lineage",
                                      DEFAULT_MIN_LINEAGE))
    rewrite = _section(file_cfg, "rewrite")
    shard = parse_shard(flags.shard or plan.get("shard"))
    style = str(flags.style or rewrite.get("style", "values-only"))
    if style not in STYLES:
        raise ConfigError(f"--style {style}: expected one of {', '.join(STYLES)}")
    work = _work(flags.work, plan, fleet_identity(Path(fleet) if fleet else None, gitlab, shard))
    if work.root.resolve() == Path(out).resolve():
        raise ConfigError(f"--out {out} is the work dir too: reports are published, the work "
                          "dir is private; give them different directories")
    return PlanSettings(
        fleet=Path(fleet) if fleet else None,
        central=Path(source),
        target_version=str(target_version),
        out=Path(out),
        work=work,
        jobs=jobs,
        central_name=_given(flags.central_name, central, "name"),
        central_path=_given(flags.central_path, central, "path"),
        families=Path(f) if (f := _given(flags.families, central, "families")) else None,
        chart_ref=str(_given(flags.chart_ref, central, "ref", DEFAULT_CHART_REF)),
        inherited=cast(Literal["pin", "adopt"], inherited),
        mappings=Path(plan.get("mappings", str(default_mappings()))),
        cosmetic_keys=tuple(plan.get("cosmetic_keys", DEFAULT_COSMETIC_KEYS)),
        values_dir=str(plan.get("values_dir", "deploy")),
        force=flags.force,
        shard=shard,
        include=tuple(flags.repos.include or plan.get("include", ())),
        exclude=tuple(flags.repos.exclude or plan.get("exclude", ())),
        gitlab=gitlab,
        style=style,
        ci_include=_ci_include(rewrite),
        argocd=_argocd(rewrite),
        fresh=flags.fresh,
        min_lineage=min_lineage,
        render_limits=_render_limits(flags, plan),
    )


def _render_limits(flags: PlanFlags, plan: Mapping[str, Any]) -> RenderLimits:
    """--render-timeout, --render-memory-mib, --render-output-mib, else [plan] render_*."""
    default = RenderLimits()
    seconds = _positive(_given(flags.render_timeout, plan, "render_timeout", default.seconds),
                        "--render-timeout (or [plan] render_timeout)", "a number of seconds",
                        whole=False)
    memory = _positive(_given(flags.render_memory_mib, plan, "render_memory_mib",
                              default.memory_mib),
                       "--render-memory-mib (or [plan] render_memory_mib)", "a whole number of MiB")
    output = _positive(_given(flags.render_output_mib, plan, "render_output_mib",
                              default.output_mib),
                       "--render-output-mib (or [plan] render_output_mib)", "a whole number of MiB")
    return RenderLimits(seconds=float(seconds), memory_mib=int(memory), output_mib=int(output))


def _positive(value: Any, name: str, expected: str, whole: bool = True) -> float:
    number = isinstance(value, int) or (not whole and isinstance(value, float))
    if isinstance(value, bool) or not number or not value > 0:
        raise ConfigError(f"{name} {value!r}: expected {expected}, more than 0")
    return float(value)


def _min_lineage(value: Any) -> float:
    """A lineage score: 0 plans every chart as a fork, 1 only forks identical to a published
    version."""
    wrong = ConfigError(f"--min-lineage (or [central] min_lineage) {value!r}: expected a number "
                        f"from 0 to 1")
    if isinstance(value, bool):
        raise wrong
    try:
        share = float(value)
    except (TypeError, ValueError) as exc:
        raise wrong from exc
    if not 0.0 <= share <= 1.0:
        raise wrong
    return share


def _given(flag: object, section: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """The flag when it was given, else the file's value, else the default."""
    return section.get(key, default) if flag is None else flag


def _ci_include(rewrite: Mapping[str, Any]) -> CiInclude:
    """The central deploy template `ci-include` extends ([rewrite.ci_include])."""
    section = rewrite.get("ci_include", {})
    if not isinstance(section, dict):
        raise ConfigError("migrator.toml: [rewrite.ci_include] must be a table")
    return CiInclude(
        project=str(section.get("project", "platform/ci-templates")),
        ref=str(section.get("ref", "main")),
        file=str(section.get("file", "/helm/deploy.yml")),
        job=str(section.get("job", ".app-template-deploy")),
        variables=tuple((str(k), str(v)) for k, v in section.get("variables", {}).items()),
    )


def _argocd(rewrite: Mapping[str, Any]) -> ArgoTarget | None:
    """Where `argocd` Applications deploy ([rewrite.argocd]); the repo URL defaults to each
    repo's own."""
    section = rewrite.get("argocd")
    if section is None:
        return None
    if not isinstance(section, dict) or "repo_url" in section:
        raise ConfigError("migrator.toml: [rewrite.argocd] is a table; the repo URL is each "
                          "repo's own and cannot be set there")
    return ArgoTarget(
        repo_url="",
        target_revision=str(section.get("target_revision", "HEAD")),
        project=str(section.get("project", "default")),
        dest_server=str(section.get("dest_server", "https://kubernetes.default.svc")),
        keep_ci_jobs=bool(section.get("keep_ci_jobs", False)),
    )


def gitlab_options(file_cfg: Mapping[str, Any], flags: FleetFlags) -> GitLabOptions | None:
    """[gitlab] in migrator.toml, overridden by --gitlab-url, --group, ...; None without a URL."""
    section = _section(file_cfg, "gitlab")
    url = flags.gitlab_url or section.get("url")
    if not url:
        return None
    if "@" in str(url).split("://", 1)[-1].split("/", 1)[0]:
        raise ConfigError("--gitlab-url must not carry credentials: put the token in "
                          "the environment (GITLAB_TOKEN)")
    group = flags.group or section.get("group")
    projects = tuple(flags.project or section.get("projects", ()))
    if not group and not projects:
        raise ConfigError("--gitlab-url needs --group or --project")
    hosts = (*section.get("allowed_clone_hosts", ()), *flags.allow_clone_host)
    cap = section.get("max_response_mib", DEFAULT_MAX_RESPONSE_MIB)
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise ConfigError(f"[gitlab] max_response_mib {cap!r}: expected a whole number of MiB, "
                          "at least 1")
    return GitLabOptions(
        url=str(url).rstrip("/"),
        group=group,
        projects=projects,
        topics=tuple(flags.topic or section.get("topics", ())),
        include_archived=bool(flags.include_archived or section.get("include_archived")),
        include_forks=bool(flags.include_forks or section.get("include_forks")),
        token_var=str(flags.token_var or section.get("token_var", "GITLAB_TOKEN")),
        allowed_clone_hosts=tuple(dict.fromkeys(check_clone_host(str(h)) for h in hosts)),
        max_response_mib=cap,
    )


def _section(cfg: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    section = cfg.get(name, {})
    if not isinstance(section, dict):
        raise ConfigError(f"migrator.toml: [{name}] must be a table")
    return section


def default_mappings() -> Path:
    """mappings/ of the current directory if there is one, else the one shipped beside the
    package (a source checkout)."""
    here = Path("mappings")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[1] / "mappings"


def _work(flag: Path | None, plan: Mapping[str, Any], fleet: tuple[str, str] | None
          ) -> WorkDir:
    """--work, else [plan] work, else the fleet's own in the user's cache directory."""
    if flag is not None:
        return WorkDir(flag)
    if plan.get("work"):
        return WorkDir(Path(plan["work"]))
    if fleet is not None:
        return WorkDir.default(*fleet)
    raise ConfigError("missing --work, or the fleet (--fleet or --gitlab-url) whose work dir "
                      "it is")


def fleet_identity(fleet: Path | None, gitlab: GitLabOptions | None,
                   shard: tuple[int, int] | None) -> tuple[str, str] | None:
    """What makes a fleet's default work dir its own, and a label for it: the GitLab instance
    and group (or projects), else the fleet's absolute path; and the shard. Filters (topics,
    --include) are not in it: a narrower run of the same fleet reuses its clones."""
    if gitlab is not None:
        identity = (f"gitlab {gitlab.url} group={gitlab.group or ''} "
                    f"projects={','.join(sorted(gitlab.projects))}")
        label = (gitlab.group or "projects").rstrip("/").rsplit("/", 1)[-1]
    elif fleet is not None:
        path = fleet.resolve()
        identity, label = f"fleet {path}", path.stem
    else:
        return None
    if shard is not None:
        identity += f" shard {shard[0]}/{shard[1]}"
        label += f"-shard-{shard[0]}-of-{shard[1]}"
    return identity, label


def forge_settings(gitlab: GitLabOptions | None,
                   work: WorkDir) -> GitLabSettings | LocalForgeSettings:
    """Where merge requests are: on GitLab when the fleet is a GitLab group, else review bundles
    in the work dir. apply writes them there and status reads them back."""
    if gitlab is not None:
        return gitlab.client_settings()
    return LocalForgeSettings(work.review)


def propose_settings(file_cfg: Mapping[str, Any], plan: PlanSettings, flags: ApplyFlags,
                     *, plan_id: str, tool_version: str) -> ProposeSettings:
    """[apply] in migrator.toml, overridden by flags."""
    section = _section(file_cfg, "apply")
    defaults = ProposeSettings()
    labels = (*section.get("labels", defaults.labels), *flags.label)
    return ProposeSettings(
        forge=forge_settings(plan.gitlab, plan.work),
        branch_template=str(section.get("branch", defaults.branch_template)),
        bot_name=str(section.get("bot_name", defaults.bot_name)),
        bot_email=str(section.get("bot_email", defaults.bot_email)),
        labels=tuple(dict.fromkeys(labels)),
        assignee_ids=tuple(int(x) for x in section.get("assignee_ids", ())),
        reviewer_ids=tuple(int(x) for x in section.get("reviewer_ids", ())),
        remove_source_branch=bool(section.get("remove_source_branch", True)),
        squash=bool(section.get("squash", True)),
        force=flags.force,
        limit=flags.limit if flags.limit is not None else section.get("limit"),
        canary=flags.canary,
        report_link=flags.report_link or section.get("report_link"),
        dashboard_issue=flags.dashboard_issue,
        plan_id=plan_id,
        tool_version=tool_version,
    )


def status_settings(file_cfg: Mapping[str, Any], flags: StatusFlags) -> StatusSettings:
    """What `status` reads: the fleet as plan lists it (this shard of it), and the work dir
    and forge apply used, found as plan finds them. Only --include/--exclude filter it, not
    [plan] include/exclude."""
    gitlab = gitlab_options(file_cfg, flags.repos)
    plan = _section(file_cfg, "plan")
    fleet = flags.repos.fleet or plan.get("fleet")
    shard = parse_shard(flags.shard or plan.get("shard"))
    work = _work(flags.work, plan, fleet_identity(Path(fleet) if fleet else None, gitlab, shard))
    return StatusSettings(
        fleet=Path(fleet) if fleet else None,
        gitlab=gitlab,
        work=work,
        track=TrackSettings(forge=forge_settings(gitlab, work)),
        include=flags.repos.include,
        exclude=flags.repos.exclude,
        shard=shard,
        out=Path(out) if (out := _given(flags.out, plan, "out")) else None,
        dashboard_issue=flags.dashboard_issue,
    )
