"""Deploy YAML read through libyaml gives exactly what the round-trip reader gives (strings, their
lines and styles, tags, merges, duplicate keys and their notices, errors), only fast."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from migrator.errors import RepoError
from migrator.locate.refs import fastyaml, gitlabci
from migrator.locate.refs.lenient import GITLAB, HELMFILE, Consumer, load_rt
from migrator.locate.refs.located import Located, Tagged
from migrator.locate.refs.yamlpos import load_text, round_trip_text

ROOT = Path(__file__).resolve().parents[2]

CASES = {
    "anchors and merges": """\
.base: &base
  image: alpine
  script:
    - helm upgrade --install a ./chart
  variables: &vars
    A: 1
    B: "two"
    C: on
    D: yes
    E: 0o17
    F: 1e3
    G: 2001-12-14
    H: ~
    I: 1_000
    J: 0x1F
    K: .inf
    L: &flag true
    M: *flag
job:
  <<: *base
  variables:
    <<: *vars
    A: 3
job2:
  <<: [*base, {stage: x}]
  stage: y
job3:
  <<: *base
  <<: {image: busybox, tags: [a]}
  image: own
""",
    "duplicate keys": "a: 1\nb: 2\na: 3\nc:\n  d: 1\n  d: 2\n  e: {f: 1, f: 2}\n",
    "block scalars": "lit: |\n  line1\n  line2\n\n  line4\nfold: >\n  a\n  b\n\n  c\n   d\n  e\n"
                     "keep: |+\n  x\n\nstrip: >-\n  y\n  z\nind: |2\n    four\n  two\n"
                     "plain: a\n  b\n  c\nq1: 'it''s'\nq2: \"a\\tb\\n\"\nmulti: \"a\n  b\"\n",
    "CRLF": "a: 1\r\nb: |\r\n  x\r\n  y\r\nc: [1, 2]\r\n",
    "documents": "---\na: 1\n---\n- x\n- y\n---\njust a string\n---\n...\n---\n",
    "!reference": "job:\n  script:\n    - !reference [.setup, script]\n    - echo hi\n"
                  ".setup:\n  script: [helm version]\n",
    "flow": "{a: [1, {b: c}], 'd': \"e\", ? f : g, h: }\n",
    "keys of other types": "1: one\nnull: n\n\"1\": s\n2001-01-01: d\n? complex\n: v\n",
    "empty": "",
    "a comment": "# only a comment\n",
    "unicode": "\ufeffname: héllo ✓\nlist:\n- ü\n",
    "shared nodes": "a: &a {x: 1}\nb: &b [*a, *a]\nc: [*b, *b]\n",
    "an alias as a key": "k: &k key\n*k : v\n",
    "merges of merges": "a: &a {x: 1, y: 2}\nb: &b {<<: *a, y: 3, z: 4}\nc: {<<: *b, w: 5}\n",
    "two merges of lists": "a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: [*a, *b]\n  <<: *b\n",
    "plain scalars": "a: -1\nb: +1\nc: .5\nd: 1.\ne: 0\nf: -0\ng: 1:30\nh: 0b101\ni: 012\n"
                     "j: True\nk: FALSE\nl: Null\nm: NULL\nn: ~\no: 2001-12-14t21:59:43.10-05:00\n"
                     "p: '2001'\nq: .NaN\nr: -.inf\n",
    "folded commands": "script:\n  - helm upgrade --install a ./chart\n    --set x=1\n"
                       "    -f values.yaml\n  - >\n    helm upgrade b ./c\n    --namespace n\n",
    "a redefined anchor": "a: &x 1\nb: *x\nc: &x 2\nd: *x\n",
}
DUPLICATES = {"duplicate keys", "anchors and merges", "two merges of lists"}
# What only the round-trip reader can answer for (its leniency, its own words)
ROUND_TRIP = {
    "a tab after a value": "a: 1\t\nb: 2\n",
    "an explicit tag": "a: !!str 1\n",
    "a directive": "%YAML 1.1\n---\na: on\n",
    "a tagged scalar": "a: !local x\n",
    "malformed": "a: [1, 2\n",
    "an unknown alias": "a: *nowhere\n",
    "a merge of a scalar": "a: &a 1\nb: {<<: *a}\n",
    "`=` as a key": "= : x\ny: =\n",
    "keys read equal": "true: 1\n1: 2\n",
}


def _shape(value: Any) -> Any:
    """Everything the readers give, positions and styles included, as comparable data."""
    if isinstance(value, Located):
        return ("Located", str(value), value.file, value.line, value.style)
    if isinstance(value, Tagged):
        return ("Tagged", value.tag, _shape(list(value.items)), value.file, value.line)
    if isinstance(value, dict):
        return ("map", [(_shape(k), _shape(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("seq", [_shape(v) for v in value])
    return (type(value).__name__, repr(value))


def _read(reader: Any, text: str, consumer: Consumer) -> Any:
    try:
        got = reader(text, "f.yml", consumer)
    except RepoError as exc:
        return ("refused", str(exc))
    return _shape(got.docs), got.notices


def _corpus() -> list[Path]:
    found = [*(ROOT / "tests" / "locate" / "corpus").rglob("*.y*ml"),
             *(ROOT / "fixtures").rglob("*.y*ml")]
    return sorted(p for p in found if "templates" not in p.parts)


@pytest.mark.filterwarnings("ignore::ruamel.yaml.error.ReusedAnchorWarning")
@pytest.mark.parametrize("consumer", [GITLAB, HELMFILE], ids=lambda c: c.name)
@pytest.mark.parametrize("name", sorted(CASES))
def test_the_fast_reader_gives_what_the_round_trip_reader_gives(name: str,
                                                                consumer: Consumer) -> None:
    text = CASES[name]
    assert _read(load_text, text, consumer) == _read(round_trip_text, text, consumer)
    if consumer.duplicate_keys or name not in DUPLICATES:  # else refused in that reader's words
        assert fastyaml.load(text, "f.yml", consumer) is not None, "read fast"


@pytest.mark.parametrize("name", sorted(ROUND_TRIP))
def test_what_only_the_round_trip_reader_can_say_is_left_to_it(name: str) -> None:
    text = ROUND_TRIP[name]
    assert fastyaml.load(text, "f.yml", GITLAB) is None
    assert _read(load_text, text, GITLAB) == _read(round_trip_text, text, GITLAB)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return [(_plain(k), _plain(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return str(value) if isinstance(value, str) else value


@pytest.mark.filterwarnings("ignore::ruamel.yaml.error.ReusedAnchorWarning")
@pytest.mark.parametrize("name", sorted(CASES))
def test_the_shape_of_a_file_is_what_the_round_trip_reader_gives(name: str) -> None:
    """What the rewrite's last check compares (a list it would leave empty), read fast."""
    assert _plain(fastyaml.shape(CASES[name])) == _plain(load_rt(CASES[name]))


