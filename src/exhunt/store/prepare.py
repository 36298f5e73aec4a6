"""A result document turned into the rows the store writes, where the scan ran.

Preparing is pure and picklable, so a fleet worker does it next to the scan and the single
writer only executes inserts. Text from the evidence is attacker-controlled: it is stored as
found, except for what a database cannot hold (NUL characters, unpaired surrogates), and
indicator values are keyed by a digest so that no length breaks an index.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from exhunt.document import Finding, ScanDocument
from exhunt.model import Category, Severity

Row = dict[str, Any]
ENCODING = "json+zlib"
"""How ``documents.body`` is encoded: the document's JSON, compressed with zlib."""

KIND_IP = "ip"
KIND_USER_AGENT = "user_agent"
KIND_URL = "url"
KIND_PATH = "path"
KIND_SHA256 = "sha256"
KIND_ACCOUNT = "account"
KIND_WEBSHELL_NAME = "webshell_name"
KIND_FILE_NAME = "file_name"
KIND_TOOL = "tool"
KINDS = (KIND_IP, KIND_SHA256, KIND_WEBSHELL_NAME, KIND_FILE_NAME, KIND_USER_AGENT, KIND_TOOL,
         KIND_ACCOUNT, KIND_URL, KIND_PATH)  # fmt: skip
_CASELESS = frozenset({KIND_SHA256, KIND_WEBSHELL_NAME, KIND_FILE_NAME, KIND_TOOL, KIND_PATH,
                       KIND_ACCOUNT})  # fmt: skip
# User-agent product tokens that name a browser engine, not a tool.
_BROWSER_TOKENS = frozenset({"", "-", "mozilla", "opera"})


