"""Small charts for the lineage tests: forks of the fixture versions as teams make them, and
charts that are not forks at all. Each is a dict of chart-relative path -> text until written."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from migrator import demo
from migrator.lineage.catalog import Catalog
from migrator.verify import render
from migrator.verify.render import LoadedChart

Files = dict[str, str]


def fork(family: str, version: str, name: str = "orders", helpers: str | None = None) -> Files:
    """A fork of a fixture version, renamed as teams do; `helpers` gives its helper names
    another prefix than the chart name ("" for none, as Helm 2 era charts)."""
    files = demo.fork_chart(demo.chart_source_dir(family, version), name, "3.1.0")
    if helpers is not None:
        renamed = f"{helpers}." if helpers else ""
        for rel, text in files.items():
            if rel.startswith("templates/"):
                files[rel] = text.replace(f'"{name}.', f'"{renamed}')
    return files


def without(files: Files, *paths: str) -> Files:
    return {rel: text for rel, text in files.items() if rel not in paths}


def drop_values_key(files: Files, key: str) -> Files:
    """values.yaml without a top-level block (and the comment line above it)."""
    lines = files["values.yaml"].splitlines()
    out: list[str] = []
    skipping = False
    for line in lines:
        if line.startswith(f"{key}:"):
            skipping = True
            if out and out[-1].startswith("#"):
                out.pop()
            continue
        if skipping and (line.startswith((" ", "\t")) or not line.strip()):
            continue
        skipping = False
        out.append(line)
    return {**files, "values.yaml": "\n".join(out) + "\n"}


def chart_yaml(name: str, version: str = "0.1.0", extra: str = "") -> str:
    return f"apiVersion: v2\nname: {name}\nversion: {version}\n{extra}"


def write(root: Path, files: Mapping[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def load(root: Path, files: Mapping[str, str]) -> LoadedChart:
    return render.load(write(root, files))


def catalog(root: Path, central: str, versions: Mapping[str, Files]) -> Catalog:
    """A catalog of hand-made versions of one chart (version -> files)."""
    charts = {}
    for version, files in versions.items():
        with_version = {**files, "Chart.yaml": re.sub(r"(?m)^version: .*$", f"version: {version}",
                                                      files["Chart.yaml"])}
        charts[(central, version)] = load(root / version, with_version)
    return Catalog(source=str(root), central=central, charts=charts)


HAND_WRITTEN: Files = {
    # what a team writes without `helm create`: no helpers, its own labels and layout
    "Chart.yaml": chart_yaml("worker"),
    "values.yaml": "image: registry.example.com/worker:1.4\nqueue: jobs\nconcurrency: 4\n",
    "templates/deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-worker
  labels:
    app: worker
    team: batch
spec:
  replicas: 1
  selector:
    matchLabels:
      app: worker
  template:
    metadata:
      labels:
        app: worker
    spec:
      containers:
        - name: worker
          image: {{ .Values.image }}
          args: ["--queue", "{{ .Values.queue }}", "--concurrency", "{{ .Values.concurrency }}"]
""",
    "templates/configmap.yaml": """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-worker
data:
  QUEUE: {{ .Values.queue | quote }}
""",
}

UMBRELLA: Files = {
    "Chart.yaml": chart_yaml("stack", extra=(
        "dependencies:\n  - name: orders\n    version: 0.1.0\n    repository: file://../orders\n")),
    "values.yaml": "orders:\n  replicaCount: 2\n",
}

LIBRARY_USER: Files = {
    # a chart built on a library chart: its templates only call the library's helpers
    "Chart.yaml": chart_yaml("billing", extra=(
        "dependencies:\n  - name: common\n    version: 2.x.x\n"
        "    repository: https://charts.example.com\n")),
    "values.yaml": "image:\n  repository: registry.example.com/billing\n  tag: 1.0.0\n",
    "templates/deployment.yaml":
        '{{- include "common.deployment" (list . "billing.deployment") }}\n',
    "templates/service.yaml": '{{- include "common.service" . }}\n',
    "templates/_helpers.tpl": '{{- define "billing.deployment" -}}\n'
                              "spec:\n  replicas: 2\n{{- end }}\n",
}
