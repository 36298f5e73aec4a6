"""The stylesheet of the HTML report, and the Content-Security-Policy that admits only it.

The page carries no script and loads nothing. The policy forbids everything (``default-src
'none'``) except this one stylesheet, named by its SHA-256, so even markup that slipped through
escaping could neither run nor fetch anything.
"""

from __future__ import annotations

import base64
import hashlib

CSS = """
:root { --ink: #111827; --muted: #4b5563; --line: #d1d5db; --soft: #f3f4f6; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
  margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 32px 0 10px; padding-bottom: 4px;
  border-bottom: 2px solid var(--ink); }
h3 { font-size: 16px; margin: 0 0 6px; }
.meta { color: var(--muted); margin: 0 0 16px; }
code, .mono { font-family: ui-monospace, "Cascadia Mono", Consolas, monospace; font-size: 12.5px;
  overflow-wrap: anywhere; word-break: break-all; }
.verdict { border-radius: 6px; padding: 14px 18px; color: #fff; }
.verdict h2 { border: 0; margin: 0 0 6px; font-size: 22px; }
.verdict ul { margin: 6px 0 0; padding-left: 20px; }
.verdict-compromised { background: #991b1b; }
.verdict-attempted { background: #c2410c; }
.verdict-vulnerable { background: #a16207; }
.verdict-clean { background: #15803d; }
.verdict-inconclusive { background: #4b5563; }
.sev { display: inline-block; min-width: 70px; text-align: center; border-radius: 4px; color: #fff;
  font-size: 12px; font-weight: bold; padding: 1px 6px; text-transform: uppercase; }
.sev-critical { background: #b91c1c; } .sev-high { background: #ea580c; }
.sev-medium { background: #ca8a04; } .sev-low { background: #2563eb; }
.sev-info { background: #6b7280; }
.picture svg { width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
.note { color: var(--muted); font-size: 13px; }
ol.actions > li { margin: 0 0 14px; }
ol.actions ul { margin: 4px 0; }
.why { font-size: 13px; color: var(--muted); }
article.finding { border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px;
  margin: 0 0 14px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 6px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.description { white-space: pre-line; color: #374151; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; margin: 6px 0;
  font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 3px 6px; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; }
th { background: var(--soft); }
.evidence col.when { width: 150px; } .evidence col.where { width: 34%; }
.indicators col.kind { width: 130px; }
.yes { color: #b91c1c; font-weight: bold; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line);
  padding-top: 8px; }
section.server + section.server { margin-top: 48px; border-top: 4px double var(--ink); }
@media print {
  @page { margin: 14mm; }
  body { max-width: none; padding: 0; font-size: 11pt; }
  .verdict, .sev, th { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  a { color: inherit; text-decoration: none; }
  h2 { break-after: avoid; }
  article.finding, ol.actions > li, .picture, tr { break-inside: avoid; }
  section.server + section.server { break-before: page; border: 0; }
}
"""


def content_security_policy(css: str = CSS) -> str:
    """Nothing but the inline stylesheet ``css``: no script, no fetch, no form, no base."""
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; "
        "script-src 'none'; base-uri 'none'; form-action 'none'"
    )
