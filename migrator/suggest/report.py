"""The suggestions as a short Markdown report for the platform team."""

from __future__ import annotations

from collections.abc import Sequence

from migrator.suggest.edit import functions_for_report, rule_code
from migrator.suggest.heuristics import Suggestion

# ---------------------------------------------------------------------------------------------
# The report for the platform team


def render_report(suggestions: Sequence[Suggestion], mappings_dir: str = "mappings") -> str:
    """Markdown: per module, the rules proposed, then the keys with no target."""
    if not suggestions:
        return "# Mapping suggestions\n\nNo unmapped keys in this plan: nothing to suggest.\n"
    mapped = [s for s in suggestions if s.target is not None]
    unknown = [s for s in suggestions if s.target is None]
    shaped = sum(1 for s in suggestions if s.shape)
    also = f", {shaped} value{_s(shaped)} of another shape" if shaped else ""
    out = ["# Mapping suggestions", "",
           f"{len(mapped)} rule{_s(len(mapped))} proposed, {len(unknown)} "
           f"key{_s(len(unknown))} without a target "
           f"({sum(s.keys for s in suggestions if not s.shape)} unmapped keys in all{also}).",
           ""]
    modules: dict[str, list[Suggestion]] = {}
    for s in suggestions:
        modules.setdefault(s.module, []).append(s)
    for name, group in modules.items():
        first = group[0]
        where = f"`{mappings_dir}/{name}.py`" + (" (new)" if first.new_module else "")
        out += [f"## {first.family} {first.from_range} -> {first.to}: {where}", ""]
        rules = [s for s in group if s.target is not None]
        functions = {id(s): (name, source) for s, name, source in functions_for_report(rules)}
        if rules:
            out += ["| rule | repos | why |", "| --- | --- | --- |"]
            out += [f"| `{_cell(rule_code(s, s.rule, functions.get(id(s), ('', ''))[0]))}` | "
                    f"{_repos(s)} | {_cell(s.why)} |" for s in rules]
            out.append("")
        if functions:
            out += ["The functions the `convert` rules call (written above `RULES`):", "",
                    "```python", *(source.rstrip("\n") for _, source in functions.values()),
                    "```", ""]
        rest = [s for s in group if s.target is None]
        if rest:
            out += ["No target found, or no rule fits (write a rule by hand, or `drop` it):", "",
                    "| key | repos | why |", "| --- | --- | --- |"]
            out += [f"| `{_cell(s.source)}` | {_repos(s)} | {_cell(s.why)} |" for s in rest]
            out.append("")
    return "\n".join(out)


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _repos(s: Suggestion) -> str:
    more = ", ..." if s.repos > len(s.examples) else ""
    return _cell(f"{s.repos} ({', '.join(s.examples)}{more})")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")

