"""Probe results as JSON, CSV and text. Server-supplied text is cleaned when it is captured."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from exhunt import __version__
from exhunt.probe.options import ProbeOptions
from exhunt.probe.results import Exposure, HostResult, RequestRecord, Sighting, Status
from exhunt.timeutil import format_time

SCHEMA_VERSION = 1
CSV_COLUMNS = (
    "target",
    "url",
    "address",
    "status",
    "build",
    "build_precision",
    "build_source",
    "product",
    "cu",
    "su",
    "vulnerable_to",
    "possibly_vulnerable_to",
    "fixed_by",
    "signs",
    "tls_verified",
    "error_kind",
    "error",
    "seconds",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def to_json(results: Sequence[HostResult], options: ProbeOptions, started: datetime) -> str:
    """One JSON object: the run and one entry per host."""
    document = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "exhunt", "version": __version__},
        "started": format_time(started),
        "options": {
            "timeout": options.timeout,
            "deadline": options.deadline,
            "retries": options.retries,
            "concurrency": options.concurrency,
            "verify_tls": options.verify_tls,
        },
        "hosts": [host_dict(r) for r in results],
    }
    return json.dumps(document, indent=2) + "\n"


def host_dict(result: HostResult) -> dict[str, Any]:
    """The JSON entry of one host (docs/probe.md lists every field)."""
    return {
        "target": result.target.text,
        "url": result.target.origin + "/",
        "address": result.address,
        "status": str(result.status),
        "build": result.build,
        "build_precision": _precision(result),
        "build_source": _sighting(result.build_source) if result.build_source else None,
        "product": result.product,
        "cu": result.cu,
        "su": result.su,
        "vulnerable_to": result.vulnerable_to,
        "possibly_vulnerable_to": result.possibly_vulnerable_to,
        "fixed_by": {e.cve: e.fix_build for e in result.exposures},
        "exposures": [_exposure(e) for e in result.exposures],
        "signs": [{"id": s.id, "detail": s.detail} for s in result.signs],
        "notes": list(result.notes),
        "tls_verified": result.tls_verified,
        "error": _error(result),
        "sightings": [_sighting(s) for s in result.sightings],
        "requests": [_request(r) for r in result.requests],
        "seconds": result.seconds,
    }


def _precision(result: HostResult) -> str | None:
    if result.build is None:
        return None
    return "full" if result.full_build else "cu"


def _error(result: HostResult) -> dict[str, str] | None:
    if result.error is None:
        return None
    return {"kind": str(result.error.kind), "message": result.error.message}


def _sighting(sighting: Sighting) -> dict[str, Any]:
    return {
        "source": str(sighting.source),
        "url": sighting.url,
        "version": sighting.version,
        "precision": "full" if sighting.full else "cu",
    }


def _exposure(exposure: Exposure) -> dict[str, Any]:
    return {
        "cve": exposure.cve,
        "family": exposure.family,
        "certain": exposure.certain,
        "fix_build": exposure.fix_build,
        "fix_update": exposure.fix_name,
        "fix_cu": exposure.fix_cu,
        "fix_released": exposure.fix_released.isoformat() if exposure.fix_released else None,
    }


def _request(record: RequestRecord) -> dict[str, Any]:
    return {
        "method": record.method,
        "url": record.url,
        "status": record.status,
        "error": str(record.error) if record.error else None,
        "bytes": record.body_bytes,
        "attempts": record.attempts,
        "seconds": record.seconds,
    }


def to_csv(results: Sequence[HostResult]) -> str:
    """One row per host; lists joined with ``;``; cells that a spreadsheet would run as a
    formula start with ``'``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for result in results:
        row = _csv_row(host_dict(result))
        writer.writerow([_cell(row[name]) for name in CSV_COLUMNS])
    return out.getvalue()


def _csv_row(entry: dict[str, Any]) -> dict[str, Any]:
    source = entry["build_source"]
    error = entry["error"]
    return {
        **entry,
        "build_source": f"{source['source']} {source['url']}" if source else None,
        "vulnerable_to": ";".join(entry["vulnerable_to"]),
        "possibly_vulnerable_to": ";".join(entry["possibly_vulnerable_to"]),
        "fixed_by": ";".join(f"{cve}={build or ''}" for cve, build in entry["fixed_by"].items()),
        "signs": ";".join(s["id"] for s in entry["signs"]),
        "error_kind": error["kind"] if error else None,
        "error": error["message"] if error else None,
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def to_text(results: Sequence[HostResult], verbose: bool = False) -> str:
    """A block per host, then a count per status."""
    blocks = ["\n".join(_text_block(r, verbose)) for r in results]
    return "\n\n".join([*blocks, _summary(results)]) + "\n"


def _text_block(result: HostResult, verbose: bool) -> list[str]:
    lines = [f"{result.target.text}  {str(result.status).upper()}"]
    if result.error is not None:
        lines.append(f"  error: {result.error}")
    if result.build is not None and result.build_source is not None:
        lines.append(f"  {_describe_build(result)}")
        lines.append(f"  read from {result.build_source.source} of {result.build_source.url}")
    for exposure in result.exposures:
        lines.append("  " + _describe_exposure(exposure))
    lines += [f"  sign: {s.id}: {s.detail}" for s in result.signs]
    lines += [f"  note: {n}" for n in result.notes]
    if verbose:
        lines += [f"  {_describe_request(r)}" for r in result.requests]
    return lines


def _describe_build(result: HostResult) -> str:
    name = " ".join(p for p in (result.product, result.cu, result.su) if p) or "unknown"
    precision = "" if result.full_build else " (CU level only: the update is not shown)"
    return f"{name}, build {result.build}{precision}"


def _describe_exposure(exposure: Exposure) -> str:
    state = "exposed" if exposure.certain else "exposed unless an update of this CU is installed"
    fix = "no fixing update in the table"
    if exposure.fix_build:
        released = exposure.fix_released.isoformat() if exposure.fix_released else "?"
        update = " ".join(dict.fromkeys(p for p in (exposure.fix_cu, exposure.fix_name) if p))
        fix = f"fixed by {update} {exposure.fix_build} ({released})"
    return f"{exposure.cve} {exposure.family}: {state}; {fix}"


def _describe_request(record: RequestRecord) -> str:
    answer = str(record.status) if record.status is not None else str(record.error)
    return f"GET {record.url} -> {answer} ({record.body_bytes} bytes, {record.seconds:g} s)"


def _summary(results: Sequence[HostResult]) -> str:
    counts = {status: 0 for status in Status}
    for result in results:
        counts[result.status] += 1
    parts = [f"{n} {status}" for status, n in counts.items() if n]
    noun = "host" if len(results) == 1 else "hosts"
    return f"{len(results)} {noun}: " + ", ".join(parts)
