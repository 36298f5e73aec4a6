"""The report for people who do not read logs: one standalone HTML file.

Verdict and reasons first, then the timeline picture, what to do now (each action linked to
the findings that call for it), the findings with their evidence lines, the Exchange build and
its exposure, and what the evidence covered. Everything is inline (stylesheet, SVG); the page
has no script and a Content-Security-Policy that admits only its own stylesheet. It prints on
paper: colours kept, findings not split across pages, one server per page run.
"""

from __future__ import annotations

from collections.abc import Sequence

from exhunt.document import ScanDocument
from exhunt.report import htmlparts as parts
from exhunt.report.formats import COMBINERS, FORMATS, RenderOptions
from exhunt.report.htmlstyle import CSS, content_security_policy
from exhunt.report.markup import text


@FORMATS.register("html")
def render(document: ScanDocument, options: RenderOptions) -> str:
    host = document.evidence.host or document.evidence.path
    title = f"exhunt: {host} {document.verdict.status.value}"
    return page(title, server(document, options, prefix=""))


@COMBINERS.register("html")
def render_many(documents: Sequence[ScanDocument], options: RenderOptions) -> str:
    """Several servers on one page: an index of verdicts, then each server's report."""
    sections = [server(doc, options, prefix=f"s{n}-") for n, doc in enumerate(documents, 1)]
    body = parts.index(documents) + "".join(sections)
    return page(f"exhunt: {len(documents)} servers", body)


def page(title: str, body: str) -> str:
    """The standalone HTML page around ``body``."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{content_security_policy()}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{text(title)}</title>\n"
        f"<style>{CSS}</style>\n"
        f"</head>\n<body>\n{body}</body>\n</html>\n"
    )


def server(document: ScanDocument, options: RenderOptions, prefix: str) -> str:
    """One server's report, in reading order."""
    sections = (
        parts.header(document, prefix),
        parts.verdict(document, prefix),
        parts.timeline(document, prefix),
        parts.actions(document, prefix),
        parts.findings(document, prefix, options.verbose),
        parts.exchange(document),
        parts.coverage(document),
        parts.footer(document),
    )
    return f'<section class="server" id="{prefix}server">\n' + "".join(sections) + "</section>\n"
