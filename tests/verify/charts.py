"""Tiny charts written on the spot, for the verify stage's own tests."""

from __future__ import annotations

from pathlib import Path

from migrator.model import EmbeddedChart, Environment
from migrator.verify import render
from migrator.verify.render import LoadedChart

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Values.name | default .Release.Name }}
  annotations:
    {{- toYaml .Values.annotations | nindent 4 }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels:
      app: {{ .Values.name | default .Release.Name }}
  template:
    metadata:
      labels:
        app: {{ .Values.name | default .Release.Name }}
      annotations:
        {{- toYaml .Values.podAnnotations | nindent 8 }}
    spec:
      containers:
        - name: app
          image: "{{ .Values.image }}"
"""
VALUES = "replicas: 1\nimage: nginx:1.27\nannotations: {}\npodAnnotations: {}\n"


def write_chart(root: Path, name: str, *, template: str = DEPLOYMENT, values: str = VALUES
                ) -> Path:
    chart = root / name
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: {name}\nversion: 1.0.0\n")
    (chart / "values.yaml").write_text(values)
    (chart / "templates" / "deployment.yaml").write_text(template)
    return chart


def load_chart(root: Path, name: str, **kwargs: str) -> LoadedChart:
    return render.load(write_chart(root, name, **kwargs))


def environment(name: str, release: str = "app", files: tuple[str, ...] = ()) -> Environment:
    return Environment(name, files, release, "test", "default")


def embedded(path: str, *envs: Environment) -> EmbeddedChart:
    return EmbeddedChart(path=path, name=path, version="1.0.0", app_version=None,
                         values_file=None, environments=envs, file_count=3, line_count=30)
