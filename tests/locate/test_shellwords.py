from __future__ import annotations

from migrator.locate.shellwords import (
    Expansion,
    Word,
    assignment,
    split_command_spans,
    split_commands,
    tokenize,
)


def values(text: str, folded: bool = False) -> list[str]:
    return [w.value for w in tokenize(text, folded)]


def test_quotes_are_removed_and_the_span_covers_the_word_as_written() -> None:
    text = """helm -f 'a b.yaml' "x"y\\ z"""
    words = tokenize(text)
    assert [w.value for w in words] == ["helm", "-f", "a b.yaml", "xy z"]
    assert [text[w.start : w.end] for w in words] == ["helm", "-f", "'a b.yaml'", '"x"y\\ z']
    assert [w.quoted for w in words] == [False, False, True, True]


def test_single_quotes_keep_dollars_literal_and_double_quotes_expand_them() -> None:
    single, double = tokenize("'$TAG' \"$TAG\"")
    assert (single.value, single.expansions) == ("$TAG", ())
    assert double.value == "$TAG"
    assert double.expansions == (Expansion(0, 4, "TAG"),)


def test_a_command_substitution_is_one_expansion_whatever_its_spaces_and_quotes() -> None:
    (word,) = tokenize('sha=$(git log -1 --format="%H )") ')
    assert word.value == 'sha=$(git log -1 --format="%H )")'
    assert word.expansions == (Expansion(4, len(word.value), None),)


def test_braced_backticked_positional_and_arithmetic_expansions() -> None:
    (word,) = tokenize("${A}-`date`-$1-$((2+3))-${B:-./chart}")
    assert [(word.value[e.start : e.end], e.name, e.default) for e in word.expansions] == [
        ("${A}", "A", None),
        ("`date`", None, None),
        ("$1", "1", None),
        ("$((2+3))", None, None),
        ("${B:-./chart}", "B", "./chart"),
    ]


def test_a_lone_dollar_is_literal() -> None:
    (word,) = tokenize("cost$")
    assert (word.value, word.dynamic) == ("cost$", False)


def test_backslash_newline_joins_lines_and_a_hash_starts_a_comment() -> None:
    assert values("helm upgrade \\\n  r ./c # deploy it\nls") == [
        "helm", "upgrade", "r", "./c", "\n", "ls",
    ]  # fmt: skip


def test_a_hash_inside_a_word_is_not_a_comment() -> None:
    assert values("echo a#b") == ["echo", "a#b"]


def test_operators_and_redirections_are_words_of_their_own() -> None:
    words = tokenize("a&&b|c 2>/dev/null;d")
    assert [(w.value, w.operator) for w in words] == [
        ("a", False), ("&&", True), ("b", False), ("|", True), ("c", False), ("2", False),
        (">", True), ("/dev/null", False), (";", True), ("d", False),
    ]  # fmt: skip


def test_folded_text_reads_line_breaks_as_spaces() -> None:
    assert values("helm upgrade\nr ./c", folded=True) == ["helm", "upgrade", "r", "./c"]
    assert values("helm upgrade\nr ./c") == ["helm", "upgrade", "\n", "r", "./c"]


def test_expand_substitutes_known_variables_and_gives_up_on_unknown_ones() -> None:
    (word,) = tokenize("values-$ENV-${REGION}.yaml")
    assert word.expand({"ENV": "prod", "REGION": "eu"}) == "values-prod-eu.yaml"
    assert word.expand({"ENV": "prod"}) is None
    assert word.expand_known({"ENV": "prod"}) == "values-prod-${REGION}.yaml"


def test_expand_takes_a_default_word_only_when_asked() -> None:
    (word,) = tokenize('"${CHART:-./chart}"')
    assert word.expand({}) is None
    assert word.expand({}, use_defaults=True) == "./chart"
    assert word.expand({"CHART": "deploy/x"}, use_defaults=True) == "deploy/x"


def test_a_computed_value_never_expands() -> None:
    (word,) = tokenize("$(cat tag)")
    assert word.expand({}, use_defaults=True) is None


def test_assignment_reads_name_and_value_of_a_prefix_assignment() -> None:
    first, second, third = tokenize("KUBECONFIG=/k A='x y' helm")
    assert assignment(first) == ("KUBECONFIG", "/k")
    assert assignment(second) == ("A", "x y")
    assert assignment(third) is None
    assert assignment(Word("=", 0, 1, operator=True)) is None


def test_split_command_spans_point_at_each_simple_command() -> None:
    script = "cd x && helm lint c\n\nhelm upgrade r \\\n  ./c | tee out"
    spans = split_command_spans(script)
    assert [(line, script[start:end]) for line, start, end in spans] == [
        (0, "cd x"), (0, "helm lint c"), (2, "helm upgrade r \\\n  ./c"), (3, "tee out"),
    ]  # fmt: skip
    assert split_commands(script) == [(line, script[s:e]) for line, s, e in spans]


def test_separators_inside_quotes_and_substitutions_do_not_split() -> None:
    assert split_commands("echo 'a;b' \"c&&d\" $(e | f)") == [
        (0, "echo 'a;b' \"c&&d\" $(e | f)"),
    ]
