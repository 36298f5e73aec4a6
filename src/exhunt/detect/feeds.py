"""Indicator feeds besides exhunt's CSV packs: STIX 2.1 bundles and MISP exports.

``--iocs FILE`` takes any of them; the format is recognised by content, not by name:

- JSON whose top level is ``{"type": "bundle", ...}``: a STIX 2.1 (or 2.0) bundle
  (:mod:`exhunt.detect.stix`);
- JSON holding MISP events (``{"Event": ...}``, ``{"response": [...]}``, a list of events):
  a MISP JSON export (:mod:`exhunt.detect.misp`);
- CSV whose header has MISP's ``category``/``to_ids``/``event_id``/``uuid`` columns and no
  ``source``/``reference``: a MISP CSV export;
- any other CSV: an exhunt pack (``type,value,source,reference[,confidence,note]``).

Every feed becomes the same :class:`~exhunt.detect.ioc.Indicator` values through
:func:`make_indicator`, which applies one set of rules to values (addresses parsed and single-host
CIDRs reduced, hashes checked, full paths told from file names, URLs cut to the part a web log
records) and names the file and line, or the object id, of a malformed one.
"""

from __future__ import annotations

import csv
import ipaddress
import json
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from exhunt.detect.ioc import Indicator
from exhunt.exceptions import RuleError

log = logging.getLogger(__name__)

HASH_LENGTHS = {"sha256": 64, "sha1": 40, "md5": 32}
MIN_URL_FRAGMENT = 4
_HEX = re.compile(r"^[0-9A-Fa-f]+$")
_MISP_COLUMNS = frozenset({"category", "to_ids", "event_id", "uuid"})
_DEFANGED = (("[.]", "."), ("(.)", "."), ("{.}", "."), ("[:]", ":"), ("[://]", "://"))


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an indicator came from: a file and a line, or a file and an object id."""

    path: Path
    line: int | None = None
    object_id: str | None = None

    @property
    def label(self) -> str:
        return f"{self.path.name}:{self.line if self.line is not None else self.object_id}"

    def error(self, message: str) -> RuleError:
        if self.line is not None:
            return RuleError(message, str(self.path), self.line)
        return RuleError(f"{self.object_id}: {message}", str(self.path))


@dataclass(frozen=True, slots=True)
class Provenance:
    """What a feed says about an indicator besides its value."""

    source: str
    reference: str
    confidence: str = "high"
    note: str = ""
    valid_until: datetime | None = None
    """The end of the period the feed gives the indicator (STIX ``valid_until``)."""


def read_foreign_feed(path: Path) -> list[Indicator] | None:
    """The indicators of a STIX bundle or MISP export; None for an exhunt CSV pack.

    Raises:
        RuleError: the file is malformed, named by file and line or object id.
    """
    head = _head(path)
    if head[:1] in (b"{", b"["):
        return _from_json(_load_json(path), path)
    if is_misp_csv(_csv_header(path)):
        from exhunt.detect.misp import read_misp_csv

        return read_misp_csv(path)
    return None


def is_misp_csv(header: Sequence[str]) -> bool:
    names = {name.strip().lower() for name in header}
    exhunt = {"source", "reference"} <= names
    return {"type", "value"} <= names and bool(names & _MISP_COLUMNS) and not exhunt


def make_indicator(
    kind: str, value: str, origin: Origin, provenance: Provenance
) -> Indicator | None:
    """An exhunt indicator from a feed's ``kind`` and value; None when exhunt cannot match it.

    ``kind`` is one of ``ip``, ``sha256``, ``sha1``, ``md5``, ``file`` (a name or a full
    path), ``path``, ``filename``, ``url`` and ``user-agent``.

    Raises:
        RuleError: a malformed address or hash.
    """
    value = value.strip()
    if kind in ("ip", "url"):
        value = refang(value)
    if not value:
        raise origin.error(f"empty {kind} value")
    typed = _typed(kind, value, origin)
    if typed is None:
        return None
    exhunt_type, exhunt_value = typed
    return Indicator(
        type=exhunt_type,
        value=exhunt_value,
        source=provenance.source,
        reference=provenance.reference,
        confidence=provenance.confidence,
        note=provenance.note,
        origin=origin.label,
        valid_until=provenance.valid_until,
    )


def report_skipped(path: Path, skipped: Counter[str]) -> None:
    """One line per feed for the values exhunt has no matcher for (domains, e-mail, ...)."""
    if skipped:
        kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(skipped.items()))
        log.info("%s: skipped indicators exhunt cannot match in evidence: %s", path.name, kinds)


def refang(value: str) -> str:
    """Undo the defanging feeds apply so nobody clicks: ``1.2.3[.]4``, ``hxxps[:]//``."""
    for fanged, plain in _DEFANGED:
        value = value.replace(fanged, plain)
    return re.sub(r"^hxxp", "http", value, flags=re.IGNORECASE)


def _typed(kind: str, value: str, origin: Origin) -> tuple[str, str] | None:
    if kind == "ip":
        return _address(value, origin)
    if kind in HASH_LENGTHS:
        if len(value) != HASH_LENGTHS[kind] or not _HEX.match(value):
            raise origin.error(f"{kind} must be {HASH_LENGTHS[kind]} hex digits: {value!r}")
        return kind, value.lower()
    if kind == "file":
        folder = "\\" in value or "/" in value
        return ("path", value.replace("/", "\\")) if folder else ("filename", value)
    if kind in ("path", "filename", "user-agent"):
        return kind, value
    if kind == "url":
        fragment = url_fragment(value)
        return ("url-fragment", fragment) if fragment else None
    return None


def _address(value: str, origin: Origin) -> tuple[str, str] | None:
    """A single address; a CIDR of one host counts, wider ranges are not matched."""
    try:
        network = ipaddress.ip_network(value.strip("[]"), strict=False)
    except ValueError:
        raise origin.error(f"not an IP address: {value!r}") from None
    if network.num_addresses != 1:
        log.debug("%s: address range %s is not matched", origin.label, value)
        return None
    return f"ipv{network.version}", str(network.network_address)


def url_fragment(value: str) -> str | None:
    """The part of a URL that web logs record: path and query, not scheme and host.

    ``/`` alone, or anything shorter than four characters, would match every request.
    """
    if "://" in value:
        parts = urlsplit(value)
        value = parts.path + (f"?{parts.query}" if parts.query else "")
    if len(value) < MIN_URL_FRAGMENT or value.strip("/") == "":
        return None
    return value


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError as exc:
        raise RuleError(f"cannot read indicator file: {exc.strerror}", str(path)) from None


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise RuleError(f"not valid JSON: {exc.msg}", str(path), exc.lineno) from None
    except UnicodeDecodeError:
        raise RuleError("not UTF-8 text", str(path)) from None


def _csv_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="", errors="replace") as fh:
        return next(csv.reader(fh), [])


def _from_json(data: Any, path: Path) -> list[Indicator]:
    from exhunt.detect.misp import is_misp_json, read_misp_json

    if isinstance(data, dict) and data.get("type") == "bundle":
        from exhunt.detect.stix import read_stix_bundle

        return read_stix_bundle(data, path)
    if is_misp_json(data):
        return read_misp_json(data, path)
    raise RuleError("neither a STIX bundle nor a MISP event export", str(path), 1)