def test_every_yaml_file_of_the_corpus_and_the_fixtures_reads_the_same() -> None:
    files = _corpus()
    assert len(files) > 100
    fast = 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        for consumer in (GITLAB, HELMFILE):
            assert _read(load_text, text, consumer) == _read(round_trip_text, text, consumer), \
                path
            fast += fastyaml.load(text, "f.yml", consumer) is not None
    assert fast > len(files), "most of them read fast"


def test_a_duplicate_key_a_strict_consumer_refuses_is_refused_in_the_same_words() -> None:
    text = CASES["duplicate keys"]
    assert _read(load_text, text, HELMFILE) == (
        "refused", "f.yml:3: duplicate key `a` (first at line 1): helmfile refuses it too")


def test_a_ci_file_of_ten_thousand_jobs_is_read_in_seconds(tmp_path: Path) -> None:
    """76 s before (most of it ruamel.yaml, the rest the shell lexer), under 2 s on a quiet
    machine now; the bound leaves room for a loaded one."""
    jobs = [f'test-{i:05d}: {{stage: test, script: ["echo job {i:05d} runs the unit tests"]}}'
            for i in range(10_000)]
    jobs.insert(5_000, "deploy:\n  script:\n    - helm upgrade --install app ./chart -n shop")
    (tmp_path / ".gitlab-ci.yml").write_text("\n".join(jobs) + "\n")
    assert (tmp_path / ".gitlab-ci.yml").stat().st_size > 700_000
    started = time.monotonic()
    found = gitlabci.read(tmp_path)
    assert time.monotonic() - started < 8
    (ref,) = found.references
    assert (ref.line, ref.context, ref.release) == (5_003, "deploy", "app")
