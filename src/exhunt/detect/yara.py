"""YARA content rules compiled with yara-x: exhunt's own pack and third-party sets.

Every rule file is compiled into its own namespace, so rule names may repeat across files. A
file that fails to compile is reported by name and line, and its rules are left out; the other
files still load. The external variables that classic rule sets (signature-base, LOKI, THOR)
use are defined for every file: ``filename``, ``filepath``, ``extension``, ``filetype`` and
``owner``.

Compiling is slow with yara-x (about 17 s for all of signature-base), so the compiled rules are
serialised into the rule cache, keyed by the content of every rule file; worker processes
receive the serialised bytes, not the sources.

References:
    https://virustotal.github.io/yara-x/docs/api/python/
    https://github.com/Neo23x0/signature-base (the external variables its rules use)
"""

from __future__ import annotations

import hashlib
import io
import logging
import pickle
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yara_x

from exhunt.cachedir import load_pickle, write_entry
from exhunt.exceptions import RuleError
from exhunt.model import Category, RuleInfo, Severity

log = logging.getLogger(__name__)

EXTERNALS = ("filename", "filepath", "extension", "filetype", "owner")
"""String variables defined for every rule and set per file."""
SUFFIXES = (".yar", ".yara")
BUNDLED_PREFIX = "exhunt.yara."
USER_PREFIX = "yara."
CACHE_FORMAT = 1
_LOCATION = re.compile(r"-->\s*(?P<origin>.*?):(?P<line>\d+):\d+")


@dataclass(frozen=True, slots=True)
class YaraFile:
    """One rule file and how its rules are named."""

    path: Path
    bundled: bool

    @property
    def namespace(self) -> str:
        digest = hashlib.sha256(str(self.path).encode("utf-8", "surrogateescape")).hexdigest()
        stem = re.sub(r"\W", "_", self.path.stem)[:40] or "rules"
        return f"{'exhunt' if self.bundled else 'user'}_{stem}_{digest[:8]}"


@dataclass(frozen=True, slots=True)
class YaraProblem:
    """A rule file that did not compile (its rules are left out)."""

    reason: str
    path: str
    line: int | None = None

    def as_error(self) -> RuleError:
        return RuleError(self.reason, self.path, self.line)


@dataclass(frozen=True, slots=True)
class YaraRule:
    """What a finding says about one compiled YARA rule."""

    info: RuleInfo
    tags: tuple[str, ...]
    path: str
    """The rule file it came from."""
    family: str = ""


@dataclass(frozen=True, slots=True)
class CompiledYara:
    """Serialised yara-x rules and what exhunt knows about each rule, keyed ``namespace:name``."""

    blob: bytes
    rules: Mapping[str, YaraRule]
    problems: tuple[YaraProblem, ...] = ()
    files: tuple[str, ...] = ()
    digest: str = ""

    def load(self) -> yara_x.Rules:
        """The yara-x rules, deserialised once per process."""
        cached = _RULES.get(self.digest)
        if cached is None:
            cached = yara_x.Rules.deserialize_from(io.BytesIO(self.blob))
            _RULES[self.digest] = cached
        return cached

    def rule(self, namespace: str, identifier: str) -> YaraRule | None:
        return self.rules.get(f"{namespace}:{identifier}")


_RULES: dict[str, yara_x.Rules] = {}


def rule_files(paths: Iterable[Path], bundled: bool) -> list[YaraFile]:
    """Every ``.yar``/``.yara`` file under ``paths`` (files or folders), sorted.

    Raises:
        RuleError: a path does not exist.
    """
    found: list[YaraFile] = []
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES)
            found.extend(YaraFile(p, bundled) for p in files if p.is_file())
        elif path.is_file():
            found.append(YaraFile(path, bundled))
        else:
            raise RuleError("YARA rule file or folder not found", str(path))
    return found


def load_yara(files: Sequence[YaraFile]) -> CompiledYara:
    """Compile ``files`` once, then load them from the rule cache while they are unchanged."""
    digest = _cache_key(files)
    name = f"yara-{digest}.pickle"
    cached = load_pickle(name)
    if isinstance(cached, CompiledYara) and cached.digest == digest:
        return cached
    compiled = compile_files(files, digest)
    write_entry(name, pickle.dumps(compiled, protocol=pickle.HIGHEST_PROTOCOL))
    return compiled


