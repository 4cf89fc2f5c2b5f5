"""Secrets stay in their repos: a fleet with planted secrets of every kind the redactor knows is
planned and applied (review bundles), and no byte a person or a pipeline can read holds one.

Searched, for every secret in clear and in base64: every file under --out, the CLI's output,
and the work dir's journal (with its WAL), logs and review bundles' descriptions. The only
places allowed to hold a secret are the repos themselves and what stands for them:

- `<work>/cache/`: the clones (the secrets' own repos);
- `<work>/patches/<slug>.patch`: the full patch of a repo whose change carries secrets (0600);
- `<work>/review/<slug>/changes.patch`: the bot's commit, as `git format-patch` (with GitLab it
  is pushed to the repo it came from).

A secret that has no shape (a plain password) is known by its key name only, so it is planted
under a credential-like key, in clear and in base64 (as a Secret's `data:` holds it); base64 of
the secrets with a shape is planted under innocent keys too.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from migrator import demo

# --- the secrets -----------------------------------------------------------------------------

PASSWORD = "Pl41n-db-pw-Qz7"  # no shape: only its key says what it is
TOKEN = "plain-api-t0ken-Kx2"
API_KEY = "plain-api-k3y-Mv9"
URL_PASSWORD = "Url-Pw-9vQ2"
URL = f"postgres://orders:{URL_PASSWORD}@db.example.com:5432/orders"
AWS_KEY_ID = "AKIAQ3EGRTSXZ5ZCEW7N"
AWS_SECRET = "q8Zr2Lx9Tb4Wn7Vc1Md6Ks3Hf5Jg0Pa8Ye2Ru4X"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJvcmRlcnMiLCJyb2xlIjoiYWRtaW4ifQ."
       "Qm9vc1Rr7vXa3nLp0Zt9Wq2Ys8Dk4Hf6Gj1Mb5Vc")
GITLAB_TOKEN = "glpat-Xq3vR8tY2uW5zA1bC4dE"
PEM_BODY = ("MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9OiZ1BjP5CEWm0Rr500PqXk9mP2q",
            "R7sT4vW8yZ1aB3cQn5Lh2Fd8Ks0Jg4Tz6Xw1Vy3Cb7Nm9Pq2Rs5Ut8Wx0Za4Bc6De")
PEM = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(PEM_BODY) + "\n-----END RSA PRIVATE KEY-----"
REGISTRY_PASSWORD = "Dk-Pw-4rT"
REGISTRY_AUTH = base64.b64encode(f"bot:{REGISTRY_PASSWORD}".encode()).decode()
DOCKERCONFIG = json.dumps({"auths": {"registry.example.com": {
    "username": "bot", "password": REGISTRY_PASSWORD, "auth": REGISTRY_AUTH}}})
CI_LITERAL = "Ci-Lit-Pw-3Sd"
SET_PASSWORD = "Set-Pw-6Hy"
TEMPLATE_PASSWORD = "Tpl-Secret-8Nw"
TEMPLATE_TOKEN = "Tpl-Str-5Lq"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# Every string that must not be found, clear and base64.
_CLEAR = (PASSWORD, TOKEN, API_KEY, URL, URL_PASSWORD, AWS_KEY_ID, AWS_SECRET, JWT,
          JWT.rsplit(".", 1)[1], GITLAB_TOKEN, *PEM_BODY, PEM, REGISTRY_PASSWORD, REGISTRY_AUTH,
          DOCKERCONFIG, CI_LITERAL, SET_PASSWORD, TEMPLATE_PASSWORD, TEMPLATE_TOKEN)
NEEDLES = tuple(dict.fromkeys((*_CLEAR, *(_b64(s) for s in _CLEAR))))


def _indented(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())


# --- the fleet -------------------------------------------------------------------------------

VAULT_VALUES = f"""
db:
  host: orders-db
  password: "{PASSWORD}"
auth:
  token: {TOKEN}
apiKey: {API_KEY}
upstream:
  url: {URL}
aws:
  keyId: {AWS_KEY_ID}
  secretAccessKey: {AWS_SECRET}
session:
  cookie: {JWT}
gitlab:
  access: {GITLAB_TOKEN}
tls:
  key: |
{_indented(PEM, 4)}
registry:
  config: {_b64(DOCKERCONFIG)}
  plain: '{DOCKERCONFIG}'
