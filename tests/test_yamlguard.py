"""A YAML document that would cost far more to read than its size (an alias bomb, thousands of
nested brackets, an alias inside its own node) is refused while it is read, by every reader."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from ruamel.yaml import YAML

from migrator.errors import RepoError
from migrator.yamlguard import (
    MAX_DEPTH,
    GuardedComposer,
    YamlLimitError,
    check_text,
    refused,
)


def bomb(levels: int, width: int) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + f"\nall: *l{levels - 1}\n"


def flow(depth: int) -> str:
    return "x: " + "[" * depth + "1" + "]" * depth + "\n"


def block(depth: int) -> str:
    return "".join(f"{'  ' * i}k{i}:\n" for i in range(depth)) + f"{'  ' * depth}v\n"


def _composed(text: str) -> None:
    reader = YAML()
    reader.Composer = GuardedComposer
    list(reader.compose_all(text))


READERS: dict[str, Callable[[str], None]] = {"libyaml events": check_text,
                                             "ruamel.yaml composer": _composed}


@pytest.mark.parametrize("read", READERS.values(), ids=READERS.keys())
def test_a_billion_laughs_is_refused_at_the_alias_that_passes_the_limit(
        read: Callable[[str], None]) -> None:
    started = time.monotonic()
    with pytest.raises(YamlLimitError, match="past 1,000,000 nodes") as refusal:
        read(bomb(9, 9))
    assert time.monotonic() - started < 5
    # the document passes it within l6: l0 to l5 and six of l6's nine aliases of l5
    assert refusal.value.problem_mark.line + 1 == 7
    read(bomb(5, 9))  # 66,430 nodes: a lot of aliases, and fine


@pytest.mark.parametrize("read", READERS.values(), ids=READERS.keys())
@pytest.mark.parametrize("shape", [flow, block])
def test_nesting_past_the_limit_is_refused_not_a_recursion_error(
        read: Callable[[str], None], shape: Callable[[int], str]) -> None:
    read(shape(MAX_DEPTH - 2))  # the document's map and the scalar are levels too
    for depth in (MAX_DEPTH + 5, 5000):
        with pytest.raises(YamlLimitError, match="nested deeper than 100 levels"):
            read(shape(depth))


@pytest.mark.parametrize("read", READERS.values(), ids=READERS.keys())
def test_an_alias_inside_the_node_it_names_is_refused(read: Callable[[str], None]) -> None:
    with pytest.raises(YamlLimitError, match=r"the alias \*a is inside the node it names"):
        read("a: &a\n  b: [*a]\n")


def test_each_document_has_its_own_budget() -> None:
    one = bomb(6, 9).rsplit("all:", 1)[0]  # l0 to l5: about 672,000 nodes
    check_text("---\n".join([one, one, one]))
    with pytest.raises(YamlLimitError):
        check_text(one + "x: *l5\n")


def test_text_libyaml_cannot_parse_is_left_to_its_reader() -> None:
    check_text("a: [1, 2\n")
    check_text("a: *undefined\n")


def test_the_refusal_names_the_file_and_line() -> None:
    with pytest.raises(YamlLimitError) as refusal:
        check_text(flow(200))
    error = refused("values-prod.yaml", refusal.value)
    assert isinstance(error, RepoError)
    assert str(error) == "values-prod.yaml:1: refused: nested deeper than 100 levels"
