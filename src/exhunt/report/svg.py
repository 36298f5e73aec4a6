"""The timeline picture: evidence events over time, one lane per log or file source.

Each timeline entry is a dot in its source's lane, coloured by the most severe finding it
supports. A pale bar shows the period each log covers, hatched bands the gaps inside it, and a
red line the first malicious moment. The time axis spans the logged period and every event above
``info``; informational events outside it (old files of security software) are counted below
the picture instead of squeezing the attack into a sliver. Plain SVG with presentation
attributes: no script, no style attribute, nothing fetched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from exhunt.document import Gap, ScanDocument, TimelineEntry
from exhunt.model import Severity
from exhunt.report.markup import text
from exhunt.timeutil import format_time

WIDTH = 960
LEFT = 170
RIGHT = 16
TOP = 30
LANE = 30
AXIS = 34
LEGEND = 26
PLOT = WIDTH - LEFT - RIGHT
COLOURS = {
    Severity.CRITICAL: "#b91c1c",
    Severity.HIGH: "#ea580c",
    Severity.MEDIUM: "#ca8a04",
    Severity.LOW: "#2563eb",
    Severity.INFO: "#6b7280",
}
LANE_NAMES = {
    "iis.w3c": "IIS",
    "exchange.httpproxy": "HttpProxy",
    "exchange.ecp_server": "ECP server",
    "exchange.oab_generator": "OAB generator",
    "exchange.rps_http": "PowerShell HTTP",
    "exchange.rps_cmdlet": "PowerShell cmdlets",
    "evtx": "Event logs",
    "fs.file": "Files",
}
_STEPS = (
    *(timedelta(seconds=s) for s in (10, 30)),
    *(timedelta(minutes=m) for m in (1, 5, 15, 30)),
    *(timedelta(hours=h) for h in (1, 3, 6, 12)),
    *(timedelta(days=d) for d in (1, 2, 7, 14, 30, 91, 365)),
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_JITTER = (0, -7, 7)
BURST_GAP = timedelta(minutes=30)
MIN_WINDOW = timedelta(minutes=5)
ZOOM_FACTOR = 6


@dataclass(frozen=True, slots=True)
class Mark:
    """One timeline entry placed in the picture."""

    entry: TimelineEntry
    severity: Severity


@dataclass(frozen=True, slots=True)
class Scale:
    start: datetime
    end: datetime

    def x(self, when: datetime) -> float:
        share = (when - self.start) / (self.end - self.start)
        return round(LEFT + share * PLOT, 1)

    def clipped(self, when: datetime) -> float:
        """``x`` held inside the plot: bars and bands that run past a zoomed window stop at it."""
        return min(max(self.x(when), LEFT), LEFT + PLOT)


@dataclass(frozen=True, slots=True)
class Picture:
    """The SVG markup, with what was left out of it."""

    svg: str
    marks: int
    outside: int


def timeline_svg(document: ScanDocument, prefix: str = "", window: Scale | None = None) -> Picture:
    """The timeline picture of ``document``; an empty picture when nothing has a time.

    ``prefix`` keeps element ids apart when one page holds several pictures. With ``window``
    the picture is the close-up of that period (:func:`attack_window`): its own class
    (``timeline-zoom``), its marks ``zoom-event``.
    """
    marks = _marks(document)
    lanes = _lanes(document, marks)
    scale = window or _scale(document, marks)
    if scale is None or not lanes:
        return Picture("", 0, 0)
    shown = [m for m in marks if scale.start <= m.entry.time <= scale.end]
    height = TOP + LANE * len(lanes) + AXIS + LEGEND
    kind, prefix = ("timeline-zoom", f"{prefix}zoom-") if window else ("timeline", prefix)
    parts = [
        f'<svg class="{kind}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}"'
        f' role="img" aria-labelledby="{prefix}timeline-title">',
        f'<title id="{prefix}timeline-title">{_summary(document, shown)}</title>',
        _defs(prefix),
        *_lane_parts(document, lanes, scale),
        *_gap_parts(document.coverage.gaps, lanes, scale, f"url(#{prefix}hatch)"),
        *_axis(scale, TOP + LANE * len(lanes)),
        *_first_malicious(document, scale, len(lanes)),
        *_mark_parts(shown, lanes, scale, "zoom-event" if window else "event"),
        *_legend(TOP + LANE * len(lanes) + AXIS, f"url(#{prefix}hatch)"),
        "</svg>",
    ]
    return Picture("\n".join(parts), len(shown), len(marks) - len(shown))


def attack_window(document: ScanDocument) -> Scale | None:
    """The first burst of the attack, when the whole picture is too long to tell it apart.

    The burst runs from the first malicious moment while events above ``info`` follow each
    other within ``BURST_GAP``; the window shows at least ``MIN_WINDOW``.
    """
    first = document.verdict.first_malicious
    marks = _marks(document)
    full = _scale(document, marks)
    if first is None or full is None:
        return None
    end = first
    for when in sorted(m.entry.time for m in marks if m.severity is not Severity.INFO):
        if when < first:
            continue
        if when - end > BURST_GAP:
            break
        end = when
    width = max(end - first, MIN_WINDOW)
    window = Scale(first - width * 0.1, first + width * 1.1)
    if full.end - full.start < ZOOM_FACTOR * (window.end - window.start):
        return None
    return window


def _marks(document: ScanDocument) -> list[Mark]:
    severity = {finding.id: finding.severity for finding in document.findings}
    marks = []
    for entry in document.timeline:
        ranks = [severity[i] for i in entry.finding_ids if i in severity]
        marks.append(Mark(entry, max(ranks, key=lambda s: s.rank, default=Severity.INFO)))
    return marks


def _lanes(document: ScanDocument, marks: Sequence[Mark]) -> list[str]:
    names = {a.type for a in document.coverage.artifacts} | {m.entry.source for m in marks}
    order = list(LANE_NAMES)
    return sorted(names, key=lambda n: (order.index(n) if n in order else len(order), n))


def _scale(document: ScanDocument, marks: Sequence[Mark]) -> Scale | None:
    times = [t for a in document.coverage.artifacts for t in (a.first, a.last) if t]
    times += [t for g in document.coverage.gaps for t in (g.from_, g.to) if t]
    verdict = document.verdict
    times += [t for t in (verdict.first_malicious, verdict.last_malicious) if t]
    times += [m.entry.time for m in marks if m.severity is not Severity.INFO]
    if not times:
        times = [m.entry.time for m in marks]
    if not times:
        return None
    start, end = min(times), max(times)
    if end - start < timedelta(minutes=2):
        start, end = start - timedelta(minutes=30), end + timedelta(minutes=30)
    margin = (end - start) * 0.02
    return Scale(start - margin, end + margin)


def _summary(document: ScanDocument, shown: Sequence[Mark]) -> str:
    host = document.evidence.host or document.evidence.path
    return text(f"Timeline of {host}: {len(shown)} evidence events")


def _defs(prefix: str) -> str:
    return (
        f'<defs><pattern id="{prefix}hatch" width="6" height="6" patternUnits="userSpaceOnUse"'
        ' patternTransform="rotate(45)"><rect width="6" height="6" fill="#fef3c7"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#92400e" stroke-width="2"/></pattern></defs>'
    )


def _lane_y(lanes: Sequence[str], name: str) -> int:
    return TOP + LANE * lanes.index(name)


def _lane_parts(document: ScanDocument, lanes: Sequence[str], scale: Scale) -> list[str]:
    spans = {a.type: (a.first, a.last) for a in document.coverage.artifacts}
    parts = []
    for index, name in enumerate(lanes):
        y = TOP + LANE * index
        shade = "#f8fafc" if index % 2 else "#f1f5f9"
        parts.append(
            f'<rect class="lane" x="{LEFT}" y="{y}" width="{PLOT}" height="{LANE}" fill="{shade}"/>'
        )
        label = LANE_NAMES.get(name, name)
        parts.append(
            f'<text class="lane-label" x="{LEFT - 8}" y="{y + LANE / 2 + 4}"'
            f' text-anchor="end" font-size="12" fill="#1f2937">{text(label)}</text>'
        )
        first, last = spans.get(name, (None, None))
        if first and last:
            x1, x2 = scale.clipped(first), scale.clipped(last)
            width = round(max(x2 - x1, 1), 1)
            parts.append(
                f'<rect class="logged" x="{x1}" y="{y + LANE / 2 - 2}" width="{width}"'
                f' height="4" fill="#cbd5e1"><title>{text(name)} logged {_span(first, last)}'
                "</title></rect>"
            )
    return parts


def _gap_parts(gaps: Sequence[Gap], lanes: Sequence[str], scale: Scale, hatch: str) -> list[str]:
    parts = []
    for gap in gaps:
        start = gap.from_ or scale.start
        if start > scale.end or (gap.to or start) < scale.start:
            continue
        x1 = scale.clipped(start)
        x2 = scale.clipped(gap.to) if gap.to else x1
        lane = gap.type.split(" ")[0]
        y, height = (_lane_y(lanes, lane), LANE) if lane in lanes else (TOP, LANE * len(lanes))
        kind = "gap expected" if gap.expected else "gap"
        opacity = "0.45" if gap.expected else "0.9"
        where = f" {gap.path}" if gap.path else ""
        title = f"{gap.type}{where}: {gap.reason} ({_span(gap.from_, gap.to)})"
        width = round(max(x2 - x1, 3), 1)
        parts.append(
            f'<rect class="{kind}" x="{x1}" y="{y}" width="{width}" height="{height}"'
            f' fill="{hatch}" opacity="{opacity}"><title>{text(title)}</title></rect>'
        )
    return parts


def _axis(scale: Scale, bottom: int) -> list[str]:
    step = next((s for s in _STEPS if (scale.end - scale.start) / s <= 8), _STEPS[-1])
    tick = _EPOCH + step * -(-(scale.start - _EPOCH) // step)
    parts = [
        f'<line class="axis" x1="{LEFT}" y1="{bottom}" x2="{LEFT + PLOT}" y2="{bottom}"'
        ' stroke="#475569"/>'
    ]
    while tick <= scale.end:
        x = scale.x(tick)
        # A label at the right edge ends there instead of running out of the picture.
        anchor = "end" if x > LEFT + PLOT - 40 else "middle"
        parts.append(
            f'<line class="grid" x1="{x}" y1="{TOP}" x2="{x}" y2="{bottom + 4}"'
            ' stroke="#94a3b8" stroke-width="0.5"/>'
        )
        parts.append(
            f'<text class="tick" x="{x}" y="{bottom + 17}" text-anchor="{anchor}"'
            f' font-size="11" fill="#334155">{tick.strftime(_tick_format(scale, step))}</text>'
        )
        tick += step
    parts.append(
        f'<text x="{LEFT + PLOT}" y="{bottom + 30}" text-anchor="end" font-size="10"'
        ' fill="#64748b">UTC</text>'
    )
    return parts


def _tick_format(scale: Scale, step: timedelta) -> str:
    if step >= timedelta(days=1):
        return "%Y-%m-%d"
    if step < timedelta(minutes=1):
        return "%H:%M:%S"
    return "%H:%M" if scale.end - scale.start < timedelta(days=1) else "%m-%d %H:%M"


def _first_malicious(document: ScanDocument, scale: Scale, lanes: int) -> list[str]:
    first = document.verdict.first_malicious
    if first is None:
        return []
    x = scale.x(first)
    anchor = "end" if x > LEFT + PLOT * 0.7 else "start"
    shift = -4 if anchor == "end" else 4
    return [
        f'<line class="first-malicious" x1="{x}" y1="{TOP - 6}" x2="{x}"'
        f' y2="{TOP + LANE * lanes}" stroke="#dc2626" stroke-width="2" stroke-dasharray="5 3"/>',
        f'<text class="first-malicious-label" x="{x + shift}" y="{TOP - 10}"'
        f' text-anchor="{anchor}" font-size="12" font-weight="bold" fill="#b91c1c">'
        f"first malicious {text(format_time(first))}</text>",
    ]


def _mark_parts(marks: Sequence[Mark], lanes: Sequence[str], scale: Scale, kind: str) -> list[str]:
    ordered = sorted(enumerate(marks), key=lambda pair: pair[1].severity.rank)
    parts = []
    for index, mark in ordered:
        entry = mark.entry
        y = _lane_y(lanes, entry.source) + LANE / 2 + _JITTER[index % len(_JITTER)]
        title = f"{format_time(entry.time)} {entry.summary} [{', '.join(entry.finding_ids)}]"
        parts.append(
            f'<circle class="{kind} sev-{mark.severity.value}" cx="{scale.x(entry.time)}"'
            f' cy="{y}" r="4.5" fill="{COLOURS[mark.severity]}" fill-opacity="0.8"'
            f' stroke="#ffffff" stroke-width="0.8"><title>{text(title)}</title></circle>'
        )
    return parts


def _legend(y: int, hatch: str) -> list[str]:
    parts, x = [], LEFT
    for severity in reversed(Severity):
        parts.append(f'<circle cx="{x + 5}" cy="{y + 12}" r="4.5" fill="{COLOURS[severity]}"/>')
        parts.append(
            f'<text x="{x + 13}" y="{y + 16}" font-size="11" fill="#334155">{severity.value}</text>'
        )
        x += 78
    parts.append(f'<rect x="{x}" y="{y + 5}" width="14" height="14" fill="{hatch}"/>')
    parts.append(f'<text x="{x + 19}" y="{y + 16}" font-size="11" fill="#334155">gap</text>')
    x += 52
    parts.append(f'<rect x="{x}" y="{y + 10}" width="18" height="4" fill="#cbd5e1"/>')
    parts.append(f'<text x="{x + 23}" y="{y + 16}" font-size="11" fill="#334155">logged</text>')
    return parts


def _span(first: datetime | None, last: datetime | None) -> str:
    return " to ".join(format_time(t) for t in (first, last) if t is not None) or "time unknown"
