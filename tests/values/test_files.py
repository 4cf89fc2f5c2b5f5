"""Written values files keep the fork's comments, order and quoting for the keys they keep."""

from __future__ import annotations

from migrator.mapping import rename
from migrator.model import ValueDecision
from migrator.values.files import render_values

SOURCE = '''# Values for orders.

# How many pods: three survive a node drain.
replicaCount: 3  # peak traffic

image:
  repository: "registry.example.com/orders"  # our registry
  pullPolicy: IfNotPresent
  # The release job bumps this.
  tag: ""

# Pod annotations
podAnnotations: {}

service:
  type: ClusterIP
  # - commented-out example that belongs to service
# Sized by load test.
resources:
  limits:
    memory: 512Mi  # OOM at 400
'''


def _render(wanted: dict, decisions: list[ValueDecision] | None = None) -> str:
    return render_values(wanted, SOURCE, [rename("replicaCount", "replicas")], decisions or [])


def test_kept_keys_keep_their_comments_and_quoting() -> None:
    out = _render({"replicas": 3, "image": {"repository": "registry.example.com/orders"},
                   "resources": {"limits": {"memory": "512Mi"}}})
    assert out == '''# Values for orders.

# How many pods: three survive a node drain.
replicas: 3      # peak traffic

image:
  repository: "registry.example.com/orders"  # our registry
# Sized by load test.
resources:
  limits:
    memory: 512Mi  # OOM at 400
'''


def test_a_comment_above_a_removed_key_goes_with_it() -> None:
    out = _render({"service": {"type": "NodePort"}})
    assert "Pod annotations" not in out
    assert "commented-out example" not in out
    assert "type: NodePort" in out


def test_added_keys_say_why_they_are_there() -> None:
    out = _render({"nameOverride": "orders", "image": {"tag": "5.2.1"}},
                  [ValueDecision("nameOverride", "identity", "orders"),
                   ValueDecision("image.tag", "metadata", "5.2.1")])
    assert "nameOverride: orders  # migrator: keeps resource names" in out
    assert '# The release job bumps this.\n  tag: "5.2.1"' in out


def test_no_kept_value_means_an_empty_map() -> None:
    assert render_values({}, SOURCE) == "{}\n"


def test_without_a_source_the_file_is_plain_yaml() -> None:
    assert render_values({"replicas": 2, "env": [{"name": "A", "value": "1"}]}, None) == (
        "replicas: 2\nenv:\n  - name: A\n    value: '1'\n")


def test_a_key_moved_to_another_depth_keeps_its_comments_at_the_new_indentation() -> None:
    source = '''deployment:
  # Two pods survive a node drain.
  replicas: 2
  # Env of the container.
  env:
    - name: A
      value: "1"
podAnnotations:
  # Restart on ConfigMap changes.
  reloader/auto: "true"
'''
    rules = [rename("deployment.replicas", "replicas"), rename("deployment.env", "env"),
             rename("podAnnotations", "pod.annotations")]
    wanted = {"replicas": 2, "env": [{"name": "A", "value": "1"}],
              "pod": {"annotations": {"reloader/auto": "true"}}}
    assert render_values(wanted, source, rules) == '''# Two pods survive a node drain.
replicas: 2
# Env of the container.
env:
  - name: A
    value: "1"
pod:
  annotations:
    # Restart on ConfigMap changes.
    reloader/auto: "true"
'''


DUPLICATED = '''# How many pods.
replicaCount: 1
# Scale on CPU (first try).
autoscaling:
  enabled: false
  minReplicas: 1
# The service.
service:
  port: 80
# Scale on CPU, for real.
autoscaling:
  enabled: true  # since the load test
  maxReplicas: 5
# Sized by load test.
resources: {}
'''


def test_a_key_written_twice_is_written_once_with_the_value_helm_used() -> None:
    wanted = {"replicas": 1, "hpa": {"enabled": True, "maxReplicas": 5},
              "service": {"port": 80}, "resources": {"limits": {"memory": "1Gi"}}}
    out = render_values(wanted, DUPLICATED, [rename("replicaCount", "replicas"),
                                             rename("autoscaling", "hpa")])
    assert out == '''# How many pods.
replicas: 1
# The service.
service:
  port: 80
# Scale on CPU, for real.
hpa:
  enabled: true  # since the load test
  maxReplicas: 5
# Sized by load test.
resources:
  limits:
    memory: 1Gi
'''


def test_a_crlf_values_file_is_written_with_crlf() -> None:
    source = "# Pods.\r\nreplicaCount: 3  # peak\r\nimage:\r\n  tag: a\r\n"
    out = render_values({"replicas": 3, "image": {"tag": "b"}}, source,
                        [rename("replicaCount", "replicas")])
    assert out == "# Pods.\r\nreplicas: 3      # peak\r\nimage:\r\n  tag: b\r\n"
    assert render_values({"a": 1}, "a: 2\n") == "a: 1\n"


def test_a_file_the_round_trip_reader_refuses_is_written_anew_with_the_wanted_values() -> None:
    source = "a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: *a\n  <<: *b\n"  # Helm merges both
    assert render_values({"c": {"x": 1, "true": 2}}, source) == "c:\n  x: 1\n  'true': 2\n"


def test_a_first_key_written_twice_leaves_the_file_header_and_the_next_keys_comment() -> None:
    source = ("# Values for orders.\n\n# How many pods.\nreplicaCount: 1\n# The image.\nimage:\n"
              "  tag: a\n  # the digest, some day\n  tag: b\nreplicaCount: 3\n")
    assert render_values({"replicaCount": 3, "image": {"tag": "b"}}, source) == (
        "# Values for orders.\n\n# The image.\nimage:\n  # the digest, some day\n  tag: b\n"
        "replicaCount: 3\n")