def compile_files(files: Sequence[YaraFile], digest: str = "") -> CompiledYara:
    """Compile every file into its own namespace; failing files are reported and left out."""
    compiler = yara_x.Compiler(relaxed_re_syntax=True)
    for name in EXTERNALS:
        compiler.define_global(name, "")
    problems: list[YaraProblem] = []
    failed: set[str] = set()
    for file in files:
        problem = _add_file(compiler, file)
        if problem is not None:
            problems.append(problem)
            failed.add(file.namespace)
            log.warning("YARA rules skipped: %s", problem.as_error())
    rules = compiler.build()
    blob = io.BytesIO()
    rules.serialize_into(blob)
    by_namespace = {file.namespace: file for file in files}
    known = {
        f"{rule.namespace}:{rule.identifier}": describe_rule(rule, by_namespace[rule.namespace])
        for rule in rules
        if rule.namespace in by_namespace and rule.namespace not in failed
    }
    return CompiledYara(
        blob=blob.getvalue(),
        rules=known,
        problems=tuple(problems),
        files=tuple(str(file.path) for file in files),
        digest=digest or hashlib.sha256(blob.getvalue()).hexdigest()[:32],
    )


def _add_file(compiler: yara_x.Compiler, file: YaraFile) -> YaraProblem | None:
    try:
        source = file.path.read_bytes().decode("utf-8", "replace")
    except OSError as exc:
        return YaraProblem(f"cannot read: {exc.strerror or exc}", str(file.path))
    compiler.new_namespace(file.namespace)
    try:
        compiler.add_source(source, origin=str(file.path))
    except yara_x.CompileError as exc:
        return compile_problem(str(exc), str(file.path))
    return None


def compile_problem(message: str, path: str) -> YaraProblem:
    """The first line of a yara-x error, located by the line its ``-->`` marker names."""
    match = _LOCATION.search(message)
    line = int(match.group("line")) if match else None
    first = message.strip().splitlines()[0] if message.strip() else "does not compile"
    return YaraProblem(first, path, line)


def describe_rule(rule: Any, file: YaraFile) -> YaraRule:
    """A rule's identity for findings, from its metadata (ours) or its conventions (others')."""
    meta = _meta(rule.metadata)
    tags = tuple(str(tag) for tag in rule.tags)
    identifier = str(rule.identifier)
    bundled = file.bundled
    info = _bundled_info(identifier, meta) if bundled else _user_info(identifier, meta, tags)
    return YaraRule(info=info, tags=tags, path=str(file.path), family=meta.get("family", ""))


def _meta(pairs: Iterable[tuple[str, Any]]) -> dict[str, str]:
    meta: dict[str, str] = {}
    for key, value in pairs:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if key in meta and key in ("reference", "attack"):
            meta[key] += f", {text}"  # repeated keys (several references) are kept
        else:
            meta.setdefault(key, text)
    return meta


def _bundled_info(identifier: str, meta: Mapping[str, str]) -> RuleInfo:
    return RuleInfo(
        id=meta.get("id") or BUNDLED_PREFIX + identifier,
        title=meta.get("title") or meta.get("description") or identifier,
        severity=_severity(meta.get("severity"), Severity.HIGH),
        category=_category(meta.get("category"), Category.WEBSHELL),
        cves=_split(meta.get("cve", "")),
        attack=_split(meta.get("attack", "T1505.003")),
        description=meta.get("description", ""),
        references=_split(meta.get("reference", "")),
    )


def _user_info(identifier: str, meta: Mapping[str, str], tags: Sequence[str]) -> RuleInfo:
    """Third-party conventions: ``score`` 0-100 (signature-base), names and tags saying what."""
    words = " ".join([identifier, *tags]).lower()
    webshell = "webshell" in words or "web_shell" in words
    return RuleInfo(
        id=USER_PREFIX + identifier,
        title=f"YARA {identifier}: {meta.get('description') or 'rule matched'}"[:200],
        severity=_score_severity(meta.get("score")),
        category=Category.WEBSHELL if webshell else Category.POST_EXPLOITATION,
        attack=("T1505.003",) if webshell else (),
        description=meta.get("description", ""),
        references=_split(meta.get("reference", "")),
    )