blobs:
  url: {_b64(URL)}
  aws: {_b64(AWS_KEY_ID)}
  jwt: {_b64(JWT)}
  token: {_b64(GITLAB_TOKEN)}
  pem: {_b64(PEM)}
credentials:
  base64: {_b64(PASSWORD)}
"""
VAULT_ENV = f"""env:
  - name: DB_PASSWORD
    value: "{PASSWORD}"
  - name: DATABASE_URL
    value: {URL}
  - name: AWS_ACCESS_KEY_ID
    value: {AWS_KEY_ID}
  - name: AWS_SECRET_ACCESS_KEY
    value: {AWS_SECRET}
  - name: SESSION
    value: {JWT}
  - name: TLS_KEY
    value: |
{_indented(PEM, 6)}
  - name: PULL_CONFIG
    value: {_b64(DOCKERCONFIG)}
  - name: BLOB
    value: {_b64(URL)}
  - name: LOG_FORMAT
    value: json
"""

PIPELINE_CI = f"""deploy-prod:
  stage: deploy
  environment: prod
  script:
    - kubectl create secret generic orders-db --from-literal=db-password={CI_LITERAL}
    - helm upgrade --install orders ./chart -f chart/values.yaml {{set}} --namespace shop
""".replace("{set}", f"--set db.password={SET_PASSWORD} --set-string auth.token={GITLAB_TOKEN}")

MANIFEST_SECRET = f"""apiVersion: v1
kind: Secret
metadata:
  name: orders-literal
type: Opaque
data:
  password: {_b64(TEMPLATE_PASSWORD)}
stringData:
  token: {TEMPLATE_TOKEN}
  url: {URL}
---
apiVersion: v1
kind: Secret
metadata:
  name: orders-pull
type: kubernetes.io/dockerconfigjson
data:
  .dockerconfigjson: {_b64(DOCKERCONFIG)}