@dataclass(frozen=True, slots=True)
class PreparedScan:
    """One document as rows: ``scan`` columns, the compressed document, and child rows."""

    organisation: str
    host: str
    key: str
    scan: Row
    document: bytes
    findings: tuple[Row, ...] = ()
    locations: tuple[Row, ...] = ()
    indicators: tuple[Row, ...] = ()
    exposures: tuple[Row, ...] = ()
    tree_files: tuple[Row, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return str(self.scan["verdict"])


def prepare(
    document: ScanDocument,
    organisation: str,
    host: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> PreparedScan:
    """The rows of ``document`` for ``organisation``; ``host`` defaults to the evidence's."""
    host = clean(host or document.evidence.host or document.evidence.path)
    key = evidence_key(document)
    labels = {clean(k): clean(v) for k, v in (labels or {}).items()}
    findings = document.findings
    return PreparedScan(
        organisation=clean(organisation),
        host=host,
        key=key,
        scan=_scan_row(document, key, labels),
        document=zlib.compress(document_json(document), 6),
        findings=tuple(_finding_row(n, f) for n, f in enumerate(findings, 1)),
        locations=tuple(row for n, f in enumerate(findings, 1) for row in _locations(n, f)),
        indicators=tuple(row for n, f in enumerate(findings, 1) for row in _indicators(n, f)),
        exposures=tuple(_exposures(document)),
        tree_files=tuple(_tree_files(document)),
        labels=labels,
    )


def evidence_key(document: ScanDocument) -> str:
    """The evidence hash a stored scan is keyed by (with its organisation and host).

    An archive is keyed by its own SHA-256. A folder or a single file by the digest of every
    file exhunt read (path, size and SHA-256, from ``evidence.files``): the same evidence gives
    the same key wherever it was copied; a collection with more or changed files, a new one.
    """
    evidence = document.evidence
    if evidence.sha256:
        return evidence.sha256.lower()
    digest = hashlib.sha256(f"{evidence.kind}\n".encode())
    if not evidence.files:  # nothing read: only the location tells evidence apart
        digest.update(_bytes(evidence.path))
    for entry in sorted(evidence.files, key=lambda e: e.path):
        digest.update(_bytes(f"{entry.path}\0{entry.size}\0{entry.sha256}\n"))
    return digest.hexdigest()


def document_json(document: ScanDocument) -> bytes:
    """The document's JSON; text that is not valid Unicode (a file name in an odd encoding)
    is kept as ``\\udcxx`` escapes instead of failing the save."""
    try:
        return document.to_json(indent=None).encode("utf-8")
    except ValueError:  # pydantic refuses unpaired surrogates
        return json.dumps(document.to_dict(), ensure_ascii=True).encode("ascii")


def load_document(data: bytes) -> ScanDocument:
    """A document saved by :func:`document_json`, escapes of invalid text included."""
    if b"\\udc" not in data:
        return ScanDocument.from_json(data)
    return ScanDocument.model_validate(json.loads(data))


def clean(text: str) -> str:
    """``text`` as every database can hold it: NUL and unpaired surrogates escaped."""
    if text.isascii() and "\x00" not in text:
        return text
    text = text.replace("\x00", "\\x00")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _opt(text: str | None) -> str | None:
    return None if text is None else clean(text)


def _scan_row(document: ScanDocument, key: str, labels: Mapping[str, str]) -> Row:
    exchange, evidence, info = document.exchange, document.evidence, document.scan
    firsts = [a.first for a in document.coverage.artifacts if a.first]
    lasts = [a.last for a in document.coverage.artifacts if a.last]
    severities = [f.severity for f in document.findings]
    return {
        "evidence_sha256": key,
        "evidence_path": clean(evidence.path),
        "evidence_kind": clean(evidence.kind),
        "evidence_host": _opt(evidence.host),
        "verdict": document.verdict.status.value,
        "build": _opt(exchange.build),
        "product": _opt(exchange.product),
        "cu": _opt(exchange.cu),
        "install_path": _opt(exchange.install_path),
        "first_malicious": document.verdict.first_malicious,
        "last_malicious": document.verdict.last_malicious,
        "logs_from": min(firsts, default=None),
        "logs_until": max(lasts, default=None),
        "finding_count": len(document.findings),
        "max_severity": _highest(severities),
        "error_count": len(document.errors),
        "started": info.started if info else None,
        "finished": info.finished if info else None,
        "seconds": info.seconds if info else None,
        "tool_version": clean(document.tool.version),
        "rules_version": clean(document.tool.rules_version),
        "document_schema": document.schema_version,
        "labels": json.dumps(dict(labels), sort_keys=True),
    }


def _highest(severities: list[Severity]) -> str | None:
    return max(severities, key=lambda s: s.rank).value if severities else None


def _finding_row(number: int, finding: Finding) -> Row:
    return {
        "number": number,
        "finding_id": clean(finding.id),
        "rule": clean(finding.rule),
        "title": clean(finding.title),
        "severity": finding.severity.value,
        "category": finding.category.value,
        "cves": clean(" ".join(finding.cves)),
        "attack": clean(" ".join(finding.attack)),
        "first_seen": finding.first_seen,
        "last_seen": finding.last_seen,
        "count": finding.count,
    }


def _locations(number: int, finding: Finding) -> Iterator[Row]:
    for seq, location in enumerate(finding.evidence):
        yield {
            "number": number,
            "seq": seq,
            "path": clean(location.path),
            "windows_path": _opt(location.windows_path),
            "line": location.line,
            "record": location.record,
            "time": location.time,
            "artifact": _opt(location.artifact),
            "rule": _opt(location.rule),
        }


def _indicators(number: int, finding: Finding) -> Iterator[Row]:
    seen: set[tuple[str, str]] = set()
    for kind, value in iter_indicators(finding):
        value = clean(value.strip())
        if kind == KIND_SHA256:
            value = value.lower()
        if not value or value == "-":
            continue
        digest = indicator_digest(kind, value)
        if (kind, digest) in seen:
            continue
        seen.add((kind, digest))
        yield {
            "number": number,
            "kind": kind,
            "digest": digest,
            "value": value,
            "category": finding.category.value,
            "first_seen": finding.first_seen,
            "last_seen": finding.last_seen,
        }


def indicator_digest(kind: str, value: str) -> str:
    """What makes two indicator values the same: case is ignored where Windows ignores it,
    addresses are compared in their canonical form."""
    if kind == KIND_IP:
        value = _canonical_ip(value)
    elif kind in _CASELESS:
        value = value.lower()
    return hashlib.sha256(_bytes(f"{kind}\0{value}")).hexdigest()


def _canonical_ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return value


def iter_indicators(finding: Finding) -> Iterator[tuple[str, str]]:
    """Every (kind, value) a finding offers for pivots across organisations.

    Besides the document's own indicator lists: the file names of web shells (webshell
    findings) and of what attackers left (post-exploitation and persistence findings), and the
    tools that the user agents of malicious findings name (``python-requests``, ``antSword``).
    """
    found = finding.indicators
    for kind, values in ((KIND_IP, found.ips), (KIND_USER_AGENT, found.user_agents),
                         (KIND_URL, found.urls), (KIND_PATH, found.paths),
                         (KIND_SHA256, found.sha256), (KIND_ACCOUNT, found.accounts)):  # fmt: skip
        for value in values:
            yield kind, value
    if finding.category == Category.WEBSHELL:
        yield from ((KIND_WEBSHELL_NAME, name) for name in _file_names(found.paths))
    elif finding.category in (Category.POST_EXPLOITATION, Category.PERSISTENCE):
        yield from ((KIND_FILE_NAME, name) for name in _file_names(found.paths))
    if finding.category.malicious:
        yield from ((KIND_TOOL, tool) for tool in _tools(found.user_agents))


def _file_names(paths: list[str]) -> Iterator[str]:
    for path in paths:
        name = path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
        if "." in name:
            yield name


def _tools(user_agents: list[str]) -> Iterator[str]:
    for agent in user_agents:
        token = agent.strip().split("/", 1)[0].split(" ", 1)[0].split("(", 1)[0]
        if token.lower() not in _BROWSER_TOKENS and len(token) <= 64:
            yield token


def _exposures(document: ScanDocument) -> Iterator[Row]:
    seen: set[str] = set()
    mitigated = {clean(cve) for cve in document.exchange.mitigated}
    for exposure in document.exchange.exposure:
        cve = clean(exposure.cve)
        if cve in seen:
            continue
        seen.add(cve)
        yield {
            "cve": cve,
            "campaign": clean(exposure.campaign),
            "fixed_by": _opt(exposure.fixed_by),
            "exposed_at_collection": exposure.exposed_at_collection,
            "before_logs": exposure.before_logs,
            "mitigated": cve in mitigated,
        }


def _tree_files(document: ScanDocument) -> Iterator[Row]:
    seen: set[str] = set()
    for entry in document.evidence.files:
        if entry.artifact != "fs.file" or entry.path in seen:
            continue
        seen.add(entry.path)
        yield {"path": clean(entry.path), "sha256": entry.sha256.lower(), "size": entry.size}