def _score_severity(score: str | None) -> Severity:
    """signature-base scores: 40-59 low, 60-79 medium, 80+ high; no score counts as high."""
    if score is None or not score.strip().isdigit():
        return Severity.HIGH
    value = int(score.strip())
    if value >= 80:
        return Severity.HIGH
    if value >= 60:
        return Severity.MEDIUM
    return Severity.LOW if value >= 40 else Severity.INFO


def _severity(value: str | None, default: Severity) -> Severity:
    try:
        return Severity((value or "").strip().lower())
    except ValueError:
        return default


def _category(value: str | None, default: Category) -> Category:
    try:
        return Category((value or "").strip().lower())
    except ValueError:
        return default


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in re.split(r"[,\s]+", value) if part.strip())


# -- scanning ---------------------------------------------------------------------------------

EXCERPT_BYTES = 160
MAX_PATTERNS = 4
"""Patterns shown per matched rule; each with its first match."""


@dataclass(frozen=True, slots=True)
class PatternMatch:
    pattern: str
    offset: int
    line: int
    excerpt: str
    """The matching bytes, escaped (printable ASCII as is, others ``\\xNN``)."""


@dataclass(frozen=True, slots=True)
class YaraMatch:
    """One rule that matched one file, with where and what it matched."""

    key: str
    """``namespace:identifier`` of the rule in :class:`CompiledYara`."""
    patterns: tuple[PatternMatch, ...] = ()


@dataclass(slots=True)
class YaraScanner:
    """A yara-x scanner over one compiled set, reused for every file of a process."""

    compiled: CompiledYara
    timeout: int = 30
    _scanner: yara_x.Scanner | None = field(default=None, repr=False)

    def scan(self, data: bytes, externals: Mapping[str, str]) -> list[YaraMatch]:
        """Match ``data``; raises ``yara_x.TimeoutError`` past the time limit."""
        scanner = self._ready()
        for name in EXTERNALS:
            scanner.set_global(name, externals.get(name, ""))
        results = scanner.scan(data)
        found = []
        for rule in results.matching_rules:
            key = f"{rule.namespace}:{rule.identifier}"
            if key in self.compiled.rules:
                found.append(YaraMatch(key, tuple(_patterns(rule, data))))
        return found

    def _ready(self) -> yara_x.Scanner:
        if self._scanner is None:
            self._scanner = yara_x.Scanner(self.compiled.load())
            self._scanner.set_timeout(self.timeout)
            self._scanner.max_matches_per_pattern(1000)
        return self._scanner


def _patterns(rule: Any, data: bytes) -> Iterator[PatternMatch]:
    shown = 0
    for pattern in rule.patterns:
        if not pattern.matches or shown >= MAX_PATTERNS:
            continue
        first = pattern.matches[0]
        shown += 1
        chunk = data[first.offset : first.offset + min(first.length, EXCERPT_BYTES)]
        more = "..." if first.length > EXCERPT_BYTES else ""
        yield PatternMatch(
            pattern=str(pattern.identifier),
            offset=first.offset,
            line=data.count(b"\n", 0, first.offset) + 1,
            excerpt=escape_bytes(chunk) + more,
        )


def escape_bytes(data: bytes) -> str:
    """Printable ASCII and tabs as they are; every other byte (controls, UTF-8) as ``\\xNN``."""
    return "".join(chr(b) if 0x20 <= b < 0x7F or b == 0x09 else f"\\x{b:02x}" for b in data)


# -- cache --------------------------------------------------------------------------------------


def _cache_key(files: Sequence[YaraFile]) -> str:
    from exhunt import __version__

    digest = hashlib.sha256(f"{__version__}|{CACHE_FORMAT}|{yara_x_version()}".encode())
    for file in files:
        digest.update(f"{file.bundled}|{file.path}".encode("utf-8", "surrogateescape") + b"\0")
        try:
            digest.update(file.path.read_bytes())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()[:32]


def yara_x_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("yara-x")
    except PackageNotFoundError:
        return "unknown"
