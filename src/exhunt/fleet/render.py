"""The fleet's outputs as text tables, JSON or CSV: run reports, summaries, pivots, jobs.

Indicator values, hosts and paths come from attackers or from manifests: text output shows
control and direction characters as escapes, CSV cells never start a formula, JSON is ASCII.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from exhunt.fleet.peers import PeerDeviation
from exhunt.fleet.runner import FleetReport, JobFailure
from exhunt.report.escape import one_line
from exhunt.store import FleetSummary, Job, Pivot
from exhunt.store.queries import VERDICTS
from exhunt.timeutil import format_time

FORMATS = ("text", "json", "csv")
_FORMULA = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
SHOWN_ORGANISATIONS = 5


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Left-aligned columns, two spaces apart; every cell made safe for a terminal."""
    cells = [[one_line(_str(value)) for value in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = [headers, *cells]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def _str(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=True, default=_json_default) + "\n"


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return format_time(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def to_csv(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows([[_cell(value) for value in row] for row in rows])
    return out.getvalue()


def _cell(value: object) -> str:
    text = "" if value is None else one_line(_str(value))
    return "'" + text if text.lstrip(" ").startswith(_FORMULA) else text


# -- a fleet run ------------------------------------------------------------------------------


def render_run(report: FleetReport, manifest: str, store: str) -> str:
    """What a run did, the failed jobs with their errors, and the bad rows."""
    failed_now = [f for f in report.failures if not f.earlier]
    verdicts = ", ".join(f"{v} {report.verdicts[v]}" for v in VERDICTS if report.verdicts.get(v))
    lines = [
        f"Fleet run: {one_line(manifest)} into {one_line(store)}",
        f"  manifest rows   {report.rows} ({len(report.bad_rows)} bad)",
        f"  done before     {report.skipped}",
        f"  scanned now     {report.ran}: {report.stored} stored, {report.unchanged} already "
        f"stored (same evidence), {len(failed_now)} failed",
        f"  verdicts        {verdicts or '-'}",
        f"  time            {report.seconds:.1f} s, {report.rate:.1f} servers/s, "
        f"{report.workers} workers",
    ]
    if report.failures:
        lines += ["", _failures_title(report.failures), _failure_table(report.failures)]
    if report.bad_rows:
        lines += ["", f"Bad manifest rows ({len(report.bad_rows)}, left out):"]
        lines += [f"  line {row.line}: {one_line(row.reason)}" for row in report.bad_rows]
    return "\n".join(lines) + "\n"


def _failures_title(failures: Sequence[JobFailure]) -> str:
    earlier = sum(1 for f in failures if f.earlier)
    note = f", {earlier} from an earlier run" if earlier else ""
    return f"Failed jobs ({len(failures)}{note}; --retry-failed runs them again):"


def _failure_table(failures: Sequence[JobFailure]) -> str:
    rows = [(f.line, f.organisation, f.host, f.evidence, f.error) for f in failures]
    return table(("LINE", "ORGANISATION", "HOST", "EVIDENCE", "ERROR"), rows)


# -- summary ----------------------------------------------------------------------------------


def render_summary(summary: FleetSummary, fmt: str) -> str:
    if fmt == "json":
        return to_json(summary_dict(summary))
    if fmt == "csv":
        header = ("view", "name", "detail", "servers", *VERDICTS, "mitigated")
        return to_csv(header, _summary_rows(summary))
    return _summary_text(summary)


def summary_dict(summary: FleetSummary) -> dict[str, Any]:
    return {
        "servers": summary.servers,
        "organisations": summary.organisations,
        "scans": summary.scans,
        "verdicts": dict(summary.verdicts),
        "exposures": [
            {"cve": e.cve, "campaign": e.campaign, "servers": e.servers, "mitigated": e.mitigated}
            for e in summary.exposures
        ],
        "builds": [
            {"build": c.name, "servers": c.total, "verdicts": dict(c.verdicts)}
            for c in summary.builds
        ],
        "by_organisation": [
            {"organisation": c.name, "servers": c.total, "verdicts": dict(c.verdicts)}
            for c in summary.by_organisation
        ],
    }


def _summary_rows(summary: FleetSummary) -> Iterable[Sequence[object]]:
    yield ("total", "servers", "", summary.servers, *_verdicts(summary.verdicts), "")
    for e in summary.exposures:
        yield ("exposure", e.cve, e.campaign, e.servers, *[""] * len(VERDICTS), e.mitigated)
    for c in summary.builds:
        yield ("build", c.name, "", c.total, *_verdicts(c.verdicts), "")
    for c in summary.by_organisation:
        yield ("organisation", c.name, "", c.total, *_verdicts(c.verdicts), "")


def _verdicts(counts: Mapping[str, int]) -> list[int]:
    return [counts.get(v, 0) for v in VERDICTS]


def _summary_text(summary: FleetSummary) -> str:
    head = ("SERVERS", *(v.upper() for v in VERDICTS))
    exposures = [(e.cve, e.campaign, e.servers, e.mitigated) for e in summary.exposures]
    builds = [(c.name, c.total, *_verdicts(c.verdicts)) for c in summary.builds]
    orgs = [(c.name, c.total, *_verdicts(c.verdicts)) for c in summary.by_organisation]
    parts = [
        f"{summary.servers} servers of {summary.organisations} organisations "
        f"({summary.scans} scans stored; each server counts with its latest scan)",
        "",
        "By verdict:",
        table(head, [(summary.servers, *_verdicts(summary.verdicts))]),
        "",
        "Exposed at collection time:",
        table(("CVE", "CAMPAIGN", "SERVERS", "MITIGATED"), exposures),
        "",
        "By build:",
        table(("BUILD", *head), builds),
        "",
        "By organisation:",
        table(("ORGANISATION", *head), orgs),
    ]
    return "\n".join(parts) + "\n"


# -- pivots -----------------------------------------------------------------------------------


def render_pivot(pivots: Sequence[Pivot], fmt: str, verbose: bool = False) -> str:
    if fmt == "json":
        return to_json([pivot_dict(p) for p in pivots])
    if fmt == "csv":
        headers = ("kind", "value", "organisations", "other_organisations", "hosts",
                   "first_seen", "last_seen")  # fmt: skip
        return to_csv(headers, [(p.kind, p.value, ";".join(p.organisations), p.others, p.hosts,
                                 p.first_seen, p.last_seen) for p in pivots])  # fmt: skip
    if not pivots:
        return "No indicator of a malicious finding was seen at more than one organisation.\n"
    rows = [(p.kind, p.value, len(p.organisations) + p.others, p.hosts, p.first_seen,
             p.last_seen, _organisations(p, verbose)) for p in pivots]  # fmt: skip
    head = ("KIND", "VALUE", "ORGS", "HOSTS", "FIRST SEEN", "LAST SEEN", "ORGANISATIONS")
    intro = f"{len(pivots)} indicators seen at more than one organisation:"
    return intro + "\n" + table(head, rows) + "\n"


def pivot_dict(pivot: Pivot) -> dict[str, Any]:
    return {
        "kind": pivot.kind,
        "value": pivot.value,
        "organisations": list(pivot.organisations),
        "other_organisations": pivot.others,
        "hosts": pivot.hosts,
        "first_seen": pivot.first_seen,
        "last_seen": pivot.last_seen,
    }


def _organisations(pivot: Pivot, verbose: bool) -> str:
    names = list(pivot.organisations)
    shown = names if verbose else names[:SHOWN_ORGANISATIONS]
    text = ", ".join(shown)
    if len(shown) < len(names):
        text += f" and {len(names) - len(shown)} more"
    if pivot.others:
        text += f" (+{pivot.others} outside your organisations)"
    return text


# -- jobs -------------------------------------------------------------------------------------


def render_jobs(jobs: Sequence[Job], fmt: str) -> str:
    headers = ("line", "organisation", "host", "evidence", "status", "attempts", "scan", "error")
    rows = [(j.line, j.organisation, j.host, j.evidence, j.status, j.attempts, j.scan_id,
             j.error) for j in jobs]  # fmt: skip
    if fmt == "json":
        return to_json([dict(zip(headers, row, strict=True)) for row in rows])
    if fmt == "csv":
        return to_csv(headers, rows)
    return table([h.upper() for h in headers], rows) + "\n"


PEER_HEADERS = (
    *("build", "organisation", "host", "kind", "path", "sha256", "peers agree on", "peers"),
)


def render_peers(deviations: Sequence[PeerDeviation], fmt: str) -> str:
    """Peer deviations as a table, JSON or CSV."""
    rows = [
        (d.build, d.organisation, d.host, d.kind, d.path, d.sha256, " ".join(d.known), d.peers)
        for d in deviations
    ]
    if fmt == "json":
        return to_json([dict(zip(PEER_HEADERS, row, strict=True)) for row in rows])
    if fmt == "csv":
        return to_csv(PEER_HEADERS, rows)
    if not rows:
        return "No stored server has a web file its same-build peers lack.\n"
    return table(PEER_HEADERS, rows)
