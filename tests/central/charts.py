"""Tiny central charts and forks of them, rendered with real Helm and planned as far as the
classification needs: the differences verify finds, the verdict decide gives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from migrator.central.classify import Classified, Evidence, classify
from migrator.central.express import CentralHatches, hatches
from migrator.lineage.catalog import Catalog
from migrator.model import (
    ChartPlan,
    EnvResult,
    Lineage,
    Outcome,
    TemplateMatch,
    ValueDecision,
    ValuesPlan,
)
from migrator.verify import manifests, render
from migrator.verify.decide import decide
from migrator.verify.render import LoadedChart

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels:
    app: {{ .Release.Name }}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app: {{ .Release.Name }}
      {{- if .Values.istio.enabled }}
      annotations:
        sidecar.istio.io/inject: "true"
      {{- end }}
    spec:
      containers:
        - name: app
          image: nginx:1.27
          livenessProbe:
            httpGet:
              path: /
              port: 80
          {{- with .Values.volumeMounts }}
          volumeMounts:
            {{- toYaml . | nindent 12 }}
          {{- end }}
      {{- with .Values.volumes }}
      volumes:
        {{- toYaml . | nindent 8 }}
      {{- end }}
"""
SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  selector:
    app: {{ .Release.Name }}
  ports:
    - name: http
      port: 80
"""
PDB = """\
{{- if .Values.pdb.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .Release.Name }}
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app: {{ .Release.Name }}
{{- end }}
"""
VALUES = ("istio:\n  enabled: false\npdb:\n  enabled: false\nvolumes: []\n"
          "volumeMounts: []\n")
CENTRAL = {"templates/deployment.yaml": DEPLOYMENT, "templates/service.yaml": SERVICE,
           "templates/pdb.yaml": PDB}


def write_chart(root: Path, name: str, templates: Mapping[str, str], values: str = VALUES,
                version: str = "1.0.0") -> Path:
    chart = root / f"{name}-{version}"
    for rel, text in templates.items():
        (chart / rel).parent.mkdir(parents=True, exist_ok=True)
        (chart / rel).write_text(text)
    (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: {version}\n")
    (chart / "values.yaml").write_text(values)
    return chart


def load(root: Path, name: str, templates: Mapping[str, str], values: str = VALUES,
         version: str = "1.0.0") -> LoadedChart:
    return render.load(write_chart(root, name, templates, values, version))


def rendered(chart: LoadedChart, values: Mapping[str, object] | None = None
             ) -> manifests.Rendered:
    text = render.render(chart, values or {}, release="shop", namespace="prod",
                         origin=chart.name)
    return manifests.index(render.parse_manifests(text), "prod")


def catalog(*charts: LoadedChart) -> Catalog:
    return Catalog(source="test", central=charts[0].name,
                   charts={(c.name, c.version): c for c in charts})


@dataclass(frozen=True)
class Planned:
    plan: ChartPlan
    evidence: Evidence
    fork: LoadedChart

    def classified(self, central: CentralHatches | None = None,
                   also: tuple[Outcome | None, ...] = ()) -> Classified:
        return classify(self.plan, self.evidence, lambda: central, also)


def planned(tmp_path: Path, edits: Mapping[str, str], *, central: LoadedChart | None = None,
            edited: bool = True, decisions: tuple[ValueDecision, ...] = (),
            value_lines: Mapping[str, Mapping[str, int]] | None = None,
            fork_values: str = VALUES) -> Planned:
    """A fork of the tiny central chart with `edits` (template -> text, "" deletes it),
    rendered as the fork and as the central chart, compared and decided as the pipeline does;
    `edited`: the lineage says its templates were edited (decide blocks functional changes)."""
    central = central or load(tmp_path / "central", "central", CENTRAL)
    templates = {**CENTRAL, **edits}
    fork = load(tmp_path / "fork", "shop", {k: v for k, v in templates.items() if v},
                fork_values)
    before, after = rendered(fork), rendered(central)
    env = EnvResult("prod", "shop", "prod", (), {}, tuple(manifests.compare(before, after)))
    origin = Lineage("central", "1.0.0", 0.9, tuple(
        TemplateMatch(t, 0.8 if (edited and t in edits) else 1.0, t)
        for t, text in templates.items() if text))
    decision = decide(origin, (env,))
    plan = ChartPlan(path="chart", name="shop", outcome=decision.outcome, lineage=origin,
                     values=ValuesPlan({}, {}, decisions), environments=(env,),
                     findings=decision.findings)
    evidence = Evidence("chart", fork.templates, {"prod": before.sources}, value_lines or {})
    return Planned(plan, evidence, fork)


def central_hatches(*charts: LoadedChart) -> CentralHatches:
    return hatches(catalog(*charts))


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line holding `needle`: what a reviewer would find by hand."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)
