"""Keep secrets out of everything a person reads: by key name, and by the shape of the value.

Three doors, one set of rules:

- `redact_value` / `redact_tree`: values under a key path (values files, --set flags);
- `scrub_text`: free text (commands, reasons, errors, tracebacks, one line of a file);
- `redact_patch`: a unified diff, line by line, with what YAML says about each line (the key
  path above it, a block scalar under a credential key, a Secret's `data:`, a PEM block).

A value is a secret when its key path has a segment named like a credential (`password`,
`token`, `apiKey`, `auth`, `.dockerconfigjson` ...; `secretName`, `secretKeyRef` and other
references to a Secret are not), or when the value itself looks like one:

- a URL with `user:password@`; an AWS access key id (`AKIA`/`ASIA`...), and any 40-character
  base64 word in a text holding one (its secret key);
- a PEM block: every `-----BEGIN ...-----` up to its `-----END ...-----` (certificates too: a
  text that holds one often holds its key, and no report needs the base64);
- a JWT; a GitLab, GitHub, Slack, Google, Stripe or npm token by its prefix;
- a docker config (JSON with `auth`/`auths`);
- base64 of text holding any of these (decoded and inspected, two levels deep);
- a high-entropy word: at least 20 characters mixing upper case, lower case and digits, whose
  character entropy and case/digit switches are those of random text rather than of an
  identifier (`SpringApplicationConfig2` is shown). Hex words (git SHAs, `sha256:` digests,
  checksums) and UUIDs are never secrets by shape: a random value written in hex is caught only
  by its key name.

A secret found in text is replaced by `REDACTED`; the rest of the text is kept.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

REDACTED = "<redacted>"

# Matched against each segment of a dotted path, case-insensitively.
_SECRET_KEY = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|api[-_]?key|private[-_]?key|credential|auth|"
    r"access[-_]?key|client[-_]?secret|pwd|dsn|connection[-_]?string|dockercfg|"
    r"dockerconfigjson|htpasswd)",
    re.IGNORECASE,
)
# Keys that name a Secret (a reference: `secretName`, `pullSecretName`, `secretKeyRef`,
# `existingSecret`) or switch one on, rather than hold one.
_SECRET_REFERENCE = re.compile(
    r"^(existing\w*|\w*(name|names|ref|refs)|imagePullSecrets|automountServiceAccountToken)$",
    re.IGNORECASE)
# In free text `word: value` is often prose ("Secret app-auth-redis: no counterpart"): there a
# key counts only when it ends like a credential (`password:`, `clientSecret:`, `DB_PASSWORD:`).
_SECRET_KEY_END = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|api[-_]?key|private[-_]?key|credentials?|auth|"
    r"access[-_]?key|pwd|dsn|connection[-_]?string|dockercfg|dockerconfigjson|htpasswd)$",
    re.IGNORECASE)


@functools.lru_cache(maxsize=16384)
def is_secret_key(path: str) -> bool:
    """True when any segment of a dotted key path looks like a credential."""
    return any(_SECRET_KEY.search(part) and not _SECRET_REFERENCE.match(part)
               for part in re.split(r"[.\[\]]", path) if part)


# --- values under a key ----------------------------------------------------------------------


def redact_value(path: str, value: Any) -> Any:
    """The value as a report may show it: every leaf under a credential-like key replaced
    (booleans and nulls say nothing and stay), secrets inside strings replaced wherever."""
    if is_secret_key(path):
        return _hide_leaves(value)
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return redact_tree(value, path)
    if isinstance(value, list | tuple):
        return [redact_value(f"{path}[{i}]", v) for i, v in enumerate(value)]
    return value


def redact_tree(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A copy of a values tree with every credential-like leaf replaced."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        out[key] = redact_value(path, value)
    return out


def _hide_leaves(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _hide_leaves(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_hide_leaves(v) for v in value]
    if value is None or isinstance(value, bool):
        return value
    return REDACTED


def redact_env_list(env: list[Any]) -> list[Any]:
    """Container env entries: hide `value` of entries whose name looks like a credential."""
    out: list[Any] = []
    for item in env:
        if isinstance(item, dict) and "value" in item and is_secret_key(str(item.get("name", ""))):
            item = {**item, "value": REDACTED}
        out.append(item)
    return out


# --- secrets by shape ------------------------------------------------------------------------

_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]{1,40})-----.*?(?:-----END \1-----|\Z)", re.DOTALL)
# A docker config (`.dockerconfigjson`) goes whole, registries and user names with it: up to the
# first `}}` (closing a registry and "auths", or "auths" and the document) and one more `}`.
_DOCKER_CONFIG = re.compile(r"\{\s*\"auths\"\s*:\s*\{.*?\}\s*\}(?:\s*\})?", re.DOTALL)
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]{1,40}-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]{1,40}-----")
# The look-behind anchors the scheme, so long words do not backtrack.
_CREDENTIAL_URL = re.compile(r"(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@",
                             re.IGNORECASE)
_AWS_KEY_ID = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA)"
                         r"[A-Z0-9]{16}(?![A-Z0-9])")
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_PREFIXED = re.compile(
    r"(?<![A-Za-z0-9])(?:"
    r"eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*"  # JWT
    r"|gl(?:pat|dt|rt|ptt|cbt|soat|oas|ft|imt|agent|wt|ffct|sa)-[0-9A-Za-z_-]{10,}"  # GitLab
    r"|GR1348941[0-9A-Za-z_-]{10,}"  # GitLab runner registration
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"  # GitHub
    r"|xox[abposre]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}"  # Slack
    r"|hooks\.slack\.com/services/[A-Za-z0-9/_-]+"
    r"|AIza[0-9A-Za-z_-]{35}"  # Google API key
    r"|[sr]k_live_[0-9A-Za-z]{16,}"  # Stripe
    r"|npm_[A-Za-z0-9]{36}"
    r")")
# Key and value in JSON, YAML flow or YAML block style (`"auth": "..."`, `password: x`).
_VALUE = r"(?:\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|[^\s,;{}\[\]'\"][^\s,;}\]'\"]*)"
# A quoted key (JSON) may have its value right after the colon; a bare one (YAML) needs a space,
# else `host:6379` would be a pair.
_PAIR = re.compile(
    rf"(?<![\w.\-/])(?P<q>[\"'])?(?P<key>[A-Za-z_.][\w.\-]*)(?(q)(?P=q)[ \t]*:[ \t]*|:[ \t]+)"
    rf"(?P<val>{_VALUE})")
# An assignment in Make, shell-like, INI or Python text: `PASSWORD := x`, `token = "x"`.
_ASSIGN = re.compile(
    rf"(?<![\w.\-/])(?P<key>[A-Za-z_][\w.\-]*)[ \t]*(?::{{1,2}}=|\?=|\+=|=)(?!=)[ \t]*"
    rf"(?P<val>{_VALUE})")
# A container env entry in flow style: `{name: DB_PASSWORD, value: x}`.
_ENV_PAIR = re.compile(
    rf"(?P<head>[\"']?name[\"']?[ \t]*:[ \t]*[\"']?(?P<name>[\w.\-]+)[\"']?[ \t]*,[ \t]*"
    rf"[\"']?value[\"']?[ \t]*:[ \t]*)(?P<val>{_VALUE})")
# A value that is only Helm template actions without a string literal is code that reads the
# secret from elsewhere (`{{ .Values.db.password | b64enc }}`), not the secret.
_TEMPLATE = re.compile(r"([\"']?)(\{\{[^\"'`]*?\}\}\s*)+\1")
_CANDIDATE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9+/_=-]{15,}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+={0,2}")
_HEX = re.compile(r"(?:sha\d*[-:])?[0-9a-fA-F:-]+")
_DIGEST_PREFIX = re.compile(r"^sha(?:1|224|256|384|512)[-_]", re.IGNORECASE)
_SEGMENT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+|[^A-Za-z0-9]+")
# Nothing in a line without one of these can be hidden: no pair, flag, URL or long word.
_MAYBE = re.compile(r"[:=]|--|[A-Za-z0-9_][A-Za-z0-9+/_=-]{15}")
_FLAG_WITH_VALUE = re.compile(r"^--([A-Za-z0-9_.-]+)$")
_DEPTH = 2  # base64 inside base64 inside text, no deeper


def looks_secret(text: str) -> bool:
    """True when `text` holds something shaped like a credential (key names aside)."""
    return scrub_text(text) != text


def scrub_text(text: str) -> str:
    """Free text (commands, reasons, errors, file lines) with credential-looking parts replaced.

    Handles `key=value` words with a credential-like key (`--set db.password=x`,
    `PASSWORD=x`), `key: value` and `"key": "value"` pairs, a credential-like flag followed by
    its value (`--password x`), and everything shaped like a secret (see the module doc).
    Applying it twice changes nothing more.
    """
    return _scrub_cached(text) if len(text) <= 4096 else _scrub(text, 0)


# Bounded: the caches are kept for the whole run, whose every process would otherwise grow
# with the fleet.
@functools.lru_cache(maxsize=16384)
def _scrub_cached(text: str) -> str:
    # Reports and the plan cache scrub the same names, paths and values again and again.
    return _scrub(text, 0)


def _scrub(text: str, depth: int) -> str:
    if not text:
        return text
    text = _PEM.sub(REDACTED, text)
    text = _DOCKER_CONFIG.sub(REDACTED, text)
    # A flag or an open quote never reaches into the next line: in a patch that line starts
    # with its own +/- mark.
    lines = text.splitlines(keepends=True)
    if depth:
        return "".join(_scrub_line(line, depth) for line in lines)
    return "".join(map(_scrub_line_cached, lines))


@functools.lru_cache(maxsize=4096)
def _scrub_line_cached(line: str) -> str:
    # The long texts scrubbed line by line are patches and files: a fleet forked from one
    # template repeats most of their lines, from repo to repo.
    return _scrub_line(line, 0)


def _scrub_line(text: str, depth: int) -> str:
    if not _MAYBE.search(text):
        return text
    text = _ENV_PAIR.sub(_env_pair, text)
    text = _PAIR.sub(_pair, text)
    text = _ASSIGN.sub(_pair, text)
    aws = bool(_AWS_KEY_ID.search(text))
    parts = re.split(r"(\s+)", text)
    hide_next = False
    open_quote = ""  # a hidden value that started with this quote goes on until it closes
    for i, part in enumerate(parts):
        if not part or part.isspace():
            continue
        if open_quote:
            parts[i - 1] = ""
            parts[i] = open_quote if open_quote in part else ""
            open_quote = "" if open_quote in part else open_quote
            continue
        if hide_next:
            lead, trail = _quotes(part)
            parts[i] = f"{lead}{REDACTED}{trail}" if part != REDACTED else part
            open_quote = lead if lead and not trail else ""
            hide_next = False
            continue
        flag = _FLAG_WITH_VALUE.match(part)
        if flag and is_secret_key(flag.group(1)):
            hide_next = True
            continue
        if "=" in part.rstrip("="):
            parts[i], open_quote = _scrub_assignments(part, depth)
        else:
            parts[i] = _scrub_word(part, depth, aws)
    return "".join(parts)


def _pair(match: re.Match[str]) -> str:
    value, key = match.group("val"), match.group("key")
    if not (is_secret_key(key) and _SECRET_KEY_END.search(key)) \
            or value.strip("\"'") in ("", REDACTED) or _TEMPLATE.fullmatch(value):
        return match.group(0)
    return match.group(0)[: match.start("val") - match.start()] + _mask(value)


def _env_pair(match: re.Match[str]) -> str:
    if not is_secret_key(match.group("name")) or _TEMPLATE.fullmatch(match.group("val")):
        return match.group(0)
    return match.group("head") + _mask(match.group("val"))


def _mask(value: str) -> str:
    """`value` replaced, its quotes kept."""
    lead, trail = _quotes(value)
    return f"{lead}{REDACTED}{trail}"


def _quotes(value: str) -> tuple[str, str]:
    """The quote a shell word opens with and the one it closes with ("" when none)."""
    lead = value[:1] if value[:1] in ("'", '"') else ""
    rest = value[1:] if lead else value
    trail = rest[-1:] if rest[-1:] in ("'", '"') else ""
    return lead, trail


def _scrub_assignments(word: str, depth: int) -> tuple[str, str]:
    """`a=1,db.password=x` (helm --set lists, env assignments) with credential values hidden;
    also the quote character when a hidden value opened a quote that this word does not close.
    """
    flag, _, rest = word.partition("=")
    if flag.startswith("-") and "=" in rest.rstrip("="):
        inner, open_quote = _scrub_assignments(rest, depth)
        return f"{flag}={inner}", open_quote
    items = []
    open_quote = ""
    for item in word.split(","):
        key, eq, value = item.partition("=")
        bare = key.lstrip("-").strip("'\"")
        if eq and value != REDACTED and ((bare and is_secret_key(bare))
                                         or _scrub(value, depth) != value):
            lead, trail = _quotes(value)
            item = f"{key}={lead}{REDACTED}{trail}"
            open_quote = lead if lead and not trail else ""
        elif not eq:
            item = _scrub_word(item, depth, False)
        items.append(item)
    return ",".join(items), open_quote


def _scrub_word(word: str, depth: int, aws: bool) -> str:
    if _CREDENTIAL_URL.search(word):
        return REDACTED
    word = _PREFIXED.sub(REDACTED, word)
    word = _AWS_KEY_ID.sub(REDACTED, word)
    if aws:
        word = _AWS_SECRET.sub(REDACTED, word)
    return _CANDIDATE.sub(lambda m: REDACTED if _suspicious(m.group(0), depth)
                          else m.group(0), word)


def _suspicious(token: str, depth: int) -> bool:
    """A long word: base64 of text holding a secret, or random-looking on its own."""
    decoded = _decoded_text(token) if depth < _DEPTH else None
    if decoded is not None:
        return _scrub(decoded, depth + 1) != decoded
    return _high_entropy(token)


def _decoded_text(token: str) -> str | None:
    """The text `token` is base64 of, or None (not base64, or not text)."""
    if len(token) < 16 or not _BASE64.fullmatch(token):
        return None
    core = token.rstrip("=")
    if len(core) % 4 == 1:
        return None
    padded = core + "=" * (-len(core) % 4)
    try:
        raw = base64.b64decode(padded, altchars=b"-_" if "-" in core or "_" in core else None,
                               validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    printable = sum(1 for c in text if c.isprintable() or c in "\n\r\t")
    return text if text and printable == len(text) else None


def _high_entropy(token: str) -> bool:
    word = token.strip("=")
    if len(word) < 20 or _DIGEST_PREFIX.match(word) or _HEX.fullmatch(word):
        return False
    if not (any(c.isupper() for c in word) and any(c.islower() for c in word)
            and any(c.isdigit() for c in word)):
        return False
    n = len(word)
    entropy = -sum(k / n * math.log2(k / n) for k in Counter(word).values())
    # Both limits sit at about the 1st-5th percentile of random base62/base64 words of that
    # length, and above identifiers (`CiCommitRefSlugV2Release`: entropy 3.8, switches 0.29).
    switches = len(_SEGMENT.findall(word)) / n
    return entropy >= min(0.88 * math.log2(n) - 0.3, 4.6) and switches >= 0.35


# --- patches ---------------------------------------------------------------------------------

_HEADER = ("# migrator: secret values or binary contents on {n} line{s} of this patch are "
           f"replaced by {REDACTED};\n"
           "# migrator: it does not recreate the real files. The full patch is kept in the "
           "private work dir of the run\n"
           "# migrator: that planned it (see report.md).\n")
_HEADER_LINE = re.compile(r"^# migrator: ")
_COUNT = re.compile(r"^# migrator: secret values or binary contents on (\d+) line")
_YAML_KEY = re.compile(
    r"^(?P<lead>[ \t]*(?:-[ \t]+)*)(?P<q>[\"']?)(?P<key>[^\s\"'#:{}\[\],&*!|>%@`-][^\"'#:{}]*?)"
    r"(?P=q)[ \t]*:(?:[ \t]+(?P<value>.*))?$")
_HARMLESS = {"", "~", "null", "true", "false", "{}", "[]", '""', "''", REDACTED}


@dataclass
class _Side:
    """What the lines of one side of a file (old or new) seen so far say about the next."""

    parents: list[tuple[int, str, bool]] = field(default_factory=list)  # indent, key, secret
    block: int | None = None  # lines indented deeper than this belong to a secret block scalar
    pem: bool = False  # inside a PEM block
    secret_kind: int | None = None  # indent of `kind: Secret`: its `data:` beside is secret
    env_name: int | None = None  # a `name:` naming a credential at this indent: `value:` next

    def reset(self, document: bool) -> None:
        self.parents, self.block, self.pem, self.env_name = [], None, False, None
        if document:
            self.secret_kind = None

    def line(self, content: str) -> str:
        stripped = content.strip()
        lead = content[: len(content) - len(content.lstrip())]
        if self.pem:
            self.pem = not _PEM_END.search(content)
            return lead + REDACTED
        if self.block is not None:
            if not stripped or len(lead.expandtabs()) > self.block:
                return content if not stripped else lead + REDACTED
            self.block = None
        if stripped in ("---", "..."):
            self.reset(document=True)
            return content
        begin = _PEM_BEGIN.search(content)
        if begin and not _PEM_END.search(content, begin.end()):
            self.pem = True
            return content[: begin.start()] + REDACTED
        match = _YAML_KEY.match(content)
        if match is None or stripped.startswith("#"):
            return scrub_text(content)
        return self._key_line(content, match)

    def _key_line(self, content: str, match: re.Match[str]) -> str:
        indent = len(match.group("lead").expandtabs())
        key = match.group("key").strip()
        raw = match.group("value") or ""
        value = _without_comment(raw)
        while self.parents and self.parents[-1][0] >= indent:
            self.parents.pop()
        if self.secret_kind is not None and indent < self.secret_kind:
            self.secret_kind = None
        if key == "kind":
            self.secret_kind = indent if value.strip("\"'") == "Secret" else None
        inherited = any(secret for _, _, secret in self.parents)
        secret = inherited or is_secret_key(".".join([*(k for _, k, _ in self.parents), key])) \
            or (key in ("data", "stringData") and self.secret_kind == indent)
        if self.env_name is not None and (indent < self.env_name or key == "name"):
            self.env_name = None
        if key == "value" and self.env_name == indent:
            secret, self.env_name = True, None
        elif key == "name" and is_secret_key(value.strip("\"'")):
            self.env_name = indent
        if not value:
            self.parents.append((indent, key, secret))
            return content
        if value[0] in "|>":
            if secret:
                self.block = indent
            return content
        if not secret or value.strip("\"'") in _HARMLESS or _TEMPLATE.fullmatch(value):
            return scrub_text(content)
        start = match.start("value")
        return content[:start] + _mask_value(value) + raw[len(value):]


def _without_comment(value: str) -> str:
    """A YAML plain or quoted scalar without its trailing comment, stripped."""
    value = value.strip()
    if value[:1] in ("'", '"'):
        end = value.find(value[0], 1)
        return value[: end + 1] if end > 0 else value
    return value.split(" #", 1)[0].rstrip()


def _mask_value(value: str) -> str:
    if value[:1] in ("'", '"') and value.endswith(value[0]) and len(value) > 1:
        return f"{value[0]}{REDACTED}{value[0]}"
    return REDACTED


@functools.lru_cache(maxsize=1024)
def redact_patch(patch: str) -> str:
    """A unified diff with every secret value replaced, line for line (hunks keep their
    sizes), and a header saying so when anything was; binary contents are replaced whole.
    Applying it to its own output changes nothing."""
    # Cached: a run redacts each patch several times (its hash, the plan cache, three reports,
    # the shard state). A patch without a secret comes back as the very same string, so the
    # cache holds no copy of it; but it keeps the patch alive: a planning worker, done with a
    # repo, lets go of its patches (`forget_patches`).
    redacted = _redact_patch(patch)
    return patch if redacted == patch else redacted


def forget_patches() -> None:
    """Drop the cached redactions of patches: this process holds no plan any more."""
    redact_patch.cache_clear()


def _redact_patch(patch: str) -> str:
    out: list[str] = []
    old, new = _Side(), _Side()
    binary = header = False  # header: between `diff --git` and the file's first hunk
    redacted = 0
    # Lines end at "\n" only, as git's do: a form feed or U+2028 inside a line stays in it.
    lines = patch.split("\n")
    lines = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    while lines and _HEADER_LINE.match(lines[0]):  # an already redacted patch: said again below
        lines.pop(0)
    for raw in lines:
        body = raw.rstrip("\r\n")
        end = raw[len(body):]
        if body.startswith("diff --git "):
            old, new, binary, header = _Side(), _Side(), False, True
            out.append(raw)
            continue
        if binary:
            if out[-1].rstrip("\r\n") != REDACTED:
                out.append(REDACTED + end)
                redacted += 1
            continue
        if body == "GIT binary patch":
            binary = True
            out.append(raw)
            continue
        if body.startswith("@@"):
            header = False
            old.reset(document=False)
            new.reset(document=False)
            head, sep, context = body.partition(" @@")
            line = head + sep + (scrub_text(context) if context else "")
        elif body[:1] in ("+", "-", " ") and not header:
            mark, content = body[0], body[1:]
            sides = {"+": (new,), "-": (old,), " ": (old, new)}[mark]
            results = [side.line(content) for side in sides]
            changed = [r for r in results if r != content]
            line = mark + (changed[0] if changed else content)
        else:
            line = body
        if REDACTED in line:
            redacted += 1
        out.append(line + end)
    if not redacted:
        return "".join(out)
    return _HEADER.format(n=redacted, s="" if redacted == 1 else "s") + "".join(out)


def patch_redactions(patch: str | None) -> int:
    """How many lines of the patch `redact_patch` hides (0: it holds no secret)."""
    if not patch:
        return 0
    found = _COUNT.match(redact_patch(patch))
    return int(found.group(1)) if found else 0
