"""The sections of the HTML report, each a function from the document to escaped markup.

Every value from the document passes through :mod:`exhunt.report.markup` (``text`` or
``block``); numbers and enum values are formatted here; nothing else reaches the page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from exhunt.document import EvidenceLocation, Finding, ScanDocument
from exhunt.report.markup import anchor, block, ref, text
from exhunt.report.recommend import ITEMS_SHOWN, Recommendation, recommendations
from exhunt.report.svg import attack_window, timeline_svg
from exhunt.timeutil import format_time

EVIDENCE_SHOWN = 20
HEADLINES = {
    "compromised": "Compromised: the server was successfully attacked",
    "attempted": "Attacked: attacks were tried; no sign that they worked",
    "vulnerable": "Vulnerable: no attack seen, but the server is exposed",
    "clean": "Clean: patched, no sign of attack, logs complete",
    "inconclusive": "Inconclusive: the evidence cannot support a verdict",
}
INDICATOR_NAMES = (
    ("ips", "addresses"),
    ("user_agents", "user agents"),
    ("urls", "URLs"),
    ("paths", "paths"),
    ("sha256", "SHA-256"),
    ("accounts", "accounts"),
)


def index(documents: Sequence[ScanDocument]) -> str:
    rows = "".join(
        f'<tr><td><a href="#s{n}-server">{text(_host(doc))}</a></td>'
        f"<td>{text(doc.verdict.status.value)}</td><td>{len(doc.findings)}</td></tr>"
        for n, doc in enumerate(documents, 1)
    )
    return (
        f"<h1>Exchange compromise assessment: {len(documents)} servers</h1>\n"
        "<table><thead><tr><th>server</th><th>verdict</th><th>findings</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>\n"
    )


def header(doc: ScanDocument, prefix: str) -> str:
    ex = doc.exchange
    build = " ".join(filter(None, (ex.product, ex.cu, f"({ex.build})" if ex.build else None)))
    facts = [
        f"Evidence {text(doc.evidence.path)} ({text(doc.evidence.kind)})",
        text(build if build.startswith("Exchange") else f"Exchange {build}")
        if build
        else "Exchange build unknown",
    ]
    return (
        f"<h1>Exchange compromise assessment: {text(_host(doc))}</h1>\n"
        f'<p class="meta">{" · ".join(facts)}</p>\n'
    )


def verdict(doc: ScanDocument, prefix: str) -> str:
    status = doc.verdict.status.value
    first, last = doc.verdict.first_malicious, doc.verdict.last_malicious
    when = ""
    if first:
        when = f"<p>First malicious activity {_time(first)}" + (
            f", last {_time(last)}</p>" if last else "</p>"
        )
    reasons = "".join(f"<li>{text(reason)}</li>" for reason in doc.verdict.reasons)
    return (
        f'<div class="verdict verdict-{status}" id="{prefix}verdict">'
        f"<h2>{text(HEADLINES.get(status, status))}</h2>{when}"
        f"{f'<ul>{reasons}</ul>' if reasons else ''}</div>\n"
    )


def timeline(doc: ScanDocument, prefix: str) -> str:
    picture = timeline_svg(doc, prefix)
    if not picture.svg:
        return "<h2>Timeline</h2>\n<p>No evidence event has a time.</p>\n"
    notes = [f"{picture.marks} evidence events; point at a dot to see its line. Times are UTC."]
    if picture.outside:
        events = "event" if picture.outside == 1 else "events"
        notes.append(
            f"Not drawn: {picture.outside} informational {events} outside the logged period "
            "(listed with their findings)."
        )
    return (
        f'<h2>Timeline</h2>\n<div class="picture">{picture.svg}</div>\n'
        f'<p class="note">{" ".join(notes)}</p>\n{_close_up(doc, prefix)}'
    )


def _close_up(doc: ScanDocument, prefix: str) -> str:
    window = attack_window(doc)
    if window is None:
        return ""
    picture = timeline_svg(doc, prefix, window)
    span = f"{_time(window.start)} to {_time(window.end)}"
    return (
        f"<h3>Close-up: the first burst of the attack ({span})</h3>\n"
        f'<div class="picture">{picture.svg}</div>\n'
        f'<p class="note">{picture.marks} evidence events in this period.</p>\n'
    )


def actions(doc: ScanDocument, prefix: str) -> str:
    recs = recommendations(doc)
    if not recs:
        return "<h2>What to do now</h2>\n<p>Nothing: no attack and no exposure were found.</p>\n"
    items = "".join(_action(n, rec, prefix) for n, rec in enumerate(recs, 1))
    return f'<h2>What to do now</h2>\n<ol class="actions">{items}</ol>\n'


def _action(number: int, rec: Recommendation, prefix: str) -> str:
    shown = rec.items[:ITEMS_SHOWN]
    items = "".join(f"<li><code>{text(item)}</code></li>" for item in shown)
    if len(rec.items) > len(shown):
        items += f"<li>and {len(rec.items) - len(shown)} more</li>"
    why = ""
    if rec.finding_ids:
        links = ", ".join(ref(i, prefix) for i in rec.finding_ids)
        why = f'<p class="why">Because of {links}</p>'
    return (
        f'<li id="{prefix}action-{number}" class="action action-{text(rec.key)}">'
        f"<strong>{text(rec.title)}</strong><p>{text(rec.detail)}</p>"
        f"{f'<ul>{items}</ul>' if items else ''}{why}</li>"
    )


def findings(doc: ScanDocument, prefix: str, verbose: bool) -> str:
    if not doc.findings:
        return "<h2>Findings</h2>\n<p>None.</p>\n"
    called = _actions_by_finding(recommendations(doc))
    articles = "".join(_finding(f, prefix, verbose, called.get(f.id, [])) for f in doc.findings)
    return f"<h2>Findings ({len(doc.findings)})</h2>\n{articles}"


def _actions_by_finding(recs: Sequence[Recommendation]) -> dict[str, list[int]]:
    called: dict[str, list[int]] = {}
    for number, rec in enumerate(recs, 1):
        for finding_id in rec.finding_ids:
            called.setdefault(finding_id, []).append(number)
    return called


def _finding(finding: Finding, prefix: str, verbose: bool, actions: Sequence[int]) -> str:
    severity = finding.severity.value
    facts = [
        ("category", text(finding.category.value)),
        ("CVEs", text(", ".join(finding.cves))),
        ("ATT&amp;CK", text(", ".join(finding.attack))),
        ("seen", _seen(finding)),
        ("evidence", f"{finding.count} {'line' if finding.count == 1 else 'lines'}"),
        ("rules", text(", ".join(finding.rules or [finding.rule]))),
        ("actions", ", ".join(f'<a href="#{prefix}action-{n}">{n}</a>' for n in actions)),
    ]
    dl = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts if value)
    description = (
        f'<p class="description">{block(finding.description)}</p>' if finding.description else ""
    )
    return (
        f'<article class="finding" id="{anchor(finding.id, prefix)}">'
        f'<h3><span class="sev sev-{severity}">{severity}</span> {text(finding.id)} '
        f"{text(finding.title)}</h3>"
        f'<dl class="facts">{dl}</dl>{description}'
        f"{_indicators(finding)}{_evidence(finding, verbose)}</article>\n"
    )


def _seen(finding: Finding) -> str:
    first, last = finding.first_seen, finding.last_seen
    if first is None:
        return ""
    return _time(first) + (f" to {_time(last)}" if last and last != first else "")


def _indicators(finding: Finding) -> str:
    rows = "".join(
        f"<tr><th>{name}</th><td>{_values(getattr(finding.indicators, kind))}</td></tr>"
        for kind, name in INDICATOR_NAMES
        if getattr(finding.indicators, kind)
    )
    return f'<table class="indicators"><col class="kind">{rows}</table>' if rows else ""


def _values(values: Iterable[str]) -> str:
    return "<br>".join(f"<code>{text(value)}</code>" for value in values)


def _evidence(finding: Finding, verbose: bool) -> str:
    shown = finding.evidence if verbose else finding.evidence[:EVIDENCE_SHOWN]
    if not shown:
        return ""
    rows = "".join(_location(location) for location in shown)
    more = ""
    if finding.count > len(shown):
        more = (
            f'<p class="note">{finding.count - len(shown)} more evidence lines in the JSON '
            "document (or render with --verbose).</p>"
        )
    return (
        '<table class="evidence"><col class="when"><col class="where"><col>'
        "<thead><tr><th>time</th><th>where</th><th>line</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>{more}"
    )


def _location(location: EvidenceLocation) -> str:
    where = location.path + (f":{location.line}" if location.line else "")
    if location.record is not None:
        where += f" record {location.record}"
    windows = f"<br><code>{text(location.windows_path)}</code>" if location.windows_path else ""
    return (
        f"<tr><td>{_time(location.time) if location.time else ''}</td>"
        f"<td><code>{text(where)}</code>{windows}</td>"
        f"<td><code>{text(location.excerpt or '')}</code></td></tr>"
    )


def exchange(doc: ScanDocument) -> str:
    ex = doc.exchange
    facts = [
        ("product", ex.product),
        ("cumulative update", ex.cu),
        ("build", ex.build or "unknown"),
        ("install path", ex.install_path),
        ("exposed at collection", ", ".join(ex.vulnerable_to) or "none"),
        ("mitigations", ", ".join(ex.mitigations)),
    ]
    dl = "".join(f"<dt>{name}</dt><dd>{text(value)}</dd>" for name, value in facts if value)
    return f'<h2>Exchange server</h2>\n<dl class="facts">{dl}</dl>\n{_exposure(doc)}{_builds(doc)}'


def _exposure(doc: ScanDocument) -> str:
    if not doc.exchange.exposure:
        return ""
    head = _head(
        "CVE",
        "campaign",
        "fixed by",
        "fix released",
        "exposed at collection",
        "exposed from",
        "exposed until",
        "before the logs",
    )
    rows = "".join(
        _row(
            text(e.cve),
            text(e.campaign),
            text(e.fixed_by or ""),
            _day(e.fix_released),
            _yes(e.exposed_at_collection),
            _time(e.exposed_from),
            _time(e.exposed_until),
            _yes(e.before_logs),
        )
        for e in doc.exchange.exposure
    )
    return f'<table class="exposure">{head}<tbody>{rows}</tbody></table>\n'


def _builds(doc: ScanDocument) -> str:
    if not doc.exchange.build_history:
        return ""
    head = _head("build", "first seen", "last seen", "source")
    rows = "".join(
        _row(text(b.build), _time(b.first), _time(b.last), text(b.source))
        for b in doc.exchange.build_history
    )
    return f'<table class="builds">{head}<tbody>{rows}</tbody></table>\n'


def coverage(doc: ScanDocument) -> str:
    cov = doc.coverage
    head = _head("log", "files", "records", "damaged", "first", "last")
    rows = "".join(
        _row(
            text(a.type),
            f"{a.files:,}",
            f"{a.records:,}",
            f"{a.bad_records:,}",
            _time(a.first),
            _time(a.last),
        )
        for a in cov.artifacts
    )
    table = f"{head}<tbody>{rows}</tbody>" if rows else ""
    out = ["<h2>Coverage</h2>\n", f'<table class="coverage">{table}</table>\n' if table else ""]
    if not rows:
        out.append("<p>No logs were found.</p>\n")
    out.append(
        _list(
            "Gaps",
            [_gap_text(g.type, g.path, g.reason, g.from_, g.to, g.expected) for g in cov.gaps],
        )
    )
    out.append(_list("Not read", [text(s) for s in cov.skipped]))
    out.append(_errors(doc))
    read = doc.evidence.read_bytes / 1e6
    out.append(f'<p class="note">Read {len(doc.evidence.files):,} files, {read:,.1f} MB.</p>\n')
    return "".join(out)


def _gap_text(
    kind: str,
    path: str | None,
    reason: str,
    start: datetime | None,
    end: datetime | None,
    expected: bool,
) -> str:
    where = f" {path}" if path else ""
    span = " to ".join(format_time(t) for t in (start, end) if t)
    note = " (expected: the newest file of a live server)" if expected else ""
    return text(f"{kind}{where}: {reason}" + (f" ({span})" if span else "") + note)


def _errors(doc: ScanDocument) -> str:
    if not doc.errors:
        return ""
    rows = "".join(
        _row(
            text(e.component),
            text((e.path or "") + (f":{e.line}" if e.line else "")),
            text(e.message),
        )
        for e in doc.errors
    )
    return (
        f'<h3>Errors</h3><table class="errors">{_head("component", "where", "message")}'
        f"<tbody>{rows}</tbody></table>\n"
    )


def footer(doc: ScanDocument) -> str:
    scan = doc.scan
    when = f" on {_time(scan.finished)} in {scan.seconds:.1f} s" if scan else ""
    return (
        f"<footer>exhunt {text(doc.tool.version)}, rules {text(doc.tool.rules_version)}, "
        f"result document schema {doc.schema_version}; scanned{when}. Times are UTC.</footer>\n"
    )


def _list(title: str, items: Sequence[str]) -> str:
    if not items:
        return ""
    return f"<h3>{title}</h3><ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>\n"


def _head(*names: str) -> str:
    return "<thead><tr>" + "".join(f"<th>{name}</th>" for name in names) + "</tr></thead>"


def _row(*cells: str) -> str:
    """A table row of cells that are already markup."""
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _yes(value: bool) -> str:
    return '<span class="yes">yes</span>' if value else "no"


def _time(value: datetime | None) -> str:
    return text(format_time(value).replace("T", " ")) if value else ""


def _day(value: datetime | None) -> str:
    return format_time(value)[:10] if value else ""


def _host(doc: ScanDocument) -> str:
    return doc.evidence.host or doc.evidence.path