"""


def _fork(name: str) -> dict[str, str]:
    chart = demo.fork_chart(demo.chart_source_dir(demo.CENTRAL_NAME, "2.0.0"), name, "1.0.0")
    return {f"chart/{rel}": text for rel, text in chart.items()}


def _repo(path: Path, name: str, edit: dict[str, str]) -> None:
    pristine = _fork(name)
    demo.write_repo(path, [demo.Commit("Fork app-template 2.0.0", pristine),
                           demo.Commit("Our settings", {**pristine, **edit})])


def _fleet(root: Path) -> Path:
    fleet = root / "fleet"
    vault = _fork("vault")["chart/values.yaml"].replace("env: []\n", VAULT_ENV) + VAULT_VALUES
    _repo(fleet / "vault", "vault", {"chart/values.yaml": vault,
                                     "Makefile": "deploy:\n\thelm upgrade --install vault ./chart"
                                                 " --namespace shop\n"})
    _repo(fleet / "pipeline", "pipeline", {".gitlab-ci.yml": PIPELINE_CI.replace(
        "orders", "pipeline")})
    _repo(fleet / "manifests", "manifests", {
        "chart/templates/literal-secrets.yaml": MANIFEST_SECRET,
        "Makefile": "deploy:\n\thelm upgrade --install manifests ./chart --namespace shop\n"})
    return fleet


# --- running it ------------------------------------------------------------------------------


def _migrator(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrator", *map(str, args)],
                          capture_output=True, text=True, timeout=600, check=False)


def _files(root: Path) -> Iterator[Path]:
    return (p for p in sorted(root.rglob("*")) if p.is_file())


def _leaks(data: bytes) -> list[str]:
    return [needle for needle in NEEDLES if needle.encode() in data]


@dataclass(frozen=True)
class Run:
    out: Path
    work: Path
    procs: tuple[subprocess.CompletedProcess[str], ...]  # plan, plan again, apply
    reports: tuple[dict[str, str], dict[str, str]]  # report.json by slug after each plan


def _reports(out: Path) -> dict[str, str]:
    return {p.name: (p / "report.json").read_text() for p in (out / "repos").iterdir()}


@pytest.fixture(scope="module")
def run(central_sources: demo.CentralSources, tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("planted")
    fleet = _fleet(root)
    out, work = root / "out", root / "work"
    common = ("--fleet", fleet, "--central", central_sources.repo_dir, "--target-version",
              "2.0.0", "--out", out, "--work", work, "--force", "--jobs", "2")
    first = _migrator("plan", *common)
    reports_first = _reports(out)
    again = _migrator("plan", *common)
    reports_again = _reports(out)
    # apply plans once more, from the cache: the patches it commits come from the work dir
    applied = _migrator("apply", *common)
    return Run(out, work, (first, again, applied), (reports_first, reports_again))


def test_no_repo_ends_in_error_because_of_a_secret(run: Run) -> None:
    fleet = json.loads((run.out / "fleet.json").read_text())
    verdicts = {r["name"]: r["verdict"] for r in fleet["repos"]}
    assert verdicts == {"manifests": "blocked", "pipeline": "ready", "vault": "ready"}, \
        [r["reason"] for r in fleet["repos"]]
    for proc in run.procs:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    applied = run.procs[-1].stdout.split("apply ·")[-1]
    assert "error" not in applied.lower() and "created" in applied


def test_nothing_under_out_holds_a_secret_clear_or_base64(run: Run) -> None:
    out = run.out
    found = {str(p.relative_to(out)): leaks for p in _files(out)
             if (leaks := _leaks(p.read_bytes()))}
    assert found == {}
    # every patch written there was redacted, not dropped
    for slug in ("vault", "pipeline", "manifests"):
        assert "<redacted>" in (out / "repos" / slug / "changes.patch").read_text()


def test_the_cli_output_holds_no_secret(run: Run) -> None:
    for proc in run.procs:
        assert _leaks((proc.stdout + proc.stderr).encode()) == []


def test_the_journal_logs_and_review_descriptions_hold_no_secret(run: Run) -> None:
    work = run.work
    allowed = {"cache", "patches"}
    checked = []
    for path in _files(work):
        rel = path.relative_to(work)
        if rel.parts[0] in allowed or (rel.parts[0] == "review" and rel.name == "changes.patch"):
            continue
        checked.append(str(rel))
        assert _leaks(path.read_bytes()) == [], rel
    assert "journal.sqlite" in checked and any(c.startswith("review/") for c in checked)
    with sqlite3.connect(work / "journal.sqlite") as db:
        rows = db.execute("SELECT repo, stage, result FROM stages").fetchall()
        dump = "\n".join(db.iterdump())
    assert _leaks(dump.encode()) == []
    # each plan, and its light view (what a re-plan reads)
    assert sorted((repo, stage) for repo, stage, _ in rows) == [
        (repo, stage) for repo in ("manifests", "pipeline", "vault")
        for stage in ("plan", "plan-view")]
    # the plans whose patch carries secrets are cached with a keyed hash of it
    assert all("patch_hmac" in json.loads(result) for _, _, result in rows)


def test_the_full_patches_are_private_files_in_the_work_dir_and_apply_committed_them(
        run: Run) -> None:
    work, out = run.work, run.out
    for slug in ("vault", "pipeline", "manifests"):
        private = work / "patches" / f"{slug}.patch"
        assert stat.S_IMODE(private.stat().st_mode) == 0o600
        report = (out / "repos" / slug / "report.md").read_text()
        assert f"patches/{slug}.patch" in report
        data = json.loads((out / "repos" / slug / "report.json").read_text())
        assert data["patch_secrets"]["full_patch"] == f"patches/{slug}.patch"
        # what apply committed is the real change, secrets included (in the repo's own branch)
        committed = (work / "review" / slug / "changes.patch").read_text()
        assert _leaks(committed.encode()), slug
        assert "<redacted>" not in committed
    assert stat.S_IMODE((work / "patches").stat().st_mode) == 0o700
    assert stat.S_IMODE((work / "hash.key").stat().st_mode) == 0o600
    vault = (work / "patches" / "vault.patch").read_text()
    assert PASSWORD in vault and PEM_BODY[0] in vault


def test_an_unchanged_re_plan_takes_plans_with_secrets_from_the_cache(
        run: Run) -> None:
    """The re-plan gives the very plans back (same timings: nothing was planned again), and
    `apply`, planning from the cache too, committed the real patches (test above)."""
    first, again = run.reports
    assert first.keys() == again.keys() == {"vault", "pipeline", "manifests"}
    for slug, text in first.items():
        assert json.loads(again[slug]) == json.loads(text), slug
